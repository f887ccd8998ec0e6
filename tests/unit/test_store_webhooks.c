/* test_store_webhooks.c - webhooks in the store through the interface, on SQLite and, from tools/run-unit's second
 * pass (tests/unit/postgres.list), on PostgreSQL: insert, get, update, delete (cancels pending deliveries), owner
 * scoping, list paging, count, the fan-out match, re-sealing the secrets (the webhook cap: test_store_owner_caps.c). */
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
#include "core/base/ids.h"
#include "core/base/log.h"
#include "core/hooks/sealbox.h"
#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "hooks"
#include "tests/unit/store_fixture.h"

static struct vex_webhook *make_hook(const char *owner, const char *url, unsigned events)
{
	struct vex_webhook *h = calloc(1, sizeof(*h));

	assert_non_null(h);
	vex_uuid7_prefixed("hook_", h->id, sizeof(h->id));
	snprintf(h->owner, sizeof(h->owner), "%s", owner);
	h->url = strdup(url);
	h->events = events;
	h->secret = strdup("whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0MTI=");
	h->status = VEX_HOOK_ACTIVE;
	h->created_at = 1700000000000000;
	return h;
}

/* Run "sql" with a connection of our own (rows the store API does not write). */
static void raw_sql(const char *sql)
{
	store_fixture_sql(&fx, sql);
}

/* One integer from "sql" on our own connection. */
static int64_t raw_int(const char *sql)
{
	return store_fixture_sql_int(&fx, sql);
}

static void test_insert_get(void **state)
{
	struct vex_webhook *h = make_hook("alice", "https://example.com/hook", VEX_HOOK_EV_ALL), *got = NULL;

	(void)state;
	h->description = strdup("ops channel \xc3\xa9");
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EEXIST);

	assert_int_equal(vex_store_webhook_get(store, h->id, "alice", &got), 0);
	assert_string_equal(got->id, h->id);
	assert_string_equal(got->owner, "alice");
	assert_string_equal(got->url, "https://example.com/hook");
	assert_int_equal(got->events, VEX_HOOK_EV_ALL);
	assert_string_equal(got->description, "ops channel \xc3\xa9");
	assert_string_equal(got->secret, h->secret);
	assert_int_equal(got->status, VEX_HOOK_ACTIVE);
	assert_null(got->disabled_reason);
	assert_int_equal(got->failing_since, 0);
	assert_null(got->last_error);
	assert_int_equal(got->created_at, h->created_at);
	assert_int_equal(got->updated_at, h->created_at); /* defaults to the creation time */
	vex_webhook_free(got);
	got = NULL;

	/* Owner scoping: another owner does not see it, "any owner" (admin) does. */
	assert_int_equal(vex_store_webhook_get(store, h->id, "bob", &got), VEX_ENOTFOUND);
	assert_null(got);
	assert_int_equal(vex_store_webhook_get(store, h->id, NULL, &got), 0);
	assert_string_equal(got->owner, "alice");
	vex_webhook_free(got);
	got = NULL;
	assert_int_equal(vex_store_webhook_get(store, "hook_00000000000000000000000000000000", NULL, &got),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_store_webhook_get(store, NULL, NULL, &got), VEX_EINVAL);

	/* No description stays NULL. */
	vex_webhook_free(h);
	h = make_hook("alice", "https://example.com/2", VEX_HOOK_EV_COMPLETED);
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
	assert_int_equal(vex_store_webhook_get(store, h->id, "alice", &got), 0);
	assert_null(got->description);
	assert_int_equal(got->events, VEX_HOOK_EV_COMPLETED);
	vex_webhook_free(got);
	vex_webhook_free(h);
	vex_webhook_free(NULL);
}

static void test_insert_invalid(void **state)
{
	struct vex_webhook *h = make_hook("alice", "https://example.com/", VEX_HOOK_EV_ALL);
	char *url = h->url, *secret = h->secret;

	(void)state;
	assert_int_equal(vex_store_webhook_insert(store, NULL, NULL), VEX_EINVAL);
	h->events = 0;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->events = 1u << 6;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->events = VEX_HOOK_EV_ALL;
	h->status = VEX_HOOK_DELETED;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->status = VEX_HOOK_ACTIVE;
	h->url = NULL;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->url = url;
	h->secret = NULL;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->secret = secret;
	h->owner[0] = '\0';
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	assert_int_equal(raw_int("SELECT COUNT(*) FROM webhooks"), 0);
	vex_webhook_free(h);
}

/* Update the stored hook "h" to a new url, events and description, disabled with a reason and the failure
 * record (set_status 1), and check what reads back: every field, the creation time and the secret unchanged. */
