/* test_store_deliveries.c - webhook deliveries in the store: fan-out, claims in order, attempts, hook health, prune. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pthread.h>
#include <sqlite3.h>

#include "core/err.h"
#include "core/log.h"
#include "core/store.h"
#include "tests/unit/store_fixture.h"
#include "core/timeutil.h"

#define S 1000000LL
#define LEASE_US (15 * S)

static struct store_fixture fx;
static char path[128];
static struct vex_store *store;
static int64_t now = 1700000000000000;
static int payload_calls;

static int setup(void **state)
{
	(void)state;
	payload_calls = 0;
	if (store_fixture_open(&fx, "dlv") != 0)
		return -1;
	store = fx.store;
	snprintf(path, sizeof(path), "%s", fx.path);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	store_fixture_close(&fx);
	store = NULL;
	return 0;
}

/* A payload naming the event and the job's status at the event, as the runner's would. */
static int payload_fn(void *arg, struct vex_store *s, const struct vex_job_event *e, const char *event,
		      char **ret)
{
	struct vex_job *j = NULL;
	char buf[256];
	int rc;

	(void)arg;
	__atomic_fetch_add(&payload_calls, 1, __ATOMIC_RELAXED); /* two threads in test_fanout_race */
	rc = vex_store_job_get(s, e->job_id, NULL, &j);
	if (rc)
		return rc;
	rc = vex_job_apply_event(j, e);
	snprintf(buf, sizeof(buf), "{\"event\":\"%s\",\"job_id\":\"%s\",\"status\":\"%s\"}", event, j->id,
		 vex_job_status_name(j->status));
	vex_job_free(j);
	if (rc)
		return rc;
	*ret = strdup(buf);
	return *ret ? 0 : VEX_ENOMEM;
}

static void add_hook(const char *owner, unsigned events, enum vex_hook_status status, char id[VEX_HOOK_ID_LEN + 1])
{
	static int seq;
	struct vex_webhook h;

	memset(&h, 0, sizeof(h));
	snprintf(h.id, sizeof(h.id), "hook_%032x", ++seq);
	snprintf(h.owner, sizeof(h.owner), "%s", owner);
	h.url = "http://receiver.example/hook";
	h.events = events;
	h.secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
	h.status = status;
	h.disabled_reason = status == VEX_HOOK_DISABLED ? "by hand" : NULL;
	h.created_at = h.updated_at = now;
	assert_int_equal(vex_store_webhook_insert(store, &h), 0);
	memcpy(id, h.id, VEX_HOOK_ID_LEN + 1);
}

/* A queued tool job of "owner": its id in "id". */
static void add_job(const char *owner, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = vex_job_new(), *got = NULL;
	int created = 0;

	assert_non_null(j);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup("echo");
	j->input_json = strdup("{}");
	j->max_attempts = 3;
	j->timeout_ms = 1000;
	j->created_at = ++now;
	assert_int_equal(vex_store_job_insert(store, j, &got, &created), 0);
	memcpy(id, got->id, VEX_UUID_LEN + 1);
	vex_job_free(got);
	vex_job_free(j);
}

/* Claim the queued job "id" (the only one queued), report progress, finish it with "status". */
static void run_job(const char *id, enum vex_job_status status)
{
	struct vex_progress p = { "1", 2, 50.0, "half" };
	struct vex_job *c = NULL, *got = NULL;

	assert_int_equal(vex_store_job_claim(store, "r", ++now, 30 * S, NULL, &c), 0);
	assert_string_equal(c->id, id);
	vex_job_free(c);
	assert_int_equal(vex_store_job_progress(store, id, "r", &p, ++now, &got), 0);
	vex_job_free(got);
	got = NULL;
	assert_int_equal(vex_store_job_finish(store, id, "r", status, NULL, ++now, &got), 0);
	vex_job_free(got);
}

static int fanout(int *ret_created)
{
	int events = -1, created = -1;

	assert_int_equal(vex_store_hooks_fanout(store, 1000, payload_fn, NULL, now, &events, &created), 0);
	if (ret_created)
		*ret_created = created;
	return events;
}

