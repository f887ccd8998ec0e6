/* test_store_deliveries.c - webhook deliveries in the store, on SQLite and PostgreSQL: event names, the fan-out of
 * new jobs once per event (across connections racing too), the payload's answers, pages, a job's deliveries, one
 * delivery, fair capped claims, a disabled hook's deliveries, unclaims (what needs jobs that run:
 * test_store_delivery_events.c). */
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

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "tests/unit/store_deliveries_fixture.h"
#include "core/base/timeutil.h"

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

/* How many deliveries of "l" belong to "hook". */
static size_t of_hook(const struct vex_delivery_claim_list *l, const char *hook)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		n += strcmp(l->items[i].d.hook_id, hook) == 0;
	return n;
}

/* alice's backlog on two hooks does not hold back bob's delivery, and no hook exceeds its cap. */
static void test_claim_fair_capped(void **state)
{
	char ha[VEX_HOOK_ID_LEN + 1], ha2[VEX_HOOK_ID_LEN + 1], hb[VEX_HOOK_ID_LEN + 1];
	char job[VEX_UUID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 };
	int i;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, ha);
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, ha2);
	add_hook("bob", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hb);
	for (i = 0; i < 20; i++)
		add_job("alice", job);
	add_job("bob", job);
	fanout(NULL);
	/* three slots: alice's first, bob's (he has none in flight), then alice's other hook */
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 3, 2, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[1].d.hook_id, hb);
	assert_string_equal(l.items[1].d.job_id, job);
	assert_int_equal(of_hook(&l, ha), 1);
	assert_int_equal(of_hook(&l, ha2), 1);
	vex_delivery_claim_list_release(&l);
	/* plenty of slots: each of alice's hooks gets one more, up to its cap of two in flight */
	assert_int_equal(vex_store_deliveries_claim(store, "r2", now, LEASE_US, 100, 2, &l), 0);
	assert_int_equal(l.n, 2);
	assert_int_equal(of_hook(&l, ha), 1);
	assert_int_equal(of_hook(&l, ha2), 1);
	vex_delivery_claim_list_release(&l);
	/* at the cap, whichever runner asks */
	assert_int_equal(vex_store_deliveries_claim(store, "r3", now, LEASE_US, 100, 2, &l), 0);
	assert_int_equal(l.n, 0);
	vex_delivery_claim_list_release(&l);
	/* claims that ran out are no longer in flight (bob's unanswered one is due again too) */
	assert_int_equal(vex_store_deliveries_claim(store, "r3", now + LEASE_US + 1, LEASE_US, 100, 2, &l), 0);
	assert_int_equal(l.n, 5);
	assert_int_equal(of_hook(&l, ha), 2);
	assert_int_equal(of_hook(&l, hb), 1);
	vex_delivery_claim_list_release(&l);
}

/* Queued jobs of "owner", "n" of them: their events are the fan-out's input. */
static void add_jobs(const char *owner, int n)
{
	char id[VEX_UUID_LEN + 1];

	for (int i = 0; i < n; i++)
		add_job(owner, id);
}

/* Two connections one after the other: the second passes only what the first left, the third finds nothing. */
static void test_fanout_two_connections(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], hook2[VEX_HOOK_ID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 };
	struct vex_store *other = other_store(1000);
	int e1 = -1, e2 = -1, c1 = -1, c2 = -1;

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook2);
	add_jobs("alice", 6);
	assert_int_equal(cursor(), 0);
	assert_int_equal(vex_store_hooks_fanout(other, 4, payload_fn, NULL, now, &e1, &c1), 0);
	assert_int_equal(e1, 4);
	assert_int_equal(c1, 8);
	assert_true(cursor() > 0);
	assert_int_equal(vex_store_hooks_fanout(store, 1000, payload_fn, NULL, now, &e2, &c2), 0);
	assert_int_equal(e2, 2);
	assert_int_equal(c2, 4);
	assert_int_equal(vex_store_hooks_fanout(other, 1000, payload_fn, NULL, now, &e1, &c1), 0);
	assert_int_equal(e1, 0);
	assert_int_equal(c1, 0);
	assert_int_equal(payload_calls, 6); /* one body per event, shared by its hooks */
	list_hook(hook, &l);
	assert_int_equal(l.n, 6);
	for (size_t i = 0; i < l.n; i++) {
		assert_string_equal(l.items[i].event, "job.queued");
		assert_int_equal(l.items[i].status, VEX_DLV_PENDING);
		assert_true(l.items[i].next_at == now && l.items[i].created_at == now);
		assert_int_equal(l.items[i].finished_at, 0);
		assert_string_equal(l.items[i].resend_of, "");
		assert_non_null(strstr(l.items[i].payload, "\"status\":\"queued\""));
		if (i > 0)
			assert_true(l.items[i - 1].event_seq > l.items[i].event_seq);
	}
	vex_delivery_list_release(&l);
	vex_store_free(other);
}

