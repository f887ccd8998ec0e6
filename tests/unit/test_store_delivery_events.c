/* test_store_delivery_events.c - webhook deliveries of jobs that run: every job event's hook event, fan-out once per
 * event across connections, pages, pruning behind the cursor, order across a job's events, 410 Gone over a job's
 * deliveries. On PostgreSQL once the job writes (claim, progress, finish, requeue, cancel), the job events' prune
 * and the stats rollup are there; the rest of the deliveries: test_store_deliveries.c, test_store_delivery_attempts.c. */
#include <pthread.h>

#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "tests/unit/store_deliveries_fixture.h"

/* Each owner's active hooks hear what their mask asks for, and nothing of other owners' jobs. */
static void test_fanout_mapping(void **state)
{
	char all[VEX_HOOK_ID_LEN + 1], done[VEX_HOOK_ID_LEN + 1], off[VEX_HOOK_ID_LEN + 1], bob[VEX_HOOK_ID_LEN + 1];
	char job[VEX_UUID_LEN + 1], job2[VEX_UUID_LEN + 1], bjob[VEX_UUID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 };
	struct vex_job *got = NULL;
	int created = 0;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, all);
	add_hook("alice", VEX_HOOK_EV_COMPLETED | VEX_HOOK_EV_CANCELED, VEX_HOOK_ACTIVE, done);
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_DISABLED, off);
	add_hook("bob", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, bob);
	/* no events yet: nothing to do */
	assert_int_equal(fanout(&created), 0);
	assert_int_equal(created, 0);

	add_job("alice", job);
	run_job(job, VEX_JOB_COMPLETED);           /* queued, started, progress, completed */
	add_job("alice", job2);
	assert_int_equal(vex_store_job_cancel(store, job2, "alice", 0, ++now, &got), 0); /* queued, canceled */
	vex_job_free(got);
	add_job("carol", bjob);                    /* an owner without hooks */
	assert_int_equal(fanout(&created), 7);
	assert_int_equal(created, 5 + 2);          /* all: q s c q x; done: c x */
	assert_true(cursor() > 0);
	assert_int_equal(fanout(&created), 0);     /* passed once */

	list_hook(all, &l);
	assert_int_equal(l.n, 5);
	/* newest first */
	assert_string_equal(l.items[4].event, "job.queued");
	assert_string_equal(l.items[4].job_id, job);
	assert_string_equal(l.items[3].event, "job.started");
	assert_string_equal(l.items[2].event, "job.completed");
	assert_string_equal(l.items[1].event, "job.queued");
	assert_string_equal(l.items[1].job_id, job2);
	assert_string_equal(l.items[0].event, "job.canceled");
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(strlen(l.items[i].id), VEX_DELIVERY_ID_LEN);
		assert_memory_equal(l.items[i].id, "msg_", 4);
		assert_int_equal(l.items[i].status, VEX_DLV_PENDING);
		assert_int_equal(l.items[i].attempts, 0);
		assert_true(l.items[i].next_at == now);
		assert_string_equal(l.items[i].owner, "alice");
		assert_int_equal(l.items[i].nlog, 0);
		if (i > 0)
			assert_true(strcmp(l.items[i - 1].id, l.items[i].id) > 0);
	}
	/* the payload shows the job as it was at the event */
	assert_non_null(strstr(l.items[4].payload, "\"status\":\"queued\""));
	assert_non_null(strstr(l.items[3].payload, "\"status\":\"running\""));
	assert_non_null(strstr(l.items[2].payload, "\"event\":\"job.completed\""));
	assert_non_null(strstr(l.items[2].payload, "\"status\":\"completed\""));
	vex_delivery_list_release(&l);

	list_hook(done, &l);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[1].event, "job.completed");
	assert_string_equal(l.items[0].event, "job.canceled");
	vex_delivery_list_release(&l);
	list_hook(off, &l);
	assert_int_equal(l.n, 0);
	vex_delivery_list_release(&l);
	list_hook(bob, &l);
	assert_int_equal(l.n, 0);
	vex_delivery_list_release(&l);
	/* one payload per event with a listener (q s c of job, q x of job2) */
	assert_int_equal(payload_calls, 5);
}

/* A requeued job is queued again for hooks; failure and timeout map to their own events. */
static void test_fanout_requeue_fail_timeout(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 };
	struct vex_job *c = NULL, *got = NULL;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_QUEUED | VEX_HOOK_EV_FAILED | VEX_HOOK_EV_TIMEOUT, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	assert_int_equal(vex_store_job_claim(store, "r", ++now, 30 * S, NULL, &c), 0);
	vex_job_free(c);
	assert_int_equal(vex_store_job_requeue(store, a, "r", 1, ++now, &got), 0);
	vex_job_free(got);
	run_job(a, VEX_JOB_FAILED);
	add_job("alice", b);
	run_job(b, VEX_JOB_TIMEOUT);
	fanout(NULL);
	list_hook(hook, &l);
	assert_int_equal(l.n, 5);
	assert_string_equal(l.items[4].event, "job.queued");
	assert_string_equal(l.items[3].event, "job.queued"); /* requeued */
	assert_string_equal(l.items[2].event, "job.failed");
	assert_string_equal(l.items[1].event, "job.queued");
	assert_string_equal(l.items[0].event, "job.timeout");
	vex_delivery_list_release(&l);
}

