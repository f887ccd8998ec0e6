/* test_sealbox.c - AES-256-GCM sealing of secrets at rest: round trip, tamper, wrong key, wrong associated data, truncation, key files, rotation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/hooks/sealbox.h"

#define SECRET "whsec_3q2+7wAAAAAREiIzRFVmd4iZqrvM3e7/AAAAAAAAAAA="
#define AD "webhooks.secret:hook_0190f0a0b0c07d00800000000000000a"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/vex-seal-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char p[128];

	(void)state;
	for (int i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/k%d", dir, i);
		unlink(p);
	}
	return rmdir(dir);
}

static void key_file(int i, const char *text, char path[128])
{
	FILE *f;

	snprintf(path, 128, "%s/k%d", dir, i);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void ring(struct vex_sealring *r, int first)
{
	memset(r, 0, sizeof(*r));
	memset(r->cur.key, first, sizeof(r->cur.key));
	snprintf(r->cur.id, sizeof(r->cur.id), "%02x%02x%02x%02x", first, first, first, first);
}

static void test_round_trip_and_nonce(void **state)
{
	struct vex_sealring r;
	char *a = NULL, *b = NULL, *plain = NULL;

	(void)state;
	ring(&r, 1);
	assert_int_equal(vex_sealbox_seal(&r.cur, AD, SECRET, &a), 0);
	assert_int_equal(vex_sealbox_seal(&r.cur, AD, SECRET, &b), 0);
	assert_true(vex_sealbox_is_sealed(a) && vex_sealbox_is_current(&r, a));
	assert_int_equal(strncmp(a, "vxs1:01010101:", 14), 0);
	assert_null(strstr(a, "whsec_"));
	assert_string_not_equal(a, b); /* a fresh nonce per value */
	assert_int_equal(vex_sealbox_open(&r, AD, a, &plain), 0);
	assert_string_equal(plain, SECRET);
	free(plain);
	assert_int_equal(vex_sealbox_is_sealed(SECRET), 0);
	assert_int_equal(vex_sealbox_seal(&r.cur, AD, "", &plain), VEX_EINVAL);
	free(a);
	free(b);
}

static void test_tamper_wrong_key_wrong_ad_truncation(void **state)
{
	struct vex_sealring r, other;
	char *a = NULL, *plain = NULL, *t;
	size_t n;

	(void)state;
	ring(&r, 1);
	assert_int_equal(vex_sealbox_seal(&r.cur, AD, SECRET, &a), 0);
	n = strlen(a);
	t = strdup(a);
	assert_non_null(t);
	/* every hex digit flipped in turn: nonce, ciphertext and tag are all covered */
	for (size_t i = 14; i < n; i++) {
		char c = t[i];

		t[i] = c == '0' ? '1' : '0';
		assert_int_equal(vex_sealbox_open(&r, AD, t, &plain), VEX_EAUTH);
		t[i] = c;
	}
	/* another key under the same id */
	ring(&other, 1);
	memset(other.cur.key, 2, sizeof(other.cur.key));
	assert_int_equal(vex_sealbox_open(&other, AD, a, &plain), VEX_EAUTH);
	/* a key of another id: not found */
	ring(&other, 3);
	assert_int_equal(vex_sealbox_open(&other, AD, a, &plain), VEX_ENOTFOUND);
	/* the value moved to another row */
	assert_int_equal(vex_sealbox_open(&r, "webhooks.secret:hook_other", a, &plain), VEX_EAUTH);
	/* the key id in the header is authenticated too */
	memcpy(t + 5, "02020202", 8);
	memcpy(other.cur.key, r.cur.key, sizeof(r.cur.key));
	snprintf(other.cur.id, sizeof(other.cur.id), "02020202");
	assert_int_equal(vex_sealbox_open(&other, AD, t, &plain), VEX_EAUTH);
	/* truncation: by one hex digit, one byte, down to the header, and garbage */
	memcpy(t, a, n + 1);
	t[n - 1] = '\0';
	assert_int_equal(vex_sealbox_open(&r, AD, t, &plain), VEX_EINVAL);
	t[n - 2] = '\0';
	assert_int_equal(vex_sealbox_open(&r, AD, t, &plain), VEX_EAUTH);
	t[14] = '\0';
	assert_int_equal(vex_sealbox_open(&r, AD, t, &plain), VEX_EINVAL);
	assert_int_equal(vex_sealbox_open(&r, AD, "vxs1:01010101:zz", &plain), VEX_EINVAL);
	assert_int_equal(vex_sealbox_open(&r, AD, SECRET, &plain), VEX_EINVAL);
	assert_null(plain);
	free(t);
	free(a);
}

static void test_key_files_and_rotation(void **state)
{
	struct vex_sealring r1, r2, r3;
	struct vex_sealkey k;
	char p0[128], p1[128], p2[128], err[256], *a = NULL, *plain = NULL;
	struct stat st;

	(void)state;
	snprintf(p0, sizeof(p0), "%s/k0", dir);
	/* absent, not created: not found; created: 0600, 64 hex digits, the same key when read again */
	assert_int_equal(vex_sealkey_load(p0, 0, &k, err, sizeof(err)), VEX_ENOTFOUND);
	assert_int_equal(vex_sealring_load(p0, NULL, 1, &r1, err, sizeof(err)), 0);
	assert_int_equal(stat(p0, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, 65);
	assert_int_equal(vex_sealkey_load(p0, 1, &k, err, sizeof(err)), 0);
	assert_memory_equal(k.key, r1.cur.key, sizeof(k.key));
	assert_string_equal(k.id, r1.cur.id);
	/* malformed key files */
	key_file(1, "not hex\n", p1);
	assert_int_equal(vex_sealkey_load(p1, 0, &k, err, sizeof(err)), VEX_EINVAL);
	assert_non_null(strstr(err, "64 hex digits"));
	key_file(1, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00\n", p1);
	assert_int_equal(vex_sealkey_load(p1, 0, &k, err, sizeof(err)), VEX_EINVAL);
	/* rotation: a new current key, the old one as previous: old values open, new ones seal under the new key */
	assert_int_equal(vex_sealbox_seal(&r1.cur, AD, SECRET, &a), 0);
	key_file(2, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n", p2);
	assert_int_equal(chmod(p2, 0644), 0);
	assert_int_equal(vex_sealring_load(p2, p0, 0, &r2, err, sizeof(err)), 0);
	assert_int_equal(stat(p2, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600); /* made private when read */
	assert_true(r2.has_prev);
	assert_string_not_equal(r2.cur.id, r1.cur.id);
	assert_false(vex_sealbox_is_current(&r2, a));
	assert_int_equal(vex_sealbox_open(&r2, AD, a, &plain), 0);
	assert_string_equal(plain, SECRET);
	free(plain);
	plain = NULL;
	/* once the previous key is dropped, values still under it no longer open */
	assert_int_equal(vex_sealring_load(p2, NULL, 0, &r3, err, sizeof(err)), 0);
	assert_int_equal(vex_sealbox_open(&r3, AD, a, &plain), VEX_ENOTFOUND);
	vex_sealring_release(&r1);
	vex_sealring_release(&r2);
	vex_sealring_release(&r3);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_nonce),
		cmocka_unit_test(test_tamper_wrong_key_wrong_ad_truncation),
		cmocka_unit_test(test_key_files_and_rotation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
