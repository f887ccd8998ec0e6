/* jobfilter.c - the job listings' filters both job dialects take, read from the query string. */
#include "fcgi-app/jobfilter.h"

#include <stdio.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/timeutil.h"

#define STATUS_QUERY_MAX 128 /* bytes of "status": every name once, with commas, fits */

static const char *const vex_names = "pending, running, completed, failed, canceled, timeout";
static const char *const corex_names = "queued, running, completed, failed, canceled, timeout";

/* One status name of the dialect: 0 with *ret, or VEX_EINVAL. */
static int status_name(enum vex_jobfilter_names names, const char *name, enum vex_job_status *ret)
{
	enum vex_job_status s;

	if (names == VEX_JOBFILTER_VEX && strcmp(name, "pending") == 0) {
		*ret = VEX_JOB_QUEUED;
		return 0;
	}
	if (names == VEX_JOBFILTER_VEX && strcmp(name, "queued") == 0)
		return VEX_EINVAL;
	if (vex_job_status_parse(name, &s) != 0)
		return VEX_EINVAL;
	*ret = s;
	return 0;
}

/* "status": one name, or several joined by commas (a set: f->status_mask). */
static int parse_status(struct vex_ctx *c, enum vex_jobfilter_names names, struct vex_job_filter *f,
			struct vex_field_error *e)
{
	const char *known = names == VEX_JOBFILTER_VEX ? vex_names : corex_names;
	char buf[STATUS_QUERY_MAX], *p, *comma;
	enum vex_job_status s;
	unsigned mask = 0;
	int rc, n = 0;

	rc = vex_http_query(c->req, "status", buf, sizeof(buf));
	if (rc == VEX_ENOTFOUND || (rc == 0 && buf[0] == '\0' && names == VEX_JOBFILTER_COREX))
		return 0;
	if (rc != 0 || buf[0] == '\0')
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "status",
					   "status must be one of %s, or several joined by commas", known);
	for (p = buf; p; p = comma ? comma + 1 : NULL) {
		comma = strchr(p, ',');
		if (comma)
			*comma = '\0';
		if (status_name(names, p, &s) != 0)
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", "status",
						   "unknown status '%.32s' in status; known: %s", p, known);
		if (!(mask & (1u << s)))
			n++;
		mask |= 1u << s;
	}
	if (n == 1) {
		for (s = 0; !(mask & (1u << s)); s++)
			;
		f->status = (int)s;
		f->status_mask = 0;
	} else {
		f->status = -1;
		f->status_mask = mask;
	}
	return 0;
}

/* The query parameter "key" into "out" ("cap" bytes): 1 present and not empty, 0 absent or empty; a
 * value too long or badly escaped is VEX_EINVAL with "e" saying so. */
static int text_param(struct vex_ctx *c, const char *key, char *out, size_t cap, const char *what,
		      struct vex_field_error *e)
{
	int rc = vex_http_query(c->req, key, out, cap);

	if (rc == VEX_ENOTFOUND)
		return 0;
	if (rc != 0)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", key, "%s must be %s", key, what);
	return out[0] != '\0';
}

/* An RFC 3339 time parameter into *ret (left as it is when absent). */
static int time_param(struct vex_ctx *c, const char *key, int64_t *ret, struct vex_field_error *e)
{
	char buf[64];
	int64_t us;
	int rc = text_param(c, key, buf, sizeof(buf), "an RFC 3339 date-time (2026-01-02T03:04:05Z)", e);

	if (rc <= 0)
		return rc;
	if (vex_parse_rfc3339(buf, &us) != 0 || us <= 0)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", key,
					   "%s must be an RFC 3339 date-time after 1970 (2026-01-02T03:04:05Z; a '+' offset"
					   " written %%2B)", key);
	*ret = us;
	return 0;
}

int vex_jobfilter_query(struct vex_ctx *c, enum vex_jobfilter_names names, struct vex_job_filter *f,
			struct vex_jobfilter_bufs *b, struct vex_field_error *e)
{
	char kind[16];
	size_t i;
	int rc;

	rc = parse_status(c, names, f, e);
	if (rc)
		return rc;
	rc = text_param(c, "kind", kind, sizeof(kind), "agent or tool", e);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		if (strcmp(kind, "agent") == 0)
			f->kind = VEX_JOB_AGENT;
		else if (strcmp(kind, "tool") == 0)
			f->kind = VEX_JOB_TOOL;
		else
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", "kind", "kind must be agent or tool");
	}
	rc = text_param(c, "tool", b->tool, sizeof(b->tool), "a tool name of at most 256 bytes", e);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		for (i = 0; b->tool[i]; i++)
			if ((unsigned char)b->tool[i] < 0x20 || b->tool[i] == 0x7f)
				return vex_field_error_set(e, 400, "VALIDATION_ERROR", "tool",
							   "tool must not hold control characters");
		f->tool = b->tool;
	}
	rc = text_param(c, "agent_id", b->agent_id, sizeof(b->agent_id), "a UUID", e);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		if (!vex_uuid_valid(b->agent_id))
			return vex_field_error_set(e, 400, "VALIDATION_ERROR", "agent_id", "agent_id must be a UUID");
		f->agent_id = b->agent_id;
	}
	rc = time_param(c, "created_after", &f->created_after, e);
	if (rc == 0)
		rc = time_param(c, "created_before", &f->created_before, e);
	if (rc)
		return rc;
	if (f->created_after && f->created_before && f->created_after >= f->created_before)
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "created_before",
					   "created_before must be later than created_after");
	return 0;
}
