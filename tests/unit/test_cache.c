/* test_cache.c - the memcached job cache against a real memcached: CAS ordering, misses, outages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/unit/cache_fixture.h"
#include <libmemcached/memcached.h>

#include "core/jobs/cache.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/timeutil.h"

static void test_put_get(void **state)
{
	struct vex_cache *c = open_cache();
	char id[VEX_UUID_LEN + 1];

	(void)state;
	assert_int_equal(vex_cache_ping(c), 0);
	vex_uuid7(id);
	put_rev(c, id, 1, "queued");
	expect_cached(c, id, 1, "queued");
	put_rev(c, id, 2, "running");
	expect_cached(c, id, 2, "running");
	vex_cache_free(c);
	vex_cache_free(NULL);
}

static void test_rev_ordering(void **state)
{
	struct vex_cache *c = open_cache();
	char id[VEX_UUID_LEN + 1];

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 5, "completed");
	put_rev(c, id, 3, "running"); /* older: ignored, still 0 */
	expect_cached(c, id, 5, "completed");
	put_rev(c, id, 5, "failed"); /* same rev: the first copy stays */
	expect_cached(c, id, 5, "completed");
	put_rev(c, id, 1, "queued");
	expect_cached(c, id, 5, "completed");
	put_rev(c, id, 6, "canceled");
	expect_cached(c, id, 6, "canceled");
	vex_cache_free(c);
}

/* A new job's quiet add stores it; on a key already there it changes nothing, and the answer
 * memcached sends for that failure never passes for the answer of the handle's next operations. */
static void test_quiet_add(void **state)
{
	struct vex_cache *c = open_cache(), *other = open_cache();
	char id[VEX_UUID_LEN + 1], id2[VEX_UUID_LEN + 1], buf[256];

	(void)state;
	vex_uuid7(id);
	job_json(buf, sizeof(buf), id, 1, "queued");
	assert_int_equal(vex_cache_job_add_quiet(c, id, buf, strlen(buf), 30), 0);
	/* memcached takes one connection's requests in order: this get comes after the add. Another
	 * connection's might come before it (a miss, then a refill from the store), so only after. */
	expect_cached(c, id, 1, "queued");
	expect_cached(other, id, 1, "queued");
	put_rev(c, id, 2, "running");
	for (int i = 0; i < 3; i++) {
		/* a failing quiet add, then each kind of operation on the same handle */
		assert_int_equal(vex_cache_job_add_quiet(c, id, buf, strlen(buf), 30), 0);
		expect_cached(c, id, 2, "running");
		assert_int_equal(vex_cache_job_add_quiet(c, id, buf, strlen(buf), 30), 0);
		vex_uuid7(id2);
		put_rev(c, id2, 1, "queued"); /* an add with its answer read */
		expect_cached(c, id2, 1, "queued");
		assert_int_equal(vex_cache_job_add_quiet(c, id, buf, strlen(buf), 30), 0);
		put_rev(c, id2, 3, "completed"); /* gets, then cas */
		expect_cached(c, id2, 3, "completed");
	}
	expect_cached(other, id, 2, "running");
	vex_cache_free(other);
	vex_cache_free(c);
}

