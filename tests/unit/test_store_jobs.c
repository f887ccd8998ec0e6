/* test_store_jobs.c - jobs in the store: insert, paging, idempotency, the filters of listings and counts, cursors,
 * queue positions, a tool's recent runs, running jobs, status counts, the oldest queued job, locks, query plans. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/store/store.h"
#include "tests/unit/store_jobs_fixture.h"

static void test_insert_get(void **state)
{
	struct vex_job *j = new_tool_job("alice", VEX_PLAN_PRO, 5), *got = NULL, *again = NULL;
	int created = -1;

	(void)state;
	assert_int_equal(vex_store_job_insert(store, j, &got, &created), 0);
	assert_int_equal(created, 1);
	assert_string_equal(got->id, j->id);
	assert_int_equal(got->status, VEX_JOB_QUEUED);
	assert_true(got->rev == 1);
	assert_int_equal(got->attempts, 0);
	assert_int_equal(got->plan, VEX_PLAN_PRO);
	assert_int_equal(got->kind, VEX_JOB_TOOL);
	assert_string_equal(got->tool, "echo");
	assert_string_equal(got->agent_id, "");
	assert_string_equal(got->input_json, "{\"x\":1}");
	assert_int_equal(got->priority, 5);
	assert_true(got->timeout_ms == 1000);
	assert_true(got->created_at == j->created_at);
	assert_true(got->updated_at == j->created_at);
	assert_true(got->started_at == 0);
	assert_null(got->lease_owner);

	assert_int_equal(vex_store_job_get(store, j->id, "alice", &again), 0);
	assert_string_equal(again->id, j->id);
	vex_job_free(again);
	again = NULL;
	/* Owner isolation: another owner gets "not found", never the job. */
	assert_int_equal(vex_store_job_get(store, j->id, "bob", &again), VEX_ENOTFOUND);
	assert_null(again);
	assert_int_equal(vex_store_job_get(store, j->id, NULL, &again), 0);
	vex_job_free(again);
	again = NULL;
	assert_int_equal(vex_store_job_get(store, "0190a000-0000-7000-8000-000000000000", NULL, &again),
			 VEX_ENOTFOUND);

	/* The same id twice. */
	assert_int_equal(vex_store_job_insert(store, j, &again, &created), VEX_EEXIST);
	assert_int_equal(count(NULL, -1), 1);
	vex_job_free(got);
	vex_job_free(j);
}

static void test_insert_invalid(void **state)
{
	struct vex_job *j = new_tool_job("alice", VEX_PLAN_FREE, 0), *got = NULL;

	(void)state;
	free(j->input_json);
	j->input_json = NULL;
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), VEX_EINVAL);
	j->input_json = strdup("{}");
	j->kind = VEX_JOB_AGENT; /* no agent_id */
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), VEX_EINVAL);
	/* An agent that does not exist (foreign key). */
	vex_uuid7(j->agent_id);
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), VEX_ENOTFOUND);
	assert_null(got);
	assert_int_equal(count(NULL, -1), 0);
	vex_job_free(j);
}

static void test_agent_job(void **state)
{
	struct vex_agent *a = vex_agent_new();
	struct vex_job *j = vex_job_new(), *got = NULL;
	struct vex_job_filter f;
	struct vex_job_list l = { NULL, 0 };

	(void)state;
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "alice");
	a->name = strdup("a");
	a->role = strdup("role");
	a->max_depth = 3;
	a->created_at = 1;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "alice");
	j->kind = VEX_JOB_AGENT;
	memcpy(j->agent_id, a->id, sizeof(j->agent_id));
	j->input_json = strdup("{\"prompt\":\"hi\",\"context_id\":null}");
	j->max_attempts = 1;
	j->created_at = 5;
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), 0);
	assert_string_equal(got->agent_id, a->id);
	assert_null(got->tool);
	vex_job_free(got);

	vex_job_filter_init(&f);
	f.agent_id = a->id;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 1);
	vex_job_list_release(&l);
	f.kind = VEX_JOB_TOOL;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 0);
	vex_job_list_release(&l);
	vex_job_free(j);
	vex_agent_free(a);
}