static void disable_with_record(struct vex_webhook *h)
{
	struct vex_webhook *got = NULL;

	free(h->url);
	h->url = strdup("https://example.org/b");
	h->events = VEX_HOOK_EV_FAILED | VEX_HOOK_EV_TIMEOUT;
	h->description = strdup("new");
	h->status = VEX_HOOK_DISABLED;
	h->disabled_reason = strdup("disabled by the owner");
	h->failing_since = 1700000000500000;
	h->last_error = strdup("HTTP 500");
	h->updated_at = 1700000001000000;
	assert_int_equal(vex_store_webhook_update(store, h, 1), 0);
	assert_int_equal(vex_store_webhook_get(store, h->id, "alice", &got), 0);
	assert_string_equal(got->url, "https://example.org/b");
	assert_int_equal(got->events, VEX_HOOK_EV_FAILED | VEX_HOOK_EV_TIMEOUT);
	assert_string_equal(got->description, "new");
	assert_int_equal(got->status, VEX_HOOK_DISABLED);
	assert_string_equal(got->disabled_reason, "disabled by the owner");
	assert_int_equal(got->failing_since, 1700000000500000);
	assert_string_equal(got->last_error, "HTTP 500");
	assert_int_equal(got->updated_at, 1700000001000000);
	assert_int_equal(got->created_at, h->created_at);
	assert_string_equal(got->secret, h->secret); /* never changed by an update */
	vex_webhook_free(got);
}

/* "h" made active again, its reason, failure record and description cleared (not yet stored). */
static void clear_status_record(struct vex_webhook *h)
{
	h->status = VEX_HOOK_ACTIVE;
	free(h->disabled_reason);
	h->disabled_reason = NULL;
	h->failing_since = 0;
	free(h->last_error);
	h->last_error = NULL;
	free(h->description);
	h->description = NULL;
}

static void test_update(void **state)
{
	struct vex_webhook *h = make_hook("alice", "https://example.com/a", VEX_HOOK_EV_ALL), *got = NULL;

	(void)state;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);

	disable_with_record(h);

	/* Re-enable: clear the reason and the failure record. */
	clear_status_record(h);
	assert_int_equal(vex_store_webhook_update(store, h, 1), 0);
	assert_int_equal(vex_store_webhook_get(store, h->id, NULL, &got), 0);
	assert_int_equal(got->status, VEX_HOOK_ACTIVE);
	assert_null(got->disabled_reason);
	assert_int_equal(got->failing_since, 0);
	assert_null(got->last_error);
	assert_null(got->description);
	vex_webhook_free(got);
	got = NULL;

	/* Another owner's row, an unknown row, a deleted status: refused. */
	snprintf(h->owner, sizeof(h->owner), "bob");
	assert_int_equal(vex_store_webhook_update(store, h, 1), VEX_ENOTFOUND);
	snprintf(h->owner, sizeof(h->owner), "alice");
	h->status = VEX_HOOK_DELETED;
	assert_int_equal(vex_store_webhook_update(store, h, 1), VEX_EINVAL);
	h->status = VEX_HOOK_ACTIVE;
	h->events = 0;
	assert_int_equal(vex_store_webhook_update(store, h, 1), VEX_EINVAL);
	h->events = VEX_HOOK_EV_ALL;

	/* A deleted hook cannot be updated back to life. */
	assert_int_equal(vex_store_webhook_delete(store, h->id, "alice", 1700000002000000), 0);
	assert_int_equal(vex_store_webhook_update(store, h, 1), VEX_ENOTFOUND);
	assert_int_equal(vex_store_webhook_get(store, h->id, NULL, &got), VEX_ENOTFOUND);
	vex_webhook_free(h);
}

static void insert_delivery(const char *id, const char *hook, int64_t seq, const char *status)
{
	char sql[1024];

	snprintf(sql, sizeof(sql),
		 "INSERT INTO webhook_deliveries(id, hook_id, owner, job_id, event_seq, event, payload, status,"
		 " attempts, next_at, created_at, finished_at)"
		 " VALUES ('%s', '%s', 'alice', '0190aaaa-0000-7000-8000-000000000001', %lld, 'job.completed',"
		 " '{}', '%s', 1, 1700000000000000, 1700000000000000, %s)",
		 id, hook, (long long)seq, status, strcmp(status, "pending") == 0 ? "NULL" : "1700000000100000");
	raw_sql(sql);
}

