/* test_exec_command.c - one command tool run: results, progress, every failure, stops, the process group, cleanup. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "runner/cmdconf.h"
#include "core/base/config.h"
#include "core/base/err.h"
#include "runner/toolenv.h"
#include "core/base/log.h"
#include "core/jobs/model.h"
#include "core/base/timeutil.h"
#include "runner/exec.h"
#include "runner/exec_command.h"

static char dir[64];                /* the test's temporary directory */
static char work[128];              /* [tools] work_dir */
static char fixtures[PATH_MAX];     /* tests/fixtures/commands, absolute */
static struct vex_config cfg;

/* The fake worker: records progress, stops when asked to. */
struct fake {
	int64_t stop_at_mono_us;  /* 0: never */
	enum vex_stop stop_with;
	int reports;
	struct vex_progress last;
};

/* One test's tool, context, jobs and fake worker (reset by setup, released by teardown). */
static struct {
	struct vex_cmd_tools t;
	struct vex_exec_ctx ctx;
	struct vex_job job, out;
	struct fake f;
} tr;

static void on_progress(struct vex_exec_ctx *ctx, const struct vex_progress *p)
{
	struct fake *f = ctx->opaque;

	f->reports++;
	assert_int_equal(vex_progress_copy(&f->last, p), 0);
}

static enum vex_stop on_should_stop(struct vex_exec_ctx *ctx)
{
	struct fake *f = ctx->opaque;

	if (f->stop_at_mono_us && vex_mono_us() >= f->stop_at_mono_us)
		return f->stop_with;
	return VEX_STOP_NONE;
}

static int setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN); /* as vex-runner does */
	vex_log_init("test", VEX_LOG_ERROR);
	snprintf(dir, sizeof(dir), "/tmp/vex-execcmd-XXXXXX");
	/* searchable by all: a tool run as another user reaches its directory through it */
	if (!mkdtemp(dir) || chmod(dir, 0711) < 0)
		return -1;
	snprintf(work, sizeof(work), "%s/work", dir);
	if (!realpath("tests/fixtures/commands", fixtures))
		return -1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.tools_work_dir = work;
	cfg.tools_output_max = 100000;
	cfg.tools_kill_grace_ms = 300;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rmdir(work);
	rmdir(dir);
	return 0;
}

/* Parses one tool "name" from the JSON text "tool" (with "@" replaced by the fixtures directory). */
static void load_tool(const char *name, const char *tool)
{
	char buf[4096], err[512], *o;
	const char *p;

	o = buf + snprintf(buf, sizeof(buf), "{\"tools\":{\"%s\":", name);
	for (p = tool; *p; p++) {
		if (*p == '@')
			o += snprintf(o, sizeof(buf) - (size_t)(o - buf), "%s", fixtures);
		else
			*o++ = *p;
	}
	o += snprintf(o, sizeof(buf) - (size_t)(o - buf), "}}");
	vex_cmd_tools_release(&tr.t);
	if (vex_cmd_tools_parse("test", buf, strlen(buf), &tr.t, err, sizeof(err)) != 0)
		fail_msg("%s", err);
}

/* Runs the loaded tool with arguments "input" (NULL: none); returns the executor's rc. */
static int run(const char *input)
{
	const struct vex_cmd_tool *tool = &tr.t.items[0];

	memset(&tr.job, 0, sizeof(tr.job));
	memset(&tr.out, 0, sizeof(tr.out));
	memset(&tr.ctx, 0, sizeof(tr.ctx));
	snprintf(tr.job.id, sizeof(tr.job.id), "0190aaaa-0000-7000-8000-000000000001");
	tr.job.tool = tool->name;
	tr.job.input_json = (char *)input;
	tr.ctx.cfg = &cfg;
	tr.ctx.job = &tr.job;
	tr.ctx.deadline_mono_us = vex_mono_us() + 60 * 1000000LL;
	tr.ctx.progress = on_progress;
	tr.ctx.should_stop = on_should_stop;
	tr.ctx.opaque = &tr.f;
	return vex_exec_command_run(&tr.ctx, tool, &tr.out);
}

static void out_release(struct vex_job *out)
{
	free(out->result_json);
	free(out->error_code);
	free(out->error_message);
	free(out->error_details_json);
	vex_progress_release(&out->progress);
	memset(out, 0, sizeof(*out));
}

