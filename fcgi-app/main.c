/* main.c - vex-api: arguments, configuration, the FastCGI sockets, and the prefork master (respawn, shutdown). */
#include <errno.h>
#include <fcgiapp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/hooks/hookkeys.h"
#include "core/base/log.h"
#include "core/base/perms.h"
#include "core/base/secrets.h"
#include "core/base/timeutil.h"
#include "core/metrics/metrics.h"
#include "core/jobs/commitq.h"
#include "fcgi-app/committer.h"
#include "fcgi-app/ratelimit.h"
#include "fcgi-app/stream_server.h"
#include "fcgi-app/worker.h"

#define WORKERS_MAX 256
#define LISTEN_BACKLOG 1024
#define KILL_AFTER_US (10 * 1000000LL)   /* SIGKILL workers still busy 10 s after SIGTERM */
#define TERM_REPEAT_US 1000000LL         /* re-send SIGTERM: a worker may have missed it just before accept() */
#define QUICK_DEATH_US 1000000LL         /* a worker dying sooner than this backs off */
#define BACKOFF_MAX_US (5 * 1000000LL)

/* What a child of the master runs. */
enum child_kind { CHILD_WORKER, CHILD_COMMITTER, CHILD_STREAMS };

/* The sockets the master hands down; each child keeps only its own. -1: none. */
struct listeners {
	int api_fd;
	int commit_fd;
	int stream_fd;
	struct vex_ratelanes *rate_lanes; /* made before the first fork, shared by every worker */
};

struct slot {
	enum child_kind kind;
	pid_t pid;        /* 0: not running */
	int64_t started;  /* monotonic */
	int64_t respawn_at;
	int quick_deaths;
};

static void usage(FILE *f)
{
	fputs("usage: vex-api [--config FILE] [--check-config]\n"
	      "  --config FILE   vex.conf to load (default: $VEX_CONFIG, else <home>/vex.conf when present)\n"
	      "  --check-config  load the configuration, require the JWT secret, print \"config ok\"\n",
	      f);
}

/* --config, else $VEX_CONFIG (both must exist), else <home>/vex.conf when present. */
static int load_config(const char *path, struct vex_config *cfg, char *err, size_t errlen)
{
	char def[4096];
	const char *home;

	if (path == NULL)
		path = getenv("VEX_CONFIG");
	if (path != NULL && path[0] != '\0')
		return vex_config_load(path, 0, cfg, err, errlen);
	home = getenv("VEX_HOME");
	if (home == NULL || home[0] == '\0')
		home = "./var";
	snprintf(def, sizeof(def), "%s/vex.conf", home);
	return vex_config_load(def, 1, cfg, err, errlen);
}

/* mkdir -p of the directory holding "file". */
static int mkdir_parent(const char *file)
{
	char buf[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char *p;
	size_t n = strlen(file);

	if (n >= sizeof(buf))
		return VEX_ETOOBIG;
	memcpy(buf, file, n + 1);
	p = strrchr(buf, '/');
	if (p == NULL || p == buf)
		return 0;
	*p = '\0';
	for (p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, VEX_RUNDIR_MODE) != 0 && errno != EEXIST)
			return VEX_EIO;
		*p = '/';
	}
	if (mkdir(buf, VEX_RUNDIR_MODE) != 0 && errno != EEXIST)
		return VEX_EIO;
	return 0;
}

/*
 * Listen on the unix socket "path", mode 0660 with group "gid" (nginx's workers are in it; nobody
 * else may connect). A socket somebody still answers on is not stolen; a stale file is replaced.
 */
static int open_listener(const char *key, const char *path, gid_t gid, int *ret_fd, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int fd = -1, probe = -1, rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "%s path too long (max %zu bytes): %s", key, sizeof(sa.sun_path) - 1, path);
		rc = VEX_EINVAL;
		goto out;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (mkdir_parent(path) != 0) {
		snprintf(err, errlen, "cannot create the directory of %s: %s", path, strerror(errno));
		rc = VEX_EIO;
		goto out;
	}
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		snprintf(err, errlen, "another process is listening on %s", path);
		rc = VEX_EEXIST;
		goto out;
	}
	if (unlink(path) != 0 && errno != ENOENT) {
		snprintf(err, errlen, "cannot remove stale %s: %s", path, strerror(errno));
		rc = VEX_EIO;
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || vex_perms_set(path, VEX_SOCKET_MODE, gid) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		rc = VEX_EIO;
		goto out;
	}
	*ret_fd = fd;
	fd = -1;
