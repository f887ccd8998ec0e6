/* cmd_spawn.h - a command tool's child (between fork and execve), its limits and its private directory;
 * private to exec_command.c and cmd_spawn.c. */
#ifndef VEX_RUNNER_CMD_SPAWN_H
#define VEX_RUNNER_CMD_SPAWN_H

#include <stddef.h>
#include <sys/resource.h>

#include "runner/cmdconf.h"
#include "core/base/config.h"

/* What failed in the child before execve, reported on the status pipe. */
enum child_step { STEP_SETPGID = 1, STEP_FDS, STEP_CHDIR, STEP_RLIMIT, STEP_SETGROUPS, STEP_SETGID, STEP_SETUID,
		  STEP_RUNAS, STEP_EXECVE };

struct child_report {
	int step;
	int err;
};

#define N_RLIMITS 5

/* Everything the child needs, prepared before fork: the child only makes async-signal-safe calls. */
struct spawn {
	const struct vex_cmd_tool *tool;
	char *const *envp;
	const char *dir;
	int fds[4];        /* the child's ends for stdin, stdout, stderr, progress */
	int status_fd;     /* write end of the close-on-exec status pipe */
	int resources[N_RLIMITS];
	struct rlimit limits[N_RLIMITS];
	long max_fd;       /* for closing fds when close_range is missing */
};

/* In the child: process group, descriptors, directory, limits, user, then execve; on failure the
 * step and errno go to the status pipe and the child exits 127. Never returns. */
void __attribute__((noreturn)) vex_cmd_child(const struct spawn *sp);

/* What a child_step names, for the job's error. */
const char *vex_cmd_step_name(int step);

/* The rlimits of "l" into "sp" (each only lowers the runner's own). */
void vex_cmd_prepare_limits(struct spawn *sp, const struct vex_cmd_limits *l);

/* The private directory "<work_dir>/<tool>-XXXXXX" (0700, owned by the run-as user) into "dir".
 * 0, VEX_EIO or VEX_ETOOBIG. */
int vex_cmd_make_dir(const struct vex_config *cfg, const struct vex_cmd_tool *t, char *dir, size_t len);

/* Removes the private directory "dir"; -1 when something is left. */
int vex_cmd_remove_dir(const struct vex_cmd_tool *t, const char *dir);

#endif
