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

/* ---- job events and webhook deliveries ---- */

static const char *const event_type_names[VEX_EV_TYPE_COUNT] = {
	"queued", "started", "progress", "cancel_requested", "requeued", "completed", "failed", "timeout", "canceled",
};

const char *vex_job_event_type_name(enum vex_job_event_type t)
{
	return (unsigned)t < VEX_EV_TYPE_COUNT ? event_type_names[t] : "unknown";
}

enum vex_job_event_type vex_job_event_type_parse(const char *name)
{
	for (int i = 0; name && i < VEX_EV_TYPE_COUNT; i++)
		if (strcmp(name, event_type_names[i]) == 0)
			return (enum vex_job_event_type)i;
	return VEX_EV_PROGRESS;
}

static const char *const delivery_status_names[] = { "pending", "delivered", "failed", "canceled" };
#define DELIVERY_STATUS_COUNT (sizeof(delivery_status_names) / sizeof(delivery_status_names[0]))

const char *vex_delivery_status_name(enum vex_delivery_status st)
{
	return (unsigned)st < DELIVERY_STATUS_COUNT ? delivery_status_names[st] : "unknown";
}

enum vex_delivery_status vex_delivery_status_parse(const char *name)
{
	for (size_t i = 0; name && i < DELIVERY_STATUS_COUNT; i++)
		if (strcmp(name, delivery_status_names[i]) == 0)
			return (enum vex_delivery_status)i;
	return VEX_DLV_PENDING;
}

const char *vex_hook_event_of(enum vex_job_event_type t, unsigned *ret_bit)
{
	unsigned bit = 0;
	const char *name = NULL;

	switch (t) {
	case VEX_EV_QUEUED:
	case VEX_EV_REQUEUED:
		bit = VEX_HOOK_EV_QUEUED, name = "job.queued";
		break;
	case VEX_EV_STARTED:
		bit = VEX_HOOK_EV_STARTED, name = "job.started";
		break;
	case VEX_EV_COMPLETED:
		bit = VEX_HOOK_EV_COMPLETED, name = "job.completed";
		break;
	case VEX_EV_FAILED:
		bit = VEX_HOOK_EV_FAILED, name = "job.failed";
		break;
	case VEX_EV_TIMEOUT:
		bit = VEX_HOOK_EV_TIMEOUT, name = "job.timeout";
		break;
	case VEX_EV_CANCELED:
		bit = VEX_HOOK_EV_CANCELED, name = "job.canceled";
		break;
	default: /* progress, cancel_requested */
		break;
	}
	if (ret_bit)
		*ret_bit = bit;
	return name;
}

int vex_delivery_outcome_valid(const struct vex_delivery_outcome *o)
{
	return o->status == VEX_DLV_DELIVERED || o->status == VEX_DLV_PENDING || o->status == VEX_DLV_FAILED;
}

/* Length of the valid UTF-8 sequence at "p" (at most "left" bytes available), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (left < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	if ((p[0] == 0xe0 && p[1] < 0xa0) || (p[0] == 0xed && p[1] > 0x9f) || (p[0] == 0xf0 && p[1] < 0x90) ||
	    (p[0] == 0xf4 && p[1] > 0x8f))
		return 0;
	return n;
}

char *vex_delivery_body_clean(const char *in, int *fail)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t len, i = 0, o = 0, n;
	char *out;

	if (!in)
		return NULL;
	len = strlen(in);
	out = malloc((len < VEX_DELIVERY_BODY_CAP ? len : VEX_DELIVERY_BODY_CAP) + 1);
	if (!out) {
		*fail = 1;
		return NULL;
	}
	while (i < len) {
		n = utf8_seq(p + i, len - i);
		if (n == 0) {
			if (o + 1 > VEX_DELIVERY_BODY_CAP)
				break;
			out[o++] = '?';
			i++;
			continue;
		}
		if (o + n > VEX_DELIVERY_BODY_CAP)
			break;
		memcpy(out + o, p + i, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

void vex_hook_turns_sum(struct vex_hook_turn *hooks, size_t n)
{
	size_t i, j;
	int sum;

	/* rows come grouped by owner: sum each group */
	for (i = 0; i < n; i = j) {
		for (sum = 0, j = i; j < n && strcmp(hooks[j].owner, hooks[i].owner) == 0; j++)
			sum += hooks[j].inflight;
		while (i < j)
			hooks[i++].owner_inflight = sum;
	}
}

