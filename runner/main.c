/* main.c - vex-runner: arguments, configuration, signals, the wake loop and an orderly shutdown. */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "core/hooks/hookkeys.h"
#include "core/base/log.h"
#include "core/base/perms.h"
#include "runner/runas.h"
#include "core/base/secrets.h"
#include "core/base/timeutil.h"
#include "core/jobs/wake.h"
#include "runner/commands.h"
#include "runner/mcp.h"
#include "runner/pool.h"
#include "runner/scheduler.h"
#include "runner/supervisor.h"
#include "runner/webhooks.h"
#include "core/metrics/metrics.h"


struct args {
	const char *config;
	const char *id;
	int check;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: vex-runner [--config FILE] [--check-config] [--id NAME]\n");
}

/* 0, 1 when the caller should exit 0 (help), or VEX_EINVAL. */
static int parse_args(int argc, char **argv, struct args *ret)
{
	struct args a = { 0 };
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			a.config = argv[++i];
		else if (strncmp(argv[i], "--config=", 9) == 0)
			a.config = argv[i] + 9;
		else if (strcmp(argv[i], "--id") == 0 && i + 1 < argc)
			a.id = argv[++i];
		else if (strncmp(argv[i], "--id=", 5) == 0)
			a.id = argv[i] + 5;
		else if (strcmp(argv[i], "--check-config") == 0)
			a.check = 1;
		else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return 1;
		else {
			fprintf(stderr, "vex-runner: unknown or incomplete argument: %s\n", argv[i]);
			return VEX_EINVAL;
		}
	}
	if (a.id && (!a.id[0] || strlen(a.id) > VEX_RUNNER_ID_MAX)) {
		fprintf(stderr, "vex-runner: --id must be 1..%d characters\n", VEX_RUNNER_ID_MAX);
		return VEX_EINVAL;
	}
	*ret = a;
	return 0;
}

/* --config, else $VEX_CONFIG, else <home>/vex.conf when it exists (home from $VEX_HOME, default ./var). */
static int load_config(const struct args *a, struct vex_config *cfg, char *err, size_t errlen)
{
	const char *env = getenv("VEX_CONFIG");
	const char *home = getenv("VEX_HOME");
	char path[PATH_MAX];

	if (a->config)
		return vex_config_load(a->config, 0, cfg, err, errlen);
	if (env && env[0])
		return vex_config_load(env, 0, cfg, err, errlen);
	snprintf(path, sizeof(path), "%s/vex.conf", home && home[0] ? home : "./var");
	return vex_config_load(path, 1, cfg, err, errlen);
}

/* mkdir -p of the directory holding "path" (the wake socket's). */
static void make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *p;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return;
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, VEX_RUNDIR_MODE) < 0 && errno != EEXIST)
			return;
		*p = '/';
	}
	mkdir(dir, VEX_RUNDIR_MODE);
}

