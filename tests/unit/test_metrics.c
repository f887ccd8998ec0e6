/* test_metrics.c - the shared-memory counter page: forked processes' adds sum exactly, restarts keep counts,
 * label cells stay bounded, and the text exposition; plus the [metrics] allow_networks ranges (core/base/cidr.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/cidr.h"
#include "core/base/config.h"
#include "core/base/err.h"
#include "core/metrics/metrics.h"
#include "core/metrics/metrics_text.h"

static char dir[64], db[128], file[160];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-metrics-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(db, sizeof(db), "%s/vex.db", dir);
	snprintf(file, sizeof(file), "%s-metrics", db);
	return vex_metrics_open(db);
}

static int teardown(void **state)
{
	(void)state;
	vex_metrics_close();
	unlink(file);
	rmdir(dir);
	return 0;
}

static struct vex_job *tool_job(const char *tool, enum vex_job_status st)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup(tool);
	j->status = st;
	j->attempts = 1;
	j->created_at = 1000000;
	j->started_at = 1003000;     /* 3 ms of queue wait */
	j->completed_at = 3003000;   /* 2 s of run time */
	return j;
}

static uint64_t tool_sum(const char *name, size_t field_off)
{
	const struct vex_metrics_page *p = vex_metrics_page();
	uint64_t n = 0;

	for (int i = 0; i < VEX_METRICS_TOOLS; i++)
		if (p->tools[i].state == 2 && strcmp(p->tools[i].name, name) == 0)
			n += *(const uint64_t *)((const char *)&p->tools[i] + field_off);
	return n;
}

#define CHILDREN 4
#define ADDS 100000

/* Four forked processes (as the vex-api master's children: the page mapped before the fork) add at once. */
static void test_forked_adds_sum_exactly(void **state)
{
	const struct vex_metrics_page *p = vex_metrics_page();
	pid_t pids[CHILDREN];
	int i, status;

	(void)state;
	for (i = 0; i < CHILDREN; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct vex_job *j = tool_job(i % 2 ? "echo" : "sleep", VEX_JOB_COMPLETED);

			for (int k = 0; k < ADDS; k++) {
				vex_metrics_inc(VEX_M_CACHE_HITS);
				vex_metrics_request(3, 200);
				vex_metrics_request(3, 599); /* "other" */
				if (k % 100 == 0) {
					vex_metrics_job_submitted(j);
					vex_metrics_job_finished(j);
				}
			}
			vex_job_free(j);
			_exit(0);
		}
	}
	for (i = 0; i < CHILDREN; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_int_equal(p->counter[VEX_M_CACHE_HITS], CHILDREN * ADDS);
	assert_int_equal(p->requests[3][0], CHILDREN * ADDS); /* 200 is the first column */
	assert_int_equal(p->requests[3][VEX_METRICS_CODES - 1], CHILDREN * ADDS);
	/* two children per tool, ADDS / 100 jobs each; whichever took a cell first, the names add up */
	assert_int_equal(tool_sum("echo", offsetof(struct vex_metrics_tool, submits)), 2 * ADDS / 100);
	assert_int_equal(tool_sum("sleep", offsetof(struct vex_metrics_tool, completions)), 2 * ADDS / 100);
}

/* A process that opens the file again (a restarted worker or runner) adds on: counters never go back. */
static void test_reopen_keeps_counts(void **state)
{
	(void)state;
	vex_metrics_inc(VEX_M_HOOK_DELIVERED);
	vex_metrics_inc(VEX_M_HOOK_DELIVERED);
	vex_metrics_close();
	assert_null(vex_metrics_page());
	vex_metrics_inc(VEX_M_HOOK_DELIVERED); /* no page: a no-op, no crash */
	assert_int_equal(vex_metrics_open(db), 0);
	vex_metrics_inc(VEX_M_HOOK_DELIVERED);
	assert_int_equal(vex_metrics_page()->counter[VEX_M_HOOK_DELIVERED], 3);
}

/* Another process maps the file while this one has it mapped (vex-api's master, then the runner): the open
 * does not wait for the first one's lock (a mapping keeps a flock alive past close() unless unlocked). */
