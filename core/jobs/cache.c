/* cache.c - the memcached job-status cache: authenticated values, CAS writes that never go back in
 * rev, fail-fast reads. */
#include "core/jobs/cache.h"

#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libmemcached/memcached.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/hex.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/jobs/cache_internal.h"
#include "core/metrics/metrics.h"

#define CACHE_TTL_S (24 * 3600)
#define CACHE_CAS_TRIES 5
#define CACHE_SKIP_US 1000000 /* after an I/O error, leave memcached alone this long */
#define CACHE_ID_MAX 64
_Static_assert(CACHE_ID_MAX + 16 == VEX_CACHE_KEY_MAX, "cache_owed.c keeps keys of cache.c's length");

/*
 * A job value is HEADER || JSON, HEADER = "vex1:" <16 hex: deadline, Unix seconds> ":" <64 hex MAC> "\n",
 * MAC = HMAC-SHA256(K, key name || 0x00 || the 16 deadline digits || JSON), K = HMAC-SHA256(secret,
 * MAC_LABEL). The deadline is the item's lifetime as the writer set it, so a copy of an old
 * authentic value put back later is refused once the original would have expired.
 */
#define MAC_LABEL "vex cache mac v1"
#define MAC_LEN 32
#define HDR_TAG "vex1:"
#define HDR_TAG_LEN 5
#define HDR_EXP_LEN 16
#define HDR_LEN (HDR_TAG_LEN + HDR_EXP_LEN + 1 + 2 * MAC_LEN + 1)


/* Derive the value key from "secret" and key an HMAC context with it. */
static int mac_init(struct vex_cache *c, const unsigned char *secret, size_t secret_len)
{
	unsigned char key[MAC_LEN];
	unsigned klen = 0;
	EVP_MAC *m = NULL;
	OSSL_PARAM params[2];
	int rc = VEX_ERROR;

	if (!HMAC(EVP_sha256(), secret, (int)secret_len, (const unsigned char *)MAC_LABEL, strlen(MAC_LABEL), key,
		  &klen) ||
	    klen != MAC_LEN)
		goto out;
	m = EVP_MAC_fetch(NULL, "HMAC", NULL);
	c->mac = m ? EVP_MAC_CTX_new(m) : NULL;
	if (!c->mac)
		goto out;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(c->mac, key, MAC_LEN, params))
		goto out;
	rc = 0;
out:
	EVP_MAC_free(m); /* the context holds its own reference */
	OPENSSL_cleanse(key, sizeof(key));
	return rc;
}

/* The MAC of one value, as 64 lower-case hex digits into "out". */
static int mac_hex(struct vex_cache *c, const char *key, size_t klen, const char *exp_hex, const char *json,
		   size_t len, char out[2 * MAC_LEN])
{
	unsigned char m[MAC_LEN];
	char text[2 * MAC_LEN + 1];
	size_t mlen = 0;

	/* A NULL key re-initialises the context with the key it already holds: no new key schedule. */
	if (!EVP_MAC_init(c->mac, NULL, 0, NULL) || !EVP_MAC_update(c->mac, (const unsigned char *)key, klen) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)"", 1) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)exp_hex, HDR_EXP_LEN) ||
	    !EVP_MAC_update(c->mac, (const unsigned char *)json, len) || !EVP_MAC_final(c->mac, m, &mlen, sizeof(m)) ||
	    mlen != MAC_LEN)
		return VEX_ERROR;
	vex_hex_encode(m, MAC_LEN, text);
	memcpy(out, text, 2 * MAC_LEN); /* no NUL: "out" sits inside a value's header */
	return 0;
}

/* Count a refused value and warn, at most once per VEX_CACHE_WARN_S, saying how many went unlogged. */
static void rejected(struct vex_cache *c, const char *key, const char *why)
{
	int64_t now = vex_mono_us();
	char n[24];

	c->rejected++;
	vex_metrics_inc(VEX_M_CACHE_REJECTED);
	if (c->warned_us && now - c->warned_us < (int64_t)VEX_CACHE_WARN_S * 1000000) {
		c->unlogged++;
		return;
	}
	snprintf(n, sizeof(n), "%" PRIu64, c->unlogged);
	vex_log(VEX_LOG_WARN, "cache value rejected, using the store", "key", key, "reason", why, "unlogged_before",
		n, NULL);
	c->warned_us = now;
	c->unlogged = 0;
}

