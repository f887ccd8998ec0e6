/* cache_u64.c - small authenticated numbers in memcached, updated by compare-and-swap (the rate limiter's GCRA times). */
#include "core/jobs/cache.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/jobs/cache_internal.h"

/* Before an operation on a small value: "key" checked (printable ASCII, 1..250 bytes, memcached's
 * limit) and its length, VEX_ENOTFOUND when the cache is disabled, or vex_cache_usable's refusal. */
static int value_op(struct vex_cache *c, const char *key, size_t *ret_len)
{
	size_t klen;

	if (!key)
		return VEX_EINVAL;
	klen = strnlen(key, 251);
	if (klen == 0 || klen > 250)
		return VEX_EINVAL;
	for (size_t i = 0; i < klen; i++)
		if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] >= 0x7f)
			return VEX_EINVAL;
	if (!c->mc)
		return VEX_ENOTFOUND;
	*ret_len = klen;
	return vex_cache_usable(c);
}

int vex_cache_u64_gets(struct vex_cache *c, const char *key, uint64_t *ret_val, uint64_t *ret_cas)
{
	const char *keys[1] = {key};
	size_t lens[1], klen = 0;
	memcached_result_st res, *r;
	memcached_return_t mrc;
	uint64_t val = 0, cas = 0;
	int rc;

	if (!c || !ret_val || !ret_cas)
		return VEX_EINVAL;
	if ((rc = value_op(c, key, &klen)) != 0)
		return rc;
	if (!memcached_result_create(c->mc, &res))
		return VEX_ENOMEM;
	lens[0] = klen;
	rc = VEX_EIO;
	mrc = memcached_mget(c->mc, keys, lens, 1);
	if (mrc != MEMCACHED_SUCCESS)
		goto out;
	while ((r = memcached_fetch_result(c->mc, &res, &mrc)) != NULL) {
		const char *text;
		size_t tlen = 0;
		char digits[24];
		char *end;

		cas = memcached_result_cas(r);
		val = 0;
		/* Not authentic, expired or not a number: 0, and the caller's cas replaces it. */
		if (vex_cache_open_value(c, key, klen, memcached_result_value(r), memcached_result_length(r), &text, &tlen) ==
			    0 &&
		    tlen > 0 && tlen < sizeof(digits)) {
			memcpy(digits, text, tlen);
			digits[tlen] = '\0';
			val = strtoull(digits, &end, 10);
			if (*end != '\0' || digits[0] < '0' || digits[0] > '9')
				val = 0;
		}
	}
	if (mrc != MEMCACHED_END && mrc != MEMCACHED_NOTFOUND && mrc != MEMCACHED_SUCCESS)
		goto out;
	*ret_val = val;
	*ret_cas = cas;
	rc = 0;
out:
	memcached_result_free(&res);
	return rc == VEX_EIO ? vex_cache_io_failed(c) : rc;
}

int vex_cache_u64_cas(struct vex_cache *c, const char *key, uint64_t val, int ttl_s, uint64_t cas)
{
	char digits[24];
	memcached_return_t mrc;
	size_t klen = 0, vlen = 0;
	int rc, n;

	if (!c || ttl_s < 0)
		return VEX_EINVAL;
	if ((rc = value_op(c, key, &klen)) != 0)
		return rc;
	n = snprintf(digits, sizeof(digits), "%" PRIu64, val);
	if ((rc = vex_cache_seal_value(c, key, klen, digits, (size_t)n, ttl_s, &vlen)) != 0)
		return rc;
	if (cas)
		mrc = memcached_cas(c->mc, key, klen, c->val.p, vlen, (time_t)ttl_s, 0, cas);
	else
		mrc = memcached_add(c->mc, key, klen, c->val.p, vlen, (time_t)ttl_s, 0);
	if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_STORED)
		return 0;
	if (mrc == MEMCACHED_DATA_EXISTS || mrc == MEMCACHED_NOTSTORED || mrc == MEMCACHED_NOTFOUND)
		return VEX_ECONFLICT;
	return vex_cache_rc_logical(mrc) ? VEX_ERROR : vex_cache_io_failed(c);
}

