/* secrets.h - a process's secrets leave its environment (and the block /proc/PID/environ shows) once read. */
#ifndef VEX_SECRETS_H
#define VEX_SECRETS_H

/*
 * Removes every variable named in "names" (NULL-terminated; NULL or "" entries are skipped) from
 * the environment: the "NAME=value" bytes are overwritten with zeros where they live — for the
 * variables the process started with, that is the initial block the kernel shows in
 * /proc/PID/environ — and the entry leaves environ (unsetenv, which allocates nothing). Then makes
 * the process non-dumpable (PR_SET_DUMPABLE 0): no core file, and /proc/PID/{mem,environ} and
 * ptrace only for root. Call it after every getenv() of a secret. Returns 0 or VEX_EIO (prctl).
 */
int vex_secrets_scrub(const char *const *names);

/* Only the environment part of vex_secrets_scrub (for tests). Returns how many entries went. */
int vex_secrets_unset(const char *name);

#endif
