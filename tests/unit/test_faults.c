/* test_faults.c - allocation failures on purpose (ours, SQLite's, jansson's): every one is an error, never a crash or a half-done write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sqlite3.h>

#include "core/auth/apikeys.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/jobs/model.h"
#include "core/tools/schema.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "tests/unit/store_fixture.h"

/*
 * The way sqlite's do_faultsim_test and curl's torture mode work: run an operation with the Nth
 * allocation failing, for N = 1, 2, ... until a run completes without reaching N. Every failing
 * run must return an error, leave the database as it was (or fully changed), and free what it
 * took (LeakSanitizer checks that in the sanitizer build).
 *
 * Three allocators are counted: our own code's malloc/calloc/realloc/strdup/strndup (this binary
 * is linked with -Wl,--wrap for them, see the Makefile), SQLite's (SQLITE_CONFIG_MALLOC) and
 * jansson's (json_set_alloc_funcs).
 */
static long countdown = -1; /* allocations left before the failure; -1: none armed */
static int fired;

static int should_fail(void)
{
	if (countdown < 0)
		return 0;
	if (countdown-- == 0) {
		fired = 1;
		return 1;
	}
	return 0;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);

void *__wrap_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	return should_fail() ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
	return should_fail() ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
	return should_fail() ? NULL : __real_strndup(s, n);
}

static sqlite3_mem_methods sqlite_orig;

static void *sq_malloc(int n)
{
	return should_fail() ? NULL : sqlite_orig.xMalloc(n);
}

static void *sq_realloc(void *p, int n)
{
	return should_fail() ? NULL : sqlite_orig.xRealloc(p, n);
}

static void *js_malloc(size_t n)
{
	return should_fail() ? NULL : __real_malloc(n);
}

static void js_free(void *p)
{
	free(p);
}

static struct store_fixture fx;
static struct vex_store *store;
static char agent_id[VEX_UUID_LEN + 1];

static int setup(void **state)
{
	struct vex_agent *a;
	int rc;

	(void)state;
	if (store_fixture_open(&fx, "faults") != 0)
		return -1;
	store = fx.store;
	a = vex_agent_new();
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "alice");
	a->name = strdup("faulty");
	a->role = strdup("you are tested");
	a->max_depth = 3;
	a->created_at = a->updated_at = vex_now_us();
	rc = vex_store_agent_insert(store, a, NULL, NULL);
	memcpy(agent_id, a->id, sizeof(agent_id));
	vex_agent_free(a);
	return rc == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	store = NULL;
	return 0;
}

static int64_t jobs_of(const char *owner)
{
	struct vex_job_filter f;
	int64_t n = -1;

	vex_job_filter_init(&f);
	f.owner = owner;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	return n;
}

static struct vex_job *agent_job(const char *owner)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	j->kind = VEX_JOB_AGENT;
	memcpy(j->agent_id, agent_id, sizeof(j->agent_id));
	j->input_json = strdup("{\"prompt\":\"hello\",\"context_id\":null}");
	j->max_attempts = 3;
	j->timeout_ms = 1000;
	j->created_at = vex_now_us();
	j->idempotency_key = strdup("key-1");
	return j;
}

/* How many failed runs an operation must at least have met: "sqlite" on SQLite, whose allocations count too;
 * "pg" on PostgreSQL, where libpq's are not counted (a shared library): -1 where the PostgreSQL path
 * allocates only in libpq. */
static long failures_met(long sqlite, long pg)
{
	return store_fixture_postgres() ? pg : sqlite;
}

/* Arm the Nth allocation to fail; returns whether the run reached it. */
static void arm(long n)
{
	fired = 0;
	countdown = n;
}

static int disarm(void)
{
	countdown = -1;
	return fired;
}