static void test_list_paging(void **state)
{
	enum { N = 250 };
	static char ids[N][VEX_UUID_LEN + 1];
	struct vex_job_list l = { NULL, 0 };
	struct vex_job_filter f;
	char cursor[VEX_UUID_LEN + 1] = "";
	int seen[N], i, total = 0;
	size_t k;

	(void)state;
	for (i = 0; i < N; i++)
		add_job("alice", VEX_PLAN_FREE, i % 3, ids[i]);
	for (i = 0; i < 40; i++)
		add_job("bob", VEX_PLAN_FREE, 0, NULL);

	/* Cursor paging, newest first. */
	memset(seen, 0, sizeof(seen));
	vex_job_filter_init(&f);
	f.owner = "alice";
	f.limit = 20;
	for (;;) {
		f.before_id = cursor[0] ? cursor : NULL;
		assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
		if (l.n == 0)
			break;
		for (k = 0; k < l.n; k++) {
			int idx = -1;

			assert_string_equal(l.items[k]->owner, "alice");
			for (i = 0; i < N; i++)
				if (strcmp(ids[i], l.items[k]->id) == 0)
					idx = i;
			assert_true(idx >= 0);
			/* Newest first: the index goes down by exactly one each row. */
			assert_int_equal(idx, N - 1 - total);
			seen[idx]++;
			total++;
		}
		memcpy(cursor, l.items[l.n - 1]->id, sizeof(cursor));
		vex_job_list_release(&l);
	}
	assert_int_equal(total, N);
	for (i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);

	/* Offset paging gives the same sequence. */
	f.before_id = NULL;
	total = 0;
	for (f.offset = 0;; f.offset += 20) {
		assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
		if (l.n == 0)
			break;
		for (k = 0; k < l.n; k++, total++)
			assert_string_equal(l.items[k]->id, ids[N - 1 - total]);
		vex_job_list_release(&l);
	}
	assert_int_equal(total, N);

	assert_true(count("alice", -1) == N);
	assert_true(count("bob", -1) == 40);
	assert_true(count(NULL, -1) == N + 40);
	assert_true(count("carol", -1) == 0);

	f.offset = 0;
	f.limit = 0;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
	f.limit = 1001;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
	f.limit = 10;
	f.offset = -1;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
	f.offset = 0;
	f.status = 6;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
}

static void test_idempotency_key(void **state)
{
	struct vex_job *j = new_tool_job("alice", VEX_PLAN_FREE, 0), *first = NULL, *second = NULL;
	int created = -1;

	(void)state;
	j->idempotency_key = strdup("order-42");
	assert_int_equal(vex_store_job_insert(store, j, &first, &created), 0);
	assert_int_equal(created, 1);
	assert_string_equal(first->idempotency_key, "order-42");

	/* A retry with a fresh id and the same key: the first job comes back, nothing is added. */
	vex_uuid7(j->id);
	assert_int_equal(vex_store_job_insert(store, j, &second, &created), 0);
	assert_int_equal(created, 0);
	assert_string_equal(second->id, first->id);
	vex_job_free(second);
	second = NULL;
	assert_true(count("alice", -1) == 1);

	/* The key is per owner. */
	snprintf(j->owner, sizeof(j->owner), "bob");
	assert_int_equal(vex_store_job_insert(store, j, &second, &created), 0);
	assert_int_equal(created, 1);
	assert_string_not_equal(second->id, first->id);
	assert_true(count(NULL, -1) == 2);
	vex_job_free(second);
	vex_job_free(first);
	vex_job_free(j);
}