/* An item put with a short lifetime is gone after it: a stale unfinished copy cannot outlive it. */
static void test_ttl(void **state)
{
	struct vex_cache *c = open_cache();
	memcached_st *mc = raw_open();
	char id[VEX_UUID_LEN + 1], hex[17] = { 0 }, *got = NULL, *raw, *gone;
	const char *json = "{\"id\":\"x\",\"status\":\"running\",\"rev\":2}";
	size_t len = 0, rlen = 0, glen = 0;
	int64_t deadline_s;

	(void)state;
	vex_uuid7(id);
	assert_int_equal(vex_cache_job_put_ttl(c, id, json, strlen(json), 2, 1), 0);
	assert_int_equal(vex_cache_job_get(c, id, &got, &len), 0);
	free(got);
	got = NULL;
	raw = raw_get(mc, id, &rlen);
	assert_non_null(raw);
	/* "vex1:" and the deadline in 16 hex digits (Unix seconds) open the value. */
	assert_true(rlen > 21);
	memcpy(hex, raw + 5, 16);
	deadline_s = (int64_t)strtoull(hex, NULL, 16);
	assert_true(deadline_s <= vex_now_us() / 1000000 + 1);
	/* memcached drops the item once its lifetime is over (waited for, at most 10 s). */
	for (int i = 0; i < 100; i++) {
		gone = raw_get(mc, id, &glen);
		if (!gone)
			break;
		free(gone);
		vex_sleep_ms(100, NULL);
	}
	assert_null(raw_get(mc, id, &glen));
	assert_int_equal(vex_cache_job_get(c, id, &got, &len), VEX_ENOTFOUND);
	assert_null(got);
	/* memcached's clock is its own: wait until ours has passed the signed deadline too. */
	while (vex_now_us() / 1000000 <= deadline_s)
		vex_sleep_ms(50, NULL);
	/* The old authentic value put back without a lifetime (a replay): its signed deadline has
	 * passed, so it is a miss, not counted as a forgery. */
	raw_set(mc, id, raw, rlen);
	expect_miss(c, id);
	assert_int_equal(vex_cache_rejected(c), 0);
	free(raw);
	memcached_free(mc);
	vex_cache_free(c);
}

/* Several processes race to write revs 1..N of one job in different orders: the highest always wins. */
static void test_concurrent_writers(void **state)
{
	enum { WRITERS = 4, REVS = 40 };
	char id[VEX_UUID_LEN + 1];
	pid_t pids[WRITERS];
	struct vex_cache *c;

	(void)state;
	vex_uuid7(id);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			/* A handle of our own, opened after fork. */
			struct vex_cache *cc = NULL;
			int bad = 0;

			if (vex_cache_open(servers, 500, MC_SECRET, &cc))
				_exit(2);
			for (int i = 0; i < REVS; i++) {
				int64_t rev = w % 2 ? REVS - i : i + 1;
				char buf[256];
				int rc;

				job_json(buf, sizeof(buf), id, rev, "running");
				rc = vex_cache_job_put(cc, id, buf, strlen(buf), rev);
				if (rc != 0 && rc != VEX_ECONFLICT)
					bad = 1;
			}
			vex_cache_free(cc);
			_exit(bad);
		}
	}
	for (int w = 0; w < WRITERS; w++) {
		int st;

		assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	c = open_cache();
	/* A writer that lost every race deletes the key rather than leave an old copy; then re-put. */
	{
		char *got = NULL;
		size_t len;
		int rc = vex_cache_job_get(c, id, &got, &len);

		if (rc == 0) {
			free(got);
			expect_cached(c, id, REVS, "running");
		} else {
			assert_int_equal(rc, VEX_ENOTFOUND);
		}
	}
	vex_cache_free(c);
}

static void test_miss_and_delete(void **state)
{
	struct vex_cache *c = open_cache();
	char id[VEX_UUID_LEN + 1], *got = (char *)0x1;
	size_t len = 77;

	(void)state;
	vex_uuid7(id);
	assert_int_equal(vex_cache_job_get(c, id, &got, &len), VEX_ENOTFOUND);
	assert_ptr_equal(got, (char *)0x1);
	assert_int_equal(len, 77);
	assert_int_equal(vex_cache_job_delete(c, id), VEX_ENOTFOUND);
	put_rev(c, id, 1, "queued");
	assert_int_equal(vex_cache_job_delete(c, id), 0);
	assert_int_equal(vex_cache_job_get(c, id, &got, &len), VEX_ENOTFOUND);
	/* After a delete an older rev may be written again (the store is the truth). */
	put_rev(c, id, 1, "queued");
	expect_cached(c, id, 1, "queued");

	/* Bad ids never reach memcached. */
	assert_int_equal(vex_cache_job_get(c, "has space", &got, &len), VEX_EINVAL);
	assert_int_equal(vex_cache_job_get(c, "", &got, &len), VEX_EINVAL);
	assert_int_equal(vex_cache_job_get(c, NULL, &got, &len), VEX_EINVAL);
	assert_int_equal(vex_cache_job_put(c, "a\nb", "{}", 2, 1), VEX_EINVAL);
	vex_cache_free(c);
}