static int trial_setup(void **state)
{
	(void)state;
	memset(&tr, 0, sizeof(tr));
	return 0;
}

static int trial_teardown(void **state)
{
	(void)state;
	out_release(&tr.out);
	vex_progress_release(&tr.f.last);
	vex_cmd_tools_release(&tr.t);
	return 0;
}

/* The number of entries in the work directory (each run must leave none). */
static int work_entries(void)
{
	DIR *d = opendir(work);
	struct dirent *e;
	int n = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* Processes whose command line contains "marker" and which are not zombies. */
static int alive_with(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		char path[300], buf[4096], stat[512];
		size_t len, i;
		FILE *f;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		len = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		for (i = 0; i < len; i++)
			if (buf[i] == '\0')
				buf[i] = ' ';
		buf[len] = '\0';
		if (!strstr(buf, marker))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		len = fread(stat, 1, sizeof(stat) - 1, f);
		fclose(f);
		stat[len] = '\0';
		if (strrchr(stat, ')') && strrchr(stat, ')')[2] != 'Z')
			n++;
	}
	closedir(d);
	return n;
}

/* SIGKILL is delivered asynchronously: the killed processes are gone a moment later. */
static int none_left(const char *marker)
{
	int i;

	for (i = 0; i < 500 && alive_with(marker) > 0; i++)
		usleep(10000);
	return alive_with(marker) == 0;
}

static json_t *result_of(const struct vex_job *out)
{
	json_t *v = json_loads(out->result_json, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	return v;
}

static void test_cat_is_a_noop_tool(void **state)
{

	(void)state;
	load_tool("cat", "{\"argv\":[\"/bin/cat\"]}");
	assert_int_equal(run("{\"a\": [1, 2, {\"b\": \"c\"}]}"), 0);
	assert_int_equal(tr.out.status, VEX_JOB_COMPLETED);
	assert_string_equal(tr.out.result_json, "{\"a\":[1,2,{\"b\":\"c\"}]}");
	assert_null(tr.out.error_code);
	out_release(&tr.out);
	/* no arguments: {} */
	assert_int_equal(run(NULL), 0);
	assert_string_equal(tr.out.result_json, "{}");
	out_release(&tr.out);
	assert_int_equal(work_entries(), 0);
}

static void test_echo_fixture(void **state)
{
	json_t *v;

	(void)state;
	load_tool("echo1", "{\"argv\":[\"@/echo.py\",\"one\",\"two words\"]}");
	assert_int_equal(run("{\"x\":1}"), 0);
	assert_int_equal(tr.out.status, VEX_JOB_COMPLETED);
	v = result_of(&tr.out);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "args"), "x")), 1);
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "argv"), 1)), "two words");
	json_decref(v);
	out_release(&tr.out);
}

static void test_progress(void **state)
{

	(void)state;
	load_tool("prog", "{\"argv\":[\"@/progress.py\"]}");
	assert_int_equal(run("{\"steps\":4,\"pause\":0.01}"), 0);
	assert_int_equal(tr.out.status, VEX_JOB_COMPLETED);
	assert_string_equal(tr.out.result_json, "{\"steps\":4}");
	assert_int_equal(tr.f.reports, 4); /* the garbage line is ignored */
	assert_string_equal(tr.f.last.current_step, "4");
	assert_int_equal(tr.f.last.total_steps, 4);
	assert_true(tr.f.last.percentage > 99.9);
	assert_string_equal(tr.f.last.message, "step 4 of 4");
	vex_progress_release(&tr.f.last);
	out_release(&tr.out);
}

static void test_progress_subsets(void **state)
{

	(void)state;
	/* lines with a subset of the fields merge; without a step, the reports are counted */
	load_tool("sh",
		  "{\"argv\":[\"/bin/sh\",\"-c\",\"echo '{\\\"percentage\\\":12.5}' >&3; "
		  "echo '{\\\"message\\\":\\\"half\\\"}' >&3; echo '[1]' >&3; echo '{\\\"bogus\\\":1}' >&3; "
		  "echo '{\\\"percentage\\\":\\\"x\\\"}' >&3; echo '{}'\"]}");
	assert_int_equal(run("{}"), 0);
	assert_int_equal(tr.out.status, VEX_JOB_COMPLETED);
	assert_int_equal(tr.f.reports, 2);
	assert_string_equal(tr.f.last.current_step, "2");
	assert_true(tr.f.last.percentage > 12.4 && tr.f.last.percentage < 12.6);
	assert_string_equal(tr.f.last.message, "half");
	vex_progress_release(&tr.f.last);
	out_release(&tr.out);
}

