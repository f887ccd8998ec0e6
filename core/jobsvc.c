/* jobsvc.c - job operations shared by every dialect: get (cache first), submit agent/tool, cancel, publish. */
#include "jobsvc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "timeutil.h"
#include "tools.h"
#include "wake.h"

/* Cached job lifetimes: a finished job never changes; an unfinished one is re-read from SQLite
 * at least this often, which bounds how long a copy left behind by a missed write can be served. */
#define JOB_TTL_DONE_S (24 * 3600)
#define JOB_TTL_LIVE_S 30
#define CONTEXT_ID_MAX 256            /* bytes of a context_id */
#define IDEM_KEY_MAX 255              /* bytes of an Idempotency-Key */
#define TOOL_TIMEOUT_MAX_MS 86400000LL /* one day */
#define SCHEMA_DEPTH_MAX 16

void vex_jobsvc_publish(struct vex_cache *c, const struct vex_job *j)
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

/* The cached copy of job "id", parsed; any failure is a miss (the caller reads SQLite). */
static int get_cached(struct vex_cache *c, const char *id, struct vex_job **ret)
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

int vex_jobsvc_get(struct vex_env *env, const struct vex_principal *who, const char *id, struct vex_job **ret)
{
	struct vex_job *j = NULL;
	int admin = who->role == VEX_ROLE_ADMIN;
	int rc;

	if (!id || !*id)
		return VEX_EINVAL;
	if (get_cached(env->cache, id, &j) == 0) {
		/* Owners never change, so the cached owner is as good as the stored one. */
		if (!admin && strcmp(j->owner, who->sub) != 0) {
			rc = VEX_ENOTFOUND;
			goto out;
		}
		rc = 0;
		goto out;
	}
	rc = vex_store_job_get(env->store, id, admin ? NULL : who->sub, &j);
	if (rc)
		goto out;
	vex_jobsvc_publish(env->cache, j);
out:
	if (rc == 0) {
		*ret = j;
		j = NULL;
	}
	vex_job_free(j);
	return rc;
}

/* Insert, publish, and wake the runner when a job was created. */
static int queue_job(struct vex_env *env, const struct vex_job *j, struct vex_job **ret, int *ret_created)
{
	struct vex_job *got = NULL;
	int created = 0, rc;

	rc = VEX_EIO;
	if (env->commitq)
		rc = vex_commitq_insert(env->commitq, j, &got, &created);
	if (rc == VEX_EIO) {
		/* No committer (or no answer from it): insert here. If the committer did store it after
		 * all, the same id is already there, and that row is the answer. */
		rc = vex_store_job_insert(env->store, j, &got, &created);
		if (rc == VEX_EEXIST && vex_store_job_get(env->store, j->id, j->owner, &got) == 0) {
			created = 1;
			rc = 0;
		}
	}
	if (rc)
		return rc;
	vex_jobsvc_publish(env->cache, got);
	if (created && env->wake_fd >= 0 && env->cfg && env->cfg->runner_socket)
		vex_wake_send(env->wake_fd, env->cfg->runner_socket);
	*ret = got;
	if (ret_created)
		*ret_created = created;
	return 0;
}

static int check_idem_key(const char *key, struct vex_field_error *e)
{
	if (!key)
		return 0;
	if (!*key || strlen(key) > IDEM_KEY_MAX || vex_has_control_chars(key))
		return vex_field_error_set(e, 400, "VALIDATION_ERROR", "Idempotency-Key",
					   "Idempotency-Key must be 1-%d printable characters", IDEM_KEY_MAX);
	return 0;
}

/* Fill the fields every new job shares from the principal and the configuration. */
static void job_defaults(struct vex_env *env, const struct vex_principal *who, struct vex_job *j)
{
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", who->sub);
	j->plan = who->plan;
	j->max_attempts = env->cfg && env->cfg->max_attempts > 0 ? env->cfg->max_attempts : 1;
	j->timeout_ms = env->cfg && env->cfg->default_timeout_ms > 0 ? env->cfg->default_timeout_ms : 300000;
	j->created_at = vex_now_us();
}