/* Block the stop signals in every thread and read them from a signalfd in the main loop. */
static int signals_fd(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return VEX_ERROR;
	return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

/* 1 when a stop signal is pending on "sfd" (consumes it). */
static int got_signal(int sfd, char *name, size_t len)
{
	struct signalfd_siginfo si;

	if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	snprintf(name, len, "%s", si.ssi_signo == SIGINT ? "SIGINT" : "SIGTERM");
	return 1;
}

/* Poll the wake socket: each datagram wakes one idle worker; a quiet poll tick wakes them all
 * (the fallback for jobs queued without a datagram). On PostgreSQL the store's wake-ups ("sw", jobs
 * queued on any host) wake the pool too; while that server is away, each tick tries to listen again. */
static void serve(const struct vex_config *cfg, struct vex_pool *pool, int wake_fd, struct vex_store_wake *sw,
		  int sfd, char *sig, size_t siglen)
{
	struct pollfd fds[3] = { { .fd = sfd, .events = POLLIN }, { .fd = wake_fd, .events = POLLIN },
				 { .fd = -1, .events = POLLIN } };
	int r, n;

	for (;;) {
		fds[2].fd = vex_store_wake_fd(sw); /* a reconnect changes it; -1 is skipped by poll() */
		fds[2].revents = 0;
		r = poll(fds, 3, cfg->poll_interval_ms);
		if (r < 0 && errno != EINTR) {
			vex_log(VEX_LOG_ERROR, "poll failed", "error", strerror(errno), NULL);
			snprintf(sig, siglen, "poll failure");
			return;
		}
		if (r == 0) {
			if (sw && fds[2].fd < 0)
				vex_store_wake_drain(sw);
			vex_pool_wake(pool, vex_pool_size(pool));
			continue;
		}
		if (r > 0 && (fds[0].revents & POLLIN) && got_signal(sfd, sig, siglen))
			return;
		if (r > 0 && wake_fd >= 0 && (fds[1].revents & POLLIN)) {
			n = vex_wake_drain(wake_fd);
			vex_pool_wake(pool, n > 0 ? n : 1);
		}
		if (r > 0 && fds[2].fd >= 0 && fds[2].revents) {
			n = vex_store_wake_drain(sw);
			if (n > 0)
				vex_pool_wake(pool, n);
		}
	}
}

/* Let running jobs finish within the grace period (a second signal cuts it short), then stop and
 * requeue the rest. */
static void shut_down(const struct vex_config *cfg, struct vex_pool *pool, int sfd, const char *sig)
{
	struct vex_running *run = calloc((size_t)vex_pool_size(pool), sizeof(*run));
	int64_t end = vex_mono_us() + (int64_t)cfg->shutdown_grace_ms * 1000;
	char nrun[24], grace[24], again[16];
	size_t n = 0, i;

	vex_pool_drain(pool);
	if (run)
		n = vex_pool_running(pool, run, (size_t)vex_pool_size(pool));
	snprintf(nrun, sizeof(nrun), "%zu", n);
	snprintf(grace, sizeof(grace), "%d", cfg->shutdown_grace_ms);
	vex_log(VEX_LOG_INFO, "shutdown", "signal", sig, "running", nrun, "grace_ms", grace, NULL);
	for (i = 0; i < n; i++)
		vex_log(VEX_LOG_INFO, "shutdown: waiting for job", "job_id", run[i].job_id, NULL);
	for (;;) {
		int64_t left = (end - vex_mono_us()) / 1000;

		if (left <= 0)
			break;
		if (vex_pool_wait_idle(pool, left > 100 ? 100 : (int)left) == 0)
			break;
		if (got_signal(sfd, again, sizeof(again))) {
			vex_log(VEX_LOG_INFO, "shutdown: second signal, ending the grace period", NULL);
			break;
		}
	}
	if (vex_pool_wait_idle(pool, 0) != 0) {
		vex_log(VEX_LOG_INFO, "shutdown: grace over, requeueing running jobs", NULL);
		vex_pool_stop_running(pool);
	}
	vex_pool_join(pool);
	free(run);
}

/* The command tools go to the catalog before the first claim, on a connection of their own. */
static int publish_commands(const struct vex_config *cfg)
{
	struct vex_store *s = NULL;
	int rc;

	rc = vex_store_open(cfg->store, cfg->db_synchronous, cfg->db_busy_timeout_ms, &s);
	if (rc == 0)
		rc = vex_commands_publish(s);
	vex_store_free(s);
	return rc;
}

int main(int argc, char **argv)
{
	struct vex_config cfg = { 0 };
	struct vex_runas runas = { 0 };
	struct vex_pool *pool = NULL;
	struct vex_supervisor *sup = NULL;
	struct vex_scheduler *sched = NULL;
	struct vex_webhooks *hooks = NULL;
	struct vex_store_wake *swake = NULL;
	struct args a;
	char err[1024], host[128], runner_id[VEX_RUNNER_ID_MAX + 1], num[3][24], sig[32] = "";
	int wake_fd = -1, sfd = -1, rc, status = 1;
	gid_t sock_gid;

	vex_perms_umask();
	rc = parse_args(argc, argv, &a);
	if (rc != 0) {
		usage(rc == 1 ? stdout : stderr);
		return rc == 1 ? 0 : 1;
	}
	if (load_config(&a, &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "vex-runner: %s\n", err);
		return 1;
	}
	/* The runner writes the status cache, whose values are MACed with a key derived from the secret. */
	if (cfg.cache_servers && cfg.cache_servers[0] && vex_config_require_secret(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "vex-runner: %s (the [cache] values are signed with it; or set [cache] servers empty)\n",
			err);
		vex_config_release(&cfg);
		return 1;
	}
	if (vex_commands_load(&cfg, err, sizeof(err)) < 0 || vex_mcp_load(&cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "vex-runner: %s\n", err);
		vex_mcp_stop();
		vex_commands_free();
		vex_config_release(&cfg);
		return 1;
	}
	if (a.check && vex_hookkeys_check(&cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "vex-runner: [webhooks] %s\n", err);
		goto out;
	}
	if (vex_runas_resolve(cfg.tools_run_as, &runas, err, sizeof(err)) < 0) {
		fprintf(stderr, "vex-runner: %s\n", err);
		vex_mcp_stop();
		vex_commands_free();
		vex_config_release(&cfg);
		return 1;
	}
	vex_runas_set_default(&runas);
	if (a.check && vex_commands_left_out() > 0) {
		fprintf(stderr, "vex-runner: %zu command tool(s) left out of the catalog (see the warnings above)\n",
			vex_commands_left_out());
		goto out;
	}
	if (a.check) {
		printf("config ok\n");
		status = 0;
		goto out;
	}
	vex_log_init("vex-runner", cfg.log_level);
	/* every getenv of a secret is done (config, tools.json and mcp.json env): drop them */
	{
		const char *names[] = { "VEX_JWT_SECRET", "VEX_JWT_SECRET_PREVIOUS", cfg.model_api_key_env, NULL };

		if (vex_secrets_scrub(names) < 0) {
			vex_log(VEX_LOG_ERROR, "cannot make the process non-dumpable", "error", strerror(errno), NULL);
			goto out;
		}
	}
	if (a.id) {
		snprintf(runner_id, sizeof(runner_id), "%s", a.id);
	} else {
		if (gethostname(host, sizeof(host)) < 0)
			snprintf(host, sizeof(host), "localhost");
		host[sizeof(host) - 1] = '\0';
		snprintf(runner_id, sizeof(runner_id), "%s:%ld", host, (long)getpid());
	}
	sfd = signals_fd();
	if (sfd < 0) {
		vex_log(VEX_LOG_ERROR, "cannot set up signal handling", NULL);
		goto out;
	}
	if (vex_perms_socket_gid(&cfg, &sock_gid) != 0 || vex_perms_rundir(&cfg, sock_gid) != 0 ||
	    vex_perms_store_files(&cfg) != 0) {
		vex_log(VEX_LOG_ERROR, "cannot make the run directory and database files private", "error",
			strerror(errno), "db", cfg.db_path, NULL);
		goto out;
	}
	if (vex_hookkeys_prepare(&cfg, err, sizeof(err)) != 0) {
		vex_log(VEX_LOG_ERROR, "cannot prepare the webhook key", "error", err, NULL);
		goto out;
	}
	make_parent(cfg.runner_socket);
	wake_fd = vex_wake_bind(cfg.runner_socket);
	if (wake_fd < 0) {
		vex_log(VEX_LOG_ERROR, "cannot bind the wake socket", "path", cfg.runner_socket, NULL);
		goto out;
	}
	/* Jobs queued on other hosts (PostgreSQL): without it, the poll tick still finds them. */
	if (vex_store_wake_open(cfg.store, &swake) != 0)
		vex_log(VEX_LOG_WARN, "no wake-ups from the store: jobs queued on other hosts are found by polling",
			"db", cfg.store_label, NULL);
	snprintf(num[0], sizeof(num[0]), "%d", cfg.runner_concurrency);
	snprintf(num[1], sizeof(num[1]), "%d", cfg.lease_ms);
	snprintf(num[2], sizeof(num[2]), "%d", cfg.rescue_interval_ms);
	vex_log(VEX_LOG_INFO, "start", "runner_id", runner_id, "db", cfg.store_label, "socket", cfg.runner_socket,
		"concurrency", num[0], "lease_ms", num[1], "rescue_interval_ms", num[2], NULL);
	rc = publish_commands(&cfg);
	if (rc < 0) {
		vex_log(VEX_LOG_ERROR, "cannot publish the command tools", "error", vex_strerror(rc), NULL);
		goto out;
	}
	/* the shared counter page (core/metrics/metrics.h): this runner's slots, claims, finishes, deliveries */
	if (vex_metrics_open(cfg.db_path) != 0 || vex_metrics_runner_join(runner_id, cfg.runner_concurrency, vex_now_us()))
		vex_log(VEX_LOG_WARN, "no metrics file beside the database: /metrics misses this runner", "db",
			cfg.db_path, NULL);
	rc = vex_mcp_start(&cfg, runner_id);
	if (rc < 0) {
		vex_log(VEX_LOG_ERROR, "cannot start the MCP servers", "error", vex_strerror(rc), NULL);
		goto out;
	}
	rc = vex_pool_start(&cfg, runner_id, &pool);
	if (rc < 0) {
		vex_log(VEX_LOG_ERROR, "cannot start workers", "error", vex_strerror(rc), NULL);
		goto out;
	}
	rc = vex_supervisor_start(&cfg, runner_id, pool, &sup);
	if (rc < 0) {
		vex_log(VEX_LOG_ERROR, "cannot start the supervisor", "error", vex_strerror(rc), NULL);
		goto out;
	}
	rc = vex_scheduler_start(&cfg, pool, &sched);
	if (rc < 0) {
		vex_log(VEX_LOG_ERROR, "cannot start the scheduler", "error", vex_strerror(rc), NULL);
		goto out;
	}
	rc = vex_webhooks_start(&cfg, runner_id, &hooks);
	if (rc < 0) {
		vex_log(VEX_LOG_ERROR, "cannot start the webhook deliverer", "error", vex_strerror(rc), NULL);
		goto out;
	}
	serve(&cfg, pool, wake_fd, swake, sfd, sig, sizeof(sig));
	/* no new scheduled runs once stopping; slots still in the window fire on the next start */
	vex_scheduler_free(sched);
	sched = NULL;
	shut_down(&cfg, pool, sfd, sig);
	/* the events of jobs that ended during the grace period were fanned out meanwhile */
	vex_webhooks_free(hooks);
	hooks = NULL;
	status = 0;
out:
	/* workers first (they may still need their leases renewed), then the supervisor, which
	 * removes the heartbeat row; the scheduler wakes the pool, so it stops before */
	vex_scheduler_free(sched);
	vex_webhooks_free(hooks);
	if (pool) {
		vex_pool_drain(pool);
		vex_pool_stop_running(pool);
		vex_pool_join(pool);
	}
	vex_supervisor_free(sup);
	vex_pool_free(pool);
	vex_mcp_stop();
	vex_metrics_runner_leave();
	vex_metrics_close();
	vex_commands_free();
	vex_store_wake_free(swake);
	if (wake_fd >= 0) {
		/* Ours (the bind succeeded): remove it so a stopped runner leaves no socket behind. */
		close(wake_fd);
		unlink(cfg.runner_socket);
	}
	if (sfd >= 0)
		close(sfd);
	if (!a.check)
		vex_log(status == 0 ? VEX_LOG_INFO : VEX_LOG_ERROR, "stopped", "runner_id", runner_id, NULL);
	vex_runas_set_default(NULL);
	vex_runas_release(&runas);
	vex_config_release(&cfg);
	return status;
}
