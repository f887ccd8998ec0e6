/* test_authn.c - request authentication: API keys by header, JWT passthrough, conflicts, revocation, on SQLite and,
 * from tools/run-unit's second pass (tests/unit/postgres.list), on PostgreSQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/auth/apikeys.h"
#include "core/auth/credential.h"
#include "core/auth/revocation.h"
#include "core/base/ids.h"
#include "core/base/err.h"
#include "core/store/store.h"
#include "fcgi-app/keytouch.h"

#define NOW 1700000000000000LL

#define STORE_FIXTURE_GLOBALS "authn"
#include "tests/unit/store_fixture.h"

static struct vex_config cfg;
static char key[VEX_APIKEY_LEN + 1];
static struct vex_api_key row;

static int setup(void **state)
{
	struct vex_field_error e;

	memset(&cfg, 0, sizeof(cfg));
	memset(cfg.jwt_secret, 's', 40);
	cfg.jwt_secret_len = 40;
	if (store_setup(state) != 0)
		return -1;
	return vex_apikey_issue(store, "alice", VEX_ROLE_USER, VEX_PLAN_PRO, NULL, NOW, &row, key, &e);
}

static int authn(const char *authorization, const char *x_api_key, struct vex_principal *p, const char **reason)
{
	*reason = NULL;
	return vex_authn_request(&cfg, store, authorization, x_api_key, NOW + 5, p, reason);
}

static void test_key_headers(void **state)
{
	struct vex_principal p;
	struct vex_api_key got;
	const char *reason;
	char bearer[80], padded[100];

	(void)state;
	snprintf(bearer, sizeof(bearer), "Bearer %s", key);
	memset(&p, 0, sizeof(p));
	assert_int_equal(authn(bearer, NULL, &p, &reason), 0);
	assert_string_equal(p.sub, "alice");
	assert_int_equal(p.role, VEX_ROLE_USER);
	assert_int_equal(p.plan, VEX_PLAN_PRO);
	assert_int_equal(vex_store_key_get(store, row.id, NULL, &got), 0);
	assert_int_equal(got.last_used_at, NOW + 5);

	memset(&p, 0, sizeof(p));
	assert_int_equal(authn(NULL, key, &p, &reason), 0);
	assert_string_equal(p.sub, "alice");
	snprintf(padded, sizeof(padded), "  %s \t", key);
	assert_int_equal(authn("", padded, &p, &reason), 0);
	snprintf(padded, sizeof(padded), "bearer\t%s ", key);
	assert_int_equal(authn(padded, key, &p, &reason), 0); /* both, the same key */
}

static void test_refusals(void **state)
{
	struct vex_principal p;
	struct vex_api_key k2;
	struct vex_field_error e;
	const char *reason;
	char other[VEX_APIKEY_LEN + 1], bearer[80], bad[VEX_APIKEY_LEN + 1];

	(void)state;
	assert_int_equal(authn(NULL, NULL, &p, &reason), VEX_EAUTH);
	assert_string_equal(reason, "missing bearer token");
	assert_int_equal(authn("Bearer vex_nope", NULL, &p, &reason), VEX_EAUTH);
	assert_string_equal(reason, "invalid API key");
	assert_int_equal(authn(NULL, "garbage", &p, &reason), VEX_EAUTH);
	assert_string_equal(reason, "invalid API key");
	/* Well-formed but unknown. */
	assert_int_equal(vex_apikey_generate(bad), 0);
	assert_int_equal(authn(NULL, bad, &p, &reason), VEX_EAUTH);
	assert_string_equal(reason, "invalid API key");

	/* Two different keys. */
	assert_int_equal(vex_apikey_issue(store, "bob", VEX_ROLE_ADMIN, VEX_PLAN_FREE, NULL, NOW, &k2, other, &e), 0);
	snprintf(bearer, sizeof(bearer), "Bearer %s", key);
	assert_int_equal(authn(bearer, other, &p, &reason), VEX_EAUTH);
	assert_non_null(strstr(reason, "conflicting credentials"));
	assert_int_equal(authn("Basic abc", key, &p, &reason), VEX_EAUTH);
	assert_non_null(strstr(reason, "conflicting credentials"));

	/* Revoked: refused at once. */
	assert_int_equal(authn(NULL, other, &p, &reason), 0);
	assert_int_equal(p.role, VEX_ROLE_ADMIN);
	assert_int_equal(vex_store_key_revoke(store, k2.id, NULL, NOW + 1), 0);
	assert_int_equal(authn(NULL, other, &p, &reason), VEX_EAUTH);
	assert_string_equal(reason, "invalid API key");
}