static int64_t cursor(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v = -1;

	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT seq FROM event_cursors WHERE name = 'webhooks'", -1, &st, NULL),
			 SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void list_hook(const char *hook, struct vex_delivery_list *l)
{
	assert_int_equal(vex_store_deliveries_list(store, hook, NULL, 100, l), 0);
}

static void test_event_names(void **state)
{
	unsigned bit = 99;

	(void)state;
	assert_string_equal(vex_hook_event_of(VEX_EV_QUEUED, &bit), "job.queued");
	assert_int_equal(bit, VEX_HOOK_EV_QUEUED);
	assert_string_equal(vex_hook_event_of(VEX_EV_REQUEUED, &bit), "job.queued");
	assert_int_equal(bit, VEX_HOOK_EV_QUEUED);
	assert_string_equal(vex_hook_event_of(VEX_EV_STARTED, &bit), "job.started");
	assert_int_equal(bit, VEX_HOOK_EV_STARTED);
	assert_string_equal(vex_hook_event_of(VEX_EV_COMPLETED, &bit), "job.completed");
	assert_int_equal(bit, VEX_HOOK_EV_COMPLETED);
	assert_string_equal(vex_hook_event_of(VEX_EV_FAILED, &bit), "job.failed");
	assert_int_equal(bit, VEX_HOOK_EV_FAILED);
	assert_string_equal(vex_hook_event_of(VEX_EV_TIMEOUT, &bit), "job.timeout");
	assert_int_equal(bit, VEX_HOOK_EV_TIMEOUT);
	assert_string_equal(vex_hook_event_of(VEX_EV_CANCELED, &bit), "job.canceled");
	assert_int_equal(bit, VEX_HOOK_EV_CANCELED);
	assert_null(vex_hook_event_of(VEX_EV_PROGRESS, &bit));
	assert_int_equal(bit, 0);
	assert_null(vex_hook_event_of(VEX_EV_CANCEL_REQUESTED, &bit));
	assert_int_equal(bit, 0);
	assert_string_equal(vex_delivery_status_name(VEX_DLV_PENDING), "pending");
	assert_string_equal(vex_delivery_status_name(VEX_DLV_DELIVERED), "delivered");
	assert_string_equal(vex_delivery_status_name(VEX_DLV_FAILED), "failed");
	assert_string_equal(vex_delivery_status_name(VEX_DLV_CANCELED), "canceled");
}

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
	assert_int_equal(vex_store_open(path, 1, 1000, &other), 0);
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
		assert_int_equal(vex_store_open(path, 1, 5000, &r[i].s), 0);
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

static const struct vex_delivery_claim *find(const struct vex_delivery_claim_list *l, const char *job,
					      const char *event)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].d.job_id, job) == 0 && strcmp(l->items[i].d.event, event) == 0)
			return &l->items[i];
	return NULL;
}

static void record(const char *id, const char *runner, int code, const char *error, enum vex_delivery_status to,
		   int64_t next_at, int gone, int64_t disable_after_us, int *disabled)
{
	struct vex_delivery_attempt a = { 0, now, code, (char *)error, 1234, (char *)"ok" };
	struct vex_delivery_outcome o = { to, next_at, gone, disable_after_us };

	assert_int_equal(vex_store_delivery_attempt(store, id, runner, &a, &o, now, disabled), 0);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 100, &l), 0);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 100, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].d.job_id, b);
	assert_string_equal(l.items[0].d.event, "job.started");
	record(l.items[0].d.id, "r1", 200, NULL, VEX_DLV_DELIVERED, 0, 0, 0, NULL);
	vex_delivery_claim_list_release(&l);
	/* later: a's queued comes again (same id), alone; then its started */
	now += 10 * S;
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 100, &l), 0);
	assert_non_null(find(&l, b, "job.completed"));
	qa = find(&l, a, "job.queued");
	assert_non_null(qa);
	assert_string_equal(qa->d.id, qa_id);
	assert_int_equal(qa->d.attempts, 1);
	assert_int_equal(l.n, 2);
	record(qa->d.id, "r1", 200, NULL, VEX_DLV_DELIVERED, 0, 0, 0, NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r2", now, LEASE_US, 100, &l2), 0);
	assert_int_equal(l2.n, 1);
	assert_string_equal(l2.items[0].d.event, "job.started");
	assert_string_equal(l2.items[0].d.job_id, a);
	vex_delivery_claim_list_release(&l2);
	vex_delivery_claim_list_release(&l);
}

