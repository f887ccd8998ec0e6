/* cmd_spawn.c - a command tool's child (between fork and execve), its limits and its private directory. */
#include "runner/cmd_spawn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "runner/runas.h"
#include "runner/toolenv.h"

#define FD_PROGRESS 3        /* the tool's progress pipe */
#define FD_HIGH 10           /* child ends are moved at or above this before dup2 onto 0..3 */
#define RM_DEPTH_MAX 128     /* private directory removal: deeper trees are left (and logged) */

/* ---- the child (between fork and execve: async-signal-safe calls only) ---- */

static void __attribute__((noreturn)) child_fail(int status_fd, int step)
{
	struct child_report r = { step, errno };
	ssize_t w;

	w = write(status_fd, &r, sizeof(r));
	(void)w;
	_exit(127);
}

static void close_from(int lo, int hi, long max_fd)
{
	long fd;

	if (lo > hi)
		return;
	if (syscall(SYS_close_range, (unsigned int)lo, (unsigned int)hi, 0) == 0)
		return;
	for (fd = lo; fd <= hi && fd < max_fd; fd++)
		close((int)fd);
}

void vex_cmd_child(const struct spawn *sp)
{
	const struct vex_cmd_tool *t = sp->tool;
	const char *what;
	int tmp[4], status, i;

	if (setpgid(0, 0) < 0)
		child_fail(sp->status_fd, STEP_SETPGID);
	/* the runner blocks SIGTERM/SIGINT and ignores SIGPIPE; a tool starts with the defaults */
	vex_runas_reset_signals();
	/* move every end out of 0..3 first, so that no dup2 overwrites one still to be placed */
	status = fcntl(sp->status_fd, F_DUPFD_CLOEXEC, FD_HIGH);
	if (status < 0)
		child_fail(sp->status_fd, STEP_FDS);
	for (i = 0; i < 4; i++) {
		tmp[i] = fcntl(sp->fds[i], F_DUPFD, FD_HIGH);
		if (tmp[i] < 0)
			child_fail(status, STEP_FDS);
	}
	for (i = 0; i < 4; i++)
		if (dup2(tmp[i], i) < 0)
			child_fail(status, STEP_FDS);
	close_from(4, status - 1, sp->max_fd);
	close_from(status + 1, INT_MAX, sp->max_fd);
	for (i = 0; i < N_RLIMITS; i++)
		if (setrlimit(sp->resources[i], &sp->limits[i]) < 0)
			child_fail(status, STEP_RLIMIT);
	if (t->user) {
		if (setgroups(t->ngroups, t->groups) < 0)
			child_fail(status, STEP_SETGROUPS);
		if (setgid(t->gid) < 0)
			child_fail(status, STEP_SETGID);
		if (setuid(t->uid) < 0)
			child_fail(status, STEP_SETUID);
	}
	/* a tool naming no user runs as [tools] run_as; either way with no capability left */
	if (vex_runas_enter(t->user ? NULL : vex_runas_default(), &what) < 0)
		child_fail(status, STEP_RUNAS);
	/* as the tool's user: a runner without CAP_DAC_OVERRIDE cannot enter the tool's 0700 directory */
	if (chdir(sp->dir) < 0)
		child_fail(status, STEP_CHDIR);
	execve(t->argv[0], t->argv, sp->envp);
	child_fail(status, STEP_EXECVE);
}

const char *vex_cmd_step_name(int step)
{
	switch (step) {
	case STEP_SETPGID: return "setpgid";
	case STEP_FDS: return "setting up file descriptors";
	case STEP_CHDIR: return "chdir to the private directory";
	case STEP_RLIMIT: return "setrlimit";
	case STEP_SETGROUPS: return "setgroups";
	case STEP_SETGID: return "setgid";
	case STEP_SETUID: return "setuid";
	case STEP_RUNAS: return "switching to [tools] run_as and dropping capabilities";
	case STEP_EXECVE: return "execve";
	}
	return "start";
}

/* ---- preparation in the parent ---- */

