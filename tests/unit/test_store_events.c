/* test_store_events.c - reading job events: the global feed by seq (paged, and followed while other connections
 * write), one job's events by rev, the last seq, every field of an event, the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "events"
#include "tests/unit/store_fixture.h"

static int64_t clock_us = 1700000000000000;

static void add_job(const char *owner, char id[VEX_UUID_LEN + 1])
{
	store_fixture_add_job(store, owner, "sleep", "{\"ms\":1}", ++clock_us, id);
}

/* Run the SQL that "fmt" makes on the test's store: the changes only the job writes make (each leaves an event
 * through the triggers, as theirs do). */
static void sql(const char *fmt, ...)
{
	char q[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(q, sizeof(q), fmt, ap);
	va_end(ap);
	store_fixture_exec(&fx, q);
}

/* Every type an update leaves, and every field of an event, unicode included. */
static void test_event_fields(void **state)
{
	static const enum vex_job_event_type want[] = { VEX_EV_QUEUED, VEX_EV_STARTED, VEX_EV_PROGRESS,
							VEX_EV_CANCEL_REQUESTED, VEX_EV_REQUEUED, VEX_EV_STARTED,
							VEX_EV_COMPLETED };
	struct vex_job_event_list l = { NULL, 0 };
	char id[VEX_UUID_LEN + 1];
	size_t i;

	(void)state;
	add_job("\xc3\xa9ve", id);
	sql("UPDATE jobs SET status = 'running', attempts = 1, started_at = 77, updated_at = 78, rev = rev + 1"
	    " WHERE id = '%s'", id);
	sql("UPDATE jobs SET progress_step = '\xe2\x98\x83 2', progress_total = 3, progress_pct = 66.625,"
	    " progress_message = '\xf0\x9f\x98\x80 ok', updated_at = 79, rev = rev + 1 WHERE id = '%s'", id);
	sql("UPDATE jobs SET cancel_requested = 1, updated_at = 80, rev = rev + 1 WHERE id = '%s'", id);
	sql("UPDATE jobs SET status = 'queued', cancel_requested = 0, updated_at = 81, rev = rev + 1 WHERE id = '%s'",
	    id);
	sql("UPDATE jobs SET status = 'running', attempts = 2, updated_at = 82, rev = rev + 1 WHERE id = '%s'", id);
	sql("UPDATE jobs SET status = 'completed', updated_at = 83, rev = rev + 1 WHERE id = '%s'", id);
	sql("UPDATE jobs SET updated_at = 99 WHERE id = '%s'", id); /* no new rev: no event */

	assert_int_equal(vex_store_job_events_of(store, id, 0, 100, &l), 0);
	assert_int_equal(l.n, 7);
	for (i = 0; i < l.n; i++) {
		assert_int_equal(l.items[i].type, want[i]);
		assert_int_equal(l.items[i].rev, (int64_t)i + 1);
		assert_string_equal(l.items[i].job_id, id);
		assert_string_equal(l.items[i].owner, "\xc3\xa9ve");
		if (i > 0) {
			assert_true(l.items[i].seq > l.items[i - 1].seq);
			assert_true(l.items[i].at == 77 + (int64_t)i);
		}
	}
	assert_int_equal(l.items[0].status, VEX_JOB_QUEUED);
	assert_int_equal(l.items[0].attempts, 0);
	assert_true(l.items[0].started_at == 0);
	assert_null(l.items[0].progress.current_step);
	assert_null(l.items[0].progress.message);
	assert_true(l.items[0].at == clock_us);
	assert_int_equal(l.items[1].status, VEX_JOB_RUNNING);
	assert_int_equal(l.items[1].attempts, 1);
	assert_true(l.items[1].started_at == 77);
	assert_string_equal(l.items[2].progress.current_step, "\xe2\x98\x83 2");
	assert_string_equal(l.items[2].progress.message, "\xf0\x9f\x98\x80 ok");
	assert_int_equal(l.items[2].progress.total_steps, 3);
	assert_true(l.items[2].progress.percentage == 66.625);
	assert_int_equal(l.items[3].cancel_requested, 1);
	assert_int_equal(l.items[4].cancel_requested, 0);
	assert_int_equal(l.items[4].status, VEX_JOB_QUEUED);
	assert_int_equal(l.items[5].attempts, 2);
	assert_int_equal(l.items[6].status, VEX_JOB_COMPLETED);
	vex_job_event_list_release(&l);
}

/* The global feed: seq order across jobs, pages with after_seq, last_seq its end; limits. */
static void test_feed_pages(void **state)
{
	struct vex_job_event_list all = { NULL, 0 }, l = { NULL, 0 };
	char ids[5][VEX_UUID_LEN + 1];
	int64_t last = -1, cursor = 0;
	size_t seen = 0, i;

	(void)state;
	assert_int_equal(vex_store_job_events_last_seq(store, &last), 0);
	assert_int_equal(last, 0);
	assert_int_equal(vex_store_job_events_since(store, 0, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	for (i = 0; i < 5; i++)
		add_job(i % 2 ? "bob" : "alice", ids[i]);
	sql("UPDATE jobs SET status = 'running', rev = rev + 1 WHERE id = '%s'", ids[3]);
	sql("UPDATE jobs SET progress_step = 's', rev = rev + 1 WHERE id = '%s'", ids[0]);
	sql("UPDATE jobs SET status = 'canceled', rev = rev + 1 WHERE id = '%s'", ids[1]);
	assert_int_equal(vex_store_job_events_since(store, -5, 10000, &all), 0);
	assert_int_equal(all.n, 8);
	for (i = 0; i < 5; i++) {
		assert_string_equal(all.items[i].job_id, ids[i]);
		assert_int_equal(all.items[i].type, VEX_EV_QUEUED);
	}
	assert_string_equal(all.items[5].job_id, ids[3]);
	assert_int_equal(all.items[5].type, VEX_EV_STARTED);
	assert_int_equal(all.items[6].type, VEX_EV_PROGRESS);
	assert_int_equal(all.items[7].type, VEX_EV_CANCELED);
	for (i = 1; i < all.n; i++)
		assert_true(all.items[i].seq > all.items[i - 1].seq);
	assert_int_equal(vex_store_job_events_last_seq(store, &last), 0);
	assert_int_equal(last, all.items[7].seq);

	/* Pages of 3 from each page's last seq: the same events, in the same order. */
	for (;;) {
		assert_int_equal(vex_store_job_events_since(store, cursor, 3, &l), 0);
		if (l.n == 0)
			break;
		assert_true(l.n <= 3);
		for (i = 0; i < l.n; i++, seen++) {
			assert_true(l.items[i].seq == all.items[seen].seq);
			assert_string_equal(l.items[i].job_id, all.items[seen].job_id);
		}
		cursor = l.items[l.n - 1].seq;
		vex_job_event_list_release(&l);
	}
	assert_int_equal(seen, all.n);
	assert_int_equal(vex_store_job_events_since(store, last, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_job_events_since(store, 0, 1, &l), 0);
	assert_int_equal(l.n, 1);
	vex_job_event_list_release(&l);
	vex_job_event_list_release(&all);
	assert_int_equal(vex_store_job_events_since(store, 0, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_job_events_since(store, 0, 10001, &l), VEX_EINVAL);
	assert_int_equal(vex_store_job_events_since(store, 0, 10000, &l), 0);
	assert_int_equal(l.n, 8);
	vex_job_event_list_release(&l);
}

/* One job's events: after_rev, limits, other jobs' events never among them. */
static void test_events_of(void **state)
{
	struct vex_job_event_list l = { NULL, 0 };
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];
	int i;

	(void)state;
	add_job("alice", a);
	add_job("alice", b);
	for (i = 0; i < 4; i++) {
		sql("UPDATE jobs SET progress_total = %d, rev = rev + 1 WHERE id = '%s'", i, a);
		sql("UPDATE jobs SET progress_total = %d, rev = rev + 1 WHERE id = '%s'", i, b);
	}
	assert_int_equal(vex_store_job_events_of(store, a, 0, 100, &l), 0);
	assert_int_equal(l.n, 5);
	for (i = 0; i < 5; i++) {
		assert_string_equal(l.items[i].job_id, a);
		assert_int_equal(l.items[i].rev, i + 1);
	}
	vex_job_event_list_release(&l);
	assert_int_equal(vex_store_job_events_of(store, b, 3, 1, &l), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.items[0].rev, 4);
	assert_int_equal(l.items[0].progress.total_steps, 2);
	vex_job_event_list_release(&l);
	assert_int_equal(vex_store_job_events_of(store, b, 5, 100, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_job_events_of(store, b, -1, 10000, &l), 0);
	assert_int_equal(l.n, 5);
	vex_job_event_list_release(&l);
	assert_int_equal(vex_store_job_events_of(store, "0190a000-0000-7000-8000-000000000000", 0, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_job_events_of(store, "\xe2\x98\x83", 0, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_job_events_of(store, NULL, 0, 10, &l), VEX_EINVAL);
	assert_int_equal(vex_store_job_events_of(store, a, 0, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_job_events_of(store, a, 0, 10001, &l), VEX_EINVAL);
}

enum { WRITERS = 2, WRITES = 120 };

/* A writer of its own connection (opened after fork): WRITES jobs, then exits 0 (1 when a write failed). */
static void writer(const char *where, int who)
{
	struct vex_store *s = NULL;
	char owner[32];
	int ok = vex_store_open(where, 1, 10000, &s) == 0;

	snprintf(owner, sizeof(owner), "w%d", who);
	for (int i = 0; ok && i < WRITES; i++) {
		struct vex_job *j = store_fixture_job(owner, "echo", "{}", 1 + i), *got = NULL;

		ok = vex_store_job_insert(s, j, &got, NULL) == 0;
		vex_job_free(got);
		vex_job_free(j);
	}
	vex_store_free(s);
	_exit(ok ? 0 : 1);
}

/* A reader following "seq > cursor" while other connections write never misses an event: what it saw, page by
 * page, is every event there is, in seq order (on PostgreSQL the jobs lock keeps seqs committing in order). */
static void test_feed_while_writing(void **state)
{
	struct vex_job_event_list l = { NULL, 0 }, all = { NULL, 0 };
	int64_t *seen, cursor = 0;
	size_t n = 0, got, i;
	char where[1024];
	pid_t pids[WRITERS];
	int status, w, running = WRITERS;

	(void)state;
	store_fixture_where(&fx, where, sizeof(where));
	seen = calloc(WRITERS * WRITES, sizeof(*seen));
	assert_non_null(seen);
	for (w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0)
			writer(where, w);
	}
	/* Follow the feed until the writers are done and it has nothing more. */
	for (;;) {
		assert_int_equal(vex_store_job_events_since(store, cursor, 7, &l), 0);
		got = l.n;
		for (i = 0; i < l.n; i++) {
			assert_true(l.items[i].seq > cursor);
			assert_true(n < WRITERS * WRITES);
			cursor = seen[n++] = l.items[i].seq;
		}
		vex_job_event_list_release(&l);
		if (got == 0 && running == 0)
			break;
		for (w = 0; w < WRITERS && running; w++) {
			if (pids[w] > 0 && waitpid(pids[w], &status, WNOHANG) == pids[w]) {
				assert_true(WIFEXITED(status));
				assert_int_equal(WEXITSTATUS(status), 0);
				pids[w] = 0;
				running--;
			}
		}
	}
	assert_int_equal(vex_store_job_events_since(store, 0, 10000, &all), 0);
	assert_int_equal(all.n, WRITERS * WRITES);
	assert_int_equal(n, all.n);
	for (i = 0; i < n; i++)
		assert_true(seen[i] == all.items[i].seq);
	vex_job_event_list_release(&all);
	free(seen);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_event_fields, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_feed_pages, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_events_of, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_feed_while_writing, store_setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