/* A cached value that is not a job (or has no rev) is replaced by any rev. */
static void test_foreign_value(void **state)
{
	struct vex_cache *c = open_cache();
	memcached_st *mc = memcached_create(NULL);
	char id[VEX_UUID_LEN + 1], key[64];

	(void)state;
	vex_uuid7(id);
	snprintf(key, sizeof(key), "vex:job:%s", id);
	assert_int_equal(memcached_server_add(mc, "127.0.0.1", (in_port_t)mcd.port), MEMCACHED_SUCCESS);
	assert_int_equal(memcached_set(mc, key, strlen(key), "garbage", 7, 0, 0), MEMCACHED_SUCCESS);
	put_rev(c, id, 1, "queued");
	expect_cached(c, id, 1, "queued");
	memcached_free(mc);
	vex_cache_free(c);
}

static void test_too_big(void **state)
{
	struct vex_cache *c = open_cache();
	char id[VEX_UUID_LEN + 1], *big, *got;
	size_t n = 2 * 1024 * 1024, len;

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 1, "queued");
	big = malloc(n);
	assert_non_null(big);
	memset(big, ' ', n);
	memcpy(big, "{\"rev\":2}", 9);
	/* Refused by memcached: the old copy must not survive to be served as current. */
	assert_int_equal(vex_cache_job_put(c, id, big, n, 2), VEX_ETOOBIG);
	assert_int_equal(vex_cache_job_get(c, id, &got, &len), VEX_ENOTFOUND);
	free(big);
	vex_cache_free(c);
}

static void test_disabled(void **state)
{
	struct vex_cache *c = NULL;
	char *got = NULL;
	size_t len;

	(void)state;
	assert_int_equal(vex_cache_open(NULL, 100, NULL, 0, &c), 0);
	assert_int_equal(vex_cache_job_put(c, "x", "{}", 2, 1), 0);
	assert_int_equal(vex_cache_job_get(c, "x", &got, &len), VEX_ENOTFOUND);
	assert_int_equal(vex_cache_job_delete(c, "x"), VEX_ENOTFOUND);
	assert_int_equal(vex_cache_ping(c), VEX_ENOTFOUND);
	vex_cache_free(c);
	assert_int_equal(vex_cache_open("", 100, NULL, 0, &c), 0);
	assert_int_equal(vex_cache_job_get(c, "x", &got, &len), VEX_ENOTFOUND);
	vex_cache_free(c);
}

/* Nothing listens: every call is VEX_EIO (that they skip the server is test_silent_server's). */
static void test_nothing_listening(void **state)
{
	struct vex_cache *c = NULL;
	char srv[64], *got;
	size_t len;

	(void)state;
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", mc_free_port());
	assert_int_equal(vex_cache_open(srv, 100, MC_SECRET, &c), 0);
	assert_int_equal(vex_cache_job_put(c, "x", "{\"rev\":1}", 9, 1), VEX_EIO);
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(vex_cache_job_get(c, "x", &got, &len), VEX_EIO);
		assert_int_equal(vex_cache_job_put(c, "x", "{\"rev\":1}", 9, 1), VEX_EIO);
	}
	assert_int_equal(vex_cache_ping(c), VEX_EIO);
	vex_cache_free(c);
}

/*
 * Every request a client sent to the listening socket "lfd" before it closed its connections:
 * accept what is queued and read each connection to its end (bounded: 5 s per read), then count
 * the binary-protocol requests that read a value ("*gets") and that write one ("*sets").
 */
static void requests_seen(int lfd, int *gets, int *sets)
{
	struct pollfd p = { .fd = lfd, .events = POLLIN };
	struct timeval tv = { .tv_sec = 5 };
	unsigned char buf[65536];

	*gets = *sets = 0;
	while (poll(&p, 1, 0) == 1) {
		int fd = accept(lfd, NULL, NULL);
		size_t have = 0, at = 0;
		ssize_t n;

		assert_true(fd >= 0);
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
		while (have < sizeof(buf) && (n = recv(fd, buf + have, sizeof(buf) - have, 0)) > 0)
			have += (size_t)n;
		assert_true(n == 0); /* the end of the stream, not a timeout */
		close(fd);
		/* 24-byte header: magic 0x80, opcode, ..., body length (bytes 8..11, big-endian). */
		while (have - at >= 24) {
			unsigned char op = buf[at + 1];
			size_t body = (size_t)buf[at + 8] << 24 | (size_t)buf[at + 9] << 16 |
				      (size_t)buf[at + 10] << 8 | buf[at + 11];

			assert_int_equal(buf[at], 0x80);
			*gets += op == 0x00 || op == 0x09 || op == 0x0c || op == 0x0d;
			*sets += (op >= 0x01 && op <= 0x03) || (op >= 0x11 && op <= 0x13);
			at += 24 + body;
		}
	}
}