/* Two connections fanning out at once: each event once. */
static void test_fanout_once(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], job[VEX_UUID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 };
	struct vex_store *other = NULL;
	int e1 = -1, e2 = -1, c1 = -1, c2 = -1;

	(void)state;
	other = other_store(1000);
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	for (int i = 0; i < 3; i++) {
		add_job("alice", job);
		run_job(job, VEX_JOB_COMPLETED);
	}
	assert_int_equal(vex_store_hooks_fanout(other, 5, payload_fn, NULL, now, &e1, &c1), 0);
	assert_int_equal(vex_store_hooks_fanout(store, 1000, payload_fn, NULL, now, &e2, &c2), 0);
	assert_int_equal(e1, 5);
	assert_int_equal(e1 + e2, 12);
	assert_int_equal(c1 + c2, 9);
	assert_int_equal(vex_store_hooks_fanout(other, 1000, payload_fn, NULL, now, &e1, &c1), 0);
	assert_int_equal(e1, 0);
	assert_int_equal(c1, 0);
	list_hook(hook, &l);
	assert_int_equal(l.n, 9);
	for (size_t i = 1; i < l.n; i++)
		assert_true(l.items[i - 1].event_seq > l.items[i].event_seq);
	vex_delivery_list_release(&l);
	vex_store_free(other);
}

struct racer {
	struct vex_store *s;
	int created;
	int rc;
};

/* Fan out two events at a time until nothing is left. */
static void *race(void *arg)
{
	struct racer *r = arg;
	int events = 1, created = 0;

	while (r->rc == 0 && events > 0) {
		r->rc = vex_store_hooks_fanout(r->s, 2, payload_fn, NULL, now, &events, &created);
		r->created += created;
	}
	return NULL;
}

/* Two threads with their own connections racing: still each event once. */
static void test_fanout_race(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], job[VEX_UUID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 };
	struct racer r[2];
	pthread_t t[2];

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	for (int i = 0; i < 10; i++) {
		add_job("alice", job);
		run_job(job, VEX_JOB_COMPLETED);
	}
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 2; i++) {
		r[i].s = other_store(5000);
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].rc, 0);
		vex_store_free(r[i].s);
	}
	assert_int_equal(r[0].created + r[1].created, 30);
	list_hook(hook, &l);
	assert_int_equal(l.n, 30);
	vex_delivery_list_release(&l);
}

static void test_list_paging(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 }, p = { NULL, 0 };

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	run_job(a, VEX_JOB_COMPLETED);
	fanout(NULL);
	list_hook(hook, &l);
	assert_int_equal(l.n, 3);
	assert_int_equal(vex_store_deliveries_list(store, hook, l.items[0].id, 1, &p), 0);
	assert_int_equal(p.n, 1);
	assert_string_equal(p.items[0].id, l.items[1].id);
	vex_delivery_list_release(&p);
	assert_int_equal(vex_store_deliveries_list(store, hook, l.items[2].id, 10, &p), 0);
	assert_int_equal(p.n, 0);
	vex_delivery_list_release(&p);
	vex_delivery_list_release(&l);
	assert_int_equal(vex_store_deliveries_list(store, hook, NULL, 0, &p), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_list(store, hook, NULL, 1001, &p), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_list(store, "hook_none", NULL, 10, &p), 0);
	assert_int_equal(p.n, 0);
	vex_delivery_list_release(&p);
}

/* Pruning keeps every event the fan-out has not passed, however old. */
static void test_prune_waits_for_cursor(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 };
	int64_t deleted = -1;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	for (int i = 0; i < 3; i++) {
		add_job("alice", a);
		run_job(a, VEX_JOB_COMPLETED);
	}
	/* all 12 events are older than the bound, none passed yet */
	assert_int_equal(vex_store_job_events_prune(store, now + 3600 * S, 5000, &deleted), 0);
	assert_true(deleted == 0);
	fold_stats(); /* the stats rollup's cursor passes them all: the fan-out's decides */
	assert_int_equal(vex_store_hooks_fanout(store, 6, payload_fn, NULL, now, NULL, NULL), 0);
	assert_int_equal(vex_store_job_events_prune(store, now + 3600 * S, 5000, &deleted), 0);
	assert_true(deleted == 6);
	assert_int_equal(vex_store_hooks_fanout(store, 1000, payload_fn, NULL, now, NULL, NULL), 0);
	assert_int_equal(vex_store_job_events_prune(store, now + 3600 * S, 5000, &deleted), 0);
	assert_true(deleted == 5); /* never the newest */
	list_hook(hook, &l);
	assert_int_equal(l.n, 9); /* the fan-out saw all of them */
	vex_delivery_list_release(&l);
}