static void test_delete_cancels_pending(void **state)
{
	struct vex_webhook *h = make_hook("alice", "https://example.com/a", VEX_HOOK_EV_ALL);
	struct vex_webhook *other = make_hook("alice", "https://example.com/b", VEX_HOOK_EV_ALL);
	char sql[256];

	(void)state;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, other, NULL), 0);
	insert_delivery("msg_00000000000000000000000000000001", h->id, 1, "pending");
	insert_delivery("msg_00000000000000000000000000000002", h->id, 2, "pending");
	insert_delivery("msg_00000000000000000000000000000003", h->id, 3, "delivered");
	insert_delivery("msg_00000000000000000000000000000004", h->id, 4, "failed");
	insert_delivery("msg_00000000000000000000000000000005", other->id, 1, "pending");

	/* Not the owner: nothing changes. */
	assert_int_equal(vex_store_webhook_delete(store, h->id, "bob", 1700000009000000), VEX_ENOTFOUND);
	assert_int_equal(raw_int("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"), 3);

	assert_int_equal(vex_store_webhook_delete(store, h->id, "alice", 1700000009000000), 0);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM webhooks WHERE id = '%s' AND status = 'deleted'"
		 " AND updated_at = 1700000009000000", h->id);
	assert_int_equal(raw_int(sql), 1);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM webhook_deliveries WHERE hook_id = '%s'"
		 " AND status = 'canceled' AND finished_at = 1700000009000000 AND last_error = 'webhook deleted'",
		 h->id);
	assert_int_equal(raw_int(sql), 2);
	/* Finished deliveries keep their outcome; another hook's pending one is untouched. */
	assert_int_equal(raw_int("SELECT COUNT(*) FROM webhook_deliveries WHERE id = "
				 "'msg_00000000000000000000000000000003' AND status = 'delivered'"
				 " AND finished_at = 1700000000100000"), 1);
	assert_int_equal(raw_int("SELECT COUNT(*) FROM webhook_deliveries WHERE id = "
				 "'msg_00000000000000000000000000000004' AND status = 'failed'"), 1);
	assert_int_equal(raw_int("SELECT COUNT(*) FROM webhook_deliveries WHERE id = "
				 "'msg_00000000000000000000000000000005' AND status = 'pending'"), 1);

	/* Twice: not found; by an admin (any owner) the other one goes. */
	assert_int_equal(vex_store_webhook_delete(store, h->id, "alice", 1700000010000000), VEX_ENOTFOUND);
	assert_int_equal(vex_store_webhook_delete(store, h->id, NULL, 1700000010000000), VEX_ENOTFOUND);
	assert_int_equal(vex_store_webhook_delete(store, other->id, NULL, 1700000010000000), 0);
	assert_int_equal(raw_int("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"), 0);
	assert_int_equal(vex_store_webhook_delete(store, NULL, NULL, 1), VEX_EINVAL);
	vex_webhook_free(h);
	vex_webhook_free(other);
}

/* The store stays usable after a delete that lost the race for the write lock (SQLite's file lock; on
 * PostgreSQL, a writer holding the tables). */
static void test_delete_busy(void **state)
{
	struct vex_webhook *h = make_hook("alice", "https://example.com/a", VEX_HOOK_EV_ALL), *got = NULL;
	struct store_fixture_conn c;
	struct vex_store *s2 = NULL;
	char where[1024];

	(void)state;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
	insert_delivery("msg_00000000000000000000000000000001", h->id, 1, "pending");
	store_fixture_connect(&fx, &c);
	store_fixture_conn_exec(&c, fx.pg_db[0] ? "BEGIN; LOCK TABLE webhooks, webhook_deliveries IN EXCLUSIVE MODE"
						: "BEGIN IMMEDIATE");
	/* A second store on the same database with a short busy (statement) timeout. */
	store_fixture_where(&fx, where, sizeof(where));
	assert_int_equal(vex_store_open(where, 1, 50, &s2), 0);
	assert_int_equal(vex_store_webhook_delete(s2, h->id, "alice", 1700000009000000), VEX_EBUSY);
	store_fixture_conn_exec(&c, "ROLLBACK");
	store_fixture_disconnect(&c);
	assert_int_equal(vex_store_webhook_get(s2, h->id, "alice", &got), 0);
	vex_webhook_free(got);
	assert_int_equal(raw_int("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"), 1);
	assert_int_equal(vex_store_webhook_delete(s2, h->id, "alice", 1700000009000000), 0);
	assert_int_equal(raw_int("SELECT COUNT(*) FROM webhook_deliveries WHERE status = 'pending'"), 0);
	vex_store_free(s2);
	vex_webhook_free(h);
}