static void test_jwt(void **state)
{
	struct vex_principal in, p;
	struct vex_field_error e;
	const char *reason;
	char *token = NULL, bearer[1024], jti[VEX_UUID_LEN + 1];
	int64_t expires = 0;

	(void)state;
	memset(&in, 0, sizeof(in));
	memcpy(in.sub, "carol", 6);
	in.role = VEX_ROLE_ADMIN;
	in.plan = VEX_PLAN_STANDARD;
	assert_int_equal(vex_authn_mint(&cfg, &in, 600, NOW, &token, &expires, jti, &e), 0);
	assert_int_equal(expires, NOW + 600000000);
	snprintf(bearer, sizeof(bearer), "Bearer %s", token);
	memset(&p, 0, sizeof(p));
	assert_int_equal(authn(bearer, NULL, &p, &reason), 0);
	assert_string_equal(p.sub, "carol");
	assert_int_equal(p.role, VEX_ROLE_ADMIN);
	assert_int_equal(p.plan, VEX_PLAN_STANDARD);
	/* A JWT is not an API key. */
	assert_int_equal(authn(NULL, token, &p, &reason), VEX_EAUTH);
	assert_string_equal(reason, "invalid API key");
	free(token);

	assert_int_equal(vex_authn_mint(&cfg, &in, 0, NOW, &token, &expires, jti, &e), VEX_EINVAL);
	assert_string_equal(e.field, "ttl");
	assert_int_equal(vex_authn_mint(&cfg, &in, VEX_TOKEN_TTL_MAX + 1, NOW, &token, &expires, jti, &e), VEX_EINVAL);
	in.sub[0] = '\0';
	assert_int_equal(vex_authn_mint(&cfg, &in, 60, NOW, &token, &expires, jti, &e), VEX_EINVAL);
	assert_string_equal(e.field, "sub");
}

/* A token of "sub" issued at "iat_s" with "jti" (NULL: none), as an Authorization value. */
static void bearer_of(const char *sub, int64_t iat_s, const char *jti, char *out, size_t cap)
{
	struct vex_principal in;
	char *token = NULL;

	memset(&in, 0, sizeof(in));
	snprintf(in.sub, sizeof(in.sub), "%s", sub);
	assert_int_equal(vex_jwt_mint(cfg.jwt_secret, cfg.jwt_secret_len, &in, iat_s, 3600, jti, &token), 0);
	snprintf(out, cap, "Bearer %s", token);
	free(token);
}