/* Per (hook, job) the oldest pending delivery goes first; other jobs are not held up. */
static void test_claim_order(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 }, l2 = { NULL, 0 };
	const struct vex_delivery_claim *qa, *qb;
	char qa_id[VEX_DELIVERY_ID_LEN + 1];

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	run_job(a, VEX_JOB_COMPLETED);
	add_job("alice", b);
	run_job(b, VEX_JOB_COMPLETED);
	fanout(NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 100, 100, &l), 0);
	assert_int_equal(l.n, 2); /* the first event of each job */
	qa = find(&l, a, "job.queued");
	qb = find(&l, b, "job.queued");
	assert_non_null(qa);
	assert_non_null(qb);
	assert_string_equal(qa->url, "http://receiver.example/hook");
	assert_string_equal(qa->secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
	assert_string_equal(qa->d.hook_id, hook);
	memcpy(qa_id, qa->d.id, sizeof(qa_id));
	/* b's first is delivered; a's first fails and is retried later: a's next events wait for it */
	record(qb->d.id, "r1", 204, NULL, VEX_DLV_DELIVERED, 0, 0, 0, NULL);
	record(qa_id, "r1", 500, "the receiver answered 500", VEX_DLV_PENDING, now + 10 * S, 0, 0, NULL);
	vex_delivery_claim_list_release(&l);
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 100, 100, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].d.job_id, b);
	assert_string_equal(l.items[0].d.event, "job.started");
	record(l.items[0].d.id, "r1", 200, NULL, VEX_DLV_DELIVERED, 0, 0, 0, NULL);
	vex_delivery_claim_list_release(&l);
	/* later: a's queued comes again (same id), alone; then its started */
	now += 10 * S;
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 100, 100, &l), 0);
	assert_non_null(find(&l, b, "job.completed"));
	qa = find(&l, a, "job.queued");
	assert_non_null(qa);
	assert_string_equal(qa->d.id, qa_id);
	assert_int_equal(qa->d.attempts, 1);
	assert_int_equal(l.n, 2);
	record(qa->d.id, "r1", 200, NULL, VEX_DLV_DELIVERED, 0, 0, 0, NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r2", now, LEASE_US, 100, 100, &l2), 0);
	assert_int_equal(l2.n, 1);
	assert_string_equal(l2.items[0].d.event, "job.started");
	assert_string_equal(l2.items[0].d.job_id, a);
	vex_delivery_claim_list_release(&l2);
	vex_delivery_claim_list_release(&l);
}

/* 410 Gone: the delivery fails, the hook is disabled, its other pending deliveries are canceled. */
static void test_gone(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], other[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], id[VEX_DELIVERY_ID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 };
	struct vex_delivery_list dl = { NULL, 0 };
	struct vex_webhook *h = NULL;
	int disabled = 0;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, other);
	add_job("alice", a);
	run_job(a, VEX_JOB_COMPLETED);
	fanout(NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.items[i].d.hook_id, hook) == 0)
			memcpy(id, l.items[i].d.id, sizeof(id));
	vex_delivery_claim_list_release(&l);
	record(id, "r", 410, "the receiver answered 410", VEX_DLV_PENDING, now + S, 1, 0, &disabled);
	assert_int_equal(disabled, 1);
	assert_int_equal(vex_store_webhook_get(store, hook, NULL, &h), 0);
	assert_int_equal(h->status, VEX_HOOK_DISABLED);
	assert_string_equal(h->disabled_reason, "the receiver answered 410 Gone");
	vex_webhook_free(h);
	list_hook(hook, &dl);
	assert_int_equal(dl.n, 3);
	assert_int_equal(dl.items[2].status, VEX_DLV_FAILED);
	assert_int_equal(dl.items[2].last_status_code, 410);
	assert_int_equal(dl.items[1].status, VEX_DLV_CANCELED);
	assert_int_equal(dl.items[0].status, VEX_DLV_CANCELED);
	assert_string_equal(dl.items[0].last_error, "webhook disabled");
	vex_delivery_list_release(&dl);
	/* the other hook is untouched */
	assert_int_equal(vex_store_webhook_get(store, other, NULL, &h), 0);
	assert_int_equal(h->status, VEX_HOOK_ACTIVE);
	vex_webhook_free(h);
	list_hook(other, &dl);
	assert_int_equal(dl.n, 3);
	for (size_t i = 0; i < dl.n; i++)
		assert_int_equal(dl.items[i].status, VEX_DLV_PENDING);
	vex_delivery_list_release(&dl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_fanout_mapping, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fanout_requeue_fail_timeout, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fanout_once, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fanout_race, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_prune_waits_for_cursor, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_claim_order, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_gone, setup, store_teardown),
	};
	vex_log_init("test_store_delivery_events", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