static int seal_until(struct vex_cache *c, const char *key, size_t klen, const char *exp_hex, const char *json,
		      size_t len, size_t *ret_len);

/*
 * Check the value "val" of "key": 0 with *json and *json_len pointing into "val" when authentic and
 * within its deadline; VEX_ENOTFOUND when authentic but past its deadline; VEX_EINVAL (counted,
 * logged) when malformed or its MAC fails.
 */
int vex_cache_open_value(struct vex_cache *c, const char *key, size_t klen, const char *val, size_t vlen,
			 const char **json, size_t *json_len)
{
	char want[2 * MAC_LEN];
	const char *exp_hex, *nl;
	uint64_t exp = 0;

	if (!val || vlen < HDR_LEN || memcmp(val, HDR_TAG, HDR_TAG_LEN) != 0 ||
	    val[HDR_TAG_LEN + HDR_EXP_LEN] != ':' || val[HDR_LEN - 1] != '\n') {
		rejected(c, key, "malformed");
		return VEX_EINVAL;
	}
	exp_hex = val + HDR_TAG_LEN;
	if (mac_hex(c, key, klen, exp_hex, val + HDR_LEN, vlen - HDR_LEN, want) != 0 ||
	    CRYPTO_memcmp(want, val + HDR_TAG_LEN + HDR_EXP_LEN + 1, sizeof(want)) != 0) {
		rejected(c, key, "bad mac");
		return VEX_EINVAL;
	}
	/* Authentic, so the digits are ours: lower-case hex. */
	for (int i = 0; i < HDR_EXP_LEN; i++)
		exp = exp << 4 | (uint64_t)(exp_hex[i] <= '9' ? exp_hex[i] - '0' : exp_hex[i] - 'a' + 10);
	if ((int64_t)exp < vex_now_us() / 1000000)
		return VEX_ENOTFOUND;
	/* The JSON ends at the first newline (compact JSON has none): vex_cache_job_gets' callers keep more there. */
	*json = val + HDR_LEN;
	nl = memchr(*json, '\n', vlen - HDR_LEN);
	*json_len = nl ? (size_t)(nl - *json) : vlen - HDR_LEN;
	return 0;
}

/* HEADER || JSON in the handle's buffer, lifetime "ttl_s" from now. */
int vex_cache_seal_value(struct vex_cache *c, const char *key, size_t klen, const char *json, size_t len, int ttl_s,
			 size_t *ret_len)
{
	char exp_hex[HDR_EXP_LEN + 1];

	/* memcached keeps an item with lifetime 0 for ever: so does its deadline. */
	snprintf(exp_hex, sizeof(exp_hex), "%016" PRIx64,
		 ttl_s > 0 ? (uint64_t)(vex_now_us() / 1000000 + ttl_s) : (uint64_t)INT64_MAX);
	return seal_until(c, key, klen, exp_hex, json, len, ret_len);
}

/* HEADER || "json" in the handle's buffer with the deadline "exp_hex" (HDR_EXP_LEN hex digits). */
static int seal_until(struct vex_cache *c, const char *key, size_t klen, const char *exp_hex, const char *json,
		      size_t len, size_t *ret_len)
{
	char *v;
	int rc;

	if (len > SIZE_MAX - HDR_LEN)
		return VEX_ETOOBIG;
	vex_buf_reset(&c->val);
	rc = vex_buf_reserve(&c->val, HDR_LEN + len);
	if (rc)
		return rc;
	v = c->val.p;
	memcpy(v, HDR_TAG, HDR_TAG_LEN);
	memcpy(v + HDR_TAG_LEN, exp_hex, HDR_EXP_LEN);
	v[HDR_TAG_LEN + HDR_EXP_LEN] = ':';
	if (mac_hex(c, key, klen, exp_hex, json, len, v + HDR_TAG_LEN + HDR_EXP_LEN + 1) != 0)
		return VEX_ERROR;
	v[HDR_LEN - 1] = '\n';
	memcpy(v + HDR_LEN, json, len);
	vex_buf_wrote(&c->val, HDR_LEN + len);
	*ret_len = HDR_LEN + len;
	return 0;
}