int vex_hook_turn_room(const struct vex_hook_turn *h, int max, int per_hook)
{
	int room = h->active ? per_hook - h->inflight : max;

	return room > max ? max : room > 0 ? room : 0;
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

/* Within an owner: the hooks take turns (place in each hook's order), then the oldest due. */
static int by_owner_share(const void *pa, const void *pb)
{
	const struct vex_delivery_candidate *a = pa, *b = pb;
	int c = strcmp(a->hook->owner, b->hook->owner);

	if (c == 0)
		c = a->pos - b->pos;
	if (c == 0)
		c = cmp_i64(a->c.d.next_at, b->c.d.next_at);
	return c ? c : strcmp(a->c.d.id, b->c.d.id);
}

/* Across owners: each owner's first share before anyone's second, the owner with least in flight
 * first, then the oldest due. */
static int by_fair_turn(const void *pa, const void *pb)
{
	const struct vex_delivery_candidate *a = pa, *b = pb;
	int c = a->turn - b->turn;

	if (c == 0)
		c = a->hook->owner_inflight - b->hook->owner_inflight;
	if (c == 0)
		c = cmp_i64(a->c.d.next_at, b->c.d.next_at);
	return c ? c : strcmp(a->c.d.id, b->c.d.id);
}

void vex_delivery_fair_order(struct vex_delivery_candidate *cands, size_t n)
{
	size_t i;
	int turn;

	if (n < 2)
		return;
	qsort(cands, n, sizeof(*cands), by_owner_share);
	for (i = 0, turn = 0; i < n; i++) {
		turn = i > 0 && strcmp(cands[i].hook->owner, cands[i - 1].hook->owner) == 0 ? turn + 1 : 0;
		cands[i].turn = turn;
	}
	qsort(cands, n, sizeof(*cands), by_fair_turn);
}

void vex_delivery_candidates_free(struct vex_delivery_candidate *cands, size_t n)
{
	for (size_t i = 0; cands && i < n; i++) {
		vex_delivery_release(&cands[i].c.d);
		free(cands[i].c.url);
		free(cands[i].c.secret);
	}
	free(cands);
}

int vex_job_write_valid(const struct vex_job_write *w)
{
	if (!w->id || !w->lease_owner)
		return 0;
	switch (w->op) {
	case VEX_JW_FINISH: return vex_job_status_terminal(w->status);
	case VEX_JW_PROGRESS: return w->progress != NULL;
	case VEX_JW_REQUEUE: return 1;
	}
	return 0;
}

void vex_jobs_insert_failed(struct vex_job **rets, int *created, int *rcs, size_t n, int rc)
{
	for (size_t i = 0; i < n; i++) {
		vex_job_free(rets[i]);
		rets[i] = NULL;
		created[i] = 0;
		rcs[i] = rc;
	}
}

void vex_job_writes_failed(struct vex_insert_batch *ins, size_t nins, struct vex_job_write *w, size_t nw,
			   struct vex_claim_batch *claim, int rc)
{
	size_t i;

	if (nins > 0)
		vex_jobs_insert_failed(ins->rets, ins->created, ins->rcs, nins, rc);
	for (i = 0; i < nw; i++) {
		vex_job_free(w[i].job);
		w[i].job = NULL;
		w[i].rc = rc;
	}
	for (i = 0; claim && i < claim->n; i++) {
		vex_job_free(claim->jobs[i]);
		claim->jobs[i] = NULL;
	}
	if (claim)
		claim->n = 0;
}