struct racer {
	struct vex_store *s;
	int created;
	int events;
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
		r->events += events;
	}
	return NULL;
}

/* Two threads with connections of their own fanning out at the same time: each delivery is written once per
 * (hook, event), and each event is passed (its body asked for) by one of them only. */
static void test_fanout_race_once(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], hook2[VEX_HOOK_ID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 };
	struct racer r[2];
	pthread_t t[2];

	(void)state;
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook2);
	add_jobs("alice", 40);
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
	assert_int_equal(r[0].events + r[1].events, 40);
	assert_int_equal(r[0].created + r[1].created, 80);
	assert_int_equal(payload_calls, 40);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(vex_store_deliveries_list(store, k ? hook2 : hook, NULL, 1000, &l), 0);
		assert_int_equal(l.n, 40);
		for (size_t i = 1; i < l.n; i++)
			assert_true(l.items[i - 1].event_seq > l.items[i].event_seq); /* one per event */
		vex_delivery_list_release(&l);
	}
}

static int skip_calls;

/* Skips (VEX_ENOTFOUND) the events of the job "arg"; the others get payload_fn's body. */
static int skipping_fn(void *arg, struct vex_store *s, const struct vex_job_event *e, const char *event, char **ret)
{
	skip_calls++;
	if (arg && strcmp(arg, e->job_id) == 0)
		return VEX_ENOTFOUND;
	return payload_fn(NULL, s, e, event, ret);
}

/* Fails (VEX_EIO), or with "arg" answers 0 without a body. */
static int failing_fn(void *arg, struct vex_store *s, const struct vex_job_event *e, const char *event, char **ret)
{
	(void)s, (void)e, (void)event;
	if (!arg)
		return VEX_EIO;
	*ret = NULL; /* a body promised and not given */
	return 0;
}

/* The payload's answers: a skipped event passes without deliveries; an error or a missing body undoes the batch;
 * bad arguments are refused; a disabled hook or another owner's hears nothing. */
static void test_fanout_payload_answers(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], off[VEX_HOOK_ID_LEN + 1], bob[VEX_HOOK_ID_LEN + 1];
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 };
	int events = -1, created = -1;

	(void)state;
	assert_int_equal(vex_store_hooks_fanout(store, 0, payload_fn, NULL, now, NULL, NULL), VEX_EINVAL);
	assert_int_equal(vex_store_hooks_fanout(store, 10001, payload_fn, NULL, now, NULL, NULL), VEX_EINVAL);
	assert_int_equal(vex_store_hooks_fanout(store, 10, NULL, NULL, now, NULL, NULL), VEX_EINVAL);
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	add_hook("alice", VEX_HOOK_EV_ALL, VEX_HOOK_DISABLED, off);
	add_hook("bob", VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, bob);
	add_job("alice", a);
	add_job("alice", b);
	assert_int_equal(vex_store_hooks_fanout(store, 10, failing_fn, NULL, now, &events, &created), VEX_EIO);
	assert_int_equal(vex_store_hooks_fanout(store, 10, failing_fn, hook, now, &events, &created), VEX_ERROR);
	assert_int_equal(cursor(), 0);
	list_hook(hook, &l);
	assert_int_equal(l.n, 0);
	vex_delivery_list_release(&l);
	assert_int_equal(vex_store_hooks_fanout(store, 10, skipping_fn, a, now, &events, &created), 0);
	assert_int_equal(events, 2);
	assert_int_equal(created, 1);
	assert_int_equal(skip_calls, 2);
	list_hook(hook, &l);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].job_id, b);
	vex_delivery_list_release(&l);
	list_hook(off, &l);
	assert_int_equal(l.n, 0);
	vex_delivery_list_release(&l);
	list_hook(bob, &l);
	assert_int_equal(l.n, 0);
	vex_delivery_list_release(&l);
	assert_int_equal(fanout(&created), 0); /* the skipped event was passed */
}