static void test_list_count(void **state)
{
	char ids[7][VEX_HOOK_ID_LEN + 1];
	struct vex_webhook_list l = { NULL, 0 };
	int64_t n = -1;
	int i;

	(void)state;
	for (i = 0; i < 7; i++) {
		struct vex_webhook *h = make_hook(i < 5 ? "alice" : "bob", "https://example.com/", VEX_HOOK_EV_ALL);

		if (i == 3)
			h->status = VEX_HOOK_DISABLED; /* disabled hooks are live: listed and counted */
		assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
		memcpy(ids[i], h->id, sizeof(ids[i]));
		vex_webhook_free(h);
	}
	assert_int_equal(vex_store_webhook_delete(store, ids[1], "alice", 1700000009000000), 0);

	assert_int_equal(vex_store_cap_count(store, VEX_CAP_WEBHOOKS, "alice", &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(vex_store_cap_count(store, VEX_CAP_WEBHOOKS, "bob", &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(vex_store_cap_count(store, VEX_CAP_WEBHOOKS, "carol", &n), 0);
	assert_int_equal(n, 0);

	/* Newest first, deleted invisible, paged by id. */
	assert_int_equal(vex_store_webhooks_list(store, "alice", NULL, 2, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0]->id, ids[4]);
	assert_string_equal(l.items[1]->id, ids[3]);
	assert_int_equal(l.items[1]->status, VEX_HOOK_DISABLED);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_list(store, "alice", ids[3], 10, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0]->id, ids[2]);
	assert_string_equal(l.items[1]->id, ids[0]); /* ids[1] is deleted */
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_list(store, "alice", ids[0], 10, &l), 0);
	assert_int_equal(l.n, 0);
	vex_webhook_list_release(&l);

	/* All owners (admin). */
	assert_int_equal(vex_store_webhooks_list(store, NULL, NULL, 100, &l), 0);
	assert_int_equal(l.n, 6);
	assert_string_equal(l.items[0]->id, ids[6]);
	assert_string_equal(l.items[0]->owner, "bob");
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_list(store, NULL, ids[5], 100, &l), 0);
	assert_int_equal(l.n, 4);
	assert_string_equal(l.items[0]->id, ids[4]);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_list(store, "bob", NULL, 100, &l), 0);
	assert_int_equal(l.n, 2);
	vex_webhook_list_release(&l);

	assert_int_equal(vex_store_webhooks_list(store, "alice", NULL, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_webhooks_list(store, "alice", NULL, 1001, &l), VEX_EINVAL);
	vex_webhook_list_release(NULL);
}

static void test_matching(void **state)
{
	struct vex_webhook *all = make_hook("alice", "https://example.com/all", VEX_HOOK_EV_ALL);
	struct vex_webhook *done = make_hook("alice", "https://example.com/done",
					     VEX_HOOK_EV_COMPLETED | VEX_HOOK_EV_FAILED);
	struct vex_webhook *off = make_hook("alice", "https://example.com/off", VEX_HOOK_EV_ALL);
	struct vex_webhook *gone = make_hook("alice", "https://example.com/gone", VEX_HOOK_EV_ALL);
	struct vex_webhook *bobs = make_hook("bob", "https://example.com/bob", VEX_HOOK_EV_ALL);
	struct vex_webhook_list l = { NULL, 0 };

	(void)state;
	off->status = VEX_HOOK_DISABLED;
	assert_int_equal(vex_store_webhook_insert(store, all, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, done, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, off, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, gone, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, bobs, NULL), 0);
	assert_int_equal(vex_store_webhook_delete(store, gone->id, "alice", 1700000009000000), 0);

	/* Only active hooks of the owner whose mask has the event; oldest first. */
	assert_int_equal(vex_store_webhooks_matching(store, "alice", VEX_HOOK_EV_COMPLETED, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0]->id, all->id);
	assert_string_equal(l.items[1]->id, done->id);
	assert_string_equal(l.items[1]->secret, done->secret); /* the deliverer signs with it */
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_matching(store, "alice", VEX_HOOK_EV_QUEUED, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->id, all->id);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_matching(store, "alice", VEX_HOOK_EV_STARTED | VEX_HOOK_EV_FAILED, &l),
			 0);
	assert_int_equal(l.n, 2);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_matching(store, "alice", 0, &l), 0);
	assert_int_equal(l.n, 0);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_matching(store, "carol", VEX_HOOK_EV_ALL, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_webhooks_matching(store, "bob", VEX_HOOK_EV_TIMEOUT, &l), 0);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.items[0]->owner, "bob");
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_matching(store, NULL, VEX_HOOK_EV_ALL, &l), VEX_EINVAL);

	vex_webhook_free(all);
	vex_webhook_free(done);
	vex_webhook_free(off);
	vex_webhook_free(gone);
	vex_webhook_free(bobs);
}

/* More matches than the first allocation holds. */
static void test_matching_many(void **state)
{
	struct vex_webhook_list l = { NULL, 0 };
	int i;

	(void)state;
	for (i = 0; i < 40; i++) {
		struct vex_webhook *h = make_hook("alice", "https://example.com/", VEX_HOOK_EV_COMPLETED);

		assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
		vex_webhook_free(h);
	}
	assert_int_equal(vex_store_webhooks_matching(store, "alice", VEX_HOOK_EV_COMPLETED, &l), 0);
	assert_int_equal(l.n, 40);
	for (i = 1; i < 40; i++)
		assert_true(strcmp(l.items[i - 1]->id, l.items[i]->id) < 0);
	vex_webhook_list_release(&l);
}