int vex_jobsvc_submit_agent(struct vex_env *env, const struct vex_principal *who, const char *agent_id,
			    const char *prompt, const char *context_id, const char *idem_key,
			    struct vex_job **ret, int *ret_created, struct vex_field_error *e)
{
	struct vex_field_error scratch;
	struct vex_agent *agent = NULL;
	struct vex_job *j = NULL;
	json_t *input = NULL;
	int rc;

	if (!e)
		e = &scratch;
	if (!agent_id || !*agent_id)
		return VEX_ENOTFOUND;
	rc = vex_store_agent_get(env->store, agent_id, who->role == VEX_ROLE_ADMIN ? NULL : who->sub, 0, &agent);
	if (rc)
		goto out;
	rc = vex_prompt_validate(prompt, e);
	if (rc)
		goto out;
	if (context_id && (strlen(context_id) > CONTEXT_ID_MAX || vex_has_control_chars(context_id))) {
		rc = vex_field_error_set(e, 422, "VALIDATION_ERROR", "context_id",
					 "context_id must be at most %d printable characters", CONTEXT_ID_MAX);
		goto out;
	}
	rc = check_idem_key(idem_key, e);
	if (rc)
		goto out;
	j = vex_job_new();
	input = json_pack("{s:s, s:s?}", "prompt", prompt, "context_id", context_id);
	if (!j || !input) {
		rc = VEX_ENOMEM;
		goto out;
	}
	job_defaults(env, who, j);
	j->kind = VEX_JOB_AGENT;
	snprintf(j->agent_id, sizeof(j->agent_id), "%s", agent->id);
	j->input_json = vex_json_dump(input);
	j->idempotency_key = idem_key ? strdup(idem_key) : NULL;
	if (!j->input_json || (idem_key && !j->idempotency_key)) {
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = queue_job(env, j, ret, ret_created);
out:
	json_decref(input);
	vex_job_free(j);
	vex_agent_free(agent);
	return rc;
}

/* ---- arguments against a tool's input schema (the subset of JSON Schema tools use) ---- */

static int schema_fail(struct vex_field_error *e, const char *path, const char *what)
{
	return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", path, "%s %s", path, what);
}

static int type_matches(const char *type, const json_t *v)
{
	if (strcmp(type, "object") == 0)
		return json_is_object(v);
	if (strcmp(type, "array") == 0)
		return json_is_array(v);
	if (strcmp(type, "string") == 0)
		return json_is_string(v);
	if (strcmp(type, "integer") == 0)
		return json_is_integer(v);
	if (strcmp(type, "number") == 0)
		return json_is_number(v);
	if (strcmp(type, "boolean") == 0)
		return json_is_boolean(v);
	if (strcmp(type, "null") == 0)
		return json_is_null(v);
	return 1; /* an unknown type name constrains nothing */
}

static int check_type(const json_t *schema, const json_t *v, const char *path, struct vex_field_error *e)
{
	const json_t *type = json_object_get(schema, "type"), *t;
	char what[128];
	size_t i;

	if (json_is_string(type)) {
		if (type_matches(json_string_value(type), v))
			return 0;
		snprintf(what, sizeof(what), "must be of type %s", json_string_value(type));
		return schema_fail(e, path, what);
	}
	if (json_is_array(type)) {
		json_array_foreach(type, i, t)
			if (json_is_string(t) && type_matches(json_string_value(t), v))
				return 0;
		return schema_fail(e, path, "has the wrong type");
	}
	return 0;
}

static int check_value(const json_t *schema, const json_t *v, const char *path, int depth,
		       struct vex_field_error *e);

static int check_object(const json_t *schema, const json_t *v, const char *path, int depth,
			struct vex_field_error *e)
{
	const json_t *props = json_object_get(schema, "properties");
	const json_t *extra = json_object_get(schema, "additionalProperties");
	const json_t *required = json_object_get(schema, "required"), *item, *sub;
	char child[256], what[192];
	const char *key;
	size_t i;
	int rc;

