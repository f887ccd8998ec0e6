/* store_deliveries_fixture.h - the delivery store tests' shared state: a fresh store, hooks, jobs run through, fan-out. */
#ifndef VEX_TEST_STORE_DELIVERIES_FIXTURE_H
#define VEX_TEST_STORE_DELIVERIES_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "dlv"
#include "tests/unit/store_fixture.h"

#define S 1000000LL
#define LEASE_US (15 * S)

static int64_t now = 1700000000000000;
static int payload_calls;

static inline int setup(void **state)
{
	payload_calls = 0;
	return store_setup(state);
}

/* A payload naming the event and the job's status at the event, as the runner's would. */
static inline int payload_fn(void *arg, struct vex_store *s, const struct vex_job_event *e, const char *event,
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

static inline void add_hook(const char *owner, unsigned events, enum vex_hook_status status, char id[VEX_HOOK_ID_LEN + 1])
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
	assert_int_equal(vex_store_webhook_insert(store, &h, NULL), 0);
	memcpy(id, h.id, VEX_HOOK_ID_LEN + 1);
}

/* A queued tool job of "owner": its id in "id". */
static inline void add_job(const char *owner, char id[VEX_UUID_LEN + 1])
{
	store_fixture_add_job(store, owner, "echo", "{}", ++now, id);
}

/* Claim the queued job "id" (the only one queued), report progress, finish it with "status". */
static inline void run_job(const char *id, enum vex_job_status status)
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

static inline int fanout(int *ret_created)
{
	int events = -1, created = -1;

	assert_int_equal(vex_store_hooks_fanout(store, 1000, payload_fn, NULL, now, &events, &created), 0);
	if (ret_created)
		*ret_created = created;
	return events;
}

/* Fold every job event into the stats rollup (the other consumer of the events, behind cursor 'stats'). */
static inline void fold_stats(void)
{
	int64_t n = 0;

	do
		assert_int_equal(vex_store_stats_rollup(store, 1000, &n), 0);
	while (n == 1000);
}

static inline int64_t cursor(void)
{
	return store_fixture_sql_int(&fx, "SELECT seq FROM event_cursors WHERE name = 'webhooks'");
}

/* Another connection to the test's store, with "timeout_ms" as its busy (statement) timeout. */
static inline struct vex_store *other_store(int timeout_ms)
{
	struct vex_store *s = NULL;
	char where[1024];

	store_fixture_where(&fx, where, sizeof(where));
	assert_int_equal(vex_store_open(where, 1, timeout_ms, &s), 0);
	return s;
}

/* The claim of "l" for "job"'s "event", or NULL. */
static inline const struct vex_delivery_claim *find(const struct vex_delivery_claim_list *l, const char *job,
					      const char *event)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i].d.job_id, job) == 0 && strcmp(l->items[i].d.event, event) == 0)
			return &l->items[i];
	return NULL;
}

/* Record an attempt of delivery "id" by "runner" at "now" with the outcome given; it must succeed. */
static inline void record(const char *id, const char *runner, int code, const char *error, enum vex_delivery_status to,
		   int64_t next_at, int gone, int64_t disable_after_us, int *disabled)
{
	struct vex_delivery_attempt a = { 0, now, code, (char *)error, 1234, (char *)"ok" };
	struct vex_delivery_outcome o = { to, next_at, gone, disable_after_us };

	assert_int_equal(vex_store_delivery_attempt(store, id, runner, &a, &o, now, disabled), 0);
}

static inline void list_hook(const char *hook, struct vex_delivery_list *l)
{
	assert_int_equal(vex_store_deliveries_list(store, hook, NULL, 100, l), 0);
}

#endif