/* Pages of a hook's deliveries, a job's deliveries, one delivery; an owner and body in odd unicode. */
static void test_lists_and_get(void **state)
{
	static const char owner[] = "\xe7\x94\xa8\xe6\x88\xb7 \xf0\x9f\x98\x80 'x\"";
	char hook[VEX_HOOK_ID_LEN + 1], hook2[VEX_HOOK_ID_LEN + 1], a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1];
	struct vex_delivery_list l = { NULL, 0 }, p = { NULL, 0 };
	struct vex_delivery d;

	(void)state;
	add_hook(owner, VEX_HOOK_EV_ALL, VEX_HOOK_ACTIVE, hook);
	add_hook(owner, VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook2);
	add_job(owner, a);
	add_jobs(owner, 2);
	add_job(owner, b);
	fanout(NULL);
	list_hook(hook, &l);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.items[0].owner, owner);
	assert_string_equal(l.items[0].job_id, b);
	assert_string_equal(l.items[3].job_id, a);
	assert_int_equal(vex_store_deliveries_list(store, hook, l.items[0].id, 2, &p), 0);
	assert_int_equal(p.n, 2);
	assert_string_equal(p.items[0].id, l.items[1].id);
	assert_string_equal(p.items[1].id, l.items[2].id);
	vex_delivery_list_release(&p);
	assert_int_equal(vex_store_deliveries_list(store, hook, l.items[3].id, 10, &p), 0);
	assert_int_equal(p.n, 0);
	vex_delivery_list_release(&p);
	assert_int_equal(vex_store_deliveries_list(store, hook, NULL, 0, &p), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_list(store, hook, NULL, 1001, &p), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_list(store, NULL, NULL, 10, &p), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_list(store, "hook_none", NULL, 10, &p), 0);
	assert_int_equal(p.n, 0);
	vex_delivery_list_release(&p);

	/* A job's deliveries: one per hook, oldest id first, at most "limit". */
	assert_int_equal(vex_store_job_deliveries(store, a, 10, &p), 0);
	assert_int_equal(p.n, 2);
	assert_true(strcmp(p.items[0].id, p.items[1].id) < 0);
	assert_string_equal(p.items[0].job_id, a);
	assert_string_equal(p.items[1].job_id, a);
	vex_delivery_list_release(&p);
	assert_int_equal(vex_store_job_deliveries(store, a, 1, &p), 0);
	assert_int_equal(p.n, 1);
	vex_delivery_list_release(&p);
	assert_int_equal(vex_store_job_deliveries(store, "0190aaaa-0000-7000-8000-000000000001", 10, &p), 0);
	assert_int_equal(p.n, 0);
	vex_delivery_list_release(&p);
	assert_int_equal(vex_store_job_deliveries(store, a, 0, &p), VEX_EINVAL);
	assert_int_equal(vex_store_job_deliveries(store, a, 1001, &p), VEX_EINVAL);
	assert_int_equal(vex_store_job_deliveries(store, NULL, 10, &p), VEX_EINVAL);

	/* One delivery, with its attempts once it has some. */
	assert_int_equal(vex_store_delivery_get(store, l.items[3].id, &d), 0);
	assert_string_equal(d.id, l.items[3].id);
	assert_string_equal(d.hook_id, hook);
	assert_string_equal(d.owner, owner);
	assert_string_equal(d.payload, l.items[3].payload);
	assert_int_equal(d.event_seq, l.items[3].event_seq);
	assert_int_equal(d.nlog, 0);
	vex_delivery_release(&d);
	assert_int_equal(vex_store_delivery_get(store, "msg_00000000000000000000000000000000", &d), VEX_ENOTFOUND);
	assert_int_equal(vex_store_delivery_get(store, NULL, &d), VEX_EINVAL);
	record(l.items[3].id, "r", 500, "b\xc3\xa4""d \xf0\x9f\x92\xa5", VEX_DLV_PENDING, now + S, 0, 0, NULL);
	record(l.items[3].id, "r", 204, NULL, VEX_DLV_DELIVERED, 0, 0, 0, NULL);
	assert_int_equal(vex_store_delivery_get(store, l.items[3].id, &d), 0);
	assert_int_equal(d.attempts, 2);
	assert_int_equal(d.nlog, 2);
	assert_int_equal(d.log[0].n, 1);
	assert_int_equal(d.log[0].status_code, 500);
	assert_string_equal(d.log[0].error, "b\xc3\xa4""d \xf0\x9f\x92\xa5");
	assert_string_equal(d.log[0].response_body, "ok");
	assert_true(d.log[0].duration_us == 1234);
	assert_int_equal(d.log[1].n, 2);
	assert_null(d.log[1].error);
	vex_delivery_release(&d);
	list_hook(hook, &p);
	assert_int_equal(p.items[3].nlog, 2); /* the listing carries the attempts too */
	assert_int_equal(p.items[0].nlog, 0);
	vex_delivery_list_release(&p);
	vex_delivery_list_release(&l);
}