/* The stored secret of hook "id", as the database holds it (caller frees). */
static char *raw_secret(const char *id)
{
	char sql[256], v[4096];

	snprintf(sql, sizeof(sql), "SELECT secret FROM webhooks WHERE id = '%s'", id);
	assert_true(store_fixture_sql_text(&fx, sql, v, sizeof(v)));
	return strdup(v);
}

static void test_ring(struct vex_sealring *r, int cur, int prev)
{
	memset(r, 0, sizeof(*r));
	memset(r->cur.key, cur, sizeof(r->cur.key));
	snprintf(r->cur.id, sizeof(r->cur.id), "%08x", cur);
	if (prev) {
		memset(r->prev.key, prev, sizeof(r->prev.key));
		snprintf(r->prev.id, sizeof(r->prev.id), "%08x", prev);
		r->has_prev = 1;
	}
}

/* Plaintext secrets (a database from before sealing) and secrets under the previous key are sealed
 * under the current key; deleted hooks too; what no key opens is left and counted; a second pass is a no-op. */
static void test_secrets_seal(void **state)
{
	struct vex_webhook *a = make_hook("alice", "https://example.com/a", VEX_HOOK_EV_ALL);
	struct vex_webhook *b = make_hook("bob", "https://example.com/b", VEX_HOOK_EV_ALL);
	struct vex_webhook *c = make_hook("carol", "https://example.com/c", VEX_HOOK_EV_ALL);
	struct vex_sealring r1, r2, r9;
	char ad[VEX_HOOK_SECRET_AD_MAX + 1], *sealed_b = NULL, *sealed_c = NULL, *v, *plain = NULL;
	const char *secret = a->secret;
	int n = -1, failed = -1;

	(void)state;
	test_ring(&r1, 1, 0);
	test_ring(&r2, 2, 1);
	test_ring(&r9, 9, 0);
	vex_hook_secret_ad(b->id, ad);
	assert_int_equal(vex_sealbox_seal(&r1.cur, ad, b->secret, &sealed_b), 0);
	free(b->secret);
	b->secret = sealed_b;
	vex_hook_secret_ad(c->id, ad);
	assert_int_equal(vex_sealbox_seal(&r9.cur, ad, c->secret, &sealed_c), 0);
	free(c->secret);
	c->secret = sealed_c;
	assert_int_equal(vex_store_webhook_insert(store, a, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, b, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, c, NULL), 0);
	assert_int_equal(vex_store_webhook_delete(store, a->id, "alice", 1700000009000000), 0);

	assert_int_equal(vex_store_webhook_secrets_seal(store, &r2, &n, &failed), 0);
	assert_int_equal(n, 2);
	assert_int_equal(failed, 1);
	v = raw_secret(a->id);
	assert_true(vex_sealbox_is_current(&r2, v));
	vex_hook_secret_ad(a->id, ad);
	assert_int_equal(vex_sealbox_open(&r2, ad, v, &plain), 0);
	assert_string_equal(plain, secret);
	free(plain);
	free(v);
	v = raw_secret(b->id);
	assert_true(vex_sealbox_is_current(&r2, v));
	free(v);
	v = raw_secret(c->id);
	assert_string_equal(v, c->secret); /* under an unknown key: left as it was */
	free(v);
	/* Nothing left to do. */
	assert_int_equal(vex_store_webhook_secrets_seal(store, &r2, &n, &failed), 0);
	assert_int_equal(n, 0);
	assert_int_equal(failed, 1);
	vex_webhook_free(a);
	vex_webhook_free(b);
	vex_webhook_free(c);
}

/* ---- through the interface alone: odd text, every invalid field, the status fields, pages, masks ---- */