int vex_cache_open(const char *servers, int timeout_ms, const unsigned char *secret, size_t secret_len,
		   struct vex_cache **ret)
{
	struct vex_cache *c;
	int rc = VEX_ENOMEM;

	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	vex_buf_init(&c->val, SIZE_MAX);
	if (!servers || servers[0] == '\0') {
		*ret = c;
		c = NULL;
		rc = 0;
		goto out;
	}
	rc = VEX_EINVAL;
	if (!secret || secret_len == 0 || secret_len > INT32_MAX)
		goto out;
	rc = mac_init(c, secret, secret_len);
	if (rc)
		goto out;
	if (timeout_ms <= 0)
		timeout_ms = 100;
	rc = VEX_ENOMEM;
	c->mc = memcached_create(NULL);
	if (!c->mc)
		goto out;
	rc = vex_cache_add_servers(c->mc, servers);
	if (rc)
		goto out;
	/* Each behaviour is cheap to set; a failure means a libmemcached far from the 1.1 we build with. */
	if (memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1) != MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1) != MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_DISTRIBUTION, MEMCACHED_DISTRIBUTION_CONSISTENT) !=
		    MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, (uint64_t)timeout_ms) !=
		    MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, (uint64_t)timeout_ms) !=
		    MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT, (uint64_t)timeout_ms * 1000) !=
		    MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT, (uint64_t)timeout_ms * 1000) !=
		    MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1) != MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_DEAD_TIMEOUT, 1) != MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_NO_BLOCK, 1) != MEMCACHED_SUCCESS ||
	    memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1) != MEMCACHED_SUCCESS) {
		rc = VEX_ERROR;
		goto out;
	}
	*ret = c;
	c = NULL;
	rc = 0;
out:
	vex_cache_free(c);
	return rc;
}

/*
 * libmemcached 1.1 (Debian 12's libmemcached11 1.1.4) calls sasl_client_init itself, once per process
 * (pthread_once in its sasl.cc, with sasl_done at exit), on the first connection that authenticates;
 * the 1.0 manual's "call sasl_client_init first" no longer applies, so vex does not call it.
 */
int vex_cache_sasl(struct vex_cache *c, const char *user, const char *password)
{
	memcached_return_t mrc;

	if (!c || (user && user[0] && !password))
		return VEX_EINVAL;
	if (!user || !user[0] || !c->mc)
		return 0;
	free(c->sasl_user);
	if (!(c->sasl_user = strdup(user)))
		return VEX_ENOMEM;
	mrc = memcached_set_sasl_auth_data(c->mc, user, password);
	if (mrc == MEMCACHED_SUCCESS)
		return 0;
	free(c->sasl_user);
	c->sasl_user = NULL;
	if (mrc == MEMCACHED_MEMORY_ALLOCATION_FAILURE)
		return VEX_ENOMEM;
	return mrc == MEMCACHED_INVALID_ARGUMENTS ? VEX_EINVAL : VEX_ERROR;
}

void vex_cache_free(struct vex_cache *c)
{
	if (!c)
		return;
	if (c->mc && c->sasl_user)
		memcached_destroy_sasl_auth_data(c->mc); /* memcached_free leaves the copies */
	free(c->sasl_user);
	if (c->mc)
		memcached_free(c->mc);
	vex_cache_owed_free(c);
	EVP_MAC_CTX_free(c->mac);
	vex_buf_release(&c->val);
	free(c);
}

uint64_t vex_cache_rejected(const struct vex_cache *c)
{
	return c ? c->rejected : 0;
}

/* Answers that are about the data, not the connection; anything else counts as an I/O failure. */
int vex_cache_rc_logical(memcached_return_t mrc)
{
	switch (mrc) {
	case MEMCACHED_SUCCESS:
	case MEMCACHED_END:
	case MEMCACHED_NOTFOUND:
	case MEMCACHED_NOTSTORED:
	case MEMCACHED_DATA_EXISTS:
	case MEMCACHED_STORED:
	case MEMCACHED_DELETED:
	case MEMCACHED_E2BIG:
		return 1;
	default:
		return 0;
	}
}

/* VEX_EIO without a round trip while in the skip window after a failure. */
int vex_cache_usable(struct vex_cache *c)
{
	if (c->skip_until_us && vex_mono_us() < c->skip_until_us)
		return VEX_EIO;
	c->skip_until_us = 0;
	return 0;
}

