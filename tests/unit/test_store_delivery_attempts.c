/* test_store_delivery_attempts.c - webhook delivery attempts in the store: leases, retries, hook health, body caps,
 * batches; on SQLite and PostgreSQL (order across a job's events and 410 Gone: test_store_delivery_events.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/store/store.h"
#include "tests/unit/store_deliveries_fixture.h"
#include "core/base/timeutil.h"

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
	assert_int_equal(vex_store_deliveries_claim(store, "r1", now, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 1);
	memcpy(id, l.items[0].d.id, sizeof(id));
	vex_delivery_claim_list_release(&l);
	assert_int_equal(vex_store_deliveries_claim(store, "r2", now + LEASE_US - 1, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_null(l.items);
	/* the lease ran out (r1 was killed): r2 takes it */
	assert_int_equal(vex_store_deliveries_claim(store, "r2", now + LEASE_US + 1, LEASE_US, 10, 10, &l), 0);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r3", now + LEASE_US + 2, LEASE_US, 10, 10, &l), 0);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r3", now + 100 * S, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_deliveries_claim(store, "", now, LEASE_US, 10, 10, &l), VEX_EINVAL);
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 0, 0, &l), VEX_EINVAL);
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
		assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
		assert_int_equal(l.n, 1);
		memcpy(id, l.items[0].d.id, sizeof(id));
		vex_delivery_claim_list_release(&l);
		if (i == 0)
			first = now;
		record(id, "r", 503, "the receiver answered 503", i < 3 ? VEX_DLV_PENDING : VEX_DLV_FAILED,
		       now + S, 0, 86400 * S, &disabled);
		assert_int_equal(disabled, 0);
		/* not due before its time */
		assert_int_equal(vex_store_deliveries_claim(store, "r", now + S - 1, LEASE_US, 10, 10, &l), 0);
		assert_int_equal(l.n, 0);
		now += S;
	}
	assert_int_equal(vex_store_deliveries_claim(store, "r", now + 100 * S, LEASE_US, 10, 10, &l), 0);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 1);
	record(l.items[0].d.id, "r", 200, NULL, VEX_DLV_DELIVERED, 0, 0, 86400 * S, &disabled);
	vex_delivery_claim_list_release(&l);
	assert_int_equal(vex_store_webhook_get(store, hook, NULL, &h), 0);
	assert_true(h->failing_since == 0);
	assert_null(h->last_error);
	vex_webhook_free(h);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
	assert_int_equal(l.n, 2);
	since = now;
	record(l.items[0].d.id, "r", 0, "connection refused", VEX_DLV_PENDING, now + 10 * S, 0, 60 * S, &disabled);
	assert_int_equal(disabled, 0);
	now += 59 * S;
	record(l.items[1].d.id, "r", 0, "connection refused", VEX_DLV_PENDING, now + 10 * S, 0, 60 * S, &disabled);
	assert_int_equal(disabled, 0);
	vex_delivery_claim_list_release(&l);
	now += 11 * S;
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
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
	assert_int_equal(vex_store_deliveries_claim(store, "r", now, LEASE_US, 10, 10, &l), 0);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_claim_lease, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_retries_to_exhaustion, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_disable_after, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_inactive_hook, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_body_cap, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_record_batch, setup, store_teardown),
	};
	vex_log_init("test_store_delivery_attempts", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
