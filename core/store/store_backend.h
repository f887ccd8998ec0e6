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

/* The job event type stored as "name" (an unknown name reads as progress). */
enum vex_job_event_type vex_job_event_type_parse(const char *name);

/* A hook status's stored name, and back (an unknown name reads as active). */
const char *vex_hook_status_name(enum vex_hook_status st);
enum vex_hook_status vex_hook_status_parse(const char *s);

/* What a hook's stored secret "stored" (of hook "id") should become under r->cur, for each backend's
 * webhook_secrets_seal: *ret a new sealed string (the caller frees it), or NULL when it already is sealed
 * under r->cur. 0 or VEX_E... (a secret that cannot be opened). */
int vex_hook_secret_reseal(const struct vex_sealring *r, const char *id, const char *stored, char **ret);

#endif
