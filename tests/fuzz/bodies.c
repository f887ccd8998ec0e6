/* bodies.c - fuzzes each presenter's write-body check (fcgi-app/bodies.h) behind the shared JSON parse. */
#include "core/base/err.h"
#include "core/store/store.h"
#include "fcgi-app/bodies.h"
#include "tests/fuzz/fuzz.h"

/* A field error must be one a client can be shown: a 4xx status, a code and a bounded message. */
static void refused(int rc, const struct vex_field_error *e)
{
	FUZZ_ASSERT(rc == VEX_EINVAL || rc == VEX_ENOMEM);
	if (rc == VEX_EINVAL) {
		FUZZ_ASSERT(e->status >= 400 && e->status < 500);
		FUZZ_ASSERT(strlen(e->message) < sizeof(e->message) && strlen(e->field) < sizeof(e->field));
	}
}

static void agents(json_t *body, int create, int events)
{
	struct vex_field_error e;
	struct vex_agent *a = calloc(1, sizeof(*a));
	int rc;

	if (!a)
		return;
	rc = events ? vex_dialect_events_agent_body(body, create, a, &e)
		    : vex_dialect_vex_agent_body(body, create, a, &e);
	if (rc != 0)
		refused(rc, &e);
	else if (create)
		FUZZ_ASSERT(a->name && a->role);
	vex_agent_free(a);
}

static void hooks(json_t *body, int create, int allow_private)
{
	struct vex_field_error e;
	struct vex_webhook *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return;
	rc = vex_webhooks_body(body, create, allow_private, h, &e);
	if (rc != 0)
		refused(rc, &e);
	else if (create)
		FUZZ_ASSERT(h->url && h->events != 0);
	vex_webhook_free(h);
}

/*
 * The input is a request body: parsed as vex-api parses every body (vex_json_parse), then, when it
 * is an object, given to every check: agents of the vex and events dialects (create and patch),
 * corex's tool request and timeout, webhooks (create and patch, private targets allowed or not),
 * API keys and the cancel-by-filter body.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vex_field_error e;
	struct vex_cancel_filter f;
	json_t *body = NULL, *args;
	const char *tool, *owner, *name;
	enum vex_role role;
	enum vex_plan plan;
	long long timeout = 0;
	int rc, i, queued, running;

	rc = vex_json_parse((const char *)data, size, &body, &e);
	if (rc != 0) {
		refused(rc, &e);
		return 0;
	}
	if (!json_is_object(body))
		goto out;
	for (i = 0; i < 2; i++) {
		agents(body, i, 0);
		agents(body, i, 1);
		hooks(body, i, i);
	}
	rc = vex_dialect_corex_tool_body(body, &tool, &args, &e);
	if (rc == 0)
		FUZZ_ASSERT(tool[0] != '\0' && json_is_object(args));
	else
		refused(rc, &e);
	rc = vex_dialect_corex_timeout_body(body, &timeout, &e);
	if (rc == 0)
		FUZZ_ASSERT(timeout >= 0);
	else
		refused(rc, &e);
	rc = vex_keys_body(body, &owner, &role, &plan, &name, &e);
	if (rc == 0)
		FUZZ_ASSERT(owner[0] != '\0');
	else
		refused(rc, &e);
	/* A filter that passes names at least one condition, and a status to act on. */
	rc = vex_operator_cancel_body(body, &f, &queued, &running, &e);
	if (rc == 0)
		FUZZ_ASSERT((queued || running) && (json_object_get(body, "status") || f.tool || f.owner || f.agent_id ||
						    f.created_after || f.created_before));
	else
		refused(rc, &e);
out:
	json_decref(body);
	return 0;
}
