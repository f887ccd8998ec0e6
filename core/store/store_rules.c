/* store_rules.c - the rules every store backend applies the same way (store_backend.h): what a tool row,
 * a paused tool's name, a hook's status and a new job may be, the server names a catalog keeps, and how a hook's
 * secret is re-sealed, what a job filter may be, a time as an id bound, and an event type's name. */
#include "core/store/store_backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/limits.h"
#include "core/base/traceparent.h"
#include "core/hooks/sealbox.h"
#include "core/store/store.h"

#define NAME_MAX_BYTES 256         /* a full name: server (64) + "." + tool (128), with room */
#define DESCRIPTION_MAX_BYTES 65536
#define SCHEMA_MAX_BYTES (1024 * 1024)
#define GRANT_MAX_BYTES (1024 * 1024)
#define SERVERS_MAX 1000           /* names a tools_keep_servers may keep */

static int same_server(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}

int vex_tool_row_valid(const struct vex_tool_row *r, const char *source, const char *server)
{
	size_t n;

	if (!r->name || !*r->name || !r->short_name || !*r->short_name || !r->source || !r->input_schema)
		return 0;
	n = strlen(r->name);
	if (n > NAME_MAX_BYTES || strlen(r->short_name) > n || vex_has_control_chars(r->name) ||
	    vex_has_control_chars(r->short_name))
		return 0;
	if (strcmp(r->source, source) != 0 || !same_server(r->server, server))
		return 0;
	if (r->description && strlen(r->description) > DESCRIPTION_MAX_BYTES)
		return 0;
	if (r->grant && strlen(r->grant) > GRANT_MAX_BYTES)
		return 0;
	return strlen(r->input_schema) <= SCHEMA_MAX_BYTES;
}

int vex_tool_servers_json(const char *const *keep, size_t n, char **ret)
{
	json_t *names = NULL;
	char *text = NULL;
	size_t i;
	int rc = VEX_EINVAL;

	if ((n && !keep) || n > SERVERS_MAX)
		return VEX_EINVAL;
	names = json_array();
	if (!names)
		return VEX_ENOMEM;
	for (i = 0; i < n; i++) {
		/* NULL, not UTF-8, or out of memory */
		if (!keep[i] || json_array_append_new(names, json_string(keep[i])) != 0)
			goto out;
	}
	text = vex_json_dump(names);
	rc = text ? 0 : VEX_ENOMEM;
	if (rc == 0)
		*ret = text;
out:
	json_decref(names);
	return rc;
}

int vex_pause_tool_check(const char *tool)
{
	return tool && strlen(tool) <= NAME_MAX_BYTES && !vex_has_control_chars(tool) ? 0 : VEX_EINVAL;
}

const char *vex_hook_status_name(enum vex_hook_status st)
{
	switch (st) {
	case VEX_HOOK_ACTIVE:
		return "active";
	case VEX_HOOK_DISABLED:
		return "disabled";
	case VEX_HOOK_DELETED:
		return "deleted";
	}
	return "active";
}

enum vex_hook_status vex_hook_status_parse(const char *s)
{
	if (s && strcmp(s, "disabled") == 0)
		return VEX_HOOK_DISABLED;
	if (s && strcmp(s, "deleted") == 0)
		return VEX_HOOK_DELETED;
	return VEX_HOOK_ACTIVE;
}

int vex_hook_secret_reseal(const struct vex_sealring *r, const char *id, const char *stored, char **ret)
{
	char ad[VEX_HOOK_SECRET_AD_MAX + 1];
	char *plain = NULL;
	int rc;

	*ret = NULL;
	if (vex_sealbox_is_current(r, stored))
		return 0;
	vex_hook_secret_ad(id, ad);
	if (vex_sealbox_is_sealed(stored)) {
		rc = vex_sealbox_open(r, ad, stored, &plain);
		if (rc)
			return rc;
	}
	rc = vex_sealbox_seal(&r->cur, ad, plain ? plain : stored, ret);
	if (plain) {
		OPENSSL_cleanse(plain, strlen(plain));
		free(plain);
	}
	return rc;
}

int vex_job_check_new(const struct vex_job *j)
{
	if (!j || !j->id[0] || !j->owner[0] || !j->input_json)
		return VEX_EINVAL;
	if ((unsigned)j->plan >= VEX_PLAN_COUNT || j->max_attempts < 1)
		return VEX_EINVAL;
	if (j->kind == VEX_JOB_AGENT && !j->agent_id[0])
		return VEX_EINVAL;
	if (j->kind == VEX_JOB_TOOL && (!j->tool || !*j->tool))
		return VEX_EINVAL;
	if (j->kind != VEX_JOB_AGENT && j->kind != VEX_JOB_TOOL)
		return VEX_EINVAL;
	if (j->idempotency_key && (!*j->idempotency_key || strlen(j->idempotency_key) > VEX_IDEM_KEY_MAX))
		return VEX_EINVAL;
	if (j->request_hash && strlen(j->request_hash) != VEX_JOB_REQUEST_HASH_LEN)
		return VEX_EINVAL;
	if (j->traceparent && !vex_traceparent_valid(j->traceparent))
		return VEX_EINVAL;
	return 0;
}

int vex_job_filter_check(const struct vex_job_filter *f)
{
	if (!f || f->status < -1 || f->status >= VEX_JOB_STATUS_COUNT || f->kind < -1 || f->kind > VEX_JOB_TOOL)
		return VEX_EINVAL;
	if (f->status_mask >= (1u << VEX_JOB_STATUS_COUNT) || (f->status_mask && f->status >= 0))
		return VEX_EINVAL;
	if (f->created_after < 0 || f->created_before < 0)
		return VEX_EINVAL;
	return 0;
}

void vex_job_id_bound(int64_t us, char out[VEX_UUID_LEN + 1])
{
	uint64_t ms = us > 0 ? (uint64_t)us / 1000 : 0;

	ms &= (UINT64_C(1) << 48) - 1;
	snprintf(out, VEX_UUID_LEN + 1, "%08llx-%04llx-0000-0000-000000000000", (unsigned long long)(ms >> 16),
		 (unsigned long long)(ms & 0xffff));
}

enum vex_job_event_type vex_job_event_type_parse(const char *name)
{
	for (int i = 0; name && i < VEX_EV_TYPE_COUNT; i++)
		if (strcmp(name, vex_job_event_type_name((enum vex_job_event_type)i)) == 0)
			return (enum vex_job_event_type)i;
	return VEX_EV_PROGRESS;
}