/* One warning per process: every handle of every thread meets the same refusal again after each skip window. */
static atomic_flag auth_warned = ATOMIC_FLAG_INIT;

/* After a failure with SASL on: was it memcached refusing the credentials? Logged once, naming the
 * server and the user; the password is libmemcached's and never reaches a message. */
static void auth_refused(struct vex_cache *c)
{
	memcached_return_t e = memcached_last_error(c->mc);
	const memcached_instance_st *s;
	char server[300] = "unknown";

	if ((e != MEMCACHED_AUTH_FAILURE && e != MEMCACHED_AUTH_PROBLEM) || atomic_flag_test_and_set(&auth_warned))
		return;
	s = memcached_server_get_last_disconnect(c->mc);
	if (s)
		snprintf(server, sizeof(server), "%s:%u", memcached_server_name(s), (unsigned)memcached_server_port(s));
	vex_log(VEX_LOG_WARN, "memcached refused authentication: the cache is skipped, answers come from the store",
		"server", server, "user", c->sasl_user, "error", memcached_strerror(c->mc, e), NULL);
}

int vex_cache_io_failed(struct vex_cache *c)
{
	c->skip_until_us = vex_mono_us() + CACHE_SKIP_US;
	if (c->sasl_user)
		auth_refused(c);
	return VEX_EIO;
}

static int job_key(const char *id, char key[CACHE_ID_MAX + 16], size_t *ret_len);

/* 0 when memcached may be called: not in the skip window, and the deletes owed for writes that
 * missed it are done first, so that nothing this handle does meets a copy such a write left. */
static int ready(struct vex_cache *c)
{
	int rc = vex_cache_usable(c);

	if (rc == 0 && c->nowed > 0 && !c->settling)
		rc = vex_cache_settle(c) == VEX_EIO ? VEX_EIO : 0;
	return rc;
}

/* A job write or delete of "job_id" that ended in "rc": when memcached was not reached (or the
 * handle skipped it), its key is owed (cache_owed.c). "rc" is returned. */
static int owe_if_missed(struct vex_cache *c, const char *job_id, int rc)
{
	char key[CACHE_ID_MAX + 16];
	size_t klen;

	if (rc == VEX_EIO && job_key(job_id, key, &klen) == 0)
		vex_cache_owe(c, key, klen);
	return rc;
}

/* "vex:job:<id>" into "key"; ids are UUIDs, so anything with spaces or controls is refused. */
static int job_key(const char *id, char key[CACHE_ID_MAX + 16], size_t *ret_len)
{
	size_t n;

	if (!id)
		return VEX_EINVAL;
	n = strnlen(id, CACHE_ID_MAX + 1);
	if (n == 0 || n > CACHE_ID_MAX)
		return VEX_EINVAL;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)id[i] <= ' ' || (unsigned char)id[i] >= 0x7f)
			return VEX_EINVAL;
	*ret_len = (size_t)snprintf(key, CACHE_ID_MAX + 16, "vex:job:%s", id);
	return 0;
}

/* Before a read or delete of job "id": its key, VEX_ENOTFOUND when the cache is disabled, or
 * cache_usable's refusal while memcached is being skipped. */
static int job_op(struct vex_cache *c, const char *id, char key[CACHE_ID_MAX + 16], size_t *ret_len)
{
	int rc;

	if (!c->mc)
		return VEX_ENOTFOUND;
	if ((rc = job_key(id, key, ret_len)) != 0)
		return rc;
	return ready(c);
}

/* The "rev" member of a cached job; -1 when the value is not a job we understand. */
static int64_t cached_rev(const char *val, size_t len)
{
	json_t *v = json_loadb(val, len, 0, NULL);
	json_t *r = json_object_get(v, "rev");
	int64_t rev = json_is_integer(r) ? (int64_t)json_integer_value(r) : -1;

	json_decref(v);
	return rev;
}

/*
 * One gets: 1 with *rev and *cas when the key exists, 0 when absent, or a negative code. *rev is
 * -1 for a value that is not authentic (or not a job), so any writer replaces it. The mget is
 * drained to its end so the connection stays in step.
 */
