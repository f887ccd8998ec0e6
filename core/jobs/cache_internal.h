/* cache_internal.h - what the files of the memcached cache share (core/jobs/cache*.c); not for other modules. */
#ifndef VEX_CACHE_INTERNAL_H
#define VEX_CACHE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <libmemcached/memcached.h>
#include <openssl/evp.h>

#include "core/base/buf.h"

/* The longest job key, "vex:job:" + an id of at most 64 bytes, with its NUL (cache.c's key buffers). */
#define VEX_CACHE_KEY_MAX 80

struct vex_cache_owed;

struct vex_cache {
	memcached_st *mc;      /* NULL: disabled */
	int64_t skip_until_us; /* vex_mono_us() before which calls fail fast */
	EVP_MAC_CTX *mac;      /* HMAC-SHA256 keyed with the derived key; re-initialised per value */
	struct vex_buf val;    /* a put's HEADER || JSON, reused */
	uint64_t rejected;     /* values refused (vex_cache_rejected) */
	uint64_t unlogged;     /* refusals not logged since the last warning */
	int64_t warned_us;     /* vex_mono_us() of the last warning, 0: none yet */
	/* keys whose write did not reach memcached, oldest first (a ring; cache_owed.c) */
	struct vex_cache_owed *owed;
	size_t nowed, owed_cap, owed_head;
	uint64_t owed_dropped; /* keys not remembered: the ring was full */
	int settling;          /* inside vex_cache_settle */
	char *sasl_user;       /* NULL, or the user TCP connections authenticate as (vex_cache_sasl) */
};

/* cache.c's checks and seals, shared with cache_u64.c. vex_cache_usable: 0, or VEX_EIO while
 * memcached is skipped after an error; vex_cache_io_failed: start skipping, VEX_EIO;
 * vex_cache_rc_logical: memcached answered (a refusal), as opposed to an I/O failure;
 * vex_cache_open_value: the authentic JSON part of a value read under "key" (0) or a refusal;
 * vex_cache_seal_value: HEADER || JSON into c->val for a write of lifetime "ttl_s". */
int vex_cache_usable(struct vex_cache *c);
int vex_cache_io_failed(struct vex_cache *c);
int vex_cache_rc_logical(memcached_return_t mrc);
int vex_cache_open_value(struct vex_cache *c, const char *key, size_t klen, const char *val, size_t vlen,
			 const char **ret_json, size_t *ret_len);
int vex_cache_seal_value(struct vex_cache *c, const char *key, size_t klen, const char *json, size_t len, int ttl_s,
			 size_t *ret_len);

/* cache_owed.c: remember job key "key" ("klen" bytes) whose write failed or was skipped, so that
 * vex_cache_settle deletes it once memcached answers again; vex_cache_owed_free releases the list. */
void vex_cache_owe(struct vex_cache *c, const char *key, size_t klen);
void vex_cache_owed_free(struct vex_cache *c);

/* Add every server of "servers" (vex_cache_open's list) to "mc". 0 or VEX_EINVAL. */
int vex_cache_add_servers(memcached_st *mc, const char *servers);

#endif