static void test_second_process_opens_at_once(void **state)
{
	pid_t pid;
	int status;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(5); /* blocked in flock: killed, and the test fails */
		vex_metrics_close();
		_exit(vex_metrics_open(db) == 0 && vex_metrics_page() != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A file of another layout (an upgrade) is made anew, zeroed: the one reset. */
static void test_other_layout_is_remade(void **state)
{
	FILE *f;

	(void)state;
	vex_metrics_inc(VEX_M_CACHE_MISSES);
	vex_metrics_close();
	f = fopen(file, "r+");
	assert_non_null(f);
	assert_int_equal(ftruncate(fileno(f), 100), 0);
	fclose(f);
	assert_int_equal(vex_metrics_open(db), 0);
	assert_int_equal(vex_metrics_page()->counter[VEX_M_CACHE_MISSES], 0);
	assert_string_equal(vex_metrics_page()->tools[VEX_METRICS_TOOL_OTHER].name, "_other");
}

/* More tool names than cells fold into "_other"; agent jobs have their own cell whatever their agent. */
static void test_tool_cells_are_bounded(void **state)
{
	char name[32];
	int i, cell;

	(void)state;
	for (i = 0; i < VEX_METRICS_TOOLS + 20; i++) {
		struct vex_job *j;

		snprintf(name, sizeof(name), "tool-%d", i);
		j = tool_job(name, VEX_JOB_COMPLETED);
		vex_metrics_job_submitted(j);
		vex_job_free(j);
	}
	assert_int_equal(tool_sum("_other", offsetof(struct vex_metrics_tool, submits)), 22);
	{
		struct vex_job *a = tool_job("x", VEX_JOB_FAILED);

		a->kind = VEX_JOB_AGENT;
		cell = vex_metrics_tool_cell(a);
		vex_job_free(a);
	}
	assert_int_equal(cell, VEX_METRICS_TOOL_AGENT);
	/* a name longer than a cell holds folds too */
	{
		char longname[VEX_METRICS_NAME_MAX + 10];
		struct vex_job *j;

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		j = tool_job(longname, VEX_JOB_COMPLETED);
		assert_int_equal(vex_metrics_tool_cell(j), VEX_METRICS_TOOL_OTHER);
		vex_job_free(j);
	}
}

/* The exposition: cumulative buckets, _count equal to +Inf, escaped label values, runners by liveness. */
static void test_text(void **state)
{
	static const char *const method[] = { "GET", "POST" };
	static const char *const pattern[] = { "/api/v1/jobs/{id}", "/jobs/submit" };
	struct vex_mtext_routes rt = { method, pattern, 2 };
	struct vex_job *j = tool_job("we\"ird\\na\nme", VEX_JOB_FAILED);
	struct vex_buf b;

	(void)state;
	vex_metrics_job_submitted(j);
	vex_metrics_job_started(j);
	vex_metrics_job_finished(j);
	vex_metrics_request(0, 200);
	vex_metrics_request(0, 200);
	vex_metrics_request(VEX_METRICS_ROUTE_NONE, 404);
	assert_int_equal(vex_metrics_runner_join("host:1", 8, 50000000), 0);
	vex_metrics_runner_busy(3);
	vex_metrics_mcp_up("everything", 1);
	vex_buf_init(&b, 1 << 22);
	vex_mtext_page(&b, vex_metrics_page(), &rt, 55000000);
	assert_int_equal(b.err, 0);
	assert_non_null(strstr(b.p, "vex_http_requests_total{method=\"GET\",route=\"/api/v1/jobs/{id}\",code=\"200\"} 2\n"));
	assert_non_null(strstr(b.p, "vex_http_requests_total{method=\"\",route=\"unmatched\",code=\"404\"} 1\n"));
	assert_null(strstr(b.p, "route=\"/jobs/submit\"")); /* no request, no series */
	assert_non_null(strstr(b.p, "vex_job_failures_total{kind=\"tool\",tool=\"we\\\"ird\\\\na\\nme\",status=\"failed\"} 1\n"));
	/* 3 ms of queue wait: not in le=0.001... */
	assert_non_null(strstr(b.p, "vex_job_queue_wait_seconds_bucket{kind=\"tool\",tool=\"we\\\"ird\\\\na\\nme\",le=\"0.005\"} 1\n"));
	assert_non_null(strstr(b.p, "vex_job_run_seconds_bucket{kind=\"tool\",tool=\"we\\\"ird\\\\na\\nme\",le=\"1\"} 0\n"));
	assert_non_null(strstr(b.p, "vex_job_run_seconds_bucket{kind=\"tool\",tool=\"we\\\"ird\\\\na\\nme\",le=\"2.5\"} 1\n"));
	assert_non_null(strstr(b.p, "vex_job_run_seconds_bucket{kind=\"tool\",tool=\"we\\\"ird\\\\na\\nme\",le=\"+Inf\"} 1\n"));
	assert_non_null(strstr(b.p, "vex_job_run_seconds_sum{kind=\"tool\",tool=\"we\\\"ird\\\\na\\nme\"} 2.000000\n"));
	assert_non_null(strstr(b.p, "vex_job_run_seconds_count{kind=\"tool\",tool=\"we\\\"ird\\\\na\\nme\"} 1\n"));
	assert_non_null(strstr(b.p, "vex_runner_slots{runner=\"host:1\"} 8\n"));
	assert_non_null(strstr(b.p, "vex_runner_slots_busy{runner=\"host:1\"} 3\n"));
	assert_non_null(strstr(b.p, "vex_mcp_server_up{runner=\"host:1\",server=\"everything\"} 1\n"));
	assert_non_null(strstr(b.p, "# TYPE vex_job_submits_total counter\n"));
	vex_buf_reset(&b);
	/* 20 s later without a beat: the runner and its servers are gone from the page */
	vex_mtext_page(&b, vex_metrics_page(), &rt, 75000000);
	assert_null(strstr(b.p, "runner=\"host:1\""));
	vex_buf_release(&b);
	vex_metrics_runner_leave();
	vex_job_free(j);
}

static void test_cidr(void **state)
{
	char why[160];

	(void)state;
	assert_int_equal(vex_cidr_list_check("", why, sizeof(why)), 0);
	assert_int_equal(vex_cidr_list_check("127.0.0.1, 10.0.0.0/8 ::1  fd00::/8", why, sizeof(why)), 0);
	assert_int_equal(vex_cidr_list_check("10.0.0.0/33", why, sizeof(why)), VEX_EINVAL);
	assert_non_null(strstr(why, "10.0.0.0/33"));
	assert_int_equal(vex_cidr_list_check("example.com", why, sizeof(why)), VEX_EINVAL);
	assert_int_equal(vex_cidr_list_check("10.0.0.0/", why, sizeof(why)), VEX_EINVAL);
	assert_int_equal(vex_cidr_list_check("10.0.0.0/-1", why, sizeof(why)), VEX_EINVAL);
	assert_int_equal(vex_cidr_list_check("all", why, sizeof(why)), VEX_EINVAL);

	assert_int_equal(vex_cidr_list_match("", "127.0.0.1"), 0);
	assert_int_equal(vex_cidr_list_match(NULL, "127.0.0.1"), 0);
	assert_int_equal(vex_cidr_list_match("127.0.0.1", NULL), 0);
	assert_int_equal(vex_cidr_list_match("127.0.0.1", "127.0.0.1"), 1);
	assert_int_equal(vex_cidr_list_match("127.0.0.1", "127.0.0.2"), 0);
	assert_int_equal(vex_cidr_list_match("10.1.0.0/16", "10.1.255.7"), 1);
	assert_int_equal(vex_cidr_list_match("10.1.0.0/16", "10.2.0.1"), 0);
	assert_int_equal(vex_cidr_list_match("192.0.2.0/25", "192.0.2.127"), 1);
	assert_int_equal(vex_cidr_list_match("192.0.2.0/25", "192.0.2.128"), 0);
	assert_int_equal(vex_cidr_list_match("0.0.0.0/0", "203.0.113.9"), 1);
	assert_int_equal(vex_cidr_list_match("0.0.0.0/0", "::1"), 0);
	assert_int_equal(vex_cidr_list_match("::1", "::1"), 1);
	assert_int_equal(vex_cidr_list_match("fd00::/8", "fd12:3456::1"), 1);
	assert_int_equal(vex_cidr_list_match("fd00::/8", "fe80::1"), 0);
	/* an IPv4-mapped peer is its IPv4 address */
	assert_int_equal(vex_cidr_list_match("127.0.0.0/8", "::ffff:127.0.0.9"), 1);
	/* what a header could carry is not an address: a list, a range, garbage */
	assert_int_equal(vex_cidr_list_match("127.0.0.1", "127.0.0.1, 10.0.0.1"), 0);
	assert_int_equal(vex_cidr_list_match("127.0.0.0/8", "127.0.0.0/8"), 0);
	assert_int_equal(vex_cidr_list_match("127.0.0.1", "unix:"), 0);
}

/* [metrics] allow_networks in vex.conf: empty by default (nobody scrapes without a credential), ranges checked
 * at load with the key and the bad entry named. */
static void test_config_key(void **state)
{
	struct vex_config cfg;
	char err[512], conf[192];
	FILE *f;

	(void)state;
	setenv("VEX_HOME", dir, 1);
	assert_int_equal(vex_config_load(NULL, 1, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.metrics_allow_networks, "");
	vex_config_release(&cfg);
	snprintf(conf, sizeof(conf), "%s/vex.conf", dir);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("[metrics]\nallow_networks = 127.0.0.1, 10.0.0.0/8 ::1\n", f);
	fclose(f);
	assert_int_equal(vex_config_load(conf, 0, &cfg, err, sizeof(err)), 0);
	assert_string_equal(cfg.metrics_allow_networks, "127.0.0.1, 10.0.0.0/8 ::1");
	vex_config_release(&cfg);
	f = fopen(conf, "w");
	assert_non_null(f);
	fputs("[metrics]\nallow_networks = 10.0.0.0/8, all\n", f);
	fclose(f);
	assert_int_equal(vex_config_load(conf, 0, &cfg, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "allow_networks"));
	assert_non_null(strstr(err, "\"all\""));
	unlink(conf);
	unsetenv("VEX_HOME");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forked_adds_sum_exactly, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_counts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_second_process_opens_at_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_layout_is_remade, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tool_cells_are_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_text, setup, teardown),
		cmocka_unit_test(test_cidr),
		cmocka_unit_test_setup_teardown(test_config_key, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
