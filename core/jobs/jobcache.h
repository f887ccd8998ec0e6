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

/* The cached JSON "json" ("len" bytes) of job "id" parsed into *ret: VEX_EINVAL when it is not a job, or is another
 * job's, VEX_ENOMEM. */
int vex_jobcache_parse(const char *id, const char *json, size_t len, struct vex_job **ret);

/*
 * A job's response body in one dialect (its "view", named by one byte "tag") kept in the cached value beside the
 * job's JSON, so that a poll of an unchanged job sends bytes instead of parsing and rendering again. The value is
 * MAC'd as a whole (core/jobs/cache.c): whoever can write memcached causes misses, never a forged body. Every put
 * of the job replaces the value, so a view never outlives the state it shows.
 */
struct vex_jobcache_view {
	struct vex_cache_item item; /* the value as read: the JSON is item.body[0..item.json_len) */
	const char *body;           /* the view "tag" inside item.body, or NULL when none is kept */
	size_t body_len;
	const char *owner; /* the job's owner, as the view recorded it (with "body") */
	size_t owner_len;
};

/* Read job "id" and its view "tag" (caller releases *ret). Failures are misses, as for vex_jobcache_get. */
int vex_jobcache_get_view(struct vex_cache *c, const char *id, char tag, struct vex_jobcache_view *ret);

/* Keep "body" ("len" bytes, no newline needed) as view "tag" of the value "v" was read from, whose job has the
 * owner "owner": a compare-and-swap, so nothing is written if the job changed since. Errors are ignored. */
void vex_jobcache_keep_view(struct vex_cache *c, const char *id, const struct vex_jobcache_view *v, char tag,
			    const char *owner, const char *body, size_t len);

void vex_jobcache_view_release(struct vex_jobcache_view *v);

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
