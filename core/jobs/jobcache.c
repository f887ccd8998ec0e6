/* jobcache.c - jobs in the status cache: canonical JSON out, parsed and checked jobs back. */
#include "core/jobs/jobcache.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"

/* Cached job lifetimes: a finished job never changes; an unfinished one is re-read from SQLite
 * at least this often, which bounds how long a copy left behind by a missed write can be served. */
#define JOB_TTL_DONE_S (24 * 3600)
#define JOB_TTL_LIVE_S 30

/* The job's canonical JSON as text (the caller frees it), NULL when out of memory. */
static char *job_text(const struct vex_job *j)
{
	json_t *v = vex_job_to_json(j);
	char *text = v ? vex_json_dump(v) : NULL;

	json_decref(v);
	return text;
}

void vex_jobcache_publish(struct vex_cache *c, const struct vex_job *j)
{
	char *text;
	int rc = VEX_ENOMEM;

	if (!c || !j)
		return;
	text = job_text(j);
	if (text)
		rc = vex_cache_job_put_ttl(c, j->id, text, strlen(text), j->rev,
					   vex_job_status_terminal(j->status) ? JOB_TTL_DONE_S : JOB_TTL_LIVE_S);
	if (rc)
		vex_log(VEX_LOG_DEBUG, "cache put failed", "job_id", j->id, "error", vex_strerror(rc), NULL);
	free(text);
}

int vex_jobcache_get(struct vex_cache *c, const char *id, struct vex_job **ret)
{
	struct vex_job *j = NULL;
	json_t *v = NULL;
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = vex_cache_job_get(c, id, &buf, &len);
	if (rc)
		goto out;
	v = json_loadb(buf, len, 0, NULL);
	if (!v) {
		rc = VEX_EINVAL;
		goto out;
	}
	rc = vex_job_from_json(v, &j);
	if (rc)
		goto out;
	/* A copy under the wrong key is garbage, never another job's data. */
	if (strcmp(j->id, id) != 0) {
		rc = VEX_EINVAL;
		goto out;
	}
	*ret = j;
	j = NULL;
out:
	if (rc && rc != VEX_ENOTFOUND)
		vex_log(VEX_LOG_DEBUG, "cache read unusable, using the store", "job_id", id, "error",
			vex_strerror(rc), NULL);
	vex_job_free(j);
	json_decref(v);
	free(buf);
	return rc;
}

void vex_jobcache_publish_new(struct vex_cache *c, const struct vex_job *j)
{
	char *text;
	int rc = VEX_ENOMEM;

	if (!c || !j)
		return;
	if (j->rev != 1 || vex_job_status_terminal(j->status)) {
		vex_jobcache_publish(c, j);
		return;
	}
	text = job_text(j);
	if (text)
		rc = vex_cache_job_add_quiet(c, j->id, text, strlen(text), JOB_TTL_LIVE_S);
	if (rc)
		vex_log(VEX_LOG_DEBUG, "cache add failed", "job_id", j->id, "error", vex_strerror(rc), NULL);
	free(text);
}
