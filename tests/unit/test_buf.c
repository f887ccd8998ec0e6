/* test_buf.c - the capped growable buffer: appends, printf, the cap, sticky errors, reset, steal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/buf.h"
#include "core/base/err.h"

static void test_append_and_grow(void **state)
{
	struct vex_buf b;
	char chunk[100];

	(void)state;
	vex_buf_init(&b, 1 << 20);
	assert_null(b.p);
	memset(chunk, 'x', sizeof(chunk));
	for (int i = 0; i < 100; i++)
		assert_int_equal(vex_buf_add(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.len, 10000);
	assert_true(b.cap > b.len);
	assert_int_equal(b.p[b.len], '\0');
	assert_int_equal(vex_buf_puts(&b, "end"), 0);
	assert_string_equal(b.p + 10000, "end");
	vex_buf_release(&b);
	assert_null(b.p);
	assert_int_equal(b.len, 0);
	vex_buf_release(NULL);
}

static void test_cap(void **state)
{
	struct vex_buf b;

	(void)state;
	vex_buf_init(&b, 10);
	assert_int_equal(vex_buf_add(&b, "0123456789", 10), 0); /* exactly the cap */
	assert_int_equal(b.cap, 11);
	assert_int_equal(vex_buf_add(&b, "a", 1), VEX_ETOOBIG);
	assert_int_equal(b.len, 10); /* unchanged */
	assert_string_equal(b.p, "0123456789");
	/* the error sticks until reset */
	assert_int_equal(vex_buf_add(&b, "", 0), VEX_ETOOBIG);
	assert_int_equal(b.err, VEX_ETOOBIG);
	vex_buf_reset(&b);
	assert_int_equal(b.err, 0);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	assert_int_equal(vex_buf_add(&b, "abc", 3), 0);
	assert_int_equal(vex_buf_reserve(&b, 8), VEX_ETOOBIG);
	assert_int_equal(b.err, 0); /* reserve does not stick */
	assert_int_equal(vex_buf_reserve(&b, 7), 0);
	assert_int_equal(vex_buf_reserve(&b, SIZE_MAX), VEX_ETOOBIG);
	vex_buf_release(&b);
	/* a zero cap takes nothing but the empty string */
	vex_buf_init(&b, 0);
	assert_int_equal(vex_buf_add(&b, "", 0), 0);
	assert_string_equal(b.p, "");
	assert_int_equal(vex_buf_add(&b, "x", 1), VEX_ETOOBIG);
	vex_buf_release(&b);
}

static void test_printf(void **state)
{
	struct vex_buf b;
	char big[2000];

	(void)state;
	vex_buf_init(&b, 4096);
	assert_int_equal(vex_buf_printf(&b, "id: %d\n", 42), 0);
	assert_string_equal(b.p, "id: 42\n");
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(vex_buf_printf(&b, "[%s]", big), 0); /* longer than the stack scratch */
	assert_int_equal(b.len, 7 + 2 + 1999);
	assert_int_equal(b.p[b.len - 1], ']');
	assert_int_equal(b.p[b.len], '\0');
	assert_int_equal(vex_buf_printf(&b, "%s%s", big, big), VEX_ETOOBIG);
	assert_int_equal(b.len, 7 + 2 + 1999);
	vex_buf_release(&b);
}

static void test_steal(void **state)
{
	struct vex_buf b;
	size_t len = 0;
	char *s;

	(void)state;
	vex_buf_init(&b, 100);
	s = vex_buf_steal(&b, &len);
	assert_string_equal(s, "");
	assert_int_equal(len, 0);
	free(s);
	assert_int_equal(vex_buf_add(&b, "hello", 5), 0);
	s = vex_buf_steal(&b, &len);
	assert_string_equal(s, "hello");
	assert_int_equal(len, 5);
	assert_null(b.p);
	assert_int_equal(b.max, 100);
	free(s);
}

/* The read(2) pattern: reserve, write in place, account; and consuming from the front. */
static void test_wrote_and_drop(void **state)
{
	struct vex_buf b;

	(void)state;
	vex_buf_init(&b, 64);
	assert_int_equal(vex_buf_reserve(&b, 10), 0);
	memcpy(b.p, "0123456789", 10);
	vex_buf_wrote(&b, 10);
	assert_string_equal(b.p, "0123456789");
	vex_buf_drop(&b, 4);
	assert_string_equal(b.p, "456789");
	assert_int_equal(b.len, 6);
	vex_buf_drop(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.p, "");
	vex_buf_release(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_and_grow),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_steal),
		cmocka_unit_test(test_wrote_and_drop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