/*
 * A server that accepts connections but never answers (a listening socket nobody reads): the
 * first call pays the timeout, the next ones within the skip window (about a second) send it
 * nothing, which the socket shows once the handle is closed.
 */
static void test_silent_server(void **state)
{
	struct sockaddr_in sa;
	socklen_t slen = sizeof(sa);
	struct vex_cache *c = NULL;
	char srv[64], *got;
	size_t len;
	int lfd, gets, sets;

	(void)state;
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(lfd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(lfd, 256), 0);
	assert_int_equal(getsockname(lfd, (struct sockaddr *)&sa, &slen), 0);
	snprintf(srv, sizeof(srv), "127.0.0.1:%d", ntohs(sa.sin_port));

	assert_int_equal(vex_cache_open(srv, 50, MC_SECRET, &c), 0);
	assert_int_equal(vex_cache_job_get(c, "x", &got, &len), VEX_EIO);
	for (int i = 0; i < 100; i++) {
		assert_int_equal(vex_cache_job_get(c, "x", &got, &len), VEX_EIO);
		assert_int_equal(vex_cache_job_put(c, "x", "{\"rev\":1}", 9, 1), VEX_EIO);
	}
	vex_cache_free(c);
	requests_seen(lfd, &gets, &sets);
	assert_int_equal(gets, 1);
	assert_int_equal(sets, 0);
	close(lfd);
}

/* memcached goes away mid-life and comes back on the same port. */
static void test_outage_and_return(void **state)
{
	struct vex_cache *c = open_cache();
	char id[VEX_UUID_LEN + 1], buf[256], *got = NULL;
	size_t len;
	int rc = VEX_EIO;

	(void)state;
	vex_uuid7(id);
	put_rev(c, id, 1, "queued");
	mc_stop(&mcd);

	assert_int_equal(vex_cache_job_get(c, id, &got, &len), VEX_EIO);
	job_json(buf, sizeof(buf), id, 2, "running");
	for (int i = 0; i < 100; i++)
		assert_int_equal(vex_cache_job_put(c, id, buf, strlen(buf), 2), VEX_EIO);
	assert_int_equal(vex_cache_job_delete(c, id), VEX_EIO);
	assert_int_equal(vex_cache_ping(c), VEX_EIO);

	assert_int_equal(start_memcached(), 0);
	/* Within a few seconds (skip window, libmemcached's retry timeout) the same handle works again. */
	for (int i = 0; i < 60 && rc != 0; i++) {
		rc = vex_cache_job_put(c, id, buf, strlen(buf), 2);
		if (rc != 0)
			usleep(100000);
	}
	assert_int_equal(rc, 0);
	expect_cached(c, id, 2, "running");
	assert_int_equal(vex_cache_ping(c), 0);
	vex_cache_free(c);
}

/* SIGSTOP to memcached, returning once it is stopped (state T in /proc), so nothing it does races the next call. */
static void stop_memcached(void)
{
	char path[64], st[512];
	int stopped = 0;

	assert_int_equal(kill(mcd.pid, SIGSTOP), 0);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)mcd.pid);
	for (int i = 0; i < 1000 && !stopped; i++) {
		FILE *f = fopen(path, "r");
		size_t n = f ? fread(st, 1, sizeof(st) - 1, f) : 0;
		char *paren;

		if (f)
			fclose(f);
		st[n] = '\0';
		paren = strrchr(st, ')');
		stopped = paren && paren[1] == ' ' && paren[2] == 'T';
		if (!stopped)
			usleep(1000);
	}
	assert_true(stopped);
}

