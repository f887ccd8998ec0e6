/* stream_registry.h - the job streams' registry: job id -> its open streams, owner -> how many it has;
 * private to stream.c and stream_registry.c. */
#ifndef VEX_STREAM_REGISTRY_H
#define VEX_STREAM_REGISTRY_H

#include "core/auth/jwt.h"
#include "core/base/ids.h"
#include "core/jobs/model.h"
#include "fcgi-app/stream.h"

struct vex_stream_watch {
	char job_id[VEX_UUID_LEN + 1];
	struct vex_stream_watch *next;   /* bucket chain */
	struct vex_stream_conn *head;    /* the streams of this job */
	struct vex_stream_watch *t_next; /* the touched list of a feed batch */
	int touched;
	int loaded;
	struct vex_job *job;             /* read once per feed batch */
};

struct vex_stream_owner {
	char name[VEX_SUB_MAX + 1];
	struct vex_stream_owner *next;
	int n;
};

/* Allocate the tables (sized from cfg->streams_max). 0 or VEX_ENOMEM. */
int vex_stream_registry_init(struct vex_stream_server *s);
/* Free the tables and what is left in them; accepts tables never allocated. */
void vex_stream_registry_release(struct vex_stream_server *s);

/* The slot of "job_id": where its watch is, or where a new one goes. */
struct vex_stream_watch **vex_stream_watch_slot(struct vex_stream_server *s, const char *job_id);
/* Open streams of "name". */
int vex_stream_owner_count(struct vex_stream_server *s, const char *name);
/* Drop the watch when nobody watches it, unless a feed batch is walking it (swept at the batch's end). */
void vex_stream_watch_release(struct vex_stream_server *s, struct vex_stream_watch *w);
/* Count "c" as a stream of "owner" on "job_id". 0 or VEX_ENOMEM. */
int vex_stream_watch_add(struct vex_stream_server *s, struct vex_stream_conn *c, const char *job_id, const char *owner);
/* Drop the stream of "c" (its slot and the owner's count); no-op when "c" is not a stream. */
void vex_stream_forget(struct vex_stream_server *s, struct vex_stream_conn *c);

#endif