/* Revocation by jti and by subject cut-off; a token without jti still authenticates. */
static void test_revocations(void **state)
{
	struct vex_token_revocation r;
	struct vex_field_error e;
	struct vex_principal p;
	struct vex_credential cr;
	const char *reason;
	char b1[1024], b2[1024], b3[1024], b4[1024];
	int64_t now_s = (NOW + 5) / 1000000;

	(void)state;
	bearer_of("dave", now_s - 100, "jti-1", b1, sizeof(b1));
	bearer_of("dave", now_s - 100, NULL, b2, sizeof(b2));
	bearer_of("dave", now_s - 10, NULL, b3, sizeof(b3));
	bearer_of("erin", now_s - 100, NULL, b4, sizeof(b4));
	assert_int_equal(vex_authn_check(&cfg, store, b1, NULL, NOW + 5, 0, &p, &cr, &reason), 0);
	assert_string_equal(cr.jti, "jti-1");
	assert_int_equal(cr.iat, now_s - 100);
	assert_int_equal(cr.is_key, 0);

	assert_int_equal(vex_revocation_issue(store, "jti-1", NULL, 0, "leaked", "root", NOW, &r, &e), 0);
	assert_int_equal(authn(b1, NULL, &p, &reason), VEX_EAUTH);
	assert_string_equal(reason, VEX_AUTHN_REVOKED);
	assert_string_equal(vex_authn_error_code(reason), "TOKEN_REVOKED");
	assert_int_equal(authn(b2, NULL, &p, &reason), 0); /* no jti: untouched by a jti revocation */
	assert_int_equal(vex_revocation_issue(store, "jti-1", NULL, 0, NULL, "root", NOW, &r, &e), VEX_EEXIST);

	/* dave's tokens issued before now - 50 go; the newer one and erin's stay. */
	assert_int_equal(vex_revocation_issue(store, NULL, "dave", now_s - 50, NULL, "root", NOW, &r, &e), 0);
	assert_int_equal(authn(b2, NULL, &p, &reason), VEX_EAUTH);
	assert_string_equal(reason, VEX_AUTHN_REVOKED);
	assert_int_equal(authn(b3, NULL, &p, &reason), 0);
	assert_int_equal(authn(b4, NULL, &p, &reason), 0);

	/* Bad input stores nothing. */
	assert_int_equal(vex_revocation_issue(store, "a", "b", 0, NULL, "root", NOW, &r, &e), VEX_EINVAL);
	assert_int_equal(e.status, 400);
	assert_int_equal(vex_revocation_issue(store, NULL, NULL, 0, NULL, "root", NOW, &r, &e), VEX_EINVAL);
	assert_string_equal(e.field, "jti");
	assert_int_equal(vex_revocation_issue(store, NULL, "dave", now_s + 3600, NULL, "root", NOW, &r, &e),
			 VEX_EINVAL);
	assert_string_equal(e.field, "issued_before");
	assert_int_equal(vex_revocation_issue(store, "j\x01", NULL, 0, NULL, "root", NOW, &r, &e), VEX_EINVAL);
	assert_string_equal(e.field, "jti");
	assert_int_equal(vex_revocation_issue(store, "j2", NULL, 5, NULL, "root", NOW, &r, &e), VEX_EINVAL);
	assert_string_equal(e.field, "issued_before");
	{
		struct vex_token_revocation_list l = { NULL, 0 };

		assert_int_equal(vex_store_revocations_list(store, NULL, NULL, 100, &l), 0);
		assert_int_equal(l.n, 2);
		assert_string_equal(l.items[0].sub, "dave"); /* newest first */
		assert_string_equal(l.items[1].jti, "jti-1");
		assert_string_equal(l.items[1].reason, "leaked");
		vex_token_revocation_list_release(&l);
		assert_int_equal(vex_store_revocations_since(store, NOW, 100, &l), 0);
		assert_int_equal(l.n, 2);
		vex_token_revocation_list_release(&l);
		assert_int_equal(vex_store_revocations_since(store, NOW + 1, 100, &l), 0);
		assert_int_equal(l.n, 0);
		vex_token_revocation_list_release(&l);
	}
}