/* Inserting a job: each failure is an error and stores nothing; the first clean run stores it once. */
static void test_job_insert(void **state)
{
	long n;

	(void)state;
	for (n = 0;; n++) {
		struct vex_job *j = agent_job("bob"), *got = NULL;
		int created = 0, rc, hit;

		j->queued_cap = 1000; /* the cap's count fails too */
		arm(n);
		rc = vex_store_job_insert(store, j, &got, &created);
		hit = disarm();
		if (!hit) {
			assert_int_equal(rc, 0);
			assert_int_equal(created, 1);
			assert_string_equal(got->id, j->id);
			vex_job_free(got);
			vex_job_free(j);
			break;
		}
		if (rc == 0) {
			/* A failure inside SQLite that it recovered from (a cache page, say): the job must
			 * then be fully there, and we start over on a fresh owner. */
			assert_int_equal(created, 1);
			vex_job_free(got);
		} else {
			assert_true(rc < 0 && rc != VEX_ELIMIT);
			assert_null(got);
		}
		vex_job_free(j);
		assert_true(jobs_of("bob") <= 1);
		if (jobs_of("bob") == 1) {
			/* Completed in spite of the failure: fine, as long as it is whole and single. */
			struct vex_job_list l = { 0 };
			struct vex_job_filter f;

			vex_job_filter_init(&f);
			f.owner = "bob";
			assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
			assert_int_equal(l.items[0]->status, VEX_JOB_QUEUED);
			assert_string_equal(l.items[0]->idempotency_key, "key-1");
			vex_job_list_release(&l);
			break;
		}
	}
	assert_int_equal(jobs_of("bob"), 1);
	assert_true(n > failures_met(3, 0)); /* the loop really did fail allocations on the way */
}

static int64_t running(void)
{
	struct vex_job_filter f;
	int64_t n = -1;

	vex_job_filter_init(&f);
	f.status = VEX_JOB_RUNNING;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	return n;
}

/* Claim then finish under failures: a job is never half-claimed or half-finished. */
static void test_claim_and_finish(void **state)
{
	static const int limits[VEX_PLAN_COUNT] = { 5, 5, 5, 5 };
	struct vex_job *j = agent_job("carol"), *got = NULL, *claimed = NULL, *out = NULL, *done = NULL;
	long n;
	int created, rc;

	(void)state;
	assert_int_equal(vex_store_job_insert(store, j, &got, &created), 0);
	vex_job_free(got);
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_job_claim(store, "r1", vex_now_us(), 30000000, limits, &claimed);
		if (!disarm() || rc == 0)
			break;
		assert_true(rc < 0);
		assert_null(claimed);
		assert_int_equal(running(), 0); /* nothing half-claimed */
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(3, 0)); /* claims really met failures */
	assert_int_equal(running(), 1);
	/* Whichever queued job came first (the tests share a database): finish that one. */
	memcpy(j->id, claimed->id, sizeof(j->id));

	out = vex_job_new();
	out->result_json = strdup("{\"response\":\"hi\",\"success\":true,\"error\":null}");
	out->final_model = strdup("echo");
	out->tokens_in = 3;
	out->tokens_out = 1;
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_job_finish(store, j->id, "r1", VEX_JOB_COMPLETED, out, vex_now_us(), &done);
		if (!disarm() || rc == 0)
			break;
		assert_true(rc < 0);
		assert_int_equal(vex_store_job_get(store, j->id, NULL, &got), 0);
		assert_int_equal(got->status, VEX_JOB_RUNNING);
		assert_null(got->result_json);
		vex_job_free(got);
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(3, 0)); /* finishes really met failures */
	assert_int_equal(done->status, VEX_JOB_COMPLETED);
	assert_int_equal(vex_store_job_get(store, j->id, NULL, &got), 0);
	assert_int_equal(got->status, VEX_JOB_COMPLETED);
	assert_string_equal(got->final_model, "echo");
	vex_job_free(got);
	vex_job_free(done);
	vex_job_free(out);
	vex_job_free(claimed);
	vex_job_free(j);
}

