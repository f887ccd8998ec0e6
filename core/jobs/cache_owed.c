/* cache_owed.c - job writes that did not reach memcached, made good once it answers again: the
 * key is deleted, so that the copy memcached may still hold from before is not served. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "core/jobs/cache.h"
#include "core/jobs/cache_internal.h"

/*
 * An owed key older than this guards nothing any more: the copy it hides was written before the
 * failed write, and an unfinished job's copy lives 30 s (core/jobs/jobcache.c); a finished job's
 * copy is its last state. Kept twice as long for margin.
 */
#define OWED_KEEP_US (60 * 1000000LL)
/* At most this many keys owed per handle (about 1.5 MB); beyond, a missed write's old copy is
 * served until it expires, as before this list existed. */
#define OWED_MAX 16384
/* Deletes per settle call, so that a long outage's backlog does not hold its caller long. */
#define SETTLE_SLICE 256

struct vex_cache_owed {
	char key[VEX_CACHE_KEY_MAX];
	int64_t at_us; /* vex_mono_us() of the failed write */
};

static struct vex_cache_owed *slot(struct vex_cache *c, size_t i)
{
	return &c->owed[(c->owed_head + i) % c->owed_cap];
}

void vex_cache_owe(struct vex_cache *c, const char *key, size_t klen)
{
	struct vex_cache_owed *o;

	if (!c->mc || klen >= VEX_CACHE_KEY_MAX)
		return;
	/* the newest entry is often the same key (one job's copies within one round) */
	if (c->nowed > 0 && strcmp(slot(c, c->nowed - 1)->key, key) == 0) {
		slot(c, c->nowed - 1)->at_us = vex_mono_us();
		return;
	}
	if (c->nowed == c->owed_cap) {
		size_t cap = c->owed_cap ? c->owed_cap * 2 : 64;
		struct vex_cache_owed *grown;

		if (cap > OWED_MAX || !(grown = malloc(cap * sizeof(*grown)))) {
			if (c->owed_dropped++ == 0)
				vex_log(VEX_LOG_WARN, "cache writes missed beyond what is remembered: older copies "
						      "are served until they expire",
					NULL);
			return;
		}
		for (size_t i = 0; i < c->nowed; i++)
			grown[i] = *slot(c, i);
		free(c->owed);
		c->owed = grown;
		c->owed_cap = cap;
		c->owed_head = 0;
	}
	o = slot(c, c->nowed++);
	memcpy(o->key, key, klen);
	o->key[klen] = '\0';
	o->at_us = vex_mono_us();
}

size_t vex_cache_owed(const struct vex_cache *c)
{
	return c ? c->nowed : 0;
}

int vex_cache_settle(struct vex_cache *c)
{
	int64_t now;
	int done = 0;

	if (!c || !c->mc || c->nowed == 0 || c->settling)
		return 0;
	if (vex_cache_usable(c) != 0)
		return VEX_EIO;
	c->settling = 1;
	now = vex_mono_us();
	while (c->nowed > 0 && done < SETTLE_SLICE) {
		struct vex_cache_owed *o = slot(c, 0);
		memcached_return_t mrc;

		if (now - o->at_us <= OWED_KEEP_US) {
			mrc = memcached_delete(c->mc, o->key, strlen(o->key), 0);
			done++;
			if (!vex_cache_rc_logical(mrc)) {
				vex_cache_io_failed(c);
				break; /* kept: the next settle tries it again */
			}
		}
		c->owed_head = (c->owed_head + 1) % c->owed_cap;
		c->nowed--;
	}
	if (c->nowed == 0)
		c->owed_head = 0;
	c->settling = 0;
	return c->skip_until_us ? VEX_EIO : 0;
}

void vex_cache_owed_free(struct vex_cache *c)
{
	free(c->owed);
	c->owed = NULL;
	c->nowed = c->owed_cap = c->owed_head = 0;
}