out:
	if (probe >= 0)
		close(probe);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Fork a child of "kind"; each child keeps only its own listener. */
static pid_t spawn(const struct vex_config *cfg, const struct listeners *l, enum child_kind kind, pid_t master)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	/* Child: die with the master rather than serve on unsupervised. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != master)
		_exit(0);
	if (kind != CHILD_WORKER)
		close(l->api_fd);
	if (kind != CHILD_COMMITTER && l->commit_fd >= 0)
		close(l->commit_fd);
	if (kind != CHILD_STREAMS && l->stream_fd >= 0)
		close(l->stream_fd);
	if (kind == CHILD_COMMITTER)
		exit(vex_committer_run(cfg, l->commit_fd));
	if (kind == CHILD_STREAMS)
		exit(vex_stream_server_run(cfg, l->stream_fd, &vex_stream_jobs));
	exit(vex_worker_run(cfg, l->api_fd, l->rate_lanes));
}

static const char *kind_name(enum child_kind kind)
{
	return kind == CHILD_COMMITTER ? "committer" : kind == CHILD_STREAMS ? "stream server" : "worker";
}

static void signal_all(struct slot *slots, int n, int sig)
{
	int i;

	for (i = 0; i < n; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, sig);
}

static void log_exit(enum child_kind kind, pid_t pid, int st, int stopping)
{
	char p[16], how[48];

	snprintf(p, sizeof(p), "%d", (int)pid);
	if (WIFSIGNALED(st))
		snprintf(how, sizeof(how), "signal %d", WTERMSIG(st));
	else
		snprintf(how, sizeof(how), "exit %d", WEXITSTATUS(st));
	vex_log(stopping || (WIFEXITED(st) && WEXITSTATUS(st) == 0) ? VEX_LOG_INFO : VEX_LOG_WARN,
		"worker exited", "worker_pid", p, "kind", kind_name(kind), "status", how, NULL);
}

/* Reap every exited worker; schedule respawns (with backoff when they die young). */
static void reap(struct slot *slots, int n, int stopping)
{
	int64_t now = vex_mono_us(), backoff;
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		for (i = 0; i < n && slots[i].pid != pid; i++)
			;
		if (i == n)
			continue;
		log_exit(slots[i].kind, pid, st, stopping);
		slots[i].pid = 0;
		if (now - slots[i].started < QUICK_DEATH_US) {
			if (slots[i].quick_deaths < 16)
				slots[i].quick_deaths++;
			backoff = 100000LL << (slots[i].quick_deaths - 1);
			if (backoff > BACKOFF_MAX_US)
				backoff = BACKOFF_MAX_US;
		} else {
			slots[i].quick_deaths = 0;
			backoff = 0;
		}
		slots[i].respawn_at = now + backoff;
	}
}

static int alive(const struct slot *slots, int n)
{
	int i, k = 0;

	for (i = 0; i < n; i++)
		k += slots[i].pid > 0;
	return k;
}

/*
 * The master: keep "n" workers alive, and in the slots after them the group committer when
 * "commit_fd" >= 0 and the stream server when "stream_fd" >= 0 (respawned like workers, with the
 * same backoff); on SIGTERM/SIGINT drain them all, SIGKILL stragglers after 10 s.
 */
