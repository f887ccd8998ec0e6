/* perms.c - the umask, and the modes and groups of the database files, sockets and run directory. */
#include "core/base/perms.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/config.h"
#include "core/base/err.h"

void vex_perms_umask(void)
{
	umask(VEX_UMASK);
}

/* This process may give a file to "gid": root, its own group, or a supplementary one. */
static int may_use_gid(gid_t gid)
{
	gid_t groups[256];
	int n;

	if (geteuid() == 0 || getegid() == gid)
		return 1;
	n = getgroups((int)(sizeof(groups) / sizeof(groups[0])), groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == gid)
			return 1;
	return 0;
}

/* The gid of group "name" (getgrnam_r); VEX_EINVAL when there is none. */
static int group_gid(const char *name, gid_t *ret)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (getgrnam_r(name, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return VEX_EINVAL;
	*ret = gr.gr_gid;
	return 0;
}

int vex_perms_socket_gid(const struct vex_config *cfg, gid_t *ret)
{
	gid_t gid;

	if (cfg->socket_group && cfg->socket_group[0])
		return group_gid(cfg->socket_group, ret);
	if (group_gid("www-data", &gid) != 0 || !may_use_gid(gid))
		gid = getegid();
	*ret = gid;
	return 0;
}

int vex_perms_set(const char *path, mode_t mode, gid_t gid)
{
	if (gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0)
		return VEX_EIO;
	return chmod(path, mode) == 0 ? 0 : VEX_EIO;
}

int vex_perms_rundir(const struct vex_config *cfg, gid_t gid)
{
	char dir[4096];
	struct stat st;

	const char *socks[] = { cfg->api_socket, cfg->stream_socket, cfg->runner_socket, cfg->commit_socket };
	size_t n;
	int used = 0;

	n = (size_t)snprintf(dir, sizeof(dir), "%s/run", cfg->home);
	if (n >= sizeof(dir))
		return VEX_EIO;
	/* Only when a socket lives there (production puts them in systemd's runtime directories). */
	for (size_t i = 0; i < sizeof(socks) / sizeof(socks[0]); i++)
		used |= socks[i] && strncmp(socks[i], dir, n) == 0 && socks[i][n] == '/';
	if (!used)
		return 0;
	if (mkdir(dir, VEX_RUNDIR_MODE) != 0 && errno != EEXIST)
		return VEX_EIO;
	if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
		return VEX_EIO;
	if (st.st_uid != geteuid())
		return 0;
	if (st.st_gid == gid && (st.st_mode & 07777) == VEX_RUNDIR_MODE)
		return 0;
	return vex_perms_set(dir, VEX_RUNDIR_MODE, gid);
}

int vex_perms_store_files(const struct vex_config *cfg)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal", "-wlock" };
	char path[4096];
	struct stat st;
	mode_t mode = 0600;
	gid_t gid = (gid_t)-1;
	int fd;

	if (cfg->store_pg)
		return 0; /* PostgreSQL: no database file on this host */
	if (cfg->store_group && cfg->store_group[0]) {
		if (group_gid(cfg->store_group, &gid) != 0)
			return VEX_EINVAL;
		mode = 0640;
	}
	/* SQLite would create it 0644 & ~umask; an empty file is a valid new database. */
	fd = open(cfg->db_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd >= 0)
		close(fd);
	else if (errno != EEXIST)
		return VEX_EIO;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		if (snprintf(path, sizeof(path), "%s%s", cfg->db_path, suffix[i]) >= (int)sizeof(path))
			return VEX_EIO;
		if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
			continue;
		if ((st.st_mode & 07777) == mode && (gid == (gid_t)-1 || st.st_gid == gid))
			continue;
		if (vex_perms_set(path, mode, gid) != 0)
			return VEX_EIO;
	}
	return 0;
}
