/* runas.c - resolve the tools user; drop to it (groups, ids, capabilities) in a child before execve. */
#include "runner/runas.h"

#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/base/err.h"

static const struct vex_runas *default_runas;

/* 1 when the calling thread holds capability "cap" in its effective set. */
static int has_cap(int cap)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return (d[cap / 32].effective & (1u << (cap % 32))) != 0;
}

int vex_runas_resolve(const char *name, struct vex_runas *ret, char *err, size_t errlen)
{
	struct passwd pw, *found = NULL;
	char buf[16384];
	int ngroups = VEX_RUNAS_GROUPS_MAX, e;

	memset(ret, 0, sizeof(*ret));
	if (!name || !*name)
		return 0;
	e = getpwnam_r(name, &pw, buf, sizeof(buf), &found);
	if (e != 0) {
		snprintf(err, errlen, "[tools] run_as: cannot look up the user \"%.64s\": %s", name, strerror(e));
		return VEX_EINVAL;
	}
	if (!found) {
		snprintf(err, errlen,
			 "[tools] run_as: no such user \"%.64s\" (tools never run as root nor as vex's own user: "
			 "create it with tools/install-deps, name another, or set run_as = (empty) to run tools as "
			 "the runner's own user, which is unsafe)", name);
		return VEX_EINVAL;
	}
	if (pw.pw_uid == 0) {
		snprintf(err, errlen, "[tools] run_as: \"%.64s\" is root; tools never run as root", name);
		return VEX_EINVAL;
	}
	if (pw.pw_uid != geteuid() && geteuid() != 0 &&
	    !(has_cap(CAP_SETUID) && has_cap(CAP_SETGID) && has_cap(CAP_CHOWN) && has_cap(CAP_KILL))) {
		snprintf(err, errlen,
			 "[tools] run_as: the runner cannot start tools as \"%.64s\": it runs as uid %ld without "
			 "CAP_SETUID, CAP_SETGID, CAP_CHOWN and CAP_KILL (switch user, give each tool its private "
			 "directory, signal its processes: give it those capabilities, see INSTALL.md, or set "
			 "run_as = (empty) to run tools as the runner's own user, which is unsafe)", name,
			 (long)geteuid());
		return VEX_EINVAL;
	}
	if (getgrouplist(name, pw.pw_gid, ret->groups, &ngroups) < 0) {
		snprintf(err, errlen, "[tools] run_as: \"%.64s\" is in more than %d groups", name, VEX_RUNAS_GROUPS_MAX);
		return VEX_EINVAL;
	}
	ret->user = strdup(name);
	if (!ret->user)
		return VEX_ENOMEM;
	ret->ngroups = (size_t)ngroups;
	ret->uid = pw.pw_uid;
	ret->gid = pw.pw_gid;
	return 0;
}

void vex_runas_release(struct vex_runas *r)
{
	if (!r)
		return;
	free(r->user);
	memset(r, 0, sizeof(*r));
}

void vex_runas_set_default(const struct vex_runas *r)
{
	default_runas = r;
}

const struct vex_runas *vex_runas_default(void)
{
	return default_runas;
}

int vex_runas_enter(const struct vex_runas *r, const char **step)
{
	struct __user_cap_header_struct h = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct d[2];
	int cap;

	*step = "clearing the ambient capabilities";
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -1;
	/* the bounding set needs CAP_SETPCAP: root has it; a runner with only setuid/setgid/kill does not,
	 * and its tools end with empty permitted, effective, inheritable and ambient sets all the same */
	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EPERM && errno != EINVAL)
			break;
	if (r && r->user) {
		*step = "setgroups";
		if (setgroups(r->ngroups, r->groups) < 0)
			return -1;
		*step = "setgid";
		if (setgid(r->gid) < 0)
			return -1;
		*step = "setuid";
		if (setuid(r->uid) < 0)
			return -1;
	}
	*step = "dropping capabilities";
	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return -1;
	*step = "PR_SET_NO_NEW_PRIVS";
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	*step = "execve";
	return 0;
}

void vex_runas_reset_signals(void)
{
	struct sigaction dfl;
	sigset_t none;
	int i;

	memset(&dfl, 0, sizeof(dfl));
	dfl.sa_handler = SIG_DFL;
	for (i = 1; i < NSIG; i++)
		if (i != SIGKILL && i != SIGSTOP)
			sigaction(i, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}