static int master(const struct vex_config *cfg, const struct listeners *l, int n)
{
	struct slot slots[WORKERS_MAX + 2];
	struct timespec ts;
	sigset_t set;
	pid_t self = getpid();
	int64_t now, next, kill_at = 0, next_term = 0;
	int i, sig, stopping = 0, killed = 0;
	char buf[16];

	memset(slots, 0, sizeof(slots));
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);

	for (i = 0; i < n; i++)
		slots[i].kind = CHILD_WORKER;
	if (l->commit_fd >= 0)
		slots[n++].kind = CHILD_COMMITTER;
	if (l->stream_fd >= 0)
		slots[n++].kind = CHILD_STREAMS;
	for (;;) {
		reap(slots, n, stopping);
		now = vex_mono_us();
		next = now + 1000000LL;
		if (stopping) {
			if (alive(slots, n) == 0)
				break;
			if (!killed && now >= kill_at) {
				vex_log(VEX_LOG_WARN, "workers still busy after 10 s: SIGKILL", NULL);
				signal_all(slots, n, SIGKILL);
				killed = 1;
			} else if (!killed && now >= next_term) {
				signal_all(slots, n, SIGTERM);
				next_term = now + TERM_REPEAT_US;
			}
			if (!killed && kill_at < next)
				next = kill_at;
			if (!killed && next_term < next)
				next = next_term;
		} else {
			for (i = 0; i < n; i++) {
				if (slots[i].pid > 0)
					continue;
				if (slots[i].respawn_at > now) {
					if (slots[i].respawn_at < next)
						next = slots[i].respawn_at;
					continue;
				}
				slots[i].pid = spawn(cfg, l, slots[i].kind, self);
				slots[i].started = now;
				if (slots[i].pid < 0) {
					vex_log(VEX_LOG_ERROR, "fork failed", "error", strerror(errno), NULL);
					slots[i].pid = 0;
					slots[i].respawn_at = now + 1000000LL;
				} else {
					snprintf(buf, sizeof(buf), "%d", (int)slots[i].pid);
					vex_log(VEX_LOG_DEBUG, "worker started", "worker_pid", buf, "kind",
						kind_name(slots[i].kind), NULL);
				}
			}
		}
		if (next < now + 1000)
			next = now + 1000;
		ts.tv_sec = (time_t)((next - now) / 1000000LL);
		ts.tv_nsec = (long)((next - now) % 1000000LL) * 1000L;
		sig = sigtimedwait(&set, NULL, &ts);
		if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			vex_log(VEX_LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
			stopping = 1;
			now = vex_mono_us();
			kill_at = now + KILL_AFTER_US;
			next_term = now + TERM_REPEAT_US;
			signal_all(slots, n, SIGTERM);
		} else if (sig == SIGHUP) {
			vex_log(VEX_LOG_INFO, "SIGHUP ignored: restart to reload the configuration", NULL);
		}
	}
	return 0;
}

/* Remove the socket "path" only when it is still the one "st" describes (a successor may have replaced it). */
static void unlink_if_ours(const char *path, const struct stat *st)
{
	struct stat now;

	if (stat(path, &now) == 0 && now.st_ino == st->st_ino && now.st_dev == st->st_dev)
		unlink(path);
}