static void test_insert_get_odd_text(void **state)
{
	struct vex_webhook *h = make_hook("\xe7\x94\xa8\xe6\x88\xb7 \xf0\x9f\x98\x80", "https://example.com/h\xc3\xa9?q='x'",
					  VEX_HOOK_EV_ALL),
			   *got = NULL;

	(void)state;
	h->description = strdup("ops \xf0\x9f\xa6\x8a channel\n\"quoted\" \\ ;--");
	h->status = VEX_HOOK_DISABLED;
	h->disabled_reason = strdup("why");
	h->failing_since = 1700000000000005;
	h->last_error = strdup("HTTP 503");
	h->updated_at = 1700000000000009;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EEXIST);
	assert_int_equal(vex_store_webhook_get(store, h->id, h->owner, &got), 0);
	assert_string_equal(got->id, h->id);
	assert_string_equal(got->owner, h->owner);
	assert_string_equal(got->url, h->url);
	assert_int_equal(got->events, VEX_HOOK_EV_ALL);
	assert_string_equal(got->description, h->description);
	assert_string_equal(got->secret, h->secret);
	assert_int_equal(got->status, VEX_HOOK_DISABLED);
	assert_string_equal(got->disabled_reason, "why");
	assert_int_equal(got->failing_since, 1700000000000005);
	assert_string_equal(got->last_error, "HTTP 503");
	assert_int_equal(got->created_at, 1700000000000000);
	assert_int_equal(got->updated_at, 1700000000000009);
	vex_webhook_free(got);
	got = NULL;
	assert_int_equal(vex_store_webhook_get(store, h->id, "bob", &got), VEX_ENOTFOUND);
	assert_null(got);
	assert_int_equal(vex_store_webhook_get(store, h->id, NULL, &got), 0);
	vex_webhook_free(got);
	got = NULL;
	assert_int_equal(vex_store_webhook_get(store, "hook_00000000000000000000000000000000", NULL, &got),
			 VEX_ENOTFOUND);
	assert_int_equal(vex_store_webhook_get(store, NULL, NULL, &got), VEX_EINVAL);
	vex_webhook_free(h);

	/* Defaults: no description, no failure record, updated_at the creation time. */
	h = make_hook("alice", "https://example.com/2", VEX_HOOK_EV_COMPLETED);
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
	assert_int_equal(vex_store_webhook_get(store, h->id, "alice", &got), 0);
	assert_null(got->description);
	assert_null(got->disabled_reason);
	assert_null(got->last_error);
	assert_int_equal(got->failing_since, 0);
	assert_int_equal(got->updated_at, h->created_at);
	assert_int_equal(got->events, VEX_HOOK_EV_COMPLETED);
	vex_webhook_free(got);
	vex_webhook_free(h);
}

static void test_insert_invalid_fields(void **state)
{
	struct vex_webhook *h = make_hook("alice", "https://example.com/", VEX_HOOK_EV_ALL);
	struct vex_webhook_list l = { NULL, 0 };
	char *url = h->url, *secret = h->secret;

	(void)state;
	assert_int_equal(vex_store_webhook_insert(store, NULL, NULL), VEX_EINVAL);
	h->events = 0;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->events = 1u << 6;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->events = VEX_HOOK_EV_ALL;
	h->status = VEX_HOOK_DELETED;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->status = VEX_HOOK_ACTIVE;
	h->url = NULL;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->url = (char *)"";
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->url = url;
	h->secret = NULL;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->secret = (char *)"";
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->secret = secret;
	h->owner[0] = '\0';
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	h->id[0] = '\0';
	snprintf(h->owner, sizeof(h->owner), "alice");
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), VEX_EINVAL);
	assert_int_equal(vex_store_webhooks_list(store, NULL, NULL, 1000, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_webhooks_list(store, NULL, NULL, 10, NULL), VEX_EINVAL);
	vex_webhook_free(h);
}

/* An update writes the status fields only when asked: the runner's record survives an owner's edit. */
static void test_update_status_fields(void **state)
{
	struct vex_webhook *h = make_hook("alice", "https://example.com/a", VEX_HOOK_EV_ALL), *got = NULL;

	(void)state;
	assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
	disable_with_record(h);

	/* Without set_status: url, events, description and time change; the status fields stay. */
	clear_status_record(h);
	h->events = VEX_HOOK_EV_QUEUED;
	h->updated_at = 1700000002000000;
	assert_int_equal(vex_store_webhook_update(store, h, 0), 0);
	assert_int_equal(vex_store_webhook_get(store, h->id, NULL, &got), 0);
	assert_null(got->description);
	assert_int_equal(got->events, VEX_HOOK_EV_QUEUED);
	assert_int_equal(got->status, VEX_HOOK_DISABLED);
	assert_string_equal(got->disabled_reason, "disabled by the owner");
	assert_int_equal(got->failing_since, 1700000000500000);
	assert_string_equal(got->last_error, "HTTP 500");
	assert_int_equal(got->updated_at, 1700000002000000);
	vex_webhook_free(got);
	got = NULL;

	/* With it: re-enabled, the record cleared. */
	assert_int_equal(vex_store_webhook_update(store, h, 1), 0);
	assert_int_equal(vex_store_webhook_get(store, h->id, NULL, &got), 0);
	assert_int_equal(got->status, VEX_HOOK_ACTIVE);
	assert_null(got->disabled_reason);
	assert_int_equal(got->failing_since, 0);
	assert_null(got->last_error);
	vex_webhook_free(got);

	snprintf(h->owner, sizeof(h->owner), "bob");
	assert_int_equal(vex_store_webhook_update(store, h, 1), VEX_ENOTFOUND);
	snprintf(h->owner, sizeof(h->owner), "alice");
	snprintf(h->id, sizeof(h->id), "hook_00000000000000000000000000000000");
	assert_int_equal(vex_store_webhook_update(store, h, 1), VEX_ENOTFOUND);
	h->status = VEX_HOOK_DELETED;
	assert_int_equal(vex_store_webhook_update(store, h, 1), VEX_EINVAL);
	h->status = VEX_HOOK_ACTIVE;
	h->events = 0;
	assert_int_equal(vex_store_webhook_update(store, h, 1), VEX_EINVAL);
	assert_int_equal(vex_store_webhook_update(store, NULL, 1), VEX_EINVAL);
	vex_webhook_free(h);
}

