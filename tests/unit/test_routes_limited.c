/* test_routes_limited.c - every POST route of vex-api that creates work is VEX_ROUTE_LIMITED, and only those;
 * every write route names the body fields it takes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "fcgi-app/routes.h"

/*
 * POSTs that change or read what exists and create no work: a cancel (one job, or by filter: admin
 * only), a pause or resume (of an agent, or of claiming: admin only), a
 * stream token (minted, not stored; the stream server caps open streams per owner), a token
 * revocation (admin only; it takes access away). A new POST
 * route is limited unless it is added here, on purpose (docs/limits.md, "Request rate").
 */
static const char *const not_work[] = {
	"/api/v1/jobs/{id}/cancel", "/api/v1/jobs/{id}/stream_token", "/jobs/{id}/stream_token",
	"/v1/agents/{id}/pause",    "/v1/agents/{id}/resume",	     "/api/v1/tokens/revocations",
	"/api/v1/jobs/cancel",	    "/api/v1/tools/{name}/pause",   "/api/v1/tools/{name}/resume",
	"/api/v1/runners/pause",    "/api/v1/runners/resume",	     NULL,
};

/*
 * Write routes whose handlers read no body: they take none or {} (vex_fields_no_body; a retry reads {}
 * for its Idempotency-Key's request hash and refuses any field). Every other
 * POST/PATCH/PUT route names its accepted fields (struct vex_route "fields"), exactly those its
 * docs/api-*.md page lists.
 */
static const char *const no_fields[] = {
	"/api/v1/jobs/{id}/cancel", "/api/v1/jobs/{id}/stream_token", "/jobs/{id}/stream_token",
	"/v1/agents/{id}/pause",    "/v1/agents/{id}/resume",
	"/api/v1/jobs/{id}/retry",  "/jobs/{id}/retry",
	"/api/v1/webhooks/{id}/deliveries/{delivery_id}/resend", "/webhooks/{id}/deliveries/{delivery_id}/resend",
	"/api/v1/tools/{name}/pause", "/api/v1/tools/{name}/resume", "/api/v1/runners/pause", "/api/v1/runners/resume",
	NULL,
};

static int in_list(const char *const *list, const char *pattern)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], pattern) == 0)
			return 1;
	return 0;
}

static int listed(const char *pattern)
{
	return in_list(not_work, pattern);
}

static void test_every_post_that_creates_work_is_limited(void **state)
{
	size_t limited = 0, bad = 0;

	(void)state;
	for (size_t t = 0; t < vex_route_tables_n; t++) {
		for (size_t i = 0; i < vex_route_tables[t]->n; i++) {
			const struct vex_route *r = &vex_route_tables[t]->routes[i];
			int is_limited = (r->flags & VEX_ROUTE_LIMITED) != 0;

			if (strcmp(r->method, "POST") != 0) {
				/* Reads, patches and deletes create nothing. */
				if (is_limited) {
					printf("%s %s is limited but creates no work\n", r->method, r->pattern);
					bad++;
				}
				continue;
			}
			if (is_limited == listed(r->pattern)) {
				printf("POST %s: %s\n", r->pattern,
				       is_limited ? "listed as creating no work, yet limited"
						  : "not VEX_ROUTE_LIMITED: mark it, or list it in not_work[] if it creates no work");
				bad++;
			}
			limited += (size_t)is_limited;
			assert_false(is_limited && (r->flags & VEX_ROUTE_PUBLIC)); /* no principal to count */
		}
	}
	assert_int_equal(bad, 0);
	/* The eleven of docs/limits.md's table, at least. */
	assert_true(limited >= 11);
}

static void test_every_write_route_names_its_fields(void **state)
{
	size_t bad = 0, writes = 0;

	(void)state;
	for (size_t t = 0; t < vex_route_tables_n; t++) {
		for (size_t i = 0; i < vex_route_tables[t]->n; i++) {
			const struct vex_route *r = &vex_route_tables[t]->routes[i];
			int write = strcmp(r->method, "POST") == 0 || strcmp(r->method, "PATCH") == 0 ||
				    strcmp(r->method, "PUT") == 0;

			if (!write) {
				bad += r->fields != NULL; /* a body a GET or DELETE never reads */
				continue;
			}
			writes++;
			if ((r->fields == NULL || r->fields[0] == NULL) != in_list(no_fields, r->pattern)) {
				printf("%s %s: %s\n", r->method, r->pattern,
				       r->fields ? "listed as taking no fields, yet has a field list"
						 : "no field list: name the body's documented fields, or list it in no_fields[]");
				bad++;
			}
		}
	}
	assert_int_equal(bad, 0);
	assert_true(writes >= 19);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_post_that_creates_work_is_limited),
		cmocka_unit_test(test_every_write_route_names_its_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
