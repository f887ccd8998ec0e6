/* test_store_resend.c - a re-sent webhook delivery: a new pending delivery of the same event and body, due now,
 * beside the one-delivery-per-event rule of the fan-out; refused for a disabled hook or another hook's delivery. */
#include "tests/unit/store_deliveries_fixture.h"

/* One delivery of a queued job to an active hook: the hook in "hook", the delivery in "d". */
static void one_delivery(char hook[VEX_HOOK_ID_LEN + 1], struct vex_delivery *d)
{
	struct vex_delivery_list l = { NULL, 0 };
	char job[VEX_UUID_LEN + 1];

	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, hook);
	add_job("alice", job);
	fanout(NULL);
	list_hook(hook, &l);
	assert_int_equal(l.n, 1);
	*d = l.items[0];
	memset(&l.items[0], 0, sizeof(l.items[0]));
	vex_delivery_list_release(&l);
}

static void test_resend_copies_the_event_and_body(void **state)
{
	struct vex_delivery first, again;
	struct vex_delivery_list l = { NULL, 0 };
	char hook[VEX_HOOK_ID_LEN + 1];
	int created = -1;

	(void)state;
	one_delivery(hook, &first);
	assert_int_equal(vex_store_delivery_resend(store, hook, first.id, ++now, &again), 0);
	assert_string_not_equal(again.id, first.id);
	assert_string_equal(again.resend_of, first.id);
	assert_string_equal(again.hook_id, hook);
	assert_string_equal(again.owner, "alice");
	assert_string_equal(again.job_id, first.job_id);
	assert_string_equal(again.event, first.event);
	assert_string_equal(again.payload, first.payload);
	assert_int_equal(again.event_seq, first.event_seq);
	assert_int_equal(again.status, VEX_DLV_PENDING);
	assert_int_equal(again.attempts, 0);
	assert_int_equal(again.next_at, now);
	/* A second re-send of the same delivery is a third delivery; the fan-out adds none. */
	vex_delivery_release(&again);
	assert_int_equal(vex_store_delivery_resend(store, hook, first.id, ++now, &again), 0);
	vex_delivery_release(&again);
	assert_int_equal(fanout(&created), 0);
	list_hook(hook, &l);
	assert_int_equal(l.n, 3);
	vex_delivery_list_release(&l);
	vex_delivery_release(&first);
}

static void test_resend_refusals(void **state)
{
	struct vex_delivery first, again;
	char hook[VEX_HOOK_ID_LEN + 1], other[VEX_HOOK_ID_LEN + 1];
	struct vex_webhook *h = NULL;

	(void)state;
	one_delivery(hook, &first);
	add_hook("alice", VEX_HOOK_EV_QUEUED, VEX_HOOK_ACTIVE, other);
	assert_int_equal(vex_store_delivery_resend(store, other, first.id, ++now, &again), VEX_ENOTFOUND);
	assert_int_equal(vex_store_delivery_resend(store, hook, "msg_00000000000000000000000000000000", ++now, &again),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_store_webhook_get(store, hook, NULL, &h), 0);
	h->status = VEX_HOOK_DISABLED;
	assert_int_equal(vex_store_webhook_update(store, h, 1), 0);
	assert_int_equal(vex_store_delivery_resend(store, hook, first.id, ++now, &again), VEX_ESTATE);
	assert_int_equal(vex_store_webhook_delete(store, hook, NULL, ++now), 0);
	assert_int_equal(vex_store_delivery_resend(store, hook, first.id, ++now, &again), VEX_ENOTFOUND);
	assert_int_equal(store_fixture_sql_int(&fx, "SELECT COUNT(*) FROM webhook_deliveries"), 1);
	vex_webhook_free(h);
	vex_delivery_release(&first);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_resend_copies_the_event_and_body, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_resend_refusals, setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