/* Run the SQL that "fmt" makes on the test's store (the states only the job writes reach). */
static void sql(const char *fmt, ...)
{
	char q[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	store_fixture_exec(&fx, q);
}

/* ---- the filters of listings and counts, checked against the same rule computed here ---- */

enum { FJ = 30 };

/* The jobs of test_filters, as stored. */
static struct fjob {
	char id[VEX_UUID_LEN + 1];
	const char *owner;
	int kind;
	const char *tool;        /* NULL for agent jobs */
	int status;
	int64_t created_at, started_at; /* started_at 0: NULL */
} fjobs[FJ];
static char fagent[VEX_UUID_LEN + 1];

static int fmatch(const struct fjob *j, const struct vex_job_filter *f, int before)
{
	if (f->owner && strcmp(j->owner, f->owner) != 0)
		return 0;
	if (f->status >= 0 && j->status != f->status)
		return 0;
	if (f->status_mask && !(f->status_mask & (1u << j->status)))
		return 0;
	if (f->kind >= 0 && j->kind != f->kind)
		return 0;
	if (f->agent_id && (j->kind != VEX_JOB_AGENT || strcmp(f->agent_id, fagent) != 0))
		return 0;
	if (f->tool && (!j->tool || strcmp(j->tool, f->tool) != 0))
		return 0;
	if (f->created_after && j->created_at < f->created_after)
		return 0;
	if (f->created_before && j->created_at >= f->created_before)
		return 0;
	if (f->started_after && !(j->started_at && j->started_at > f->started_after))
		return 0;
	if (f->started_before && !(j->started_at && j->started_at < f->started_before))
		return 0;
	return !(before && f->before_id && strcmp(j->id, f->before_id) >= 0);
}

/* The ids "f" matches (with its before_id when "before"), newest (greatest id) first: their number. */
static int fexpect(const struct vex_job_filter *f, int before, const char *out[FJ])
{
	int n = 0, i, k;

	for (i = 0; i < FJ; i++) {
		if (!fmatch(&fjobs[i], f, before))
			continue;
		for (k = n; k > 0 && strcmp(out[k - 1], fjobs[i].id) < 0; k--)
			out[k] = out[k - 1];
		out[k] = fjobs[i].id;
		n++;
	}
	return n;
}

/* "f"'s listing, count and count_before agree with fexpect, and so do its cursor and offset pages of 4. */
static void fcheck(struct vex_job_filter f, const char *what)
{
	const char *want[FJ];
	struct vex_job_list l = { NULL, 0 };
	char cursor[VEX_UUID_LEN + 1];
	int64_t n = -1;
	int w, i, seen;

	w = fexpect(&f, 1, want);
	f.limit = 1000;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	if ((int)l.n != w)
		fail_msg("%s: %zu rows, want %d", what, l.n, w);
	for (i = 0; i < w; i++)
		assert_string_equal(l.items[i]->id, want[i]);
	vex_job_list_release(&l);
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
	assert_int_equal(n, w);
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_int_equal(n, fexpect(&f, 0, want));
	w = fexpect(&f, 1, want);
	/* Cursor pages of 4 from the filter's own before_id; count_before at each cursor is what is left. */
	f.limit = 4;
	for (seen = 0;;) {
		assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
		if (l.n == 0)
			break;
		assert_true(l.n <= 4);
		for (i = 0; i < (int)l.n; i++, seen++)
			assert_string_equal(l.items[i]->id, want[seen]);
		memcpy(cursor, l.items[l.n - 1]->id, sizeof(cursor));
		vex_job_list_release(&l);
		f.before_id = cursor;
		assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
		assert_int_equal(n, w - seen);
	}
	assert_int_equal(seen, w);
	f.before_id = NULL;
	w = fexpect(&f, 1, want);
	for (f.offset = 0, seen = 0;; f.offset += 4) {
		assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
		if (l.n == 0)
			break;
		for (i = 0; i < (int)l.n; i++, seen++)
			assert_string_equal(l.items[i]->id, want[seen]);
		vex_job_list_release(&l);
	}
	assert_int_equal(seen, w);
}

/* Every filter condition alone and together, over owners, kinds, tools, statuses and times (unicode among
 * them): the same rows, order and counts on both backends as the rule says. */
static void test_filters(void **state)
{
	static const char *const owners[] = { "alice", "bob", "\xc3\xa9ve \xf0\x9f\x98\x80" };
	static const char *const tools[] = { "echo", "sleep", "\xe6\x97\xa5\xe6\x9c\xac" };
	struct vex_agent *a = vex_agent_new();
	struct vex_job_filter f;
	int64_t base = vex_now_us();
	int i;

	(void)state;
	vex_uuid7(fagent);
	memcpy(a->id, fagent, sizeof(a->id));
	snprintf(a->owner, sizeof(a->owner), "alice");
	a->name = strdup("a");
	a->role = strdup("role");
	a->max_depth = 3;
	a->created_at = 1;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	vex_agent_free(a);
	for (i = 0; i < FJ; i++) {
		struct fjob *fj = &fjobs[i];
		struct vex_job *j = new_tool_job(owners[i % 3], VEX_PLAN_PRO, 0), *got = NULL;

		fj->owner = owners[i % 3];
		fj->created_at = j->created_at = base + i * 1000;
		fj->kind = i % 7 == 3 ? VEX_JOB_AGENT : VEX_JOB_TOOL;
		if (fj->kind == VEX_JOB_AGENT) {
			fj->owner = "alice";
			snprintf(j->owner, sizeof(j->owner), "alice");
			j->kind = VEX_JOB_AGENT;
			memcpy(j->agent_id, fagent, sizeof(j->agent_id));
			fj->tool = NULL;
		} else {
			free(j->tool);
			j->tool = strdup(tools[(i / 2) % 3]);
			fj->tool = tools[(i / 2) % 3];
		}
		assert_int_equal(vex_store_job_insert(store, j, &got, NULL), 0);
		memcpy(fj->id, got->id, sizeof(fj->id));
		vex_job_free(got);
		vex_job_free(j);
		fj->status = (i * 5) % VEX_JOB_STATUS_COUNT;
		fj->started_at = fj->status == VEX_JOB_QUEUED ? 0 : 5000 + (int64_t)(i % 11) * 100;
		if (fj->status != VEX_JOB_QUEUED)
			sql("UPDATE jobs SET status = '%s', started_at = %lld, rev = rev + 1 WHERE id = '%s'",
			    vex_job_status_name((enum vex_job_status)fj->status), (long long)fj->started_at, fj->id);
	}

#define CHECK(setup)                    \
	do {                            \
		vex_job_filter_init(&f); \
		setup;                  \
		fcheck(f, #setup);      \
	} while (0)
	CHECK((void)0);
	CHECK(f.owner = "alice");
	CHECK(f.owner = owners[2]);
	CHECK(f.owner = "nobody");
	for (i = 0; i < VEX_JOB_STATUS_COUNT; i++) {
		CHECK(f.status = i);
		CHECK(f.owner = "bob"; f.status = i);
	}
	CHECK(f.status_mask = 1u << VEX_JOB_FAILED | 1u << VEX_JOB_TIMEOUT | 1u << VEX_JOB_CANCELED);
	CHECK(f.owner = "alice"; f.status_mask = 1u << VEX_JOB_QUEUED | 1u << VEX_JOB_RUNNING);
	CHECK(f.status_mask = (1u << VEX_JOB_STATUS_COUNT) - 1);
	CHECK(f.kind = VEX_JOB_AGENT);
	CHECK(f.kind = VEX_JOB_TOOL);
	CHECK(f.agent_id = fagent);
	CHECK(f.agent_id = fagent; f.kind = VEX_JOB_TOOL);
	CHECK(f.tool = "echo");
	CHECK(f.tool = tools[2]);
	CHECK(f.tool = tools[2]; f.owner = owners[2]);
	CHECK(f.created_after = fjobs[5].created_at);
	CHECK(f.created_before = fjobs[20].created_at);
	CHECK(f.created_after = fjobs[5].created_at; f.created_before = fjobs[20].created_at; f.owner = "bob");
	CHECK(f.started_after = 5300);
	CHECK(f.started_before = 5600);
	CHECK(f.started_after = 5200; f.started_before = 5900; f.status = VEX_JOB_RUNNING);
	CHECK(f.owner = "alice"; f.kind = VEX_JOB_TOOL; f.tool = "sleep"; f.started_after = 1);
	CHECK(f.before_id = fjobs[17].id);
	CHECK(f.before_id = fjobs[17].id; f.owner = owners[2]; f.status_mask = 1u << VEX_JOB_QUEUED | 1u << VEX_JOB_FAILED);
	CHECK(f.before_id = fjobs[9].id; f.tool = "echo"; f.created_after = fjobs[1].created_at);
#undef CHECK
}

/* What a filter may not be, on every function that takes one; a count ignores limit and offset. */
static void test_filter_refusals(void **state)
{
	struct vex_job_list l = { NULL, 0 };
	struct vex_job_filter f;
	int64_t n = -1;
	int k;

	(void)state;
	add_job("alice", VEX_PLAN_FREE, 0, NULL);
	assert_int_equal(vex_store_jobs_list(store, NULL, &l), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_count(store, NULL, &n), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_count_before(store, NULL, &n), VEX_EINVAL);
	for (k = 0; k < 8; k++) {
		vex_job_filter_init(&f);
		switch (k) {
		case 0: f.status = -2; break;
		case 1: f.status = VEX_JOB_STATUS_COUNT; break;
		case 2: f.kind = -2; break;
		case 3: f.kind = VEX_JOB_TOOL + 1; break;
		case 4: f.status_mask = 1u << VEX_JOB_STATUS_COUNT; break;
		case 5: f.status_mask = 1u; f.status = VEX_JOB_QUEUED; break;
		case 6: f.created_after = -1; break;
		default: f.created_before = -1; break;
		}
		assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
		assert_int_equal(vex_store_jobs_count(store, &f, &n), VEX_EINVAL);
		assert_int_equal(vex_store_jobs_count_before(store, &f, &n), VEX_EINVAL);
	}
	vex_job_filter_init(&f);
	f.limit = 0;
	f.offset = -1;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), VEX_EINVAL);
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
	assert_int_equal(n, 1);
	f.limit = 1000;
	f.offset = 0;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 1);
	vex_job_list_release(&l);
	f.offset = 1;
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
}

