/* model.c - agent and job model: status names, allocation, copies, domain validation, progress. */
#include "core/jobs/model.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"

static const char *const job_status_names[VEX_JOB_STATUS_COUNT] = {
	"queued", "running", "completed", "failed", "timeout", "canceled"
};

const char *vex_job_status_name(enum vex_job_status s)
{
	if ((unsigned)s >= VEX_JOB_STATUS_COUNT)
		return "unknown";
	return job_status_names[s];
}

int vex_job_status_parse(const char *name, enum vex_job_status *ret)
{
	int i;

	if (!name)
		return VEX_EINVAL;
	for (i = 0; i < VEX_JOB_STATUS_COUNT; i++) {
		if (strcmp(name, job_status_names[i]) == 0) {
			*ret = (enum vex_job_status)i;
			return 0;
		}
	}
	return VEX_EINVAL;
}

int vex_job_status_terminal(enum vex_job_status s)
{
	return s == VEX_JOB_COMPLETED || s == VEX_JOB_FAILED || s == VEX_JOB_TIMEOUT || s == VEX_JOB_CANCELED;
}

const char *vex_job_kind_name(enum vex_job_kind k)
{
	return k == VEX_JOB_TOOL ? "tool" : "agent";
}

const char *vex_agent_status_name(enum vex_agent_status s)
{
	switch (s) {
	case VEX_AGENT_ACTIVE: return "ACTIVE";
	case VEX_AGENT_PAUSED: return "PAUSED";
	case VEX_AGENT_DELETED: return "DELETED";
	}
	return "ACTIVE";
}

struct vex_agent *vex_agent_new(void)
{
	return calloc(1, sizeof(struct vex_agent));
}

void vex_agent_free(struct vex_agent *a)
{
	if (!a)
		return;
	free(a->name);
	free(a->role);
	free(a->model);
	free(a->tools_json);
	free(a->base_url);
	free(a->schedule_json);
	free(a);
}

struct vex_job *vex_job_new(void)
{
	return calloc(1, sizeof(struct vex_job));
}

void vex_job_free(struct vex_job *j)
{
	if (!j)
		return;
	free(j->tool);
	free(j->input_json);
	free(j->progress.current_step);
	free(j->progress.message);
	free(j->result_json);
	free(j->error_code);
	free(j->error_message);
	free(j->error_details_json);
	free(j->final_model);
	free(j->idempotency_key);
	free(j->request_hash);
	free(j->traceparent);
	free(j->lease_owner);
	free(j);
}

/* strdup that maps NULL to NULL and reports failure through "*fail". */
static char *dup_opt(const char *s, int *fail)
{
	char *d;

	if (!s)
		return NULL;
	d = strdup(s);
	if (!d)
		*fail = 1;
	return d;
}

struct vex_job *vex_job_dup_as_new(const struct vex_job *j, int64_t now_us)
{
	struct vex_job *d = vex_job_dup(j);

	if (!d)
		return NULL;
	d->status = VEX_JOB_QUEUED;
	d->attempts = 0;
	d->rev = 1;
	if (!d->created_at)
		d->created_at = now_us;
	d->updated_at = d->created_at;
	return d;
}

struct vex_job *vex_job_dup(const struct vex_job *j)
{
	struct vex_job *d;
	int fail = 0;

	if (!j)
		return NULL;
	d = malloc(sizeof(*d));
	if (!d)
		return NULL;
	*d = *j;
	/* The struct copy aliased every pointer: replace each with a private copy. */
	d->tool = dup_opt(j->tool, &fail);
	d->input_json = dup_opt(j->input_json, &fail);
	d->progress.current_step = dup_opt(j->progress.current_step, &fail);
	d->progress.message = dup_opt(j->progress.message, &fail);
	d->result_json = dup_opt(j->result_json, &fail);
	d->error_code = dup_opt(j->error_code, &fail);
	d->error_message = dup_opt(j->error_message, &fail);
	d->error_details_json = dup_opt(j->error_details_json, &fail);
	d->final_model = dup_opt(j->final_model, &fail);
	d->idempotency_key = dup_opt(j->idempotency_key, &fail);
	d->request_hash = dup_opt(j->request_hash, &fail);
	d->traceparent = dup_opt(j->traceparent, &fail);
	d->lease_owner = dup_opt(j->lease_owner, &fail);
	if (fail) {
		vex_job_free(d);
		return NULL;
	}
	return d;
}

/* ---- validation ---- */