	json_array_foreach(required, i, item) {
		if (json_is_string(item) && !json_object_get(v, json_string_value(item))) {
			/* Name the missing argument itself (path below "arguments"), as clients expect. */
			snprintf(child, sizeof(child), "%s.%s", path, json_string_value(item));
			return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", child, "Missing required argument: %s",
						   child + strlen("arguments."));
		}
	}
	json_object_foreach((json_t *)v, key, item) {
		snprintf(child, sizeof(child), "%s.%s", path, key);
		sub = json_is_object(props) ? json_object_get(props, key) : NULL;
		if (!sub && json_is_false(extra)) {
			snprintf(what, sizeof(what), "is not allowed (unknown property)");
			return schema_fail(e, child, what);
		}
		if (!sub && json_is_object(extra))
			sub = extra;
		if (sub) {
			rc = check_value(sub, item, child, depth + 1, e);
			if (rc)
				return rc;
		}
	}
	return 0;
}

static int check_value(const json_t *schema, const json_t *v, const char *path, int depth,
		       struct vex_field_error *e)
{
	const json_t *x, *item;
	char what[128];
	size_t i;
	int rc;

	if (!json_is_object(schema) || depth > SCHEMA_DEPTH_MAX)
		return 0;
	rc = check_type(schema, v, path, e);
	if (rc)
		return rc;
	x = json_object_get(schema, "enum");
	if (json_is_array(x)) {
		int found = 0;

		json_array_foreach(x, i, item)
			if (json_equal(item, (json_t *)v))
				found = 1;
		if (!found)
			return schema_fail(e, path, "is not one of the allowed values");
	}
	if (json_is_number(v)) {
		x = json_object_get(schema, "minimum");
		if (json_is_number(x) && json_number_value(v) < json_number_value(x)) {
			snprintf(what, sizeof(what), "must be at least %g", json_number_value(x));
			return schema_fail(e, path, what);
		}
		x = json_object_get(schema, "maximum");
		if (json_is_number(x) && json_number_value(v) > json_number_value(x)) {
			snprintf(what, sizeof(what), "must be at most %g", json_number_value(x));
			return schema_fail(e, path, what);
		}
	}
	if (json_is_string(v)) {
		size_t n = vex_utf8_len(json_string_value(v));

		x = json_object_get(schema, "minLength");
		if (json_is_integer(x) && (json_int_t)n < json_integer_value(x)) {
			snprintf(what, sizeof(what), "must be at least %lld characters",
				 (long long)json_integer_value(x));
			return schema_fail(e, path, what);
		}
		x = json_object_get(schema, "maxLength");
		if (json_is_integer(x) && (json_int_t)n > json_integer_value(x)) {
			snprintf(what, sizeof(what), "must be at most %lld characters",
				 (long long)json_integer_value(x));
			return schema_fail(e, path, what);
		}
	}
	if (json_is_array(v)) {
		x = json_object_get(schema, "items");
		json_array_foreach(v, i, item) {
			char child[256];

			snprintf(child, sizeof(child), "%s[%zu]", path, i);
			rc = check_value(x, item, child, depth + 1, e);
			if (rc)
				return rc;
		}
	}
	if (json_is_object(v))
		return check_object(schema, v, path, depth, e);
	return 0;
}

static int check_arguments(const struct vex_tool_info *t, json_t *arguments, struct vex_field_error *e)
{
	json_t *schema;
	int rc;

	if (!json_is_object(arguments))
		return vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "arguments", "arguments must be an object");
	schema = json_loads(t->input_schema_json, 0, NULL);
	if (!schema)
		return VEX_ENOMEM;
	rc = check_value(schema, arguments, "arguments", 0, e);
	json_decref(schema);
	return rc;
}