/* Cursors compare as bytes (the columns are COLLATE "C"): "" is before every id, U+FFFF after; a cursor or owner
 * that is not UTF-8 is kept by SQLite and refused by PostgreSQL (docs/storage.md). */
static void test_cursor_bytes(void **state)
{
	struct vex_job_list l = { NULL, 0 };
	struct vex_job_filter f;
	int64_t n = -1;

	(void)state;
	add_jobs("alice", VEX_PLAN_FREE, 3);
	vex_job_filter_init(&f);
	f.before_id = "";
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
	assert_int_equal(n, 0);
	f.before_id = "\xef\xbf\xbf";
	assert_int_equal(vex_store_jobs_list(store, &f, &l), 0);
	assert_int_equal(l.n, 3);
	vex_job_list_release(&l);
	assert_int_equal(vex_store_jobs_count_before(store, &f, &n), 0);
	assert_int_equal(n, 3);
	f.before_id = "\xff";
	assert_int_equal(vex_store_jobs_list(store, &f, &l), store_fixture_postgres() ? VEX_EINVAL : 0);
	if (!store_fixture_postgres()) {
		assert_int_equal(l.n, 3);
		vex_job_list_release(&l);
	}
	f.before_id = NULL;
	f.owner = "al\xc3";
	assert_int_equal(vex_store_jobs_count(store, &f, &n), store_fixture_postgres() ? VEX_EINVAL : 0);
	if (!store_fixture_postgres())
		assert_int_equal(n, 0);
	/* the store still answers */
	f.owner = "alice";
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	assert_int_equal(n, 3);
}