/* The secrets are in "cfg" now: out of the environment (and /proc/PID/environ), non-dumpable. */
static int drop_secrets(const struct vex_config *cfg)
{
	const char *names[] = { "VEX_JWT_SECRET", "VEX_JWT_SECRET_PREVIOUS", cfg->model_api_key_env, NULL };

	if (vex_secrets_scrub(names) < 0) {
		vex_log(VEX_LOG_ERROR, "cannot make the process non-dumpable", "error", strerror(errno), NULL);
		return VEX_EIO;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct vex_config cfg;
	struct listeners l = { -1, -1, -1, NULL };
	struct stat st_sock, st_stream;
	sigset_t set;
	gid_t sock_gid;
	const char *config_path = NULL;
	char err[1024], buf[32];
	int i, rc, check = 0, workers, status = 1, have_sock = 0, have_stream = 0;

	vex_perms_umask();
	memset(&cfg, 0, sizeof(cfg));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			config_path = argv[++i];
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			config_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--check-config") == 0) {
			check = 1;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "vex-api: unknown argument: %s\n", argv[i]);
			usage(stderr);
			return 1;
		}
	}

	err[0] = '\0';
	if (load_config(config_path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "vex-api: %s\n", err);
		return 1;
	}
	if (vex_config_require_secret(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "vex-api: %s\n", err);
		goto out;
	}
	if (check && vex_hookkeys_check(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "vex-api: [webhooks] %s\n", err);
		goto out;
	}
	if (check) {
		puts("config ok");
		status = 0;
		goto out;
	}
	vex_log_init("vex-api", cfg.log_level);
	if (drop_secrets(&cfg) < 0)
		goto out;

	workers = cfg.workers < 1 ? 1 : cfg.workers > WORKERS_MAX ? WORKERS_MAX : cfg.workers;
	signal(SIGPIPE, SIG_IGN);
	/* Signals wait for sigtimedwait() in the master; workers unblock them after fork. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);

	if (vex_perms_socket_gid(&cfg, &sock_gid) != 0 || vex_perms_rundir(&cfg, sock_gid) != 0) {
		snprintf(err, sizeof(err), "cannot give %s/run mode 0750 and the socket group: %s", cfg.home,
			 strerror(errno));
		vex_log(VEX_LOG_ERROR, "cannot start", "error", err, NULL);
		goto out;
	}
	if (vex_perms_store_files(&cfg) != 0) {
		snprintf(err, sizeof(err), "cannot make the database files private: %s", strerror(errno));
		vex_log(VEX_LOG_ERROR, "cannot start", "error", err, "db", cfg.db_path, NULL);
		goto out;
	}
	if (vex_hookkeys_prepare(&cfg, err, sizeof(err)) != 0) {
		vex_log(VEX_LOG_ERROR, "cannot start", "error", err, NULL);
		goto out;
	}
	/* Mapped before the forks: every child adds to the same page (core/metrics/metrics.h). */
	if (vex_metrics_open(cfg.db_path) != 0)
		vex_log(VEX_LOG_WARN, "no metrics file beside the database: /metrics shows only the store's counts",
			"db", cfg.db_path, NULL);
	if (open_listener("api_socket", cfg.api_socket, sock_gid, &l.api_fd, err, sizeof(err)) != 0) {
		vex_log(VEX_LOG_ERROR, "cannot start", "error", err, NULL);
		goto out;
	}
	have_sock = stat(cfg.api_socket, &st_sock) == 0;
	l.commit_fd = vex_commitq_listen(cfg.commit_socket);
	if (l.commit_fd == VEX_EEXIST)
		vex_log(VEX_LOG_INFO, "another vex-api's committer serves commit_socket: sharing it", "socket",
			cfg.commit_socket, NULL);
	else if (l.commit_fd < 0)
		vex_log(VEX_LOG_WARN, "no group committer: workers will write directly", "socket", cfg.commit_socket,
			NULL);
	if (l.commit_fd < 0)
		l.commit_fd = -1;
	/* Streams: one stream server per socket; a second vex-api on the same host shares the first's. */
	rc = open_listener("[streams] socket", cfg.stream_socket, sock_gid, &l.stream_fd, err, sizeof(err));
	if (rc == VEX_EEXIST)
		vex_log(VEX_LOG_INFO, "another vex-api's stream server serves the stream socket: sharing it", "socket",
			cfg.stream_socket, NULL);
	else if (rc != 0)
		vex_log(VEX_LOG_WARN, "no stream server: streams answer 502", "error", err, NULL);
	have_stream = l.stream_fd >= 0 && stat(cfg.stream_socket, &st_stream) == 0;
	if (FCGX_Init() != 0) {
		vex_log(VEX_LOG_ERROR, "FCGX_Init failed", NULL);
		goto out;
	}
	if (vex_ratelimit_lanes_new(&l.rate_lanes) != 0) /* without lanes the limiter only retries more */
		vex_log(VEX_LOG_WARN, "no rate-limit lanes: the workers' CAS may collide more", NULL);
	snprintf(buf, sizeof(buf), "%d", workers);
	vex_log(VEX_LOG_INFO, "vex-api started", "socket", cfg.api_socket, "workers", buf, "db", cfg.store_label,
		"stream_socket", cfg.stream_socket, NULL);
	status = master(&cfg, &l, workers);
	vex_log(VEX_LOG_INFO, "vex-api stopped", NULL);
out:
	if (l.api_fd >= 0) {
		close(l.api_fd);
		if (have_sock)
			unlink_if_ours(cfg.api_socket, &st_sock);
	}
	if (l.stream_fd >= 0) {
		close(l.stream_fd);
		if (have_stream)
			unlink_if_ours(cfg.stream_socket, &st_stream);
	}
	if (l.commit_fd >= 0) {
		close(l.commit_fd);
		unlink(cfg.commit_socket);
	}
	vex_ratelimit_lanes_free(l.rate_lanes);
	vex_metrics_close();
	vex_config_release(&cfg);
	return status;
}