static void test_list_paging(void **state)
{
	struct vex_webhook_list l = { NULL, 0 };
	char ids[45][VEX_HOOK_ID_LEN + 1], cursor[VEX_HOOK_ID_LEN + 1];
	int i, total = 0, pages = 0;

	(void)state;
	for (i = 0; i < 45; i++) {
		struct vex_webhook *h = make_hook(i % 3 ? "bob" : "alice", "https://example.com/", VEX_HOOK_EV_ALL);

		assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
		memcpy(ids[i], h->id, sizeof(ids[i]));
		vex_webhook_free(h);
	}
	cursor[0] = '\0';
	for (;;) {
		assert_int_equal(vex_store_webhooks_list(store, "alice", cursor[0] ? cursor : NULL, 4, &l), 0);
		if (l.n == 0)
			break;
		pages++;
		for (size_t k = 0; k < l.n; k++) {
			assert_string_equal(l.items[k]->owner, "alice");
			assert_string_equal(l.items[k]->id, ids[(14 - total) * 3]); /* newest first */
			total++;
		}
		memcpy(cursor, l.items[l.n - 1]->id, sizeof(cursor));
		vex_webhook_list_release(&l);
	}
	assert_int_equal(total, 15);
	assert_int_equal(pages, 4);
	assert_int_equal(vex_store_webhooks_list(store, NULL, NULL, 1000, &l), 0);
	assert_int_equal(l.n, 45);
	assert_string_equal(l.items[0]->id, ids[44]);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_list(store, NULL, ids[10], 1000, &l), 0);
	assert_int_equal(l.n, 10);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_list(store, "bob", ids[10], 3, &l), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.items[0]->id, ids[8]);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_list(store, "alice", NULL, 0, &l), VEX_EINVAL);
	assert_int_equal(vex_store_webhooks_list(store, "alice", NULL, 1001, &l), VEX_EINVAL);
	vex_webhook_list_release(NULL);
}