/* The canonical JSON both ways under failures: NULL or an error, never a partial object. */
static void test_job_json(void **state)
{
	struct vex_job *j = agent_job("dave"), *back = NULL;
	json_t *v = NULL;
	long n;
	int rc = -1;

	(void)state;
	j->progress.current_step = strdup("2");
	j->progress.total_steps = 4;
	j->error_code = strdup("X");
	j->error_message = strdup("y");
	for (n = 0;; n++) {
		arm(n);
		v = vex_job_to_json(j);
		if (!disarm())
			break;
		json_decref(v);
		v = NULL;
	}
	assert_non_null(v);
	assert_true(n > failures_met(3, 0));
	for (n = 0;; n++) {
		arm(n);
		rc = vex_job_from_json(v, &back);
		if (!disarm())
			break;
		if (rc == 0) {
			vex_job_free(back);
			back = NULL;
		}
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(3, 0));
	assert_string_equal(back->id, j->id);
	assert_string_equal(back->progress.current_step, "2");
	assert_string_equal(back->error_message, "y");
	vex_job_free(back);
	json_decref(v);
	vex_job_free(j);
}

/* Firing a schedule slot under failures: the fire row and the job come together or not at all. */
static void test_schedule_fire(void **state)
{
	struct vex_agent *a = vex_agent_new();
	struct vex_sched_fire f = { 0 };
	struct vex_job *job = NULL;
	long n;
	int rc;

	(void)state;
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "erin");
	a->name = strdup("scheduled");
	a->role = strdup("run on time");
	a->max_depth = 3;
	a->schedule_json = strdup("{\"tasksPerDay\":1,\"times\":[\"09:00\"]}");
	a->created_at = a->updated_at = vex_now_us();
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	f.agent_id = a->id;
	f.slot_us = 1700000000000000;
	f.max_attempts = 3;
	f.timeout_ms = 1000;
	for (n = 0;; n++) {
		int was_fired = -1;

		f.now_us = vex_now_us();
		arm(n);
		rc = vex_store_schedule_fire(store, &f, &job);
		if (!disarm() || rc == 0)
			break;
		assert_true(rc < 0 && rc != VEX_EEXIST);
		assert_int_equal(vex_store_schedule_fired(store, a->id, f.slot_us, &was_fired), 0);
		assert_int_equal(was_fired, 0);
		assert_int_equal(jobs_of("erin"), 0);
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(3, 0));
	assert_int_equal(jobs_of("erin"), 1);
	assert_string_equal(job->agent_id, a->id);
	vex_job_free(job);
	job = NULL;
	assert_int_equal(vex_store_schedule_fire(store, &f, &job), VEX_EEXIST);
	assert_int_equal(jobs_of("erin"), 1);
	vex_agent_free(a);
}

/* Issuing and finding a key under failures: a key is either stored whole (and found) or not at all. */
static void test_key_issue(void **state)
{
	struct vex_api_key k, found;
	struct vex_field_error e;
	char key[VEX_APIKEY_LEN + 1], hash[VEX_APIKEY_HASH_LEN + 1];
	long n;
	int rc;

	(void)state;
	for (n = 0;; n++) {
		struct vex_api_key_list l = { 0 };

		arm(n);
		rc = vex_apikey_issue(store, "frank", VEX_ROLE_USER, VEX_PLAN_PRO, "ci", vex_now_us(), &k, key, &e);
		if (!disarm() || rc == 0)
			break;
		assert_true(rc < 0);
		assert_int_equal(vex_store_keys_list(store, "frank", NULL, 10, &l), 0);
		assert_int_equal(l.n, 0);
		vex_api_key_list_release(&l);
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(1, -1));
	assert_int_equal(vex_apikey_hash(key, hash), 0);
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_key_by_hash(store, hash, &found);
		if (!disarm())
			break;
		assert_true(rc == 0 || rc < 0);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(found.id, k.id);
	assert_string_equal(found.owner, "frank");
}

/* A group-commit batch under failures: each job is whole or absent, never duplicated. */
static void test_batch_insert(void **state)
{
	struct vex_job *jobs[3], *rets[3];
	int created[3], rcs[3], rc;
	long n;

	(void)state;
	for (int i = 0; i < 3; i++)
		jobs[i] = agent_job("gina");
	free(jobs[1]->idempotency_key);
	jobs[1]->idempotency_key = strdup("key-2");
	free(jobs[2]->idempotency_key);
	jobs[2]->idempotency_key = NULL;
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_jobs_insert_batch(store, jobs, 3, rets, created, rcs);
		int hit = disarm();

		for (int i = 0; i < 3; i++)
			vex_job_free(rets[i]);
		if (!hit)
			break;
		/* Whatever failed, a retry must find each job at most once. */
		assert_true(jobs_of("gina") <= 3);
		if (rc == 0 && rcs[0] == 0 && rcs[1] == 0 && rcs[2] == 0)
			break;
		/* Start again from a clean slate for the next N. */
		if (jobs_of("gina") > 0)
			store_fixture_sql(&fx, "DELETE FROM jobs WHERE owner = 'gina'");
	}
	assert_true(n > failures_met(3, 0));
	assert_int_equal(jobs_of("gina"), 3);
	for (int i = 0; i < 3; i++)
		vex_job_free(jobs[i]);
}

