/* stream_revoke.c - the stream server ends the streams of revoked credentials: API keys revoked and token
 * revocations are read (indexed, by time; never a write) every VEX_STREAM_REVOKE_POLL_MS while streams are open. */
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/limits.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"
#include "fcgi-app/stream.h"
#include "fcgi-app/stream_registry.h"

#define POLL_US ((int64_t)VEX_STREAM_REVOKE_POLL_MS * 1000)
#define MARGIN_US 2000000LL /* a revocation stamped before its commit is still seen by the next look */
#define PAGE 1000
#define WARN_US (10 * 1000000LL)

void vex_stream_revoke_arm(struct vex_stream_server *s, int64_t now_us)
{
	s->revoke_since_us = now_us - MARGIN_US;
	s->next_revoke_mono_us = vex_mono_us() + POLL_US;
}

int64_t vex_stream_revoke_due(const struct vex_stream_server *s)
{
	return s->streams > 0 ? s->next_revoke_mono_us : 0;
}

/* Whether the revocation "r" covers the credential of "c". A stream opened with a stream_token has no
 * key, jti or iat (0): a cut-off of its subject covers it, a jti or a key revocation does not. */
static int covers(const struct vex_token_revocation *r, const struct vex_stream_conn *c)
{
	if (c->by_key)
		return 0;
	if (r->jti[0])
		return c->jti[0] && strcmp(r->jti, c->jti) == 0;
	return c->owner && strcmp(r->sub, c->owner->name) == 0 && c->iat < r->issued_before_s;
}

/* End "c" with a last comment saying why; EventSource reconnects and gets the 401. */
static void end_stream(struct vex_stream_server *s, struct vex_stream_conn *c, const char *what)
{
	static const char note[] = ": credential revoked\n\n";

	vex_log(VEX_LOG_INFO, "stream closed: its credential was revoked", "request_id", c->request_id, "credential",
		what, NULL);
	vex_stream_conn_send(s, c, note, sizeof(note) - 1);
	vex_stream_conn_finish(s, c);
}

/* One look. 0 or a store error (then the same window is read again next time). At most PAGE of each
 * kind per look: a burst beyond that in one window leaves some streams open; their credentials are
 * still refused at the next request. */
static int look(struct vex_stream_server *s)
{
	struct vex_token_revocation_list revs = { NULL, 0 };
	char (*keys)[VEX_UUID_LEN + 1] = NULL;
	struct vex_stream_conn *c, *next;
	size_t nkeys = 0, i;
	int rc;

	rc = vex_store_keys_revoked_since(s->store, s->revoke_since_us, PAGE, &keys, &nkeys);
	if (rc == 0)
		rc = vex_store_revocations_since(s->store, s->revoke_since_us, PAGE, &revs);
	if (rc)
		goto out;
	for (c = s->streaming.head; c; c = next) {
		next = c->t_next;
		if (c->dead)
			continue;
		for (i = 0; i < nkeys; i++)
			if (c->by_key && strcmp(keys[i], c->key_id) == 0)
				break;
		if (i < nkeys) {
			end_stream(s, c, "api key");
			continue;
		}
		for (i = 0; i < revs.n; i++)
			if (covers(&revs.items[i], c))
				break;
		if (i < revs.n)
			end_stream(s, c, "token");
	}
out:
	free(keys);
	vex_token_revocation_list_release(&revs);
	return rc;
}

void vex_stream_revoke_tick(struct vex_stream_server *s, int64_t now_mono_us)
{
	int64_t started = vex_now_us(), next_since = started - MARGIN_US;
	int rc;

	s->next_revoke_mono_us = now_mono_us + POLL_US;
	if (s->streams == 0)
		return;
	rc = look(s);
	if (rc) {
		if (now_mono_us - s->revoke_warned_mono_us >= WARN_US) {
			s->revoke_warned_mono_us = now_mono_us;
			vex_log(VEX_LOG_WARN, "stream server cannot read revocations: retrying", "error", vex_strerror(rc),
				NULL);
		}
		return;
	}
	if (next_since > s->revoke_since_us)
		s->revoke_since_us = next_since;
}