static void test_garbage(void **state)
{

	(void)state;
	load_tool("garbage", "{\"argv\":[\"@/garbage.py\"]}");
	assert_int_equal(run("{}"), 0);
	assert_int_equal(tr.out.status, VEX_JOB_FAILED);
	assert_string_equal(tr.out.error_code, "INVALID_OUTPUT");
	assert_string_equal(tr.out.error_message, "the tool printed something that is not JSON: "
					       "hello, this is not JSON \\x01\\xff {\\x0a");
	assert_null(tr.out.result_json);
	out_release(&tr.out);

	load_tool("true", "{\"argv\":[\"/bin/true\"]}");
	assert_int_equal(run("{}"), 0);
	assert_string_equal(tr.out.error_code, "INVALID_OUTPUT");
	assert_non_null(strstr(tr.out.error_message, "printed nothing"));
	out_release(&tr.out);
}

static void test_flood(void **state)
{

	(void)state;
	load_tool("flood", "{\"argv\":[\"@/flood.py\",\"flood-marker-t2\"]}");
	assert_int_equal(run("{}"), 0);
	assert_int_equal(tr.out.status, VEX_JOB_FAILED);
	assert_string_equal(tr.out.error_code, "OUTPUT_TOO_LARGE");
	assert_string_equal(tr.out.error_message, "the tool wrote more than 100000 bytes");
	assert_true(none_left("flood-marker-t2"));
	assert_int_equal(work_entries(), 0);
	out_release(&tr.out);
}

static void test_exit_status(void **state)
{
	json_t *d;

	(void)state;
	load_tool("fails", "{\"argv\":[\"@/fails.py\"]}");
	assert_int_equal(run("{}"), 0);
	assert_int_equal(tr.out.status, VEX_JOB_FAILED);
	assert_string_equal(tr.out.error_code, "EXECUTION_ERROR");
	assert_non_null(strstr(tr.out.error_message, "the tool exited with status 3: "));
	assert_non_null(strstr(tr.out.error_message, "fails.py: the input was not acceptable"));
	d = json_loads(tr.out.error_details_json, 0, NULL);
	assert_non_null(d);
	assert_int_equal(json_integer_value(json_object_get(d, "exit_code")), 3);
	assert_true(json_is_null(json_object_get(d, "signal")));
	assert_non_null(strstr(json_string_value(json_object_get(d, "stderr")), "starting\n"));
	json_decref(d);
	out_release(&tr.out);

	/* a long non-ASCII stderr: cut on character boundaries, the message stays valid UTF-8 */
	load_tool("utf8", "{\"argv\":[\"/usr/bin/python3\",\"-c\","
			      "\"import sys; sys.stderr.write('\\\\u00e9' * 3001 + '\\\\xff'); sys.exit(1)\"]}");
	assert_int_equal(run("{}"), 0);
	assert_string_equal(tr.out.error_code, "EXECUTION_ERROR");
	d = json_string(tr.out.error_message);
	assert_non_null(d);
	json_decref(d);
	assert_true(strlen(tr.out.error_message) < 1100);
	d = json_loads(tr.out.error_details_json, 0, NULL);
	assert_non_null(d);
	assert_non_null(strstr(json_string_value(json_object_get(d, "stderr")), "\u00e9\u00e9"));
	json_decref(d);
	out_release(&tr.out);

	load_tool("segv", "{\"argv\":[\"/bin/sh\",\"-c\",\"echo dying >&2; kill -SEGV $$\"]}");
	assert_int_equal(run("{}"), 0);
	assert_string_equal(tr.out.error_code, "EXECUTION_ERROR");
	assert_string_equal(tr.out.error_message, "the tool was killed by signal 11 (SIGSEGV): dying\n");
	out_release(&tr.out);
}