static int64_t raw_count(const char *sql)
{
	return store_fixture_sql_int(&fx, sql);
}

/* A webhook under failures: inserted whole or not at all, read whole or not at all, and deleted
 * together with the cancel of its pending deliveries or not at all. */
static void test_webhook(void **state)
{
	struct vex_webhook h, *got = NULL;
	struct vex_webhook_list l = { 0 };
	struct vex_caps caps = { { [VEX_CAP_WEBHOOKS] = 5 } };
	char sql[512];
	long n;
	int rc;

	(void)state;
	memset(&h, 0, sizeof(h));
	snprintf(h.id, sizeof(h.id), "hook_0190aaaa00007000800000000000f417");
	snprintf(h.owner, sizeof(h.owner), "hank");
	h.url = "https://example.com/hook";
	h.events = VEX_HOOK_EV_COMPLETED | VEX_HOOK_EV_FAILED;
	h.description = "faults";
	h.secret = "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=";
	h.created_at = h.updated_at = vex_now_us();
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_webhook_insert(store, &h, &caps); /* the cap's count fails too */
		if (!disarm() || rc == 0)
			break;
		assert_true(rc < 0 && rc != VEX_EEXIST && rc != VEX_ELIMIT);
		assert_int_equal(raw_count("SELECT COUNT(*) FROM webhooks WHERE owner = 'hank'"), 0);
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(1, -1));
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_webhooks_matching(store, "hank", VEX_HOOK_EV_FAILED, &l);
		if (!disarm())
			break;
		assert_true(rc < 0 || l.n == 1);
		vex_webhook_list_release(&l);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->secret, h.secret);
	assert_string_equal(l.items[0]->description, "faults");
	vex_webhook_list_release(&l);

	snprintf(sql, sizeof(sql),
		 "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status,"
		 " next_at, created_at) VALUES ('msg_0190aaaa00007000800000000000f417', '%s', 'hank',"
		 " '0190aaaa-0000-7000-8000-000000000001', 1, 'job.completed', '{}', 'pending', 1, 1)", h.id);
	store_fixture_sql(&fx, sql);
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_webhook_delete(store, h.id, "hank", vex_now_us());
		if (!disarm() || rc == 0)
			break;
		assert_true(rc < 0 && rc != VEX_ENOTFOUND);
		assert_int_equal(raw_count("SELECT COUNT(*) FROM webhooks WHERE owner = 'hank' AND status = 'active'"), 1);
		assert_int_equal(raw_count("SELECT COUNT(*) FROM webhook_deliveries WHERE owner = 'hank'"
					   " AND status = 'pending'"), 1);
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(1, -1));
	assert_int_equal(raw_count("SELECT COUNT(*) FROM webhooks WHERE owner = 'hank' AND status = 'deleted'"), 1);
	assert_int_equal(raw_count("SELECT COUNT(*) FROM webhook_deliveries WHERE owner = 'hank'"
				   " AND status = 'canceled'"), 1);
	assert_int_equal(vex_store_webhook_get(store, h.id, NULL, &got), VEX_ENOTFOUND);
}

/* The tool catalog under failures: a publication replaces the previous one whole or not at all;
 * listings and lookups answer whole or fail. */
