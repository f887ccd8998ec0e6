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

void vex_jobcache_publish(struct vex_cache *c, const struct vex_job *j)
{
	json_t *v = NULL;
	char *text = NULL;
	int rc = VEX_ENOMEM;

	if (!c || !j)
		return;
	v = vex_job_to_json(j);
	if (v)
		text = vex_json_dump(v);
	if (text)
		rc = vex_cache_job_put_ttl(c, j->id, text, strlen(text), j->rev,
					   vex_job_status_terminal(j->status) ? JOB_TTL_DONE_S : JOB_TTL_LIVE_S);
	if (rc)
		vex_log(VEX_LOG_DEBUG, "cache put failed", "job_id", j->id, "error", vex_strerror(rc), NULL);
	free(text);
	json_decref(v);
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

int vex_jobcache_render(const struct vex_job *j, struct vex_jobcache_item *ret)
{
	json_t *v = vex_job_to_json(j);
	char *text = v ? vex_json_dump(v) : NULL;

	json_decref(v);
	if (!text)
		return VEX_ENOMEM;
	memcpy(ret->id, j->id, sizeof(ret->id));
	ret->rev = j->rev;
	ret->final = vex_job_status_terminal(j->status);
	ret->ttl_s = ret->final ? JOB_TTL_DONE_S : JOB_TTL_LIVE_S;
	ret->json = text;
	ret->len = strlen(text);
	return 0;
}

/* 1 when a later item of "items" holds a newer copy of the same job as item "i". */
static int superseded(const struct vex_jobcache_item *items, size_t n, size_t i)
{
	for (size_t k = i + 1; k < n; k++)
		if (items[k].rev >= items[i].rev && strcmp(items[k].id, items[i].id) == 0)
			return 1;
	return 0;
}

void vex_jobcache_put_items(struct vex_cache *c, struct vex_jobcache_item *items, size_t n)
{
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		if (c && items[i].json && !superseded(items, n, i)) {
			rc = items[i].final ? vex_cache_job_put_final(c, items[i].id, items[i].json, items[i].len,
								      items[i].ttl_s)
					    : vex_cache_job_put_ttl(c, items[i].id, items[i].json, items[i].len,
								    items[i].rev, items[i].ttl_s);
			if (rc)
				vex_log(VEX_LOG_DEBUG, "cache put failed", "job_id", items[i].id, "error",
					vex_strerror(rc), NULL);
		}
		free(items[i].json);
		items[i].json = NULL;
	}
}