/* A queued job's place in the claim order (priority DESC, then id), 1 for the next one claimed. */
static void test_queue_position(void **state)
{
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1], c[VEX_UUID_LEN + 1], d[VEX_UUID_LEN + 1];
	int64_t pos = -1;

	(void)state;
	add_job("alice", VEX_PLAN_FREE, 0, a);
	add_job("bob", VEX_PLAN_FREE, 5, b);
	add_job("alice", VEX_PLAN_FREE, 0, c);
	add_job("\xc3\xa9ve", VEX_PLAN_FREE, -3, d);
	assert_int_equal(vex_store_job_queue_position(store, b, &pos), 0);
	assert_int_equal(pos, 1);
	assert_int_equal(vex_store_job_queue_position(store, a, &pos), 0);
	assert_int_equal(pos, 2);
	assert_int_equal(vex_store_job_queue_position(store, c, &pos), 0);
	assert_int_equal(pos, 3);
	assert_int_equal(vex_store_job_queue_position(store, d, &pos), 0);
	assert_int_equal(pos, 4);
	/* A job that left the queue has no place, and those behind it move up. */
	sql("UPDATE jobs SET status = 'running', rev = rev + 1 WHERE id = '%s'", b);
	pos = -1;
	assert_int_equal(vex_store_job_queue_position(store, b, &pos), VEX_ESTATE);
	assert_int_equal(pos, -1);
	assert_int_equal(vex_store_job_queue_position(store, c, &pos), 0);
	assert_int_equal(pos, 2);
	assert_int_equal(vex_store_job_queue_position(store, "0190a000-0000-7000-8000-000000000000", &pos),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_store_job_queue_position(store, "", &pos), VEX_ENOTFOUND);
	assert_int_equal(vex_store_job_queue_position(store, NULL, &pos), VEX_EINVAL);
	assert_int_equal(vex_store_job_queue_position(store, a, NULL), VEX_EINVAL);
}

/* Mark job "id" completed, started at "start" and finished at "end". */
static void complete(const char *id, int64_t start, int64_t end)
{
	sql("UPDATE jobs SET status = 'completed', started_at = %lld, completed_at = %lld, rev = rev + 1 WHERE id = '%s'",
	    (long long)start, (long long)end, id);
}

/* Add a job of "tool" (its id in "id"). */
static void add_tool_job(const char *tool, char id[VEX_UUID_LEN + 1])
{
	store_fixture_add_job(store, "alice", tool, "{}", ++clock_us, id);
}