static void test_tool_catalog(void **state)
{
	struct vex_tool_row items[2] = {
		{ "fx.add", "add", "fx", "mcp", "Adds", "{\"type\":\"object\"}", 0, NULL },
		{ "fx.sub", "sub", "fx", "mcp", "Subtracts", "{\"type\":\"object\"}", 0, NULL },
	};
	struct vex_tool_rows rows = { items, 1 }, l = { NULL, 0 };
	long n;
	int rc;

	(void)state;
	assert_int_equal(vex_store_tools_replace(store, "mcp", "fx", &rows, 1), 0);
	rows.n = 2;
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_tools_replace(store, "mcp", "fx", &rows, 2);
		if (!disarm() || rc == 0)
			break;
		assert_true(rc < 0);
		assert_int_equal(raw_count("SELECT COUNT(*) FROM tools WHERE server = 'fx' AND updated_at = 1"), 1);
		assert_int_equal(raw_count("SELECT COUNT(*) FROM tools"), 1);
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(1, -1));
	assert_int_equal(raw_count("SELECT COUNT(*) FROM tools WHERE updated_at = 2"), 2);
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_tools_list(store, &l);
		if (!disarm())
			break;
		assert_true(rc < 0 || l.n == 2);
		vex_tool_rows_release(&l);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[1].description, "Subtracts");
	vex_tool_rows_release(&l);
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_tool_resolve(store, "sub", NULL, NULL, &l);
		if (!disarm())
			break;
		assert_true(rc < 0 && rc != VEX_ENOTFOUND && rc != VEX_ECONFLICT);
		assert_null(l.items);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(l.items[0].name, "fx.sub");
	vex_tool_rows_release(&l);
	for (n = 0;; n++) {
		arm(n);
		rc = vex_store_tools_keep_servers(store, NULL, 0);
		if (!disarm() || rc == 0)
			break;
		assert_true(rc < 0);
		assert_int_equal(raw_count("SELECT COUNT(*) FROM tools"), 2);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(raw_count("SELECT COUNT(*) FROM tools"), 0);
}

/* Argument checks under failures: the answer is the right one or VEX_ENOMEM, never a pass by accident. */
static void test_schema_check(void **state)
{
	const char *schema = "{\"type\":\"object\",\"properties\":{\"tags\":{\"type\":\"array\","
			     "\"uniqueItems\":true,\"items\":{\"enum\":[\"a\",\"b\",\"c\"]}}},\"required\":[\"tags\"]}";
	struct vex_field_error e;
	json_t *good, *bad;
	long n;
	int rc;

	(void)state;
	good = json_pack("{s:[s,s]}", "tags", "a", "b");
	bad = json_pack("{s:[s,s,s]}", "tags", "a", "b", "a");
	for (n = 0;; n++) {
		arm(n);
		rc = vex_schema_check_text(schema, good, &e);
		if (!disarm())
			break;
		assert_true(rc == 0 || (rc < 0 && rc != VEX_EINVAL));
	}
	assert_int_equal(rc, 0);
	assert_true(n > failures_met(1, 0));
	for (n = 0;; n++) {
		arm(n);
		rc = vex_schema_check_text(schema, bad, &e);
		if (!disarm())
			break;
		assert_true(rc < 0); /* refused, or an error: never accepted */
	}
	assert_int_equal(rc, VEX_EINVAL);
	assert_string_equal(e.field, "arguments.tags");
	json_decref(good);
	json_decref(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_insert),
		cmocka_unit_test(test_claim_and_finish),
		cmocka_unit_test(test_job_json),
		cmocka_unit_test(test_schedule_fire),
		cmocka_unit_test(test_key_issue),
		cmocka_unit_test(test_batch_insert),
		cmocka_unit_test(test_webhook),
		cmocka_unit_test(test_tool_catalog),
		cmocka_unit_test(test_schema_check),
	};

	/* Before SQLite initialises: its allocator can only be replaced now. */
	if (sqlite3_config(SQLITE_CONFIG_GETMALLOC, &sqlite_orig) == SQLITE_OK) {
		static sqlite3_mem_methods m;

		m = sqlite_orig;
		m.xMalloc = sq_malloc;
		m.xRealloc = sq_realloc;
		sqlite3_config(SQLITE_CONFIG_MALLOC, &m);
	}
	json_set_alloc_funcs(js_malloc, js_free);
	return cmocka_run_group_tests(tests, setup, teardown);
}