static int gets_rev(struct vex_cache *c, const char *key, size_t klen, int64_t *rev, uint64_t *cas)
{
	const char *keys[1] = {key};
	size_t lens[1] = {klen};
	memcached_result_st res, *r;
	memcached_return_t mrc;
	int rc = VEX_EIO, found = 0;

	if (!memcached_result_create(c->mc, &res))
		return VEX_ENOMEM;
	mrc = memcached_mget(c->mc, keys, lens, 1);
	if (mrc != MEMCACHED_SUCCESS)
		goto out;
	while ((r = memcached_fetch_result(c->mc, &res, &mrc)) != NULL) {
		if (!found) {
			const char *json;
			size_t jlen;

			*rev = vex_cache_open_value(c, key, klen, memcached_result_value(r), memcached_result_length(r), &json,
					  &jlen) == 0
				       ? cached_rev(json, jlen)
				       : -1;
			*cas = memcached_result_cas(r);
			found = 1;
		}
	}
	if (mrc != MEMCACHED_END && mrc != MEMCACHED_NOTFOUND && mrc != MEMCACHED_SUCCESS)
		goto out;
	rc = found;
out:
	memcached_result_free(&res);
	return rc;
}

int vex_cache_job_put(struct vex_cache *c, const char *job_id, const char *json, size_t len, int64_t rev)
{
	return vex_cache_job_put_ttl(c, job_id, json, len, rev, CACHE_TTL_S);
}

/* The key of "job_id" and the sealed value in c->val: 0, 1 when the cache is disabled (nothing to
 * write), or an error. */
static int job_sealed(struct vex_cache *c, const char *job_id, const char *json, size_t len, int ttl_s,
		      char key[CACHE_ID_MAX + 16], size_t *klen, size_t *vlen)
{
	int rc;

	if (!c || !json)
		return VEX_EINVAL;
	if (!c->mc)
		return 1;
	if ((rc = job_key(job_id, key, klen)) != 0 || (rc = ready(c)) != 0)
		return rc;
	return vex_cache_seal_value(c, key, *klen, json, len, ttl_s, vlen);
}

static int put_ttl(struct vex_cache *c, const char *job_id, const char *json, size_t len, int64_t rev, int ttl_s)
{
	char key[CACHE_ID_MAX + 16];
	memcached_return_t mrc;
	size_t klen = 0, vlen = 0;
	int rc = job_sealed(c, job_id, json, len, ttl_s, key, &klen, &vlen);

	if (rc)
		return rc > 0 ? 0 : rc;
	json = c->val.p;
	len = vlen;
	/* A new job (rev 1) is normally absent: one add, one round trip, instead of gets then add. */
	if (rev == 1) {
		mrc = memcached_add(c->mc, key, klen, json, len, (time_t)ttl_s, 0);
		if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_STORED)
			return 0;
		if (!vex_cache_rc_logical(mrc))
			return vex_cache_io_failed(c);
	}
	for (int i = 0; i < CACHE_CAS_TRIES; i++) {
		int64_t have = 0;
		uint64_t cas = 0;
		int found = gets_rev(c, key, klen, &have, &cas);

		if (found < 0)
			return found == VEX_EIO ? vex_cache_io_failed(c) : found;
		if (found && have >= rev)
			return 0; /* a newer (or the same) copy is already there */
		if (found)
			mrc = memcached_cas(c->mc, key, klen, json, len, (time_t)ttl_s, 0, cas);
		else
			mrc = memcached_add(c->mc, key, klen, json, len, (time_t)ttl_s, 0);
		if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_STORED)
			return 0;
		if (mrc == MEMCACHED_DATA_EXISTS || mrc == MEMCACHED_NOTSTORED || mrc == MEMCACHED_NOTFOUND)
			continue; /* lost a race with another writer: look again */
		if (!vex_cache_rc_logical(mrc))
			return vex_cache_io_failed(c);
		/* Too big for an item: drop the old copy so readers fall back to the store, never see it stale. */
		memcached_delete(c->mc, key, klen, 0);
		return VEX_ETOOBIG;
	}
	/* Still racing after all tries: the stored copy may be older than ours, so remove it. */
	mrc = memcached_delete(c->mc, key, klen, 0);
	if (!vex_cache_rc_logical(mrc))
		return vex_cache_io_failed(c);
	return VEX_ECONFLICT;
}

int vex_cache_job_put_ttl(struct vex_cache *c, const char *job_id, const char *json, size_t len, int64_t rev,
			  int ttl_s)
{
	return c ? owe_if_missed(c, job_id, put_ttl(c, job_id, json, len, rev, ttl_s)) : VEX_EINVAL;
}

