/* store_backend.h - what every store backend's connection begins with (core/store/sqlite/, core/store/postgres/);
 * private to core/store. */
#ifndef VEX_STORE_BACKEND_H
#define VEX_STORE_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "core/store/store.h"

enum vex_store_kind { VEX_STORE_SQLITE = 1, VEX_STORE_POSTGRES = 2 };

/* The first member of each backend's connection struct (struct vex_sqlite, struct vex_pg): the store
 * interface's functions (core/store/store.c) look at "kind" and hand the call to that backend. */
struct vex_store {
	enum vex_store_kind kind;
};

/* What a backend's pause state answers (each backend's store_pauses.c): some tools' jobs are paused, or every
 * job (0: nothing paused). */
#define VEX_PAUSED_TOOLS 1
#define VEX_PAUSED_ALL 2

/* ---- the rules both backends apply alike (store_rules.c) ---- */

struct vex_sealring;
struct vex_tool_row;

/* 1 when tool row "r" may be stored under ("source", "server"): names present, within their limits and
 * without control characters, of that source and server, description, grant and schema within theirs. */
int vex_tool_row_valid(const struct vex_tool_row *r, const char *source, const char *server);

/* The "n" server names "keep" (at most 1,000, none NULL, each UTF-8) as one JSON array in *ret (the caller
 * frees it): a statement takes them as one parameter, never pasted into its text. 0, VEX_EINVAL, VEX_ENOMEM. */
int vex_tool_servers_json(const char *const *keep, size_t n, char **ret);

/* 0 when "tool" may name a paused tool (at most a catalog name's bytes, no control characters; "" is
 * every tool), else VEX_EINVAL. */
int vex_pause_tool_check(const char *tool);

/* 0 when "j" may be stored as a new job (owner, input, plan, attempts, kind with its agent or tool, the
 * idempotency key, request hash and traceparent within their rules), else VEX_EINVAL. */
int vex_job_check_new(const struct vex_job *j);

/* 0 when "f" is a filter a job listing or count accepts (status or status set, kind, time bounds; not its
 * limit and offset), else VEX_EINVAL. */
int vex_job_filter_check(const struct vex_job_filter *f);

/* The smallest UUIDv7 of the millisecond of "us" (0 below the epoch) in "out": every id made at or after that
 * millisecond sorts at or above it, every earlier one below (a created_at bound as an id bound). */
void vex_job_id_bound(int64_t us, char out[VEX_UUID_LEN + 1]);

/* A hook status's stored name, and back (an unknown name reads as active). */
const char *vex_hook_status_name(enum vex_hook_status st);
enum vex_hook_status vex_hook_status_parse(const char *s);

/* What a hook's stored secret "stored" (of hook "id") should become under r->cur, for each backend's
 * webhook_secrets_seal: *ret a new sealed string (the caller frees it), or NULL when it already is sealed
 * under r->cur. 0 or VEX_E... (a secret that cannot be opened). */
int vex_hook_secret_reseal(const struct vex_sealring *r, const char *id, const char *stored, char **ret);

/* ---- job events and webhook deliveries (store_rules.c; the names' other way: store.h) ---- */

/* A job event type's stored name read back (an unknown name reads as progress). */
enum vex_job_event_type vex_job_event_type_parse(const char *name);

/* A delivery status's stored name read back (an unknown name reads as pending). */
enum vex_delivery_status vex_delivery_status_parse(const char *name);

/* 1 when "o" is an outcome an attempt may record (delivered, pending again, failed). */
int vex_delivery_outcome_valid(const struct vex_delivery_outcome *o);

/* "in" cut to at most VEX_DELIVERY_BODY_CAP bytes of valid UTF-8 (an invalid byte becomes '?', a character the
 * cap would split is dropped), as a new string the caller frees. NULL stays NULL; *fail set on ENOMEM. */
char *vex_delivery_body_clean(const char *in, int *fail);

/* One hook with pending deliveries, as a delivery claim sees it. */
struct vex_hook_turn {
	char id[VEX_HOOK_ID_LEN + 1];
	char owner[VEX_SUB_MAX + 1];
	int active;
	int inflight;       /* its deliveries claimed and not run out, by any runner */
	int owner_inflight; /* the same summed over its owner's hooks (vex_hook_turns_sum) */
};

/* One claimable delivery and where it stands in the fair order. */
struct vex_delivery_candidate {
	struct vex_delivery_claim c;
	const struct vex_hook_turn *hook;
	int pos;   /* its place in its hook's due order (0 first) */
	int turn;  /* its place in its owner's share (0 first; vex_delivery_fair_order) */
	int active;
};

/* Each of the "n" hooks' owner_inflight, "hooks" being grouped by owner. */
void vex_hook_turns_sum(struct vex_hook_turn *hooks, size_t n);

/* How many deliveries of hook "h" one claim of "max" may look at: up to its "per_hook" cap when active, else
 * (to be canceled) up to "max"; never below 0. */
int vex_hook_turn_room(const struct vex_hook_turn *h, int max, int per_hook);

/* Sort "cands" into the fair order of docs/api-webhooks.md: within an owner the hooks in turn, then each
 * owner's first share before anyone's second, the owner with least in flight first, the oldest due first. */
void vex_delivery_fair_order(struct vex_delivery_candidate *cands, size_t n);

/* Free "cands" (NULL: nothing) and what its first "n" items hold. */
void vex_delivery_candidates_free(struct vex_delivery_candidate *cands, size_t n);

/* ---- the runner's job writes (store_rules.c) ---- */

struct vex_job_write;
struct vex_insert_batch;
struct vex_claim_batch;

/* 1 when "w" names a job and a lease owner and an operation with what it needs (a terminal status to finish
 * with, a progress), else 0 (that write answers VEX_EINVAL). */
int vex_job_write_valid(const struct vex_job_write *w);

/* A batch insert's transaction failed with "rc": every one of the "n" jobs answers rc, none was created, and
 * what was read for them is freed. */
void vex_jobs_insert_failed(struct vex_job **rets, int *created, int *rcs, size_t n, int rc);

/* A round's transaction failed with "rc": nothing of it happened. Every new job, write and claim answers rc,
 * and what was read for them is freed. */
void vex_job_writes_failed(struct vex_insert_batch *ins, size_t nins, struct vex_job_write *w, size_t nw,
			   struct vex_claim_batch *claim, int rc);

#endif
