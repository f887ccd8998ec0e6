/* lookup.c - the agent or job a request's path names, for every presenter. */
#include "fcgi-app/lookup.h"

#include <string.h>

#include "core/base/caps.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/store/store.h"
#include "core/base/json.h"
#include "fcgi-app/jobsvc.h"

const char *vex_lookup_scope(const struct vex_ctx *c)
{
	return c->who.role == VEX_ROLE_ADMIN ? NULL : c->who.sub;
}

int vex_lookup_agent(struct vex_ctx *c, struct vex_agent **ret)
{
	int rc = VEX_ENOTFOUND;

	if (vex_uuid_valid(c->params[0]))
		rc = vex_store_agent_get(c->env->store, c->params[0], vex_lookup_scope(c), 0, ret);
	if (rc)
		vex_ctx_fail(c, rc, "agent not found");
	return rc;
}

struct vex_agent *vex_lookup_agent_new(struct vex_ctx *c)
{
	struct vex_agent *a = vex_agent_new();

	if (a == NULL) {
		vex_ctx_fail(c, VEX_ENOMEM, NULL);
		return NULL;
	}
	vex_uuid7(a->id);
	memcpy(a->owner, c->who.sub, sizeof(a->owner));
	a->plan = c->who.plan;
	a->owner_admin = c->who.role == VEX_ROLE_ADMIN;
	a->max_depth = VEX_AGENT_DEPTH_DEFAULT;
	a->status = VEX_AGENT_ACTIVE;
	a->created_at = c->req->now_us;
	a->updated_at = c->req->now_us;
	return a;
}

int vex_lookup_agent_save(struct vex_ctx *c, struct vex_agent *a, int create)
{
	struct vex_field_error e;
	enum vex_cap hit = VEX_CAP_AGENTS;
	struct vex_caps caps;
	int rc;

	vex_caps_of(c->env->cfg, &c->who, &caps);
	if (create) {
		rc = vex_store_agent_insert(c->env->store, a, &caps, &hit);
	} else {
		a->updated_at = c->req->now_us > a->updated_at ? c->req->now_us : a->updated_at + 1;
		rc = vex_store_agent_update(c->env->store, a, &caps, &hit);
	}
	if (rc == VEX_ELIMIT) {
		/* the vex and events dialects share this error shape */
		vex_cap_refuse(hit, caps.max[hit], c->who.plan, &e);
		vex_ctx_field_error(c, &e);
	} else if (rc != 0) {
		vex_ctx_fail(c, rc, "agent not found");
	}
	return rc;
}

int vex_lookup_agent_delete(struct vex_ctx *c)
{
	int rc = VEX_ENOTFOUND;

	if (vex_uuid_valid(c->params[0]))
		rc = vex_store_agent_delete(c->env->store, c->params[0], vex_lookup_scope(c), c->req->now_us);
	if (rc)
		vex_ctx_fail(c, rc, "agent not found");
	else
		c->resp->status = 204;
	return rc;
}

int vex_lookup_job(struct vex_ctx *c, void (*not_found)(struct vex_ctx *c), struct vex_job **ret)
{
	int rc = VEX_ENOTFOUND;

	if (vex_uuid_valid(c->params[0]))
		rc = vex_jobsvc_get(c->env, &c->who, c->params[0], ret);
	if (rc == VEX_ENOTFOUND && not_found)
		not_found(c);
	else if (rc)
		vex_ctx_fail(c, rc, "job not found");
	return rc;
}

void vex_lookup_job_view(struct vex_ctx *c, void (*not_found)(struct vex_ctx *c), char tag,
			 vex_lookup_render_fn render)
{
	struct vex_jobsvc_view v;
	json_t *body = NULL;
	char *text = NULL;
	size_t len = 0;
	int rc = VEX_ENOTFOUND, keep = 0;

	memset(&v, 0, sizeof(v));
	if (vex_uuid_valid(c->params[0]))
		rc = vex_jobsvc_get_view(c->env, &c->who, c->params[0], tag, &v);
	if (rc == 0 && v.cached.body) {
		/* The kept bytes become the response: moved to the front of the buffer they sit in. */
		len = v.cached.body_len;
		text = memmove(v.cached.item.body, v.cached.body, len);
		text[len] = '\0';
		v.cached.item.body = NULL;
	} else if (rc == 0) {
		rc = render(c, &v.job, &body, &keep);
		if (rc == 0 && !(text = vex_json_dump(body)))
			rc = VEX_ENOMEM;
		if (rc == 0) {
			len = strlen(text);
			if (keep)
				vex_jobsvc_keep_view(c->env, &v, tag, text, len);
		}
	}
	if (rc == 0)
		vex_http_take(c->resp, 200, text, len);
	else if (rc == VEX_ENOTFOUND && not_found)
		not_found(c);
	else
		vex_ctx_fail(c, rc, "job not found");
	json_decref(body);
	vex_jobsvc_view_release(&v);
}

void vex_lookup_job_stream_token(struct vex_ctx *c, void (*not_found)(struct vex_ctx *c), const char *path_prefix,
				 int unix_times)
{
	struct vex_job *j = NULL;

	if (vex_lookup_job(c, not_found, &j) != 0)
		return;
	vex_ctx_stream_token(c, j, path_prefix, unix_times);
	vex_job_free(j);
}
