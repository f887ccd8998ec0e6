/* jobcache.h - jobs in the status cache: publish a job's canonical JSON, read a cached copy back. */
#ifndef VEX_JOBCACHE_H
#define VEX_JOBCACHE_H

#include "core/jobs/cache.h"
#include "core/jobs/model.h"

/* Write the job's canonical JSON to the cache (CAS rule); errors are logged at debug and ignored. */
void vex_jobcache_publish(struct vex_cache *c, const struct vex_job *j);

/*
 * The cached copy of job "id", parsed into *ret (the caller frees it with vex_job_free). Any failure
 * is a miss for the caller, who reads the store: VEX_ENOTFOUND when absent, another error when the
 * copy is unusable (logged at debug).
 */
int vex_jobcache_get(struct vex_cache *c, const char *id, struct vex_job **ret);

/*
 * Publishing many jobs at once (the runner's writer, after each group commit): render each job
 * while it is at hand (vex_jobcache_render: 0 or VEX_ENOMEM; the item owns its JSON), then write
 * them all (vex_jobcache_put_items): of several items of one job only the highest rev is written,
 * a terminal one with a single set (nothing can be newer), others under the CAS rule of
 * vex_jobcache_publish; failures are logged at debug. put_items
 * releases every item's JSON.
 */
struct vex_jobcache_item {
	char id[VEX_UUID_LEN + 1];
	int64_t rev;
	int ttl_s;
	int final;   /* a terminal job: written with one set (vex_cache_job_put_final) */
	char *json;
	size_t len;
};

int vex_jobcache_render(const struct vex_job *j, struct vex_jobcache_item *ret);
void vex_jobcache_put_items(struct vex_cache *c, struct vex_jobcache_item *items, size_t n);

#endif