int vex_cache_job_get(struct vex_cache *c, const char *job_id, char **ret, size_t *ret_len)
{
	char key[CACHE_ID_MAX + 16], *val = NULL, *copy = NULL;
	const char *json = NULL;
	memcached_return_t mrc;
	size_t klen, vlen = 0, jlen = 0;
	uint32_t flags = 0;
	int rc;

	if (!c || !ret)
		return VEX_EINVAL;
	if ((rc = job_op(c, job_id, key, &klen)) != 0)
		return rc;
	val = memcached_get(c->mc, key, klen, &vlen, &flags, &mrc);
	if (mrc == MEMCACHED_NOTFOUND) {
		rc = VEX_ENOTFOUND;
		goto out;
	}
	if (mrc != MEMCACHED_SUCCESS) {
		rc = vex_cache_rc_logical(mrc) ? VEX_ENOTFOUND : vex_cache_io_failed(c);
		goto out;
	}
	rc = vex_cache_open_value(c, key, klen, val, vlen, &json, &jlen);
	if (rc) {
		rc = VEX_ENOTFOUND;
		goto out;
	}
	/* Our own copy with a NUL, so callers may treat it as a string and free() it. */
	copy = malloc(jlen + 1);
	if (!copy) {
		rc = VEX_ENOMEM;
		goto out;
	}
	if (jlen)
		memcpy(copy, json, jlen);
	copy[jlen] = '\0';
	*ret = copy;
	if (ret_len)
		*ret_len = jlen;
	rc = 0;
out:
	free(val);
	return rc;
}

static int job_delete(struct vex_cache *c, const char *job_id)
{
	char key[CACHE_ID_MAX + 16];
	memcached_return_t mrc;
	size_t klen;
	int rc;

	if (!c)
		return VEX_EINVAL;
	if ((rc = job_op(c, job_id, key, &klen)) != 0)
		return rc;
	mrc = memcached_delete(c->mc, key, klen, 0);
	if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_DELETED)
		return 0;
	if (mrc == MEMCACHED_NOTFOUND)
		return VEX_ENOTFOUND;
	return vex_cache_io_failed(c);
}

int vex_cache_job_delete(struct vex_cache *c, const char *job_id)
{
	return c ? owe_if_missed(c, job_id, job_delete(c, job_id)) : VEX_EINVAL;
}

int vex_cache_ping(struct vex_cache *c)
{
	memcached_return_t mrc;

	if (!c)
		return VEX_EINVAL;
	if (!c->mc)
		return VEX_ENOTFOUND;
	/* Health checks want the truth now, so the skip window does not apply; a success clears it. */
	mrc = memcached_version(c->mc);
	if (mrc != MEMCACHED_SUCCESS)
		return vex_cache_io_failed(c);
	c->skip_until_us = 0;
	return 0;
}

int vex_cache_job_gets(struct vex_cache *c, const char *job_id, struct vex_cache_item *ret)
{
	char key[CACHE_ID_MAX + 16];
	const char *keys[1] = {key};
	size_t lens[1], klen = 0;
	memcached_result_st res, *r;
	memcached_return_t mrc;
	struct vex_cache_item it;
	int rc;

	if (!c || !ret)
		return VEX_EINVAL;
	if ((rc = job_op(c, job_id, key, &klen)) != 0)
		return rc;
	if (!memcached_result_create(c->mc, &res))
		return VEX_ENOMEM;
	memset(&it, 0, sizeof(it));
	lens[0] = klen;
	rc = VEX_EIO;
	if (memcached_mget(c->mc, keys, lens, 1) != MEMCACHED_SUCCESS)
		goto out;
	while ((r = memcached_fetch_result(c->mc, &res, &mrc)) != NULL) {
		const char *val = memcached_result_value(r), *body;
		size_t vlen = memcached_result_length(r), blen;

		if (it.body || vex_cache_open_value(c, key, klen, val, vlen, &body, &blen) != 0)
			continue;
		it.json_len = blen;
		it.len = vlen - HDR_LEN; /* the whole body: open_value gave the JSON part */
		if (!(it.body = malloc(it.len + 1)))
			continue; /* a miss, as anything unusable */
		memcpy(it.body, body, it.len);
		it.body[it.len] = '\0';
		it.cas = memcached_result_cas(r);
		memcpy(it.exp_hex, val + HDR_TAG_LEN, HDR_EXP_LEN);
	}
	if (mrc != MEMCACHED_END && mrc != MEMCACHED_NOTFOUND && mrc != MEMCACHED_SUCCESS) {
		rc = vex_cache_io_failed(c);
		goto out;
	}
	rc = it.body ? 0 : VEX_ENOTFOUND;
	if (rc == 0) {
		*ret = it;
		it.body = NULL;
	}
out:
	free(it.body);
	memcached_result_free(&res);
	return rc;
}

