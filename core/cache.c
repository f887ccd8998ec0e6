/* cache.c - the memcached job-status cache: CAS writes that never go back in rev, fail-fast reads. */
#include "cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libmemcached/memcached.h>

#include "err.h"
#include "timeutil.h"

#define CACHE_TTL_S (24 * 3600)
#define CACHE_CAS_TRIES 5
#define CACHE_SKIP_US 1000000 /* after an I/O error, leave memcached alone this long */
#define CACHE_ID_MAX 64

struct vex_cache {
	memcached_st *mc;      /* NULL: disabled */
	int64_t skip_until_us; /* vex_mono_us() before which calls fail fast */
};

int vex_cache_open(const char *servers, int timeout_ms, struct vex_cache **ret)
{
	memcached_server_list_st list = NULL;
	struct vex_cache *c;
	int rc = VEX_ENOMEM;

	c = calloc(1, sizeof(*c));
	if (!c)
		goto out;
	if (!servers || servers[0] == '\0') {
		*ret = c;
		c = NULL;
		rc = 0;
		goto out;
	}
	if (timeout_ms <= 0)
		timeout_ms = 100;
	c->mc = memcached_create(NULL);
	if (!c->mc)
		goto out;
	rc = VEX_EINVAL;
	list = memcached_servers_parse(servers);
	if (!list || memcached_server_push(c->mc, list) != MEMCACHED_SUCCESS)
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
	if (list)
		memcached_server_list_free(list);
	vex_cache_free(c);
	return rc;
}

void vex_cache_free(struct vex_cache *c)
{
	if (!c)
		return;
	if (c->mc)
		memcached_free(c->mc);
	free(c);
}

/* Answers that are about the data, not the connection; anything else counts as an I/O failure. */
static int rc_is_logical(memcached_return_t mrc)
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
static int cache_usable(struct vex_cache *c)
{
	if (c->skip_until_us && vex_mono_us() < c->skip_until_us)
		return VEX_EIO;
	c->skip_until_us = 0;
	return 0;
}

static int io_failed(struct vex_cache *c)
{
	c->skip_until_us = vex_mono_us() + CACHE_SKIP_US;
	return VEX_EIO;
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
 * One gets: 1 with *rev and *cas when the key exists, 0 when absent, or a
 * negative code. The mget is drained to its end so the connection stays in step.
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
			*rev = cached_rev(memcached_result_value(r), memcached_result_length(r));
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

int vex_cache_job_put_ttl(struct vex_cache *c, const char *job_id, const char *json, size_t len, int64_t rev,
			  int ttl_s)
{
	char key[CACHE_ID_MAX + 16];
	memcached_return_t mrc;
	size_t klen;
	int rc;

	if (!c || !json)
		return VEX_EINVAL;
	if (!c->mc)
		return 0;
	if ((rc = job_key(job_id, key, &klen)) != 0)
		return rc;
	if ((rc = cache_usable(c)) != 0)
		return rc;
	/* A new job (rev 1) is normally absent: one add, one round trip, instead of gets then add. */
	if (rev == 1) {
		mrc = memcached_add(c->mc, key, klen, json, len, (time_t)ttl_s, 0);
		if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_STORED)
			return 0;
		if (!rc_is_logical(mrc))
			return io_failed(c);
	}
	for (int i = 0; i < CACHE_CAS_TRIES; i++) {
		int64_t have = 0;
		uint64_t cas = 0;
		int found = gets_rev(c, key, klen, &have, &cas);

		if (found < 0)
			return found == VEX_EIO ? io_failed(c) : found;
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
		if (!rc_is_logical(mrc))
			return io_failed(c);
		/* Too big for an item: drop the old copy so readers fall back to the store, never see it stale. */
		memcached_delete(c->mc, key, klen, 0);
		return VEX_ETOOBIG;
	}
	/* Still racing after all tries: the stored copy may be older than ours, so remove it. */
	mrc = memcached_delete(c->mc, key, klen, 0);
	if (!rc_is_logical(mrc))
		return io_failed(c);
	return VEX_ECONFLICT;
}

int vex_cache_job_get(struct vex_cache *c, const char *job_id, char **ret, size_t *ret_len)
{
	char key[CACHE_ID_MAX + 16], *val = NULL, *copy = NULL;
	memcached_return_t mrc;
	size_t klen, vlen = 0;
	uint32_t flags = 0;
	int rc;

	if (!c || !ret)
		return VEX_EINVAL;
	if (!c->mc)
		return VEX_ENOTFOUND;
	if ((rc = job_key(job_id, key, &klen)) != 0)
		return rc;
	if ((rc = cache_usable(c)) != 0)
		return rc;
	val = memcached_get(c->mc, key, klen, &vlen, &flags, &mrc);
	if (mrc == MEMCACHED_NOTFOUND) {
		rc = VEX_ENOTFOUND;
		goto out;
	}
	if (mrc != MEMCACHED_SUCCESS) {
		rc = rc_is_logical(mrc) ? VEX_ENOTFOUND : io_failed(c);
		goto out;
	}
	/* Our own copy with a NUL, so callers may treat it as a string and free() it. */
	copy = malloc(vlen + 1);
	if (!copy) {
		rc = VEX_ENOMEM;
		goto out;
	}
	if (vlen)
		memcpy(copy, val, vlen);
	copy[vlen] = '\0';
	*ret = copy;
	if (ret_len)
		*ret_len = vlen;
	rc = 0;
out:
	free(val);
	return rc;
}

int vex_cache_job_delete(struct vex_cache *c, const char *job_id)
{
	char key[CACHE_ID_MAX + 16];
	memcached_return_t mrc;
	size_t klen;
	int rc;

	if (!c)
		return VEX_EINVAL;
	if (!c->mc)
		return VEX_ENOTFOUND;
	if ((rc = job_key(job_id, key, &klen)) != 0)
		return rc;
	if ((rc = cache_usable(c)) != 0)
		return rc;
	mrc = memcached_delete(c->mc, key, klen, 0);
	if (mrc == MEMCACHED_SUCCESS || mrc == MEMCACHED_DELETED)
		return 0;
	if (mrc == MEMCACHED_NOTFOUND)
		return VEX_ENOTFOUND;
	return io_failed(c);
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
		return io_failed(c);
	c->skip_until_us = 0;
	return 0;
}

int vex_cache_incr(struct vex_cache *c, const char *key, int ttl_s, uint64_t *ret)
{
	memcached_return_t mrc;
	uint64_t value = 0;
	size_t klen;
	int rc;

	if (!c || !key || !ret || ttl_s < 0)
		return VEX_EINVAL;
	klen = strnlen(key, 251);
	if (klen == 0 || klen > 250)
		return VEX_EINVAL;
	for (size_t i = 0; i < klen; i++)
		if ((unsigned char)key[i] <= ' ' || (unsigned char)key[i] >= 0x7f)
			return VEX_EINVAL;
	if (!c->mc)
		return VEX_ENOTFOUND;
	if ((rc = cache_usable(c)) != 0)
		return rc;
	/* Binary protocol: an absent key is created at 1 with the lifetime, in the same round trip. */
	mrc = memcached_increment_with_initial(c->mc, key, klen, 1, 1, (time_t)ttl_s, &value);
	if (mrc != MEMCACHED_SUCCESS)
		return rc_is_logical(mrc) ? VEX_ERROR : io_failed(c);
	*ret = value;
	return 0;
}