/* The mean run time of a tool's newest completed jobs, cut toward zero, among its newest VEX_TOOL_RUNS_SCAN. */
static void test_tool_recent_runs(void **state)
{
	struct vex_job *batch[250], *rets[250];
	int created[250], rcs[250];
	char id[VEX_UUID_LEN + 1], old[VEX_UUID_LEN + 1];
	int64_t avg = -1;
	int count = -1, i, k;

	(void)state;
	assert_int_equal(vex_store_tool_recent_runs(store, "t", 5, &avg, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(avg, 0);
	add_tool_job("t", id);
	complete(id, 100, 110);  /* 10 */
	add_tool_job("t", id);
	complete(id, 100, 120);  /* 20 */
	add_tool_job("t", id);   /* queued: not counted */
	add_tool_job("t", id);
	complete(id, 100, 125);  /* 25 */
	add_tool_job("other", id);
	complete(id, 0, 1000000);
	assert_int_equal(vex_store_tool_recent_runs(store, "t", 2, &avg, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(avg, 22); /* (25 + 20) / 2 = 22.5 */
	assert_int_equal(vex_store_tool_recent_runs(store, "t", 1000, &avg, &count), 0);
	assert_int_equal(count, 3);
	assert_int_equal(avg, 18); /* 55 / 3 */
	/* A mean below zero is cut toward zero as well (a clock that stepped back). */
	add_tool_job("\xe2\x98\x83", id);
	complete(id, 100, 97);
	add_tool_job("\xe2\x98\x83", id);
	complete(id, 100, 100);
	assert_int_equal(vex_store_tool_recent_runs(store, "\xe2\x98\x83", 10, &avg, &count), 0);
	assert_int_equal(count, 2);
	assert_int_equal(avg, -1); /* -1.5 */
	/* A completed run older than the tool's newest VEX_TOOL_RUNS_SCAN jobs is not looked at. */
	add_tool_job("s", old);
	complete(old, 0, 7);
	for (k = 0; k < VEX_TOOL_RUNS_SCAN / 250; k++) {
		for (i = 0; i < 250; i++)
			batch[i] = store_fixture_job("bob", "s", "{}", ++clock_us);
		assert_int_equal(vex_store_jobs_insert_batch(store, batch, 250, rets, created, rcs), 0);
		for (i = 0; i < 250; i++) {
			assert_int_equal(rcs[i], 0);
			vex_job_free(rets[i]);
			vex_job_free(batch[i]);
		}
	}
	assert_int_equal(vex_store_tool_recent_runs(store, "s", 10, &avg, &count), 0);
	assert_int_equal(count, 0);
	assert_int_equal(avg, 0);
	assert_int_equal(vex_store_tool_recent_runs(store, "t", 0, &avg, &count), VEX_EINVAL);
	assert_int_equal(vex_store_tool_recent_runs(store, "t", 1001, &avg, &count), VEX_EINVAL);
	assert_int_equal(vex_store_tool_recent_runs(store, NULL, 5, &avg, &count), VEX_EINVAL);
	assert_int_equal(vex_store_tool_recent_runs(store, "t", 5, NULL, &count), VEX_EINVAL);
	assert_int_equal(vex_store_tool_recent_runs(store, "t", 5, &avg, NULL), VEX_EINVAL);
}

/* Mark job "id" running under "lease" until "expires" (0: no lease), started at "start". */
static void run(const char *id, const char *lease, int64_t start, int64_t expires)
{
	char e[24];

	snprintf(e, sizeof(e), "%lld", (long long)expires);
	sql("UPDATE jobs SET status = 'running', lease_owner = '%s', started_at = %lld, lease_expires_at = %s,"
	    " rev = rev + 1 WHERE id = '%s'",
	    lease, (long long)start, expires ? e : "NULL", id);
}

/* Running jobs: an owner's by id, everyone's (with a lease) soonest expiry first; names, lease owners, limits. */
static void test_running_jobs(void **state)
{
	struct vex_agent *a = vex_agent_new();
	struct vex_job *j = vex_job_new(), *got = NULL;
	struct vex_running_jobs l = { NULL, 0 };
	char t1[VEX_UUID_LEN + 1], t2[VEX_UUID_LEN + 1], t3[VEX_UUID_LEN + 1], q[VEX_UUID_LEN + 1];
	char nolease[VEX_UUID_LEN + 1];

	(void)state;
	vex_uuid7(a->id);
	snprintf(a->owner, sizeof(a->owner), "alice");
	a->name = strdup("a");
	a->role = strdup("role");
	a->max_depth = 3;
	a->created_at = 1;
	assert_int_equal(vex_store_agent_insert(store, a, NULL, NULL), 0);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "alice");
	j->kind = VEX_JOB_AGENT;
	memcpy(j->agent_id, a->id, sizeof(j->agent_id));
	j->input_json = strdup("{}");
	j->max_attempts = 1;
	j->created_at = ++clock_us;
	assert_int_equal(vex_store_job_insert(store, j, &got, NULL), 0);
	vex_job_free(got);
	store_fixture_add_job(store, "alice", "\xe6\x97\xa5", "{}", ++clock_us, t1);
	store_fixture_add_job(store, "bob", "echo", "{}", ++clock_us, t2);
	store_fixture_add_job(store, "alice", "echo", "{}", ++clock_us, t3);
	store_fixture_add_job(store, "alice", "echo", "{}", ++clock_us, q);
	store_fixture_add_job(store, "alice", "echo", "{}", ++clock_us, nolease);
	run(j->id, "h:1/w0", 11, 900);
	run(t1, "h:1/w1", 12, 300);
	run(t2, "h:\xc3\xa9/w0", 13, 100);
	run(t3, "h:1/w2", 14, 500);
	run(nolease, "h:1/w3", 15, 0);

	assert_int_equal(vex_store_running_jobs(store, NULL, 100, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.items[0].id, t2);
	assert_string_equal(l.items[0].owner, "bob");
	assert_string_equal(l.items[0].lease_owner, "h:\xc3\xa9/w0");
	assert_int_equal(l.items[0].kind, VEX_JOB_TOOL);
	assert_string_equal(l.items[0].name, "echo");
	assert_true(l.items[0].started_at == 13);
	assert_string_equal(l.items[1].id, t1);
	assert_string_equal(l.items[1].name, "\xe6\x97\xa5");
	assert_string_equal(l.items[2].id, t3);
	assert_string_equal(l.items[3].id, j->id);
	assert_int_equal(l.items[3].kind, VEX_JOB_AGENT);
	assert_string_equal(l.items[3].name, a->id);
	vex_running_jobs_release(&l);
	assert_int_equal(vex_store_running_jobs(store, NULL, 2, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[1].id, t1);
	vex_running_jobs_release(&l);

	/* An owner's: by id, a running job without a lease too. */
	assert_int_equal(vex_store_running_jobs(store, "alice", 100, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.items[0].id, j->id);
	assert_string_equal(l.items[1].id, t1);
	assert_string_equal(l.items[2].id, t3);
	assert_string_equal(l.items[3].id, nolease);
	assert_string_equal(l.items[3].lease_owner, "h:1/w3");
	vex_running_jobs_release(&l);
	assert_int_equal(vex_store_running_jobs(store, "alice", 1, &l), 0);
	assert_int_equal(l.n, 1);
	vex_running_jobs_release(&l);
	assert_int_equal(vex_store_running_jobs(store, "carol", 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	assert_int_equal(vex_store_running_jobs(store, NULL, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_running_jobs(store, "alice", 10001, &l), VEX_EINVAL);
	assert_int_equal(vex_store_running_jobs(store, "alice", 10000, NULL), VEX_EINVAL);
	vex_job_free(j);
	vex_agent_free(a);
}

/* Jobs by status (kept by triggers through every change) and the oldest queued job, an owner's or everyone's. */
static void test_status_counts_and_oldest(void **state)
{
	int64_t c[VEX_JOB_STATUS_COUNT], at = -1;
	char ids[6][VEX_UUID_LEN + 1], got[VEX_UUID_LEN + 1];
	static const char *const owners[6] = { "bob", "alice", "bob", "\xc3\xa9ve", "alice", "bob" };
	int i;

	(void)state;
	assert_int_equal(vex_store_status_counts(store, NULL, c), 0);
	for (i = 0; i < VEX_JOB_STATUS_COUNT; i++)
		assert_int_equal(c[i], 0);
	assert_int_equal(vex_store_oldest_queued(store, NULL, got, &at), VEX_ENOTFOUND);
	assert_int_equal(vex_store_oldest_queued(store, "bob", got, &at), VEX_ENOTFOUND);
	for (i = 0; i < 6; i++)
		store_fixture_add_job(store, owners[i], "echo", "{}", 1000 + i, ids[i]);
	assert_int_equal(vex_store_oldest_queued(store, NULL, got, &at), 0);
	assert_string_equal(got, ids[0]);
	assert_true(at == 1000);
	assert_int_equal(vex_store_oldest_queued(store, "alice", got, &at), 0);
	assert_string_equal(got, ids[1]);
	assert_true(at == 1001);
	assert_int_equal(vex_store_oldest_queued(store, "\xc3\xa9ve", got, &at), 0);
	assert_string_equal(got, ids[3]);

	sql("UPDATE jobs SET status = 'running', rev = rev + 1 WHERE id = '%s'", ids[0]);
	sql("UPDATE jobs SET status = 'failed', rev = rev + 1 WHERE id = '%s'", ids[1]);
	sql("UPDATE jobs SET status = 'canceled', rev = rev + 1 WHERE id = '%s'", ids[3]);
	sql("UPDATE jobs SET status = 'completed', rev = rev + 1 WHERE id = '%s'", ids[5]);
	assert_int_equal(vex_store_oldest_queued(store, NULL, got, &at), 0);
	assert_string_equal(got, ids[2]);
	assert_true(at == 1002);
	assert_int_equal(vex_store_oldest_queued(store, "alice", got, &at), 0);
	assert_string_equal(got, ids[4]);
	memset(got, 'x', sizeof(got));
	at = -1;
	assert_int_equal(vex_store_oldest_queued(store, "\xc3\xa9ve", got, &at), VEX_ENOTFOUND);
	assert_true(at == -1);
	assert_int_equal(vex_store_oldest_queued(store, NULL, NULL, &at), VEX_EINVAL);
	assert_int_equal(vex_store_oldest_queued(store, NULL, got, NULL), VEX_EINVAL);

	assert_int_equal(vex_store_status_counts(store, "bob", c), 0);
	assert_int_equal(c[VEX_JOB_RUNNING], 1);
	assert_int_equal(c[VEX_JOB_QUEUED], 1);
	assert_int_equal(c[VEX_JOB_COMPLETED], 1);
	assert_int_equal(c[VEX_JOB_FAILED], 0);
	assert_int_equal(vex_store_status_counts(store, NULL, c), 0);
	assert_int_equal(c[VEX_JOB_QUEUED], 2);
	assert_int_equal(c[VEX_JOB_RUNNING], 1);
	assert_int_equal(c[VEX_JOB_COMPLETED], 1);
	assert_int_equal(c[VEX_JOB_FAILED], 1);
	assert_int_equal(c[VEX_JOB_TIMEOUT], 0);
	assert_int_equal(c[VEX_JOB_CANCELED], 1);
	assert_int_equal(vex_store_status_counts(store, "\xc3\xa9ve", c), 0);
	assert_int_equal(c[VEX_JOB_CANCELED], 1);
	assert_int_equal(c[VEX_JOB_QUEUED], 0);
	assert_int_equal(vex_store_status_counts(store, "nobody", c), 0);
	for (i = 0; i < VEX_JOB_STATUS_COUNT; i++)
		assert_int_equal(c[i], 0);
	assert_int_equal(vex_store_status_counts(store, NULL, NULL), VEX_EINVAL);
}

/* Another connection holds the write lock: our write waits busy_timeout, then VEX_EBUSY, nothing changed. */
static void test_busy(void **state)
{
	struct vex_store *quick = NULL;
	struct vex_job *j, *got = NULL;
	struct vex_job_list l = { NULL, 0 };
	char queued[VEX_UUID_LEN + 1];
	sqlite3 *db = NULL;
	int cancel;

	(void)state;
	if (store_fixture_postgres())
		skip(); /* SQLite's write lock and WAL readers */
	j = new_tool_job("alice", VEX_PLAN_FREE, 0);
	add_job("alice", VEX_PLAN_FREE, 0, queued);
	assert_int_equal(vex_store_open(path, 1, 50, &quick), 0);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);

	assert_int_equal(vex_store_job_insert(quick, j, &got, NULL), VEX_EBUSY);
	assert_null(got);
	assert_int_equal(vex_store_job_claim(quick, "r", clock_us, LEASE_US, limits, &got), VEX_EBUSY);
	assert_int_equal(vex_store_job_cancel(quick, queued, NULL, 0, clock_us, &got), VEX_EBUSY);
	assert_null(got);
	assert_int_equal(vex_store_job_renew(quick, queued, "r", clock_us, LEASE_US, &cancel), VEX_EBUSY);
	assert_int_equal(vex_store_jobs_rescue(quick, clock_us, &l), VEX_EBUSY);
	assert_int_equal(vex_store_runner_beat(quick, "r", 1, 1), VEX_EBUSY);
	/* Reads still work under WAL while a writer holds the lock. */
	assert_int_equal(vex_store_job_get(quick, queued, NULL, &got), 0);
	assert_int_equal(got->status, VEX_JOB_QUEUED);
	vex_job_free(got);
	got = NULL;

	assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_true(count(NULL, -1) == 1);
	assert_true(count(NULL, VEX_JOB_QUEUED) == 1);
	/* And the connection is usable again afterwards. */
	assert_int_equal(vex_store_job_insert(quick, j, &got, NULL), 0);
	vex_job_free(got);
	assert_true(count(NULL, -1) == 2);
	vex_store_free(quick);
	vex_job_free(j);
}

/* The hot queries use their indexes (no full scans as the table grows). */
static void test_query_plans(void **state)
{
	static const struct {
		const char *sql;
		const char *index;
	} cases[] = {
		{ "SELECT id FROM jobs WHERE status = 'queued' ORDER BY priority DESC, id ASC", "jobs_claim" },
		{ "SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE owner = 'a' AND status = 'running' LIMIT 5)",
		  "jobs_owner_status_id" },
		{ "SELECT id FROM jobs WHERE owner = 'a' AND id < 'x' ORDER BY id DESC LIMIT 20", "jobs_owner_id" },
		{ "SELECT id FROM jobs WHERE owner = 'a' AND status = 'failed' ORDER BY id DESC LIMIT 20",
		  "jobs_owner_status_id" },
		{ "SELECT id FROM jobs WHERE agent_id = 'a' AND started_at > 5 ORDER BY id DESC LIMIT 50",
		  "jobs_agent_id" },
		{ "SELECT id FROM jobs WHERE status = 'running' AND lease_expires_at < 5 ORDER BY lease_expires_at",
		  "jobs_lease" },
		{ "SELECT id FROM agents WHERE owner = 'a' AND status <> 'DELETED' ORDER BY id DESC LIMIT 5",
		  "agents_owner_id" },
	};
	sqlite3 *db = NULL;
	size_t i;

	(void)state;
	if (store_fixture_postgres())
		skip(); /* SQLite's query planner */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char plan[1024];

		store_fixture_plan(db, cases[i].sql, plan, sizeof(plan));
		if (!strstr(plan, cases[i].index))
			fail_msg("%s\n  plan: %s\n  expected index %s", cases[i].sql, plan, cases[i].index);
		assert_null(strstr(plan, "TEMP B-TREE"));
	}
	sqlite3_close(db);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_get, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_insert_invalid, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_agent_job, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_idempotency_key, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_filters, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_filter_refusals, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_cursor_bytes, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_queue_position, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_tool_recent_runs, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_running_jobs, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_status_counts_and_oldest, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_busy, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_query_plans, store_setup, store_teardown),
	};

	vex_log_init("test_store_jobs", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