/* A claim holds until its lease ends; an attempt recorded after losing the claim changes nothing else. */
static void test_claim_lease(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], id[VEX_DELIVERY_ID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 };
	struct vex_delivery d;
	int n = -1;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	fanout(NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 1);
	memcpy(id, l.items[0].d.id, sizeof(id));
	vex_delivery_claim_list_release(&l);
	assert_int_equal(vex_store_deliveries_claim(store, "r2", now + LEASE_US - 1, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	/* the lease ran out (r1 was killed): r2 takes it */
	assert_int_equal(vex_store_deliveries_claim(store, "r2", now + LEASE_US + 1, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].d.id, id);
	vex_delivery_claim_list_release(&l);
	/* r1's late record: counted, but the delivery stays r2's and pending */
	record(id, "r1", 200, NULL, VEX_DLV_DELIVERED, 0, 0, 0, NULL);
	assert_int_equal(vex_store_delivery_get(store, id, &d), 0);
	assert_int_equal(d.status, VEX_DLV_PENDING);
	assert_int_equal(d.attempts, 1);
	assert_int_equal(d.nlog, 1);
	vex_delivery_release(&d);
	/* r2 stops: its claim goes, the delivery is due again at once */
	assert_int_equal(vex_store_deliveries_unclaim(store, "r2", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(vex_store_deliveries_claim(store, "r3", now + LEASE_US + 2, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 1);
	record(id, "r3", 200, NULL, VEX_DLV_DELIVERED, 0, 0, 0, NULL);
	vex_delivery_claim_list_release(&l);
	assert_int_equal(vex_store_delivery_get(store, id, &d), 0);
	assert_int_equal(d.status, VEX_DLV_DELIVERED);
	assert_int_equal(d.attempts, 2);
	assert_int_equal(d.nlog, 2);
	assert_int_equal(d.log[0].n, 1);
	assert_int_equal(d.log[1].n, 2);
	assert_true(d.finished_at == now);
	vex_delivery_release(&d);
	assert_int_equal(vex_store_deliveries_claim(store, "r3", now + 100 * S, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_deliveries_claim(store, "", now, LEASE_US, 10, &l), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 0, &l), VEX_EINVAL);
}

/* Retries until the schedule is used up; every attempt listed; the hook says it is failing, then recovers. */
static void test_retries_to_exhaustion(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1], id[VEX_DELIVERY_ID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 };
	struct vex_webhook *h = NULL;
	struct vex_delivery d;
	int64_t first = 0;
	int disabled = -1;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	fanout(NULL);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, &l), 0);
		assert_int_equal(l.n, 1);
		memcpy(id, l.items[0].d.id, sizeof(id));
		vex_delivery_claim_list_release(&l);
		if (i == 0)
			first = now;
		record(id, "r", 503, "the receiver answered 503", i < 3 ? VEX_DLV_PENDING : VEX_DLV_FAILED,
		       now + S, 0, 86400 * S, &disabled);
		assert_int_equal(disabled, 0);
		/* not due before its time */
		assert_int_equal(vex_store_deliveries_claim(store, "r", now + S - 1, LEASE_US, 10, &l), 0);
		assert_int_equal(l.n, 0);
		now += S;
	}
	assert_int_equal(vex_store_deliveries_claim(store, "r", now + 100 * S, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_delivery_get(store, id, &d), 0);
	assert_int_equal(d.status, VEX_DLV_FAILED);
	assert_int_equal(d.attempts, 4);
	assert_int_equal(d.last_status_code, 503);
	assert_string_equal(d.last_error, "the receiver answered 503");
	assert_true(d.finished_at > 0);
	assert_int_equal(d.nlog, 4);
	for (size_t i = 0; i < d.nlog; i++) {
		assert_int_equal(d.log[i].n, (int)i + 1);
		assert_int_equal(d.log[i].status_code, 503);
		assert_true(d.log[i].at == first + (int64_t)i * S);
		assert_true(d.log[i].duration_us == 1234);
		assert_string_equal(d.log[i].response_body, "ok");
	}
	vex_delivery_release(&d);
	assert_int_equal(vex_store_webhook_get(store, hook, NULL, &h), 0);
	assert_int_equal(h->status, VEX_HOOK_ACTIVE);
	assert_true(h->failing_since == first);
	assert_string_equal(h->last_error, "the receiver answered 503");
	vex_webhook_free(h);
	/* the next delivery succeeds: the hook is healthy again */
	add_job("alice", b);
	fanout(NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 1);
	record(l.items[0].d.id, "r", 200, NULL, VEX_DLV_DELIVERED, 0, 0, 86400 * S, &disabled);
	vex_delivery_claim_list_release(&l);
	assert_int_equal(vex_store_webhook_get(store, hook, NULL, &h), 0);
	assert_true(h->failing_since == 0);
	assert_null(h->last_error);
	vex_webhook_free(h);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, &l), 0);
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

