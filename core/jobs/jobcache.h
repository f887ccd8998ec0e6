/* jobcache.h - jobs in the status cache: publish a job's canonical JSON, read a cached copy back. */
#ifndef VEX_JOBCACHE_H
#define VEX_JOBCACHE_H

#include "core/jobs/cache.h"
#include "core/jobs/model.h"

/* Write the job's canonical JSON to the cache (CAS rule); errors are logged at debug and ignored. */
void vex_jobcache_publish(struct vex_cache *c, const struct vex_job *j);

/* The same for a job just created (rev 1): one add nobody waits for (vex_cache_job_add_quiet);
 * any other rev goes through vex_jobcache_publish. */
void vex_jobcache_publish_new(struct vex_cache *c, const struct vex_job *j);

/*
 * The cached copy of job "id", parsed into *ret (the caller frees it with vex_job_free). Any failure
 * is a miss for the caller, who reads the store: VEX_ENOTFOUND when absent, another error when the
 * copy is unusable (logged at debug).
 */
int vex_jobcache_get(struct vex_cache *c, const char *id, struct vex_job **ret);

#endif
