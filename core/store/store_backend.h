/* store_backend.h - what every store backend's connection begins with (core/store/sqlite/, core/store/postgres/);
 * private to core/store. */
#ifndef VEX_STORE_BACKEND_H
#define VEX_STORE_BACKEND_H

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

/* What a hook's stored secret "stored" (of hook "id") should become under r->cur, for each backend's
 * webhook_secrets_seal (defined in core/store/sqlite/store_webhooks.c): *ret a new sealed string (the caller
 * frees it), or NULL when it already is sealed under r->cur. 0 or VEX_E... (a secret that cannot be opened). */
struct vex_sealring;
int vex_hook_secret_reseal(const struct vex_sealring *r, const char *id, const char *stored, char **ret);

#endif
