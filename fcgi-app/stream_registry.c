/* stream_registry.c - the job streams' registry: job id -> its open streams, owner -> how many it has. */
#include "fcgi-app/stream_registry.h"

#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/hash.h"
#include "core/base/log.h"
#include "core/metrics/metrics.h"

int vex_stream_registry_init(struct vex_stream_server *s)
{
	size_t n = 64;

	while (n < (size_t)s->cfg->streams_max && n < 65536)
		n *= 2;
	s->watches = calloc(n, sizeof(*s->watches));
	s->owners = calloc(n, sizeof(*s->owners));
	if (!s->watches || !s->owners) {
		free(s->watches);
		free(s->owners);
		s->watches = NULL;
		s->owners = NULL;
		return VEX_ENOMEM;
	}
	s->nbuckets = n;
	return 0;
}

void vex_stream_registry_release(struct vex_stream_server *s)
{
	size_t i;

	for (i = 0; s->watches && i < s->nbuckets; i++) {
		while (s->watches[i]) {
			struct vex_stream_watch *w = s->watches[i];

			s->watches[i] = w->next;
			vex_job_free(w->job);
			free(w);
		}
		while (s->owners[i]) {
			struct vex_stream_owner *o = s->owners[i];

			s->owners[i] = o->next;
			free(o);
		}
	}
	free(s->watches);
	free(s->owners);
	s->watches = NULL;
	s->owners = NULL;
}

struct vex_stream_watch **vex_stream_watch_slot(struct vex_stream_server *s, const char *job_id)
{
	struct vex_stream_watch **p = &s->watches[vex_hash_str(job_id) & (s->nbuckets - 1)];

	while (*p && strcmp((*p)->job_id, job_id) != 0)
		p = &(*p)->next;
	return p;
}

static struct vex_stream_owner **owner_slot(struct vex_stream_server *s, const char *name)
{
	struct vex_stream_owner **p = &s->owners[vex_hash_str(name) & (s->nbuckets - 1)];

	while (*p && strcmp((*p)->name, name) != 0)
		p = &(*p)->next;
	return p;
}

int vex_stream_owner_count(struct vex_stream_server *s, const char *name)
{
	struct vex_stream_owner *o = *owner_slot(s, name);

	return o ? o->n : 0;
}

/* Drop the watch when nobody watches it, unless a feed batch is walking it (swept at the batch's end). */
void vex_stream_watch_release(struct vex_stream_server *s, struct vex_stream_watch *w)
{
	struct vex_stream_watch **p;

	if (w->head || w->touched)
		return;
	p = vex_stream_watch_slot(s, w->job_id);
	if (*p == w)
		*p = w->next;
	vex_job_free(w->job);
	free(w);
}

/* Count "c" as a stream of "owner" on "job_id". 0 or VEX_ENOMEM. */
int vex_stream_watch_add(struct vex_stream_server *s, struct vex_stream_conn *c, const char *job_id, const char *owner)
{
	struct vex_stream_watch **wp = vex_stream_watch_slot(s, job_id), *w = *wp;
	struct vex_stream_owner **op = owner_slot(s, owner), *o = *op;

	if (!w) {
		w = calloc(1, sizeof(*w));
		if (!w)
			return VEX_ENOMEM;
		memcpy(w->job_id, job_id, strlen(job_id) + 1);
		*wp = w;
	}
	if (!o) {
		o = calloc(1, sizeof(*o));
		if (!o) {
			vex_stream_watch_release(s, w);
			return VEX_ENOMEM;
		}
		memcpy(o->name, owner, strlen(owner) + 1);
		*op = o;
	}
	o->n++;
	c->owner = o;
	c->watch = w;
	c->w_prev = NULL;
	c->w_next = w->head;
	if (w->head)
		w->head->w_prev = c;
	w->head = c;
	s->streams++;
	vex_metrics_gauge_set(VEX_G_STREAMS_OPEN, (int64_t)s->streams);
	return 0;
}

void vex_stream_forget(struct vex_stream_server *s, struct vex_stream_conn *c)
{
	struct vex_stream_watch *w = c->watch;
	struct vex_stream_owner **op;

	if (!w)
		return;
	if (c->w_prev)
		c->w_prev->w_next = c->w_next;
	else
		w->head = c->w_next;
	if (c->w_next)
		c->w_next->w_prev = c->w_prev;
	c->w_prev = c->w_next = NULL;
	c->watch = NULL;
	vex_stream_watch_release(s, w);
	if (--c->owner->n == 0) {
		op = owner_slot(s, c->owner->name);
		if (*op == c->owner)
			*op = c->owner->next;
		free(c->owner);
	}
	c->owner = NULL;
	s->streams--;
	vex_metrics_gauge_set(VEX_G_STREAMS_OPEN, (int64_t)s->streams);
	vex_log(VEX_LOG_DEBUG, "stream closed", "request_id", c->request_id, NULL);
}
