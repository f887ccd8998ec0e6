/* jobcache.c - jobs in the status cache: canonical JSON out, parsed and checked jobs back. */
#include "core/jobs/jobcache.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/buf.h"
#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/log.h"

/* Cached job lifetimes: a finished job never changes; an unfinished one is re-read from SQLite
 * at least this often, which bounds how long a copy left behind by a missed write can be served. */
#define JOB_TTL_DONE_S (24 * 3600)
#define JOB_TTL_LIVE_S 30
#define VIEWS_VALUE_MAX (256 * 1024) /* bytes of JSON and views beyond which no view is kept */

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

int vex_jobcache_parse(const char *id, const char *json, size_t len, struct vex_job **ret)
{
	struct vex_job *j = NULL;
	json_t *v = json_loadb(json, len, 0, NULL);
	int rc = VEX_EINVAL;

	if (v)
		rc = vex_job_from_json(v, &j);
	/* A copy under the wrong key is garbage, never another job's data. */
	if (rc == 0 && strcmp(j->id, id) != 0)
		rc = VEX_EINVAL;
	if (rc == 0) {
		*ret = j;
		j = NULL;
	}
	vex_job_free(j);
	json_decref(v);
	return rc;
}

static void unusable(const char *id, int rc)
{
	if (rc && rc != VEX_ENOTFOUND)
		vex_log(VEX_LOG_DEBUG, "cache read unusable, using the store", "job_id", id, "error", vex_strerror(rc),
			NULL);
}

int vex_jobcache_get(struct vex_cache *c, const char *id, struct vex_job **ret)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	rc = vex_cache_job_get(c, id, &buf, &len);
	if (rc == 0)
		rc = vex_jobcache_parse(id, buf, len, ret);
	unusable(id, rc);
	free(buf);
	return rc;
}

/*
 * The views kept after a cached job's JSON, one record each: "\n" TAG " " OWNER_LEN " " BODY_LEN "\n" OWNER BODY
 * (lengths in decimal). The value is authenticated, so a record is ours; it is still parsed within bounds.
 * 0 with the record of "tag", VEX_ENOTFOUND, VEX_EINVAL (malformed: treated as a miss).
 */
static int find_view(const char *p, const char *end, char tag, struct vex_jobcache_view *v)
{
	while (p < end) {
		unsigned long long olen, blen;
		char *e;
		char t;

		if (end - p < 4 || p[0] != '\n' || p[2] != ' ')
			return VEX_EINVAL;
		t = p[1];
		olen = strtoull(p + 3, &e, 10);
		if (*e != ' ')
			return VEX_EINVAL;
		blen = strtoull(e + 1, &e, 10);
		if (*e != '\n' || e >= end)
			return VEX_EINVAL;
		e++;
		if (olen > (size_t)(end - e) || blen > (size_t)(end - e) - olen)
			return VEX_EINVAL;
		if (t == tag) {
			v->owner = e;
			v->owner_len = (size_t)olen;
			v->body = e + olen;
			v->body_len = (size_t)blen;
			return 0;
		}
		p = e + olen + blen;
	}
	return VEX_ENOTFOUND;
}

int vex_jobcache_get_view(struct vex_cache *c, const char *id, char tag, struct vex_jobcache_view *ret)
{
	struct vex_jobcache_view v;
	int rc;

	memset(&v, 0, sizeof(v));
	rc = vex_cache_job_gets(c, id, &v.item);
	if (rc == 0) {
		rc = find_view(v.item.body + v.item.json_len, v.item.body + v.item.len, tag, &v);
		if (rc == VEX_ENOTFOUND)
			rc = 0; /* the JSON is there; the view is not (yet) */
	}
	unusable(id, rc);
	if (rc == 0) {
		*ret = v;
		v.item.body = NULL;
	}
	free(v.item.body);
	return rc;
}

void vex_jobcache_keep_view(struct vex_cache *c, const char *id, const struct vex_jobcache_view *v, char tag,
			    const char *owner, const char *body, size_t len)
{
	struct vex_buf b;
	int rc = VEX_EINVAL;

	if (!c || !v || !v->item.body || v->body || !owner || !body)
		return;
	/* A value that would near memcached's item size is not grown: its put would fail on every poll. */
	if (len > VIEWS_VALUE_MAX || v->item.len > VIEWS_VALUE_MAX - len)
		return;
	vex_buf_init(&b, SIZE_MAX);
	vex_buf_add(&b, v->item.body, v->item.len);
	vex_buf_printf(&b, "\n%c %zu %zu\n", tag, strlen(owner), len);
	vex_buf_puts(&b, owner);
	vex_buf_add(&b, body, len);
	if (!b.err)
		rc = vex_cache_job_replace(c, id, &v->item, b.p, b.len);
	/* Changed since it was read (a newer copy has none yet), gone or too big: the next poll renders again. */
	if (rc && rc != VEX_ECONFLICT)
		vex_log(VEX_LOG_DEBUG, "cache view not kept", "job_id", id, "error", vex_strerror(rc), NULL);
	vex_buf_release(&b);
}

void vex_jobcache_view_release(struct vex_jobcache_view *v)
{
	if (!v)
		return;
	free(v->item.body);
	memset(v, 0, sizeof(*v));
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
