/* ids.c - UUIDv7 generation (RFC 9562, monotonic random counter), UUID syntax checks, getrandom. */
#include "core/base/ids.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "core/base/err.h"

/*
 * State of the generator: the last millisecond used and the 74 bits after
 * the timestamp (12 of rand_a in "hi": the sub-millisecond clock, 62 of
 * rand_b in "lo"). When the clock has not moved past the last id, each id
 * adds a random 1..2^48 to those bits (RFC 9562 6.2 method 2), so ids stay
 * ordered and two processes forked from the same state still diverge.
 */
static pthread_mutex_t uuid_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t last_ms;
static uint64_t state_hi; /* 12 bits */
static uint64_t state_lo; /* 62 bits */

#define LO_MASK ((UINT64_C(1) << 62) - 1)
#define HI_MASK ((UINT64_C(1) << 12) - 1)

int vex_random_bytes(void *buf, uint64_t len)
{
	unsigned char *p = buf;
	int rc = VEX_EIO;

	while (len > 0) {
		ssize_t n = getrandom(p, len > 65536 ? 65536 : (size_t)len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		p += n;
		len -= (uint64_t)n;
	}
	rc = 0;
out:
	return rc;
}

/* getrandom practically never fails; if it does, ids must still be unique, so mix in what varies. */
static void random_or_fallback(unsigned char *buf, size_t len)
{
	static uint64_t x = 0x9e3779b97f4a7c15ULL;
	struct timespec ts;

	if (vex_random_bytes(buf, len) == 0)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	x ^= (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32);
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		buf[i] = (unsigned char)x;
	}
}

/*
 * The random bytes of ids come from a pool filled POOL bytes at a time: one getrandom per 64 ids
 * instead of one per id (a system call is a good part of an id's cost). Under uuid_lock. A child
 * of fork() empties its copy (pthread_atfork), so two processes never use the same bytes.
 */
#define POOL 1024
static unsigned char pool[POOL];
static size_t pool_left;
static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static void pool_forget(void)
{
	pool_left = 0;
}

static void pool_init(void)
{
	pthread_atfork(NULL, NULL, pool_forget);
}

/* "len" (<= POOL) random bytes from the pool; under uuid_lock. */
static void pool_take(unsigned char *buf, size_t len)
{
	if (pool_left < len) {
		random_or_fallback(pool, sizeof(pool));
		pool_left = sizeof(pool);
	}
	memcpy(buf, pool + (sizeof(pool) - pool_left), len);
	memset(pool + (sizeof(pool) - pool_left), 0, len);
	pool_left -= len;
}

static uint64_t load64(const unsigned char *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

void vex_uuid7(char out[VEX_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char rnd[16], b[16];
	struct timespec ts;
	uint64_t ms, frac;
	int o = 0;

	pthread_once(&pool_once, pool_init);
	clock_gettime(CLOCK_REALTIME, &ts);
	ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;

	/* rand_a carries the fraction of the millisecond (RFC 9562 6.2, method 3: 1/4096 ms, about
	 * 244 ns), so ids made by different processes sort in the order they were made whenever they
	 * are that far apart; within one process the counter below keeps them strictly ordered. */
	frac = (uint64_t)(ts.tv_nsec % 1000000) * 4096 / 1000000;

	pthread_mutex_lock(&uuid_lock);
	pool_take(rnd, sizeof(rnd));
	if (ms > last_ms || (ms == last_ms && frac > state_hi)) {
		last_ms = ms;
		state_hi = frac;
		/* A fresh counter with its top bit clear leaves room to count up within this tick. */
		state_lo = load64(rnd + 8) & (LO_MASK >> 1);
	} else {
		/* Same ms, or the clock stepped back: keep counting from the last id. */
		uint64_t inc = (load64(rnd) & ((UINT64_C(1) << 48) - 1)) + 1;

		state_lo += inc;
		if (state_lo > LO_MASK) {
			state_lo &= LO_MASK;
			state_hi++;
		}
		if (state_hi > HI_MASK) {
			/* Counter exhausted: borrow the next millisecond (RFC 9562 6.2). */
			last_ms++;
			state_hi = 0;
			state_lo = load64(rnd + 4) & (LO_MASK >> 1);
		}
	}
	ms = last_ms;
	for (int i = 0; i < 6; i++)
		b[i] = (unsigned char)(ms >> (40 - 8 * i));
	b[6] = (unsigned char)(0x70 | (state_hi >> 8));
	b[7] = (unsigned char)state_hi;
	b[8] = (unsigned char)(0x80 | (state_lo >> 56));
	for (int i = 9; i < 16; i++)
		b[i] = (unsigned char)(state_lo >> (8 * (15 - i)));
	pthread_mutex_unlock(&uuid_lock);

	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

int vex_uuid_valid(const char *s)
{
	if (!s)
		return 0;
	for (int i = 0; i < VEX_UUID_LEN; i++) {
		char c = s[i];

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
			return 0;
		}
	}
	return s[VEX_UUID_LEN] == '\0';
}

void vex_uuid7_prefixed(const char *prefix, char *out, size_t cap)
{
	char u[VEX_UUID_LEN + 1];
	size_t o, i;

	if (cap == 0)
		return;
	vex_uuid7(u);
	o = (size_t)snprintf(out, cap, "%s", prefix);
	for (i = 0; u[i] != '\0' && o + 1 < cap; i++)
		if (u[i] != '-')
			out[o++] = u[i];
	out[o < cap ? o : cap - 1] = '\0';
}