/* memcached stops answering (SIGSTOP) while a job's later writes go out: they time out or are
 * skipped, and memcached still holds the older copy when it answers again. The handle owes the keys
 * and deletes them before anything else it does, so nobody is served the older copy. */
static void test_missed_writes_are_made_good(void **state)
{
	struct vex_cache *c = NULL, *other = open_cache();
	char a[VEX_UUID_LEN + 1], b[VEX_UUID_LEN + 1], buf[256], *got = NULL;
	size_t len;
	int settled = VEX_EIO;

	(void)state;
	assert_int_equal(vex_cache_open(servers, 150, MC_SECRET, &c), 0);
	vex_uuid7(a);
	vex_uuid7(b);
	put_rev(c, a, 1, "queued");
	put_rev(c, b, 2, "running");
	assert_int_equal(vex_cache_owed(c), 0);
	assert_int_equal(vex_cache_settle(c), 0); /* nothing owed: no call */

	stop_memcached();
	job_json(buf, sizeof(buf), a, 2, "running");
	assert_int_equal(vex_cache_job_put(c, a, buf, strlen(buf), 2), VEX_EIO); /* times out */
	job_json(buf, sizeof(buf), b, 3, "completed");
	assert_int_equal(vex_cache_job_put_final(c, b, buf, strlen(buf), 60), VEX_EIO); /* skipped */
	assert_int_equal(vex_cache_job_put_final(c, b, buf, strlen(buf), 60), VEX_EIO); /* the same key once */
	assert_int_equal(vex_cache_owed(c), 2);
	assert_int_equal(vex_cache_settle(c), VEX_EIO); /* still in the skip window: nothing called */
	assert_int_equal(kill(mcd.pid, SIGCONT), 0);

	/* Another process's handle still sees the older copies: the writes never landed. */
	expect_cached(other, a, 1, "queued");
	expect_cached(other, b, 2, "running");
	for (int i = 0; i < 50 && settled != 0; i++) {
		settled = vex_cache_settle(c);
		if (settled != 0)
			usleep(100000);
	}
	assert_int_equal(settled, 0);
	assert_int_equal(vex_cache_owed(c), 0);
	/* Gone: a poll reads the store, which holds the later state. */
	assert_int_equal(vex_cache_job_get(other, a, &got, &len), VEX_ENOTFOUND);
	assert_int_equal(vex_cache_job_get(other, b, &got, &len), VEX_ENOTFOUND);

	/* A read through the owing handle settles first: it never meets the older copy either. */
	put_rev(other, a, 1, "queued");
	stop_memcached();
	job_json(buf, sizeof(buf), a, 2, "running");
	assert_int_equal(vex_cache_job_put(c, a, buf, strlen(buf), 2), VEX_EIO);
	assert_int_equal(kill(mcd.pid, SIGCONT), 0);
	assert_int_equal(vex_cache_owed(c), 1);
	usleep(1100000); /* past the skip window */
	assert_int_equal(vex_cache_job_get(c, a, &got, &len), VEX_ENOTFOUND);
	assert_int_equal(vex_cache_owed(c), 0);
	vex_cache_free(c);
	vex_cache_free(other);
}