/* A hook failing for disable_after is disabled and says since when and why. */
static void test_disable_after(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1], when[VEX_RFC3339_LEN];
	char reason[256];
	struct vex_delivery_claim_list l = { NULL, 0 };
	struct vex_delivery_list dl = { NULL, 0 };
	struct vex_webhook *h = NULL;
	int64_t since;
	int disabled = -1;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	add_job("alice", b);
	fanout(NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 2);
	since = now;
	record(l.items[0].d.id, "r", 0, "connection refused", VEX_DLV_PENDING, now + 10 * S, 0, 60 * S, &disabled);
	assert_int_equal(disabled, 0);
	now += 59 * S;
	record(l.items[1].d.id, "r", 0, "connection refused", VEX_DLV_PENDING, now + 10 * S, 0, 60 * S, &disabled);
	assert_int_equal(disabled, 0);
	vex_delivery_claim_list_release(&l);
	now += 11 * S;
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 2);
	record(l.items[0].d.id, "r", 502, "the receiver answered 502", VEX_DLV_PENDING, now + 10 * S, 0, 60 * S,
	       &disabled);
	assert_int_equal(disabled, 1);
	/* the other claimed one comes back after the disable: recorded, not revived */
	record(l.items[1].d.id, "r", 0, "connection refused", VEX_DLV_PENDING, now + 10 * S, 0, 60 * S, &disabled);
	assert_int_equal(disabled, 0);
	vex_delivery_claim_list_release(&l);
	assert_int_equal(vex_store_webhook_get(store, hook, NULL, &h), 0);
	assert_int_equal(h->status, VEX_HOOK_DISABLED);
	vex_rfc3339(since, when);
	snprintf(reason, sizeof(reason), "failing since %s: the receiver answered 502", when);
	assert_string_equal(h->disabled_reason, reason);
	vex_webhook_free(h);
	list_hook(hook, &dl);
	assert_int_equal(dl.n, 2);
	for (size_t i = 0; i < dl.n; i++) {
		assert_int_equal(dl.items[i].status, VEX_DLV_CANCELED);
		assert_int_equal(dl.items[i].nlog, 2);
	}
	vex_delivery_list_release(&dl);
}

/* Deliveries of a hook that is no longer active are canceled when they come due. */
static void test_inactive_hook(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], gone[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 };
	struct vex_delivery_list dl = { NULL, 0 };
	struct vex_webhook *h = NULL;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook);
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, gone);
	add_job("alice", a);
	fanout(NULL);
	assert_int_equal(vex_store_webhook_get(store, hook, NULL, &h), 0);
	h->status = VEX_HOOK_DISABLED;
	free(h->disabled_reason);
	h->disabled_reason = strdup("paused by its owner");
	assert_int_equal(vex_store_webhook_update(store, h, 1), 0);
	vex_webhook_free(h);
	assert_int_equal(vex_store_webhook_delete(store, gone, NULL, now), 0);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 0);
	vex_delivery_claim_list_release(&l);
	list_hook(hook, &dl);
	assert_int_equal(dl.n, 1);
	assert_int_equal(dl.items[0].status, VEX_DLV_CANCELED);
	vex_delivery_list_release(&dl);
	list_hook(gone, &dl);
	assert_int_equal(dl.n, 1);
	assert_int_equal(dl.items[0].status, VEX_DLV_CANCELED);
	vex_delivery_list_release(&dl);
}