int vex_cache_job_replace(struct vex_cache *c, const char *job_id, const struct vex_cache_item *was,
			  const char *body, size_t len)
{
	char key[CACHE_ID_MAX + 16];
	memcached_return_t mrc;
	size_t klen = 0, vlen = 0;
	int64_t now_s = vex_now_us() / 1000000;
	int64_t exp = (int64_t)strtoull(was->exp_hex, NULL, 16);
	time_t life;
	int rc;

	if (!c || !was || !was->cas || !body)
		return VEX_EINVAL;
	if ((rc = job_op(c, job_id, key, &klen)) != 0)
		return rc;
	if (exp <= now_s)
		return VEX_ENOTFOUND;
	/* The item keeps its deadline (0: for ever); memcached takes a lifetime over 30 days as a Unix time. */
	life = (time_t)(exp == INT64_MAX ? 0 : exp - now_s > 30 * 24 * 3600 ? exp : exp - now_s);
	if ((rc = seal_until(c, key, klen, was->exp_hex, body, len, &vlen)) != 0)
		return rc;
	mrc = memcached_cas(c->mc, key, klen, c->val.p, vlen, life, 0, was->cas);
	if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_STORED)
		return 0;
	if (mrc == MEMCACHED_DATA_EXISTS || mrc == MEMCACHED_NOTSTORED || mrc == MEMCACHED_NOTFOUND)
		return VEX_ECONFLICT;
	return vex_cache_rc_logical(mrc) ? VEX_ETOOBIG : vex_cache_io_failed(c);
}

/* NOREPLY makes it the binary protocol's ADDQ, answered only when it fails (the key exists), and
 * libmemcached skips such an answer when it reads the next one. A reader first misses, refills. */
int vex_cache_job_add_quiet(struct vex_cache *c, const char *job_id, const char *json, size_t len, int ttl_s)
{
	size_t klen = 0, vlen = 0;
	char key[CACHE_ID_MAX + 16];
	memcached_return_t mrc;
	int rc;

	rc = job_sealed(c, job_id, json, len, ttl_s, key, &klen, &vlen);
	if (rc != 0 || memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_NOREPLY, 1) != MEMCACHED_SUCCESS)
		return rc > 0 ? 0 : rc < 0 ? rc : VEX_ERROR; /* 1: disabled, nothing to write */
	mrc = memcached_add(c->mc, key, klen, c->val.p, vlen, (time_t)ttl_s, 0);
	memcached_behavior_set(c->mc, MEMCACHED_BEHAVIOR_NOREPLY, 0);
	if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_STORED || vex_cache_rc_logical(mrc))
		return 0;
	return vex_cache_io_failed(c);
}

static int put_final(struct vex_cache *c, const char *job_id, const char *json, size_t len, int ttl_s)
{
	char key[CACHE_ID_MAX + 16];
	memcached_return_t mrc;
	size_t klen = 0, vlen = 0;
	int rc = job_sealed(c, job_id, json, len, ttl_s, key, &klen, &vlen);

	if (rc)
		return rc > 0 ? 0 : rc; /* 1: disabled, nothing to write */
	mrc = memcached_set(c->mc, key, klen, c->val.p, vlen, (time_t)ttl_s, 0);
	if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_STORED)
		return 0;
	if (!vex_cache_rc_logical(mrc))
		return vex_cache_io_failed(c);
	memcached_delete(c->mc, key, klen, 0); /* too big: readers fall back to the store */
	return VEX_ETOOBIG;
}

int vex_cache_job_put_final(struct vex_cache *c, const char *job_id, const char *json, size_t len, int ttl_s)
{
	return c ? owe_if_missed(c, job_id, put_final(c, job_id, json, len, ttl_s)) : VEX_EINVAL;
}