/* A claim's refusals; a disabled hook's due deliveries are canceled, not claimed; unclaims make them due again. */
static void test_claim_refusals_cancel_unclaim(void **state)
{
	char hook[VEX_HOOK_ID_LEN + 1], off[VEX_HOOK_ID_LEN + 1];
	struct vex_delivery_claim_list l = { NULL, 0 };
	struct vex_delivery_list dl = { NULL, 0 };
	struct vex_webhook *h = NULL;
	int n = -1;

	(void)state;
	assert_int_equal(vex_store_deliveries_claim(store, NULL, now, LEASE_US, 10, 10, &l), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_claim(store, "", now, LEASE_US, 10, 10, &l), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, 0, 10, 10, &l), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 0, 10, &l), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 1001, 10, &l), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_unclaim(store, NULL, &n), VEX_EINVAL);
	/* nothing due */
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 0);
	vex_delivery_claim_list_release(&l);

	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook);
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, off);
	add_jobs("alice", 3);
	fanout(NULL);
	assert_int_equal(vex_store_webhook_get(store, off, NULL, &h), 0);
	h->status = VEX_HOOK_DISABLED;
	assert_int_equal(vex_store_webhook_update(store, h, 1), 0);
	vex_webhook_free(h);
	/* not due yet */
	assert_int_equal(vex_store_deliveries_claim(store, "r", now - 1, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 0);
	vex_delivery_claim_list_release(&l);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 2, 10, &l), 0);
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < l.n; i++) {
		assert_string_equal(l.items[i].d.hook_id, hook);
		assert_string_equal(l.items[i].traceparent, "");
	}
	vex_delivery_claim_list_release(&l);
	/* a claim of two looks at two of the disabled hook's too, and cancels them */
	list_hook(off, &dl);
	assert_int_equal(dl.n, 3);
	assert_int_equal(dl.items[0].status, VEX_DLV_PENDING);
	assert_int_equal(dl.items[1].status, VEX_DLV_CANCELED);
	assert_int_equal(dl.items[2].status, VEX_DLV_CANCELED);
	vex_delivery_list_release(&dl);
	/* another runner gets the third, and the last of the disabled hook's is canceled */
	assert_int_equal(vex_store_deliveries_claim(store, "r2", now, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0].d.hook_id, hook);
	vex_delivery_claim_list_release(&l);
	list_hook(off, &dl);
	for (size_t i = 0; i < dl.n; i++) {
		assert_int_equal(dl.items[i].status, VEX_DLV_CANCELED);
		assert_string_equal(dl.items[i].last_error, "webhook disabled");
		assert_true(dl.items[i].finished_at == now);
		assert_int_equal(dl.items[i].attempts, 0);
	}
	vex_delivery_list_release(&dl);
	/* the first runner's two come back when it lets go */
	assert_int_equal(vex_store_deliveries_unclaim(store, "r", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(vex_store_deliveries_unclaim(store, "r", NULL), 0);
	assert_int_equal(vex_store_deliveries_unclaim(store, "nobody", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vex_store_deliveries_claim(store, "r3", now, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 2);
	vex_delivery_claim_list_release(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_event_names),
		cmocka_unit_test_setup_teardown(test_claim_fair_capped, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fanout_two_connections, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fanout_race_once, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_fanout_payload_answers, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_lists_and_get, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_claim_refusals_cancel_unclaim, setup, store_teardown),
	};
	vex_log_init("test_store_deliveries", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