/* 1 when "s" is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
static int utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned c = *s;
		int n, i;
		unsigned cp;

		if (c < 0x80) {
			s++;
			continue;
		} else if ((c & 0xE0) == 0xC0) {
			n = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (i = 1; i <= n; i++) {
			if ((s[i] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i] & 0x3F);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		s += n + 1;
	}
	return 1;
}

/* What validate_text accepts besides printable text. */
enum { CTL_NONE, CTL_WHITESPACE, CTL_ANY };

/* 1 when "s" holds a C0 control other than tab, newline and carriage return, or DEL. */
static int has_odd_controls(const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F)
			return 1;
	}
	return 0;
}

static int validate_text(const char *s, const char *field, size_t min, size_t max, int allow_control,
			 struct vex_field_error *e)
{
	size_t n;

	if (!s)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", field, "%s is required", field);
	if (!utf8_valid((const unsigned char *)s))
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", field, "%s must be valid UTF-8", field);
	n = vex_utf8_len(s);
	if (n < min) {
		if (min == 1)
			return vex_field_error_set(e, 422, "VALIDATION_ERROR", field, "%s must not be empty",
						   field);
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", field,
					   "%s must be at least %zu characters", field, min);
	}
	if (n > max)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", field,
					   "%s must be at most %zu characters", field, max);
	if (allow_control == CTL_NONE && vex_has_control_chars(s))
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", field,
					   "%s must not contain control characters", field);
	if (allow_control == CTL_WHITESPACE && has_odd_controls(s))
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", field,
					   "%s must not contain control characters other than tab and newline", field);
	return 0;
}

/* http(s)://host[...] with no whitespace or control characters. */
static int validate_url(const char *url, struct vex_field_error *e)
{
	const char *host;
	size_t i;

	if (strlen(url) > VEX_BASE_URL_MAX)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "base_url",
					   "base_url must be at most %d bytes", VEX_BASE_URL_MAX);
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "base_url",
					   "base_url must be an http:// or https:// URL");
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?' || *host == '#')
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "base_url", "base_url must name a host");
	for (i = 0; url[i]; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c <= 0x20 || c == 0x7F)
			return vex_field_error_set(e, 422, "VALIDATION_ERROR", "base_url",
						   "base_url must not contain spaces or control characters");
	}
	if (!utf8_valid((const unsigned char *)url) || vex_has_control_chars(url))
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "base_url",
					   "base_url must not contain control characters");
	return 0;
}

/* "HH:MM" with HH 00..23 and MM 00..59; returns minutes of the day or -1. */
static int parse_hhmm(const char *s)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':')
		return -1;
	if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' || s[3] < '0' || s[3] > '9' || s[4] < '0' ||
	    s[4] > '9')
		return -1;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -1;
	return h * 60 + m;
}

static int validate_schedule(const char *text, struct vex_field_error *e)
{
	json_t *v = NULL, *tasks, *times, *item;
	const char *key;
	json_t *val;
	unsigned char seen[24 * 60];
	size_t i;
	int rc = VEX_EINVAL;

	v = json_loads(text, 0, NULL);
	if (!v || !json_is_object(v)) {
		vex_field_error_set(e, 422, "VALIDATION_ERROR", "schedule", "schedule must be an object");
		goto out;
	}
	json_object_foreach(v, key, val) {
		if (strcmp(key, "tasksPerDay") != 0 && strcmp(key, "times") != 0) {
			vex_field_error_set(e, 422, "VALIDATION_ERROR", "schedule",
					    "schedule has an unknown field; allowed: tasksPerDay, times");
			goto out;
		}
	}
	tasks = json_object_get(v, "tasksPerDay");
	if (!tasks) {
		vex_field_error_set(e, 422, "VALIDATION_ERROR", "schedule.tasksPerDay",
				    "schedule.tasksPerDay is required");
		goto out;
	}
	if (!json_is_integer(tasks) || json_integer_value(tasks) < 1 ||
	    json_integer_value(tasks) > VEX_SCHEDULE_TASKS_MAX) {
		vex_field_error_set(e, 422, "VALIDATION_ERROR", "schedule.tasksPerDay",
				    "schedule.tasksPerDay must be an integer from 1 to %d", VEX_SCHEDULE_TASKS_MAX);
		goto out;
	}
	times = json_object_get(v, "times");
	if (times) {
		if (!json_is_array(times) || json_array_size(times) > VEX_SCHEDULE_TASKS_MAX) {
			vex_field_error_set(e, 422, "VALIDATION_ERROR", "schedule.times",
					    "schedule.times must be an array of at most %d \"HH:MM\" times",
					    VEX_SCHEDULE_TASKS_MAX);
			goto out;
		}
		memset(seen, 0, sizeof(seen));
		json_array_foreach(times, i, item) {
			int minute = json_is_string(item) ? parse_hhmm(json_string_value(item)) : -1;

			if (minute < 0) {
				vex_field_error_set(e, 422, "VALIDATION_ERROR", "schedule.times",
						    "schedule.times[%zu] must be a time \"HH:MM\" (UTC, 00:00-23:59)",
						    i);
				goto out;
			}
			if (seen[minute]) {
				vex_field_error_set(e, 422, "VALIDATION_ERROR", "schedule.times",
						    "schedule.times[%zu] repeats %s", i, json_string_value(item));
				goto out;
			}
			seen[minute] = 1;
		}
	}
	rc = 0;
out:
	json_decref(v);
	return rc;
}