static void test_cannot_start(void **state)
{
	char script[128], text[256];
	FILE *fp;

	(void)state;
	/* a script whose interpreter does not exist: execve fails after the checks of the load */
	snprintf(script, sizeof(script), "%s/badinterp.sh", dir);
	fp = fopen(script, "w");
	assert_non_null(fp);
	fputs("#!/nonexistent/interpreter\n", fp);
	fclose(fp);
	chmod(script, 0755);
	snprintf(text, sizeof(text), "{\"argv\":[\"%s\"]}", script);
	load_tool("bad", text);
	assert_int_equal(run("{}"), 0);
	assert_string_equal(tr.out.error_code, "EXECUTION_ERROR");
	assert_non_null(strstr(tr.out.error_message, "the tool could not be started: execve"));
	assert_non_null(strstr(tr.out.error_message, "No such file or directory"));
	out_release(&tr.out);
	unlink(script);
	assert_int_equal(work_entries(), 0);
}

static void test_cancel_kills_the_group(void **state)
{

	(void)state;
	load_tool("forker", "{\"argv\":[\"@/forker.py\",\"forker-marker-cancel\"]}");
	tr.f.stop_at_mono_us = vex_mono_us() + 1500 * 1000;
	tr.f.stop_with = VEX_STOP_CANCEL;
	assert_int_equal(run("{\"children\":3,\"then\":\"sleep\"}"), VEX_ESTATE);
	assert_int_equal(tr.ctx.stopped, VEX_STOP_CANCEL);
	assert_true(none_left("forker-marker-cancel"));
	assert_int_equal(work_entries(), 0);
	out_release(&tr.out);
}

static void test_children_die_with_the_tool(void **state)
{
	json_t *v;

	(void)state;
	/* the children keep stdout open: the run ends with the tool's own process, not at EOF */
	load_tool("forker", "{\"argv\":[\"@/forker.py\",\"forker-marker-exit\"]}");
	assert_int_equal(run("{\"children\":2,\"then\":\"exit\"}"), 0);
	assert_int_equal(tr.out.status, VEX_JOB_COMPLETED);
	v = result_of(&tr.out);
	assert_int_equal(json_array_size(json_object_get(v, "pids")), 4);
	json_decref(v);
	assert_true(none_left("forker-marker-exit"));
	out_release(&tr.out);
}

static void test_timeouts(void **state)
{
	int64_t t0;

	(void)state;
	/* the tool's own timeout_ms, lower than the job's: a timeout all the same */
	load_tool("sleeper", "{\"argv\":[\"@/sleeper.py\",\"sleeper-marker-own\"],\"timeout_ms\":300}");
	assert_int_equal(run("{}"), VEX_ESTATE);
	assert_int_equal(tr.ctx.stopped, VEX_STOP_TIMEOUT);
	assert_true(none_left("sleeper-marker-own"));
	out_release(&tr.out);

	/* a tool that ignores SIGTERM is killed when the grace is over */
	load_tool("sleeper", "{\"argv\":[\"@/sleeper.py\",\"sleeper-marker-term\"]}");
	tr.f.stop_at_mono_us = vex_mono_us() + 500 * 1000;
	tr.f.stop_with = VEX_STOP_TIMEOUT;
	t0 = vex_mono_us();
	assert_int_equal(run("{\"ignore_term\":true}"), VEX_ESTATE);
	assert_true(vex_mono_us() - t0 >= 500 * 1000 + cfg.tools_kill_grace_ms * 1000);
	assert_int_equal(tr.ctx.stopped, VEX_STOP_TIMEOUT);
	assert_true(none_left("sleeper-marker-term"));
	assert_int_equal(work_entries(), 0);
	out_release(&tr.out);
}

