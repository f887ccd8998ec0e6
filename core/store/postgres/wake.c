/* wake.c - wake-ups across hosts on PostgreSQL: LISTEN on a connection of its own for the jobs table's
 * notifications (core/store/store.h's vex_store_wake). */
#include <stdlib.h>

#include "core/base/err.h"
#include "core/store/postgres/pg_internal.h"
#include "core/store/store.h"

struct vex_store_wake {
	struct vex_pg *p; /* its own connection: LISTEN holds a session, never a pooled transaction */
	int listening;    /* LISTEN was run on the current connection */
};

int vex_pg_wake_open(const char *url, struct vex_store_wake **ret)
{
	struct vex_store_wake *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return VEX_ENOMEM;
	/* No statement timeout: this connection only listens. */
	rc = vex_pg_open(url, 0, &w->p);
	if (rc == 0 && vex_store_wake_drain(w) >= 0 && w->listening) {
		*ret = w;
		return 0;
	}
	vex_store_wake_free(w);
	return rc ? rc : VEX_EIO;
}

int vex_store_wake_fd(const struct vex_store_wake *w)
{
	if (!w || !w->listening || !w->p->c || PQstatus(w->p->c) == CONNECTION_BAD)
		return -1;
	return PQsocket(w->p->c);
}

int vex_store_wake_drain(struct vex_store_wake *w)
{
	PGnotify *n;
	int count = 0;

	if (!w)
		return 0;
	if (w->listening && (!w->p->c || PQstatus(w->p->c) == CONNECTION_BAD || !PQconsumeInput(w->p->c))) {
		/* Lost: vex_pg_exec below reconnects when its backoff allows. */
		PQfinish(w->p->c);
		w->p->c = NULL;
		w->listening = 0;
	}
	if (!w->listening) {
		if (vex_pg_exec(w->p, "LISTEN " VEX_PG_WAKE_CHANNEL, 0, NULL, NULL) != 0)
			return 0;
		w->listening = 1;
		return 1;
	}
	while ((n = PQnotifies(w->p->c)) != NULL) {
		count++;
		PQfreemem(n);
	}
	return count;
}

void vex_store_wake_free(struct vex_store_wake *w)
{
	if (!w)
		return;
	vex_pg_free(w->p);
	free(w);
}
