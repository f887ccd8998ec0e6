/* commitq.h - group commit of new jobs: workers hand them to one committer, which writes many per fsync. */
#ifndef VEX_COMMITQ_H
#define VEX_COMMITQ_H

#include <poll.h>
#include <signal.h>

#include "core/jobs/model.h"
#include "core/store/store.h"

/*
 * Why: with synchronous=FULL every commit pays an fsync while holding SQLite's single write lock,
 * so concurrent submits from N workers queue behind one another, one fsync each. The committer
 * takes every request that is waiting, inserts them in one transaction (a savepoint each) and
 * answers them all after one fsync. Nothing is acknowledged before it is durable.
 *
 * Protocol (unix stream socket): frames of a 4-byte big-endian length and a JSON object.
 * Request {"job":<canonical job JSON>,"idempotency_key":string|null,"owner_admin":bool,
 * "queued_cap":int} (the job's fields outside its view; the cap is checked in the batch's
 * transaction, vex_store_jobs_insert_batch); reply {"rc":int,
 * "created":bool,"job":<canonical job JSON>,"idempotency_key":string}, where "job" (the row
 * found) comes only with an idempotent hit: a created job is the request marked new
 * (vex_job_dup_as_new). One request in flight per connection.
 */
#define VEX_COMMITQ_FRAME_MAX (8u << 20)

struct vex_commitq;

/* A client for the committer listening at "path" (connected on first use). 0, VEX_EINVAL, VEX_ENOMEM. */
int vex_commitq_open(const char *path, int timeout_ms, struct vex_commitq **ret);
void vex_commitq_free(struct vex_commitq *q);

/* A client that prefers "first" (the runner's intake, which commits new jobs with its own round)
 * and uses "second" (vex-api's committer) while the first cannot be reached: after a failure
 * there, the second alone for a second, then the first is tried again. vex_commitq_by_first: the last insert was answered by
 * "first" (the runner has seen the job: no wake is needed). */
int vex_commitq_open2(const char *first, const char *second, int timeout_ms, struct vex_commitq **ret);
int vex_commitq_by_first(const struct vex_commitq *q);

/*
 * Insert the new job "j" (its id already assigned) through the committer, with the contract of
 * vex_store_job_insert. VEX_EIO when the committer could not be reached or did not answer within
 * the timeout: the job may or may not be stored, so the caller retries with vex_store_job_insert
 * directly, which is safe because the id is the same (a duplicate id is VEX_EEXIST there).
 */
int vex_commitq_insert(struct vex_commitq *q, const struct vex_job *j, struct vex_job **ret, int *ret_created);

/* Committer side: create the listening socket at "path" (mode 0600; a stale file is replaced,
 * a live committer's is not: VEX_EEXIST). fd, VEX_EEXIST or VEX_EIO. */
int vex_commitq_listen(const char *path);

/*
 * Serve clients on "listen_fd" with the store "s" until "*stop" becomes non-zero (checked at least
 * once a second and between batches); requests already read are answered before returning.
 * Returns 0, or VEX_EIO when the listening socket fails.
 */
int vex_commitq_serve(int listen_fd, struct vex_store *s, volatile sig_atomic_t *stop);

/*
 * The same server in pieces, for a writer that commits the requests with its own work (the
 * runner's writer thread, runner/pool_writer.c): fill poll descriptors (pfd[0] the listening
 * socket, then one per client; room for VEX_COMMITQ_POLLFDS), poll, take the complete requests,
 * commit them, answer each (which frees its job), then sweep the clients that went away.
 */
#define VEX_COMMITQ_POLLFDS 257
struct vex_commitq_server;
struct vex_commitq_req {
	void *client;
	struct vex_job *job; /* the new job, as vex_store_job_insert takes it */
	int metric;          /* the counter its insert adds to */
};
int vex_commitq_server_new(int listen_fd, struct vex_commitq_server **ret);
void vex_commitq_server_free(struct vex_commitq_server *srv); /* closes the clients, not listen_fd */
size_t vex_commitq_server_pollfds(struct vex_commitq_server *srv, struct pollfd *pfd);
size_t vex_commitq_server_take(struct vex_commitq_server *srv, struct pollfd *pfd, size_t npfd,
			       struct vex_commitq_req *reqs, size_t max);
void vex_commitq_server_answer(struct vex_commitq_req *r, int rc, int created, const struct vex_job *job);
void vex_commitq_server_sweep(struct vex_commitq_server *srv);
/* Count the inserted jobs as vex_intake_jobs_total instead of vex_commit_jobs_total. */
void vex_commitq_server_count_as_intake(struct vex_commitq_server *srv);

#endif
