/* perms.h - what another local user may reach: the umask, the modes and groups of the database, sockets and run directory. */
#ifndef VEX_PERMS_H
#define VEX_PERMS_H

#include <sys/types.h>

struct vex_config;

#define VEX_UMASK 027
#define VEX_RUNDIR_MODE 0750     /* <home>/run: group = the socket group (nginx's workers traverse it) */
#define VEX_SOCKET_MODE 0660     /* api.sock, stream.sock: group = the socket group */
#define VEX_PRIVSOCK_MODE 0600   /* runner.sock, commit.sock: vex's own user only */

/* umask(027) for this process and everything it starts; called first thing in every program. */
void vex_perms_umask(void);

/*
 * The group of the nginx-facing sockets and of the run directory: [server] socket_group when set
 * (VEX_EINVAL when no such group), else www-data's group when it exists and this process may
 * give files to it (root, or a member), else this process's own group.
 */
int vex_perms_socket_gid(const struct vex_config *cfg, gid_t *ret);

/* chown "path" to group "gid" (unless (gid_t)-1) and chmod it to "mode"; 0 or VEX_EIO (errno kept). */
int vex_perms_set(const char *path, mode_t mode, gid_t gid);

/*
 * The run directory <home>/run, when a socket of "cfg" is in it: created (0750) when absent; when
 * this process owns it, its group becomes "gid" and its mode 0750. Another owner's directory is
 * left as it is. 0 or VEX_EIO.
 */
int vex_perms_rundir(const struct vex_config *cfg, gid_t gid);

/*
 * The database's files: vex.db is created empty (0600) when absent, and vex.db, -wal, -shm,
 * -journal and -wlock that this process owns get 0600, or 0640 with [store] group when it is set.
 * SQLite gives the -wal and -shm files it makes later the database's mode and owner. Nothing to do for a
 * PostgreSQL store.
 * 0, VEX_EINVAL (no such group), VEX_EIO (errno kept).
 */
int vex_perms_store_files(const struct vex_config *cfg);

#endif