/* A receiver's answer is kept up to the cap, as valid UTF-8. */
static void test_body_cap(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], id[VEX_DELIVERY_ID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 };
	struct vex_delivery_attempt at;
	struct vex_delivery_outcome o = { VEX_DLV_PENDING, 0, 0, 0 };
	struct vex_delivery d;
	char big[5001];

	(void)state;
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	fanout(NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, &l), 0);
	memcpy(id, l.items[0].d.id, sizeof(id));
	vex_delivery_claim_list_release(&l);
	/* 1023 ASCII bytes then a 2-byte character: the character would cross the cap and is dropped */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[1023] = (char)0xc3;
	big[1024] = (char)0xa9;
	big[5] = (char)0xff; /* not UTF-8 */
	memset(&at, 0, sizeof(at));
	at.at = now;
	at.status_code = 500;
	at.error = "the receiver answered 500";
	at.response_body = big;
	o.next_at = now;
	assert_int_equal(vex_store_delivery_attempt(store, id, "r", &at, &o, now, NULL), 0);
	assert_int_equal(vex_store_delivery_get(store, id, &d), 0);
	assert_int_equal(d.nlog, 1);
	assert_int_equal(strlen(d.log[0].response_body), 1023);
	assert_int_equal(d.log[0].response_body[5], '?');
	assert_int_equal(d.log[0].response_body[6], 'x');
	vex_delivery_release(&d);
	/* bad arguments */
	o.status = VEX_DLV_CANCELED;
	assert_int_equal(vex_store_delivery_attempt(store, id, "r", &at, &o, now, NULL), VEX_EINVAL);
	o.status = VEX_DLV_DELIVERED;
	assert_int_equal(vex_store_delivery_attempt(store, "msg_nope", "r", &at, &o, now, NULL), VEX_ENOTFOUND);
}

/* Several answers recorded in one transaction; an unknown delivery is skipped, not fatal. */
static void test_record_batch(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 };
	struct vex_delivery_record r[3];
	struct vex_delivery d;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook);
	add_job("alice", a);
	add_job("alice", b);
	fanout(NULL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, &l), 0);
	assert_int_equal(l.n, 2);
	memset(r, 0, sizeof(r));
	r[0].id = l.items[0].d.id;
	r[0].attempt.at = now;
	r[0].attempt.status_code = 200;
	r[0].outcome.status = VEX_DLV_DELIVERED;
	r[1].id = "msg_00000000000000000000000000000000";
	r[1].outcome.status = VEX_DLV_DELIVERED;
	r[2].id = l.items[1].d.id;
	r[2].attempt.at = now;
	r[2].attempt.status_code = 500;
	r[2].attempt.error = "the receiver answered 500";
	r[2].outcome.status = VEX_DLV_PENDING;
	r[2].outcome.next_at = now + S;
	r[0].rc = r[1].rc = r[2].rc = 99;
	assert_int_equal(vex_store_deliveries_record(store, "r", r, 3, now), 0);
	assert_int_equal(r[0].rc, 0);
	assert_int_equal(r[1].rc, VEX_ENOTFOUND);
	assert_int_equal(r[2].rc, 0);
	assert_int_equal(vex_store_delivery_get(store, l.items[0].d.id, &d), 0);
	assert_int_equal(d.status, VEX_DLV_DELIVERED);
	vex_delivery_release(&d);
	assert_int_equal(vex_store_delivery_get(store, l.items[1].d.id, &d), 0);
	assert_int_equal(d.status, VEX_DLV_PENDING);
	assert_true(d.next_at == now + S);
	assert_int_equal(d.nlog, 1);
	vex_delivery_release(&d);
	/* nothing to do, and bad input */
	assert_int_equal(vex_store_deliveries_record(store, "r", NULL, 0, now), 0);
	r[0].outcome.status = VEX_DLV_CANCELED;
	assert_int_equal(vex_store_deliveries_record(store, "r", r, 3, now), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_record(store, NULL, r, 1, now), VEX_EINVAL);
	vex_delivery_claim_list_release(&l);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_names),
		cmocka_unit_test_setup_teardown(test_fanout_mapping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_requeue_fail_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_race, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_claim_lease, setup, teardown),
		cmocka_unit_test_setup_teardown(test_retries_to_exhaustion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disable_after, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inactive_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_body_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, setup, teardown),
		cmocka_unit_test_setup_teardown(test_prune_waits_for_cursor, setup, teardown),
	};
	vex_log_init("test_store_deliveries", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
