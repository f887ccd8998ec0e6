/* keytouch.c - a thread that writes API keys' last_used_at for the stream server, whose loop must never wait
 * on the database's write lock (a busy writer would stall every open stream for busy_timeout_ms). */
#include "fcgi-app/keytouch.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/log.h"
#include "core/store/store.h"

struct touch {
	char id[VEX_UUID_LEN + 1];
	int64_t at_us;
};

struct vex_keytouch {
	const struct vex_config *cfg;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	size_t n;
	struct touch q[VEX_KEYTOUCH_QUEUE];
	unsigned long written;
};

static void *run(void *arg)
{
	struct vex_keytouch *t = arg;
	struct touch batch[VEX_KEYTOUCH_QUEUE];
	struct vex_store *store = NULL;
	size_t i, n;
	int rc;

	rc = vex_store_open(t->cfg->store, t->cfg->db_synchronous, t->cfg->db_busy_timeout_ms, &store);
	if (rc)
		vex_log(VEX_LOG_WARN, "stream server: API keys' last use will not be recorded", "error", vex_strerror(rc),
			NULL);
	for (;;) {
		pthread_mutex_lock(&t->mu);
		while (!t->stop && t->n == 0)
			pthread_cond_wait(&t->cv, &t->mu);
		if (t->stop) {
			pthread_mutex_unlock(&t->mu);
			break;
		}
		n = t->n;
		memcpy(batch, t->q, n * sizeof(batch[0]));
		t->n = 0;
		pthread_mutex_unlock(&t->mu);
		/* The writes happen with the mutex released: the loop's pushes never wait on them. */
		for (i = 0; i < n && store; i++) {
			rc = vex_store_key_touch(store, batch[i].id, batch[i].at_us);
			if (rc)
				vex_log(VEX_LOG_DEBUG, "api key last_used_at not recorded", "key_id", batch[i].id, NULL);
			pthread_mutex_lock(&t->mu);
			t->written += rc == 0;
			pthread_mutex_unlock(&t->mu);
		}
	}
	vex_store_free(store);
	return NULL;
}

int vex_keytouch_start(const struct vex_config *cfg, struct vex_keytouch **ret)
{
	struct vex_keytouch *t = calloc(1, sizeof(*t));
	int rc = VEX_ENOMEM;

	if (!t)
		goto out;
	t->cfg = cfg;
	pthread_mutex_init(&t->mu, NULL);
	pthread_cond_init(&t->cv, NULL);
	rc = VEX_ERROR;
	if (pthread_create(&t->thread, NULL, run, t) != 0) {
		pthread_mutex_destroy(&t->mu);
		pthread_cond_destroy(&t->cv);
		free(t);
		goto out;
	}
	*ret = t;
	rc = 0;
out:
	return rc;
}

void vex_keytouch_push(struct vex_keytouch *t, const char *key_id, int64_t now_us)
{
	size_t i;

	if (!t || !key_id || strlen(key_id) != VEX_UUID_LEN)
		return;
	pthread_mutex_lock(&t->mu);
	for (i = 0; i < t->n && strcmp(t->q[i].id, key_id) != 0; i++)
		;
	if (i == t->n && t->n < VEX_KEYTOUCH_QUEUE) {
		memcpy(t->q[t->n].id, key_id, VEX_UUID_LEN + 1);
		t->q[t->n].at_us = now_us;
		t->n++;
		pthread_cond_signal(&t->cv);
	}
	pthread_mutex_unlock(&t->mu);
}

unsigned long vex_keytouch_written(struct vex_keytouch *t)
{
	unsigned long n;

	if (!t)
		return 0;
	pthread_mutex_lock(&t->mu);
	n = t->written;
	pthread_mutex_unlock(&t->mu);
	return n;
}

void vex_keytouch_free(struct vex_keytouch *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->mu);
	t->stop = 1;
	pthread_cond_signal(&t->cv);
	pthread_mutex_unlock(&t->mu);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->mu);
	pthread_cond_destroy(&t->cv);
	free(t);
}