int vex_jobsvc_submit_tool(struct vex_env *env, const struct vex_principal *who, const char *tool,
			   json_t *arguments, int64_t timeout_ms, const char *idem_key,
			   struct vex_job **ret, int *ret_created, struct vex_field_error *e)
{
	struct vex_field_error scratch;
	const struct vex_tool_info *t;
	struct vex_job *j = NULL;
	int rc;

	if (!e)
		e = &scratch;
	t = vex_tool_find(tool);
	if (!t)
		return VEX_ENOTFOUND;
	rc = check_arguments(t, arguments, e);
	if (rc)
		goto out;
	if (timeout_ms > TOOL_TIMEOUT_MAX_MS) {
		rc = vex_field_error_set(e, 400, "INVALID_ARGUMENTS", "timeout_ms",
					 "timeout_ms must be at most %lld", TOOL_TIMEOUT_MAX_MS);
		goto out;
	}
	rc = check_idem_key(idem_key, e);
	if (rc)
		goto out;
	j = vex_job_new();
	if (!j) {
		rc = VEX_ENOMEM;
		goto out;
	}
	job_defaults(env, who, j);
	j->kind = VEX_JOB_TOOL;
	if (timeout_ms > 0)
		j->timeout_ms = timeout_ms;
	j->tool = strdup(t->name);
	j->input_json = vex_json_dump(arguments);
	j->idempotency_key = idem_key ? strdup(idem_key) : NULL;
	if (!j->tool || !j->input_json || (idem_key && !j->idempotency_key)) {
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = queue_job(env, j, ret, ret_created);
out:
	vex_job_free(j);
	return rc;
}

int vex_jobsvc_cancel(struct vex_env *env, const struct vex_principal *who, const char *id, int force_running,
		      struct vex_job **ret)
{
	struct vex_job *j = NULL;
	int rc;

	if (!id || !*id)
		return VEX_EINVAL;
	rc = vex_store_job_cancel(env->store, id, who->role == VEX_ROLE_ADMIN ? NULL : who->sub, force_running,
				  vex_now_us(), &j);
	if (rc == 0)
		vex_jobsvc_publish(env->cache, j);
	if ((rc == 0 || rc == VEX_ESTATE) && ret) {
		*ret = j;
		j = NULL;
	}
	vex_job_free(j);
	return rc;
}

/* Poll intervals of vex_jobsvc_wait: quick at first (most tools finish in milliseconds), then calmer. */
#define WAIT_POLL_FIRST_MS 2
#define WAIT_POLL_MAX_MS 25

int vex_jobsvc_wait(struct vex_env *env, const struct vex_principal *who, const char *id, int64_t deadline_us,
		    struct vex_job **ret)
{
	struct vex_job *j = NULL;
	int rc, pause_ms = WAIT_POLL_FIRST_MS;
	int64_t now;

	for (;;) {
		rc = vex_jobsvc_get(env, who, id, &j);
		if (rc)
			goto out;
		if (vex_job_status_terminal(j->status))
			goto out;
		vex_job_free(j);
		j = NULL;
		now = vex_now_us();
		if (now >= deadline_us) {
			rc = VEX_ESTATE;
			goto out;
		}
		if ((deadline_us - now) / 1000 < pause_ms)
			pause_ms = (int)((deadline_us - now) / 1000) + 1;
		vex_sleep_ms(pause_ms, NULL);
		if (pause_ms < WAIT_POLL_MAX_MS)
			pause_ms = pause_ms * 2 > WAIT_POLL_MAX_MS ? WAIT_POLL_MAX_MS : pause_ms * 2;
	}
out:
	if (rc == 0)
		*ret = j;
	else
		vex_job_free(j);
	return rc;
}