static void test_matching_masks(void **state)
{
	struct vex_webhook *all = make_hook("alice", "https://example.com/all", VEX_HOOK_EV_ALL);
	struct vex_webhook *done = make_hook("alice", "https://example.com/done",
					     VEX_HOOK_EV_COMPLETED | VEX_HOOK_EV_FAILED);
	struct vex_webhook *off = make_hook("alice", "https://example.com/off", VEX_HOOK_EV_ALL);
	struct vex_webhook *bobs = make_hook("bob", "https://example.com/bob", VEX_HOOK_EV_ALL);
	struct vex_webhook_list l = { NULL, 0 };
	int i;

	(void)state;
	off->status = VEX_HOOK_DISABLED;
	assert_int_equal(vex_store_webhook_insert(store, all, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, done, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, off, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, bobs, NULL), 0);
	/* Only active hooks of the owner whose mask has the event; oldest first. */
	assert_int_equal(vex_store_webhooks_matching(store, "alice", VEX_HOOK_EV_COMPLETED, &l), 0);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.items[0]->id, all->id);
	assert_string_equal(l.items[1]->id, done->id);
	assert_string_equal(l.items[1]->secret, done->secret);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_matching(store, "alice", VEX_HOOK_EV_QUEUED, &l), 0);
	assert_int_equal(l.n, 1);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_matching(store, "alice", 0, &l), 0);
	assert_int_equal(l.n, 0);
	/* Bits beyond the known events match nothing. */
	assert_int_equal(vex_store_webhooks_matching(store, "alice", ~VEX_HOOK_EV_ALL, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_webhooks_matching(store, "carol", VEX_HOOK_EV_ALL, &l), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(vex_store_webhooks_matching(store, "bob", VEX_HOOK_EV_TIMEOUT, &l), 0);
	assert_int_equal(l.n, 1);
	vex_webhook_list_release(&l);
	assert_int_equal(vex_store_webhooks_matching(store, NULL, VEX_HOOK_EV_ALL, &l), VEX_EINVAL);
	assert_int_equal(vex_store_webhooks_matching(store, "alice", VEX_HOOK_EV_ALL, NULL), VEX_EINVAL);
	/* Many. */
	for (i = 0; i < 40; i++) {
		struct vex_webhook *h = make_hook("dave", "https://example.com/", VEX_HOOK_EV_STARTED);

		assert_int_equal(vex_store_webhook_insert(store, h, NULL), 0);
		vex_webhook_free(h);
	}
	assert_int_equal(vex_store_webhooks_matching(store, "dave", VEX_HOOK_EV_STARTED, &l), 0);
	assert_int_equal(l.n, 40);
	for (i = 1; i < 40; i++)
		assert_true(strcmp(l.items[i - 1]->id, l.items[i]->id) < 0);
	vex_webhook_list_release(&l);
	vex_webhook_free(all);
	vex_webhook_free(done);
	vex_webhook_free(off);
	vex_webhook_free(bobs);
}

/* The stored secret of hook "id", as the store holds it (caller frees). */
static char *stored_secret(const char *id)
{
	struct vex_webhook *h = NULL;
	char *v;

	assert_int_equal(vex_store_webhook_get(store, id, NULL, &h), 0);
	v = strdup(h->secret);
	vex_webhook_free(h);
	assert_non_null(v);
	return v;
}

/* Plaintext secrets and secrets under the previous key are sealed under the current key, in the same column;
 * what no key opens is left and counted; a second pass is a no-op; the sealed bytes open to the plaintext. */
static void test_secrets_seal_stored(void **state)
{
	struct vex_webhook *a = make_hook("alice", "https://example.com/a", VEX_HOOK_EV_ALL);
	struct vex_webhook *b = make_hook("bob", "https://example.com/b", VEX_HOOK_EV_ALL);
	struct vex_webhook *c = make_hook("carol", "https://example.com/c", VEX_HOOK_EV_ALL);
	struct vex_sealring r1, r2, r9;
	char ad[VEX_HOOK_SECRET_AD_MAX + 1], *sealed_b = NULL, *sealed_c = NULL, *v, *plain = NULL;
	const char *secret = a->secret;
	int n = -1, failed = -1;

	(void)state;
	test_ring(&r1, 1, 0);
	test_ring(&r2, 2, 1);
	test_ring(&r9, 9, 0);
	/* Nothing stored: nothing to do. */
	assert_int_equal(vex_store_webhook_secrets_seal(store, &r2, &n, &failed), 0);
	assert_int_equal(n, 0);
	assert_int_equal(failed, 0);
	vex_hook_secret_ad(b->id, ad);
	assert_int_equal(vex_sealbox_seal(&r1.cur, ad, b->secret, &sealed_b), 0);
	free(b->secret);
	b->secret = sealed_b;
	vex_hook_secret_ad(c->id, ad);
	assert_int_equal(vex_sealbox_seal(&r9.cur, ad, c->secret, &sealed_c), 0);
	free(c->secret);
	c->secret = sealed_c;
	assert_int_equal(vex_store_webhook_insert(store, a, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, b, NULL), 0);
	assert_int_equal(vex_store_webhook_insert(store, c, NULL), 0);

	assert_int_equal(vex_store_webhook_secrets_seal(store, &r2, &n, &failed), 0);
	assert_int_equal(n, 2);
	assert_int_equal(failed, 1);
	v = stored_secret(a->id);
	assert_true(vex_sealbox_is_current(&r2, v));
	vex_hook_secret_ad(a->id, ad);
	assert_int_equal(vex_sealbox_open(&r2, ad, v, &plain), 0);
	assert_string_equal(plain, secret);
	free(plain);
	plain = NULL;
	free(v);
	v = stored_secret(b->id);
	assert_true(vex_sealbox_is_current(&r2, v));
	vex_hook_secret_ad(b->id, ad);
	assert_int_equal(vex_sealbox_open(&r2, ad, v, &plain), 0);
	assert_string_equal(plain, secret);
	free(plain);
	free(v);
	v = stored_secret(c->id);
	assert_string_equal(v, c->secret); /* under an unknown key: left as it was */
	free(v);
	assert_int_equal(vex_store_webhook_secrets_seal(store, &r2, NULL, NULL), 0);
	assert_int_equal(vex_store_webhook_secrets_seal(store, &r2, &n, &failed), 0);
	assert_int_equal(n, 0);
	assert_int_equal(failed, 1);
	vex_webhook_free(a);
	vex_webhook_free(b);
	vex_webhook_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_insert_get, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_insert_invalid, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_update, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_delete_cancels_pending, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_delete_busy, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list_count, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_matching, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_matching_many, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_secrets_seal, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_insert_get_odd_text, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_insert_invalid_fields, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_update_status_fields, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_list_paging, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_matching_masks, store_setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_secrets_seal_stored, store_setup, store_teardown),
	};

	vex_log_init("test_store_webhooks", VEX_LOG_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
