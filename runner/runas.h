/* runas.h - the user tool processes run as ([tools] run_as): resolved at start, entered in the child before execve. */
#ifndef VEX_RUNAS_H
#define VEX_RUNAS_H

#include <stddef.h>
#include <sys/types.h>

#define VEX_RUNAS_GROUPS_MAX 256

struct vex_runas {
	char *user;     /* NULL: tools run as the runner's own user (run_as empty) */
	uid_t uid;
	gid_t gid;
	gid_t groups[VEX_RUNAS_GROUPS_MAX];
	size_t ngroups;
};

/*
 * Resolves "name" ("" or NULL: the runner's own user, documented as unsafe) into "ret": uid, gid
 * and supplementary groups. Refuses, with a sentence for the operator in "err": an unknown user,
 * root, and a runner that cannot use it (neither root nor holding CAP_SETUID, CAP_SETGID, CAP_CHOWN
 * and CAP_KILL).
 * Returns 0, VEX_EINVAL or VEX_ENOMEM.
 */
int vex_runas_resolve(const char *name, struct vex_runas *ret, char *err, size_t errlen);

/* In a tool's child between fork and execve (async-signal-safe): every signal back to its default
 * disposition and an empty mask (the runner blocks SIGTERM/SIGINT and ignores SIGPIPE). */
void vex_runas_reset_signals(void);

/* Frees what "r" holds and zeroes it. Accepts NULL. */
void vex_runas_release(struct vex_runas *r);

/* The runner's resolved default (set once at start, before any thread), or NULL. */
void vex_runas_set_default(const struct vex_runas *r);
const struct vex_runas *vex_runas_default(void);

/*
 * In a forked child, before execve (async-signal-safe calls only): clears the ambient and
 * (as far as allowed) the bounding capability sets, switches to "r"'s groups, gid and uid, drops
 * every remaining capability and sets PR_SET_NO_NEW_PRIVS. "r" NULL or without a user: only the
 * capabilities and no_new_privs. Returns 0 or -1 with errno set; "step" names what failed.
 */
int vex_runas_enter(const struct vex_runas *r, const char **step);

#endif