static void test_sandbox(void **state)
{
	json_t *v, *env, *fds, *lim;
	const char *cwd;
	char prefix[160];

	(void)state;
	setenv("VEX_T2_SECRET", "must not leak", 1);
	setenv("VEX_T2_ALLOWED", "allowed", 1);
	load_tool("env",
		  "{\"argv\":[\"@/envcheck.py\"],\"env\":[\"VEX_T2_ALLOWED\"],\"env_set\":{\"LANG\":\"C.UTF-8\"},"
		  "\"limits\":{\"cpu_s\":7,\"as_mb\":512,\"nofile\":40,\"nproc\":30}}");
	assert_int_equal(run("{\"k\":\"v\"}"), 0);
	if (tr.out.status != VEX_JOB_COMPLETED)
		fail_msg("%s: %s", tr.out.error_code, tr.out.error_message);
	v = result_of(&tr.out);
	env = json_object_get(v, "env");
	cwd = json_string_value(json_object_get(v, "cwd"));
	snprintf(prefix, sizeof(prefix), "%s/env-", work);
	assert_non_null(cwd);
	assert_memory_equal(cwd, prefix, strlen(prefix));
	/* exactly the allow-list, the fixed values, PATH, HOME and TMPDIR (python may add LC_CTYPE) */
	assert_string_equal(json_string_value(json_object_get(env, "VEX_T2_ALLOWED")), "allowed");
	assert_string_equal(json_string_value(json_object_get(env, "LANG")), "C.UTF-8");
	assert_string_equal(json_string_value(json_object_get(env, "HOME")), cwd);
	assert_string_equal(json_string_value(json_object_get(env, "TMPDIR")), cwd);
	assert_null(json_object_get(env, "VEX_T2_SECRET"));
	assert_string_equal(json_string_value(json_object_get(env, "PATH")), VEX_TOOLENV_PATH);
	assert_true(json_object_size(env) <= 7); /* the four above, PATH, the runner's TZ, LC_CTYPE */
	assert_int_equal(json_integer_value(json_object_get(v, "cwd_mode")), 0700);
	assert_int_equal(json_integer_value(json_object_get(v, "pgid")),
			 json_integer_value(json_object_get(v, "pid")));
	fds = json_object_get(v, "fds");
	assert_true(json_array_size(fds) <= 5); /* 0-3 and the one that lists them */
	assert_int_equal(json_integer_value(json_array_get(fds, 3)), 3);
	lim = json_object_get(v, "limits");
	assert_int_equal(json_integer_value(json_object_get(lim, "RLIMIT_CPU")), 7);
	assert_int_equal(json_integer_value(json_object_get(lim, "RLIMIT_AS")), 512LL * 1024 * 1024);
	assert_int_equal(json_integer_value(json_object_get(lim, "RLIMIT_NOFILE")), 40);
	assert_int_equal(json_integer_value(json_object_get(lim, "RLIMIT_NPROC")), 30);
	assert_int_equal(json_integer_value(json_object_get(lim, "RLIMIT_CORE")), 0);
	json_decref(v);
	/* its files, a read-only subdirectory and a symlink to /etc are gone; /etc is not */
	assert_int_equal(work_entries(), 0);
	assert_int_equal(access("/etc/passwd", F_OK), 0);
	out_release(&tr.out);
	unsetenv("VEX_T2_SECRET");
	unsetenv("VEX_T2_ALLOWED");
}

static void test_run_as_user(void **state)
{
	json_t *v;

	(void)state;
	if (geteuid() != 0)
		skip();
	load_tool("env", "{\"argv\":[\"@/envcheck.py\"],\"user\":\"nobody\"}");
	assert_int_equal(run("{}"), 0);
	if (tr.out.status != VEX_JOB_COMPLETED)
		fail_msg("%s: %s", tr.out.error_code, tr.out.error_message);
	v = result_of(&tr.out);
	assert_int_equal(json_integer_value(json_object_get(v, "uid")), tr.t.items[0].uid);
	assert_int_equal(json_integer_value(json_object_get(v, "cwd_uid")), tr.t.items[0].uid);
	json_decref(v);
	assert_int_equal(work_entries(), 0);
	out_release(&tr.out);
}

static void test_cpu_limit(void **state)
{

	(void)state;
	load_tool("spin", "{\"argv\":[\"/bin/sh\",\"-c\",\"while :; do :; done\"],\"limits\":{\"cpu_s\":1}}");
	assert_int_equal(run("{}"), 0);
	assert_string_equal(tr.out.error_code, "EXECUTION_ERROR");
	assert_non_null(strstr(tr.out.error_message, "SIGXCPU: CPU time limit"));
	out_release(&tr.out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cat_is_a_noop_tool, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_echo_fixture, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_progress, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_progress_subsets, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_garbage, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_flood, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_exit_status, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_cannot_start, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_kills_the_group, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_children_die_with_the_tool, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_timeouts, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_sandbox, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_run_as_user, trial_setup, trial_teardown),
		cmocka_unit_test_setup_teardown(test_cpu_limit, trial_setup, trial_teardown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