/* memcached on a unix socket (as make run starts it): "unix:/path" and "/path" entries, mixed lists. */
static void test_unix_socket(void **state)
{
	char dir[] = "/tmp/vex-test-mc-XXXXXX", sock[96], entry[160], *got = NULL;
	struct vex_cache *c = NULL, *c2 = NULL, *mixed = NULL;
	int st, up = 0, rc_open, rc_ping, rc_put, rc_get = -1, rc_open2, rc_get2 = -1, rc_mixed;
	char want[256];
	size_t len = 0;
	pid_t pid;

	(void)state;
	/* Refused at open, before anything runs. */
	assert_int_equal(vex_cache_open("unix:relative.sock", 100, MC_SECRET, &c), VEX_EINVAL);
	assert_int_equal(vex_cache_open("unix:", 100, MC_SECRET, &c), VEX_EINVAL);
	assert_int_equal(vex_cache_open("127.0.0.1:99999", 100, MC_SECRET, &c), VEX_EINVAL);
	assert_int_equal(vex_cache_open("127.0.0.1:", 100, MC_SECRET, &c), VEX_EINVAL);
	assert_int_equal(vex_cache_open("a,,b", 100, MC_SECRET, &c), VEX_EINVAL);
	assert_int_equal(vex_cache_open("/x/xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx.sock", 100, MC_SECRET, &c), VEX_EINVAL);
	assert_null(c);

	assert_non_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/memcached.sock", dir);
	/* As root memcached runs as nobody, who must be able to create the socket in the directory. */
	if (geteuid() == 0)
		assert_int_equal(chmod(dir, 0777), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char *argv_root[] = { "memcached", "-s", sock, "-a", "0666", "-u", "nobody", NULL };
		char *argv_user[] = { "memcached", "-s", sock, "-a", "0600", NULL };
		char *envp[] = { NULL };

		execve(MEMCACHED_BIN, geteuid() == 0 ? argv_root : argv_user, envp);
		_exit(127);
	}
	for (int i = 0; i < 500 && !up; i++) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);

		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
		up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (fd >= 0)
			close(fd);
		if (!up)
			usleep(10000);
	}
	/* Everything below runs before any assertion, so that memcached is always stopped. */
	snprintf(entry, sizeof(entry), "unix:%s", sock);
	job_json(want, sizeof(want), "unix-job", 1, "queued");
	rc_open = vex_cache_open(entry, LIVE_TIMEOUT_MS, MC_SECRET, &c);
	rc_ping = rc_open ? rc_open : vex_cache_ping(c);
	rc_put = rc_open ? rc_open : vex_cache_job_put(c, "unix-job", want, strlen(want), 1);
	/* A bare path reaches the same server and its values. */
	rc_open2 = vex_cache_open(sock, LIVE_TIMEOUT_MS, MC_SECRET, &c2);
	if (rc_open2 == 0)
		rc_get2 = vex_cache_job_get(c2, "unix-job", &got, &len);
	if (rc_get2 == 0) {
		rc_get2 = strcmp(got, want) == 0 ? 0 : -1000;
		free(got);
	}
	if (rc_open == 0)
		rc_get = vex_cache_job_delete(c, "unix-job");
	/* Mixed with TCP entries (consistent hashing over both). */
	snprintf(entry, sizeof(entry), "%s, 127.0.0.1:%d,localhost", sock, mcd.port);
	rc_mixed = vex_cache_open(entry, 100, MC_SECRET, &mixed);
	vex_cache_free(c);
	vex_cache_free(c2);
	vex_cache_free(mixed);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	unlink(sock);
	rmdir(dir);

	assert_true(up);
	assert_int_equal(rc_open, 0);
	assert_int_equal(rc_ping, 0);
	assert_int_equal(rc_put, 0);
	assert_int_equal(rc_open2, 0);
	assert_int_equal(rc_get2, 0);
	assert_int_equal(rc_get, 0);
	assert_int_equal(rc_mixed, 0);
}

static void test_open_errors(void **state)
{
	struct vex_cache *c = (struct vex_cache *)0x1;

	(void)state;
	assert_int_equal(vex_cache_job_put(NULL, "x", "{}", 2, 1), VEX_EINVAL);
	assert_int_equal(vex_cache_ping(NULL), VEX_EINVAL);
	/* Two servers parse; consistent hashing needs no reachable server at open. */
	assert_int_equal(vex_cache_open("127.0.0.1:1,127.0.0.1:2", 50, MC_SECRET, &c), 0);
	vex_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_put_get),          cmocka_unit_test(test_ttl),
		          cmocka_unit_test(test_rev_ordering),
		cmocka_unit_test(test_concurrent_writers), cmocka_unit_test(test_miss_and_delete),
		cmocka_unit_test(test_foreign_value),    cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_disabled),         cmocka_unit_test(test_nothing_listening),
		cmocka_unit_test(test_open_errors),      cmocka_unit_test(test_silent_server),
		cmocka_unit_test(test_outage_and_return), cmocka_unit_test(test_missed_writes_are_made_good),
		cmocka_unit_test(test_unix_socket),      cmocka_unit_test(test_quiet_add),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