/* The lifetime vex mints: 30 days by default, [auth] token_ttl_max_s when set. */
static void test_mint_cap(void **state)
{
	struct vex_principal in;
	struct vex_field_error e;
	char *token = NULL, jti[VEX_UUID_LEN + 1];
	int64_t expires;

	(void)state;
	memset(&in, 0, sizeof(in));
	memcpy(in.sub, "carol", 6);
	assert_int_equal(vex_authn_ttl_max(&cfg), 30 * 24 * 3600);
	assert_int_equal(vex_authn_mint(&cfg, &in, 30 * 24 * 3600, NOW, &token, &expires, jti, &e), 0);
	assert_true(vex_uuid_valid(jti));
	free(token);
	token = NULL;
	assert_int_equal(vex_authn_mint(&cfg, &in, 30 * 24 * 3600 + 1, NOW, &token, &expires, jti, &e), VEX_EINVAL);
	assert_string_equal(e.field, "ttl");
	assert_int_equal(e.status, 422);
	assert_null(token);
	cfg.token_ttl_max_s = 600;
	assert_int_equal(vex_authn_mint(&cfg, &in, 601, NOW, &token, &expires, jti, &e), VEX_EINVAL);
	assert_int_equal(vex_authn_mint(&cfg, &in, 600, NOW, &token, &expires, jti, &e), 0);
	free(token);
	cfg.token_ttl_max_s = 0;
}

/* VEX_AUTHN_NO_TOUCH: the check never writes; the caller learns the key's last use is due. */
static void test_no_touch(void **state)
{
	struct vex_principal p;
	struct vex_credential cr;
	struct vex_api_key got;
	const char *reason;

	(void)state;
	assert_int_equal(vex_authn_check(&cfg, store, NULL, key, NOW, VEX_AUTHN_NO_TOUCH, &p, &cr, &reason), 0);
	assert_int_equal(cr.is_key, 1);
	assert_string_equal(cr.key_id, row.id);
	assert_int_equal(cr.touch_due, 1);
	assert_int_equal(vex_store_key_get(store, row.id, NULL, &got), 0);
	assert_int_equal(got.last_used_at, 0);
	assert_int_equal(vex_authn_check(&cfg, store, NULL, key, NOW, 0, &p, &cr, &reason), 0);
	assert_int_equal(vex_store_key_get(store, row.id, NULL, &got), 0);
	assert_int_equal(got.last_used_at, NOW);
	assert_int_equal(vex_authn_check(&cfg, store, NULL, key, NOW + 1, VEX_AUTHN_NO_TOUCH, &p, &cr, &reason), 0);
	assert_int_equal(cr.touch_due, 0);
}

/* The stream server's keytouch thread writes a pushed key's last use on its own connection (a second push
 * within the minute changes nothing). */
static void test_keytouch(void **state)
{
	struct vex_keytouch *t = NULL;
	struct vex_api_key got;
	char url[1024];
	int i;

	(void)state;
	/* The thread opens a connection of its own: to the test's PostgreSQL database when the store is there. */
	if (fx.pg_db[0])
		assert_int_equal(store_fixture_pg_url(fx.pg_db, url, sizeof(url)), 0);
	else
		snprintf(url, sizeof(url), "%s", path);
	cfg.store = url;
	cfg.db_synchronous = 1;
	cfg.db_busy_timeout_ms = 1000;
	assert_int_equal(vex_keytouch_start(&cfg, &t), 0);
	vex_keytouch_push(t, row.id, NOW + 7);
	vex_keytouch_push(t, row.id, NOW + 8);
	vex_keytouch_push(t, "not-a-key-id", NOW + 9); /* ignored */
	for (i = 0; i < 5000 && vex_keytouch_written(t) == 0; i++)
		usleep(1000);
	assert_true(vex_keytouch_written(t) >= 1);
	assert_int_equal(vex_store_key_get(store, row.id, NULL, &got), 0);
	assert_int_equal(got.last_used_at, NOW + 7);
	vex_keytouch_free(t);
	vex_keytouch_push(NULL, row.id, NOW); /* no thread: nothing */
	vex_keytouch_free(NULL);
	cfg.store = NULL;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_revocations, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_mint_cap, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_no_touch, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_keytouch, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_key_headers, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, store_teardown),
		cmocka_unit_test_setup_teardown(test_jwt, setup, store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