/* A limit as requested, but never above the current hard limit (only root may raise it). */
static void set_limit(struct spawn *sp, int i, int resource, rlim_t want)
{
	struct rlimit cur;

	if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && want > cur.rlim_max && geteuid() != 0)
		want = cur.rlim_max;
	sp->resources[i] = resource;
	sp->limits[i].rlim_cur = want;
	sp->limits[i].rlim_max = want;
	/* CPU: SIGXCPU at the soft limit says why; SIGKILL one second later if it is ignored */
	if (resource == RLIMIT_CPU && (geteuid() == 0 || getrlimit(resource, &cur) < 0 ||
				       cur.rlim_max == RLIM_INFINITY || want < cur.rlim_max))
		sp->limits[i].rlim_max = want + 1;
}

void vex_cmd_prepare_limits(struct spawn *sp, const struct vex_cmd_limits *l)
{
	set_limit(sp, 0, RLIMIT_CPU, (rlim_t)l->cpu_s);
	set_limit(sp, 1, RLIMIT_AS, (rlim_t)l->as_mb * 1024 * 1024);
	set_limit(sp, 2, RLIMIT_NOFILE, (rlim_t)l->nofile);
	set_limit(sp, 3, RLIMIT_NPROC, (rlim_t)l->nproc);
	set_limit(sp, 4, RLIMIT_CORE, 0); /* no core files in a directory about to be removed */
}

/* The private directory "<work_dir>/<tool>-XXXXXX" (0700, owned by the run-as user) into "dir". */
int vex_cmd_make_dir(const struct vex_config *cfg, const struct vex_cmd_tool *t, char *dir, size_t len)
{
	const struct vex_runas *ra = vex_runas_default();
	int n;

	if (vex_toolenv_workdir(cfg->tools_work_dir) < 0)
		return VEX_EIO;
	n = snprintf(dir, len, "%s/%s-XXXXXX", cfg->tools_work_dir, t->name);
	if (n < 0 || (size_t)n >= len)
		return VEX_ETOOBIG;
	if (!mkdtemp(dir))
		return VEX_EIO;
	if (t->user && chown(dir, t->uid, t->gid) < 0) {
		rmdir(dir);
		return VEX_EIO;
	}
	if (!t->user && ra && ra->user && chown(dir, ra->uid, ra->gid) < 0) {
		rmdir(dir);
		return VEX_EIO;
	}
	return 0;
}

/* Removes "name" under "dfd" and everything below, never following a symbolic link. 0 or -1. */
static int remove_at(int dfd, const char *name, int depth)
{
	struct dirent *e;
	struct stat st;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
	if (depth >= RM_DEPTH_MAX)
		return -1;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == EACCES) {
		/* a tool may have taken its own permissions away; we own the tree (or are root) */
		if (fchmodat(dfd, name, 0700, 0) == 0)
			fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return -1;
	/* entries cannot be removed from a directory we cannot write */
	if ((st.st_mode & 0700) != 0700)
		fchmod(fd, 0700);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (remove_at(dirfd(d), e->d_name, depth + 1) < 0)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		rc = -1;
	return rc;
}

/*
 * Removes the private directory "dir". A runner that is not root cannot remove what the tool (another
 * user) left inside: a child switched to that user empties it first, then the runner removes the
 * directory itself from work_dir, which it owns. -1 when something is left.
 */
int vex_cmd_remove_dir(const struct vex_cmd_tool *t, const char *dir)
{
	const struct vex_runas *ra = vex_runas_default();
	struct vex_runas as = { 0 };
	const char *what;
	pid_t pid;
	int status;

	if (geteuid() != 0 && (t->user || (ra && ra->user))) {
		if (t->user) {
			as.user = t->user;
			as.uid = t->uid;
			as.gid = t->gid;
			as.ngroups = t->ngroups < VEX_RUNAS_GROUPS_MAX ? t->ngroups : VEX_RUNAS_GROUPS_MAX;
			memcpy(as.groups, t->groups, as.ngroups * sizeof(gid_t));
		} else {
			as = *ra;
		}
		if (as.uid != geteuid()) {
			pid = fork();
			if (pid == 0) {
				if (vex_runas_enter(&as, &what) < 0)
					_exit(1);
				remove_at(AT_FDCWD, dir, 0); /* all but the directory itself */
				_exit(0);
			}
			while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
				;
			/* empty now: removing it needs only write on work_dir (ours), not entering it */
			if (rmdir(dir) == 0)
				return 0;
		}
	}
	return remove_at(AT_FDCWD, dir, 0);
}