static int validate_tools(const char *text, struct vex_field_error *e)
{
	json_t *v, *item;
	size_t i;
	int rc = VEX_EINVAL;

	v = json_loads(text, 0, NULL);
	if (!v || !json_is_array(v) || json_array_size(v) > VEX_AGENT_TOOLS_MAX) {
		vex_field_error_set(e, 422, "VALIDATION_ERROR", "tools",
				    "tools must be an array of at most %d tool names", VEX_AGENT_TOOLS_MAX);
		goto out;
	}
	json_array_foreach(v, i, item) {
		const char *name = json_string_value(item);

		if (!name || !*name || strlen(name) > VEX_TOOL_NAME_MAX || vex_has_control_chars(name)) {
			vex_field_error_set(e, 422, "VALIDATION_ERROR", "tools",
					    "tools[%zu] must be a tool name (1-%d bytes)", i, VEX_TOOL_NAME_MAX);
			goto out;
		}
	}
	rc = 0;
out:
	json_decref(v);
	return rc;
}

int vex_agent_validate(const struct vex_agent *a, struct vex_field_error *e)
{
	int rc;

	rc = validate_text(a->name, "name", 1, VEX_AGENT_NAME_MAX, CTL_NONE, e);
	if (rc)
		return rc;
	/* A system prompt may be several lines: newline and tab are fine, other controls are not. */
	rc = validate_text(a->role, "role", VEX_AGENT_ROLE_MIN, VEX_AGENT_ROLE_MAX, CTL_WHITESPACE, e);
	if (rc)
		return rc;
	if (a->max_depth > VEX_AGENT_DEPTH_MAX)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "max_depth",
					   "max_depth exceeds safety limit of %d", VEX_AGENT_DEPTH_MAX);
	if (a->max_depth < 1)
		return vex_field_error_set(e, 422, "VALIDATION_ERROR", "max_depth",
					   "max_depth must be at least 1");
	if (a->model) {
		rc = validate_text(a->model, "model", 1, VEX_MODEL_NAME_MAX, CTL_NONE, e);
		if (rc)
			return rc;
	}
	if (a->base_url) {
		rc = validate_url(a->base_url, e);
		if (rc)
			return rc;
	}
	if (a->schedule_json) {
		rc = validate_schedule(a->schedule_json, e);
		if (rc)
			return rc;
	}
	if (a->tools_json) {
		rc = validate_tools(a->tools_json, e);
		if (rc)
			return rc;
	}
	return 0;
}

int vex_prompt_validate(const char *prompt, struct vex_field_error *e)
{
	/* Prompts are free text: any control but NUL is the user's business, and NUL cannot live
	 * inside a C string (the JSON parser refuses \u0000). */
	return validate_text(prompt, "prompt", 1, VEX_PROMPT_MAX, CTL_ANY, e);
}

void vex_progress_release(struct vex_progress *p)
{
	if (!p)
		return;
	free(p->current_step);
	free(p->message);
	memset(p, 0, sizeof(*p));
}

int vex_progress_copy(struct vex_progress *dst, const struct vex_progress *src)
{
	char *step = NULL, *msg = NULL;
	int rc = VEX_ENOMEM;

	if (src->current_step && !(step = strdup(src->current_step)))
		goto out;
	if (src->message && !(msg = strdup(src->message)))
		goto out;
	vex_progress_release(dst);
	dst->current_step = step;
	dst->message = msg;
	dst->total_steps = src->total_steps;
	dst->percentage = src->percentage;
	step = msg = NULL;
	rc = 0;
out:
	free(step);
	free(msg);
	return rc;
}
