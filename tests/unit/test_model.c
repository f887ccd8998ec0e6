/* test_model.c - the model: status names, validation messages, deep copies, canonical JSON round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/base/err.h"
#include "core/jobs/model.h"

static void test_status_names(void **state)
{
	enum vex_job_status st;
	int i;

	(void)state;
	for (i = 0; i < VEX_JOB_STATUS_COUNT; i++) {
		assert_int_equal(vex_job_status_parse(vex_job_status_name((enum vex_job_status)i), &st), 0);
		assert_int_equal((int)st, i);
	}
	assert_string_equal(vex_job_status_name(VEX_JOB_QUEUED), "queued");
	assert_string_equal(vex_job_status_name(VEX_JOB_CANCELED), "canceled");
	assert_int_equal(vex_job_status_parse("pending", &st), VEX_EINVAL);
	assert_int_equal(vex_job_status_parse("QUEUED", &st), VEX_EINVAL);
	assert_int_equal(vex_job_status_parse(NULL, &st), VEX_EINVAL);
	assert_false(vex_job_status_terminal(VEX_JOB_QUEUED));
	assert_false(vex_job_status_terminal(VEX_JOB_RUNNING));
	assert_true(vex_job_status_terminal(VEX_JOB_COMPLETED));
	assert_true(vex_job_status_terminal(VEX_JOB_FAILED));
	assert_true(vex_job_status_terminal(VEX_JOB_TIMEOUT));
	assert_true(vex_job_status_terminal(VEX_JOB_CANCELED));
	assert_string_equal(vex_job_kind_name(VEX_JOB_AGENT), "agent");
	assert_string_equal(vex_job_kind_name(VEX_JOB_TOOL), "tool");
	assert_string_equal(vex_agent_status_name(VEX_AGENT_ACTIVE), "ACTIVE");
	assert_string_equal(vex_agent_status_name(VEX_AGENT_PAUSED), "PAUSED");
	assert_string_equal(vex_agent_status_name(VEX_AGENT_DELETED), "DELETED");
}

static struct vex_agent *good_agent(void)
{
	struct vex_agent *a = vex_agent_new();

	assert_non_null(a);
	a->name = strdup("researcher");
	a->role = strdup("You research things.\nCarefully.");
	a->max_depth = 3;
	return a;
}

/* Replace a string member, freeing the old one. */
static void set(char **field, const char *v)
{
	free(*field);
	*field = v ? strdup(v) : NULL;
}

static void expect_invalid(const struct vex_agent *a, const char *field, const char *message)
{
	struct vex_field_error e;

	memset(&e, 0, sizeof(e));
	assert_int_equal(vex_agent_validate(a, &e), VEX_EINVAL);
	assert_int_equal(e.status, 422);
	assert_string_equal(e.code, "VALIDATION_ERROR");
	assert_string_equal(e.field, field);
	if (message)
		assert_string_equal(e.message, message);
}

static void test_agent_validate(void **state)
{
	struct vex_agent *a = good_agent();
	struct vex_field_error e;
	char buf[512];

	(void)state;
	assert_int_equal(vex_agent_validate(a, &e), 0);

	a->max_depth = 11;
	expect_invalid(a, "max_depth", "max_depth exceeds safety limit of 10");
	a->max_depth = 0;
	expect_invalid(a, "max_depth", NULL);
	a->max_depth = 10;
	assert_int_equal(vex_agent_validate(a, &e), 0);
	a->max_depth = 1;
	assert_int_equal(vex_agent_validate(a, &e), 0);

	set(&a->name, "");
	expect_invalid(a, "name", NULL);
	set(&a->name, NULL);
	expect_invalid(a, "name", "name is required");
	set(&a->name, "tab\there");
	expect_invalid(a, "name", NULL);
	/* 100 two-byte characters are fine, 101 are not: the limit counts code points. */
	memset(buf, 0, sizeof(buf));
	for (int i = 0; i < 100; i++)
		memcpy(buf + 2 * i, "\xc3\xa9", 2);
	set(&a->name, buf);
	assert_int_equal(vex_agent_validate(a, &e), 0);
	memcpy(buf + 200, "\xc3\xa9", 2);
	set(&a->name, buf);
	expect_invalid(a, "name", "name must be at most 100 characters");
	set(&a->name, "bad \xff utf8");
	expect_invalid(a, "name", NULL);
	set(&a->name, "ok");

	set(&a->role, "ab");
	expect_invalid(a, "role", "role must be at least 3 characters");
	memset(buf, 'r', 501);
	buf[501] = '\0';
	set(&a->role, buf);
	expect_invalid(a, "role", "role must be at most 500 characters");
	buf[500] = '\0';
	set(&a->role, buf);
	assert_int_equal(vex_agent_validate(a, &e), 0);
	set(&a->role, "bell \a here");
	expect_invalid(a, "role", NULL);
	set(&a->role, "a fine role");

	set(&a->base_url, "ftp://example.com");
	expect_invalid(a, "base_url", NULL);
	set(&a->base_url, "https://");
	expect_invalid(a, "base_url", NULL);
	set(&a->base_url, "https://exa mple.com");
	expect_invalid(a, "base_url", NULL);
	set(&a->base_url, "https://example.com/app?x=1");
	assert_int_equal(vex_agent_validate(a, &e), 0);

	set(&a->schedule_json, "{\"tasksPerDay\":2,\"times\":[\"09:00\",\"17:30\"]}");
	assert_int_equal(vex_agent_validate(a, &e), 0);
	set(&a->schedule_json, "{\"tasksPerDay\":0}");
	expect_invalid(a, "schedule.tasksPerDay", NULL);
	set(&a->schedule_json, "{\"tasksPerDay\":2,\"times\":[\"09:00\",\"09:00\"]}");
	expect_invalid(a, "schedule.times", NULL);
	set(&a->schedule_json, "{\"tasksPerDay\":1,\"times\":[\"24:00\"]}");
	expect_invalid(a, "schedule.times", NULL);
	set(&a->schedule_json, "{\"tasksPerDay\":1,\"times\":[\"9:00\"]}");
	expect_invalid(a, "schedule.times", NULL);
	set(&a->schedule_json, "[1]");
	expect_invalid(a, "schedule", NULL);
	set(&a->schedule_json, "{\"tasksPerDay\":1,\"when\":1}");
	expect_invalid(a, "schedule", NULL);
	set(&a->schedule_json, NULL);

	set(&a->tools_json, "[\"echo\",\"sleep\"]");
	assert_int_equal(vex_agent_validate(a, &e), 0);
	set(&a->tools_json, "[\"echo\",3]");
	expect_invalid(a, "tools", NULL);
	set(&a->tools_json, "{}");
	expect_invalid(a, "tools", NULL);
	vex_agent_free(a);
	vex_agent_free(NULL);
}

static void test_prompt_validate(void **state)
{
	struct vex_field_error e;
	char *big;

	(void)state;
	assert_int_equal(vex_prompt_validate("hello\nworld", &e), 0);
	assert_int_equal(vex_prompt_validate("", &e), VEX_EINVAL);
	assert_string_equal(e.field, "prompt");
	assert_int_equal(e.status, 422);
	assert_int_equal(vex_prompt_validate(NULL, &e), VEX_EINVAL);
	assert_int_equal(vex_prompt_validate("\xc3\x28", &e), VEX_EINVAL);
	assert_int_equal(vex_prompt_validate("\xed\xa0\x80", &e), VEX_EINVAL); /* a surrogate */
	big = malloc(VEX_PROMPT_MAX + 2);
	assert_non_null(big);
	memset(big, 'p', VEX_PROMPT_MAX);
	big[VEX_PROMPT_MAX] = '\0';
	assert_int_equal(vex_prompt_validate(big, &e), 0);
	big[VEX_PROMPT_MAX] = 'p';
	big[VEX_PROMPT_MAX + 1] = '\0';
	assert_int_equal(vex_prompt_validate(big, &e), VEX_EINVAL);
	assert_string_equal(e.message, "prompt must be at most 50000 characters");
	free(big);
}

static struct vex_job *full_job(void)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	snprintf(j->id, sizeof(j->id), "0190a000-0000-7000-8000-000000000001");
	snprintf(j->owner, sizeof(j->owner), "alice");
	j->plan = VEX_PLAN_PRO;
	j->kind = VEX_JOB_AGENT;
	snprintf(j->agent_id, sizeof(j->agent_id), "0190a000-0000-7000-8000-0000000000aa");
	j->input_json = strdup("{\"prompt\":\"hi \\\"there\\\"\",\"context_id\":null}");
	j->status = VEX_JOB_FAILED;
	j->attempts = 2;
	j->max_attempts = 3;
	j->priority = -4;
	j->timeout_ms = 300000;
	j->created_at = 1700000000000001;
	j->started_at = 1700000000100000;
	j->completed_at = 1700000000200000;
	j->updated_at = 1700000000200000;
	j->progress.current_step = strdup("3");
	j->progress.total_steps = 5;
	j->progress.percentage = 60.5;
	j->progress.message = strdup("working");
	j->result_json = strdup("[1,{\"a\":true},\"x\"]");
	j->error_code = strdup("EXECUTION_ERROR");
	j->error_message = strdup("it broke");
	j->error_details_json = strdup("{\"line\":3}");
	j->tokens_in = 120;
	j->tokens_out = 45;
	j->final_model = strdup("echo");
	j->steps = 4;
	j->browser_steps = 2;
	j->browser_seconds = 1.25;
	j->idempotency_key = strdup("k1");
	j->cancel_requested = 1;
	j->lease_owner = strdup("runner-1");
	j->lease_expires_at = 99;
	j->rev = 7;
	j->traceparent = strdup("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
	return j;
}

static char *dump(const struct vex_job *j)
{
	json_t *v = vex_job_to_json(j);
	char *s;

	assert_non_null(v);
	s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(v);
	assert_non_null(s);
	return s;
}

static void test_json_round_trip(void **state)
{
	struct vex_job *j = full_job(), *back = NULL;
	json_t *v;
	char *a, *b;

	(void)state;
	v = vex_job_to_json(j);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "status")), "failed");
	assert_string_equal(json_string_value(json_object_get(v, "plan")), "pro");
	assert_string_equal(json_string_value(json_object_get(v, "kind")), "agent");
	assert_int_equal(json_integer_value(json_object_get(v, "rev")), 7);
	assert_true(json_is_true(json_object_get(v, "cancel_requested")));
	assert_true(json_is_object(json_object_get(v, "input")));
	assert_true(json_is_null(json_object_get(v, "tool")));
	/* Lease fields and the idempotency key stay private. */
	assert_null(json_object_get(v, "lease_owner"));
	assert_null(json_object_get(v, "lease_expires_at"));
	assert_null(json_object_get(v, "idempotency_key"));
	assert_int_equal(vex_job_from_json(v, &back), 0);
	json_decref(v);
	a = dump(j);
	b = dump(back);
	assert_string_equal(a, b);
	assert_string_equal(back->input_json, j->input_json);
	assert_string_equal(back->result_json, j->result_json);
	assert_string_equal(back->error_details_json, j->error_details_json);
	assert_true(back->created_at == j->created_at);
	assert_true(back->progress.percentage == 60.5);
	assert_null(back->lease_owner);
	assert_string_equal(back->traceparent, j->traceparent);
	free(a);
	free(b);
	vex_job_free(back);
	vex_job_free(j);
}

static void test_json_minimal(void **state)
{
	struct vex_job *j = vex_job_new(), *back = NULL;
	json_t *v;
	char *a, *b;

	(void)state;
	snprintf(j->id, sizeof(j->id), "0190a000-0000-7000-8000-000000000002");
	snprintf(j->owner, sizeof(j->owner), "bob");
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup("echo");
	j->input_json = strdup("{}");
	j->rev = 1;
	v = vex_job_to_json(j);
	assert_true(json_is_null(json_object_get(v, "agent_id")));
	assert_true(json_is_null(json_object_get(v, "started_at")));
	assert_true(json_is_null(json_object_get(v, "progress")));
	assert_true(json_is_null(json_object_get(v, "result")));
	assert_true(json_is_null(json_object_get(v, "error")));
	assert_null(json_object_get(v, "traceparent")); /* absent when unset */
	assert_int_equal(vex_job_from_json(v, &back), 0);
	json_decref(v);
	assert_string_equal(back->agent_id, "");
	assert_string_equal(back->tool, "echo");
	assert_null(back->result_json);
	assert_null(back->error_code);
	assert_null(back->progress.current_step);
	a = dump(j);
	b = dump(back);
	assert_string_equal(a, b);
	free(a);
	free(b);
	vex_job_free(back);
	vex_job_free(j);
}

static void expect_bad(const char *text)
{
	struct vex_job *j = NULL;
	json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

	assert_non_null(v);
	assert_int_equal(vex_job_from_json(v, &j), VEX_EINVAL);
	assert_null(j);
	json_decref(v);
}

static void test_json_rejects(void **state)
{
	(void)state;
	expect_bad("[]");
	expect_bad("{}");
	expect_bad("{\"id\":\"x\",\"owner\":\"o\",\"plan\":\"free\",\"kind\":\"tool\",\"status\":\"nope\",\"rev\":1}");
	expect_bad("{\"id\":\"x\",\"owner\":\"o\",\"plan\":\"gold\",\"kind\":\"tool\",\"status\":\"queued\",\"rev\":1}");
	expect_bad("{\"id\":\"x\",\"owner\":\"o\",\"plan\":\"free\",\"kind\":\"x\",\"status\":\"queued\",\"rev\":1}");
	expect_bad("{\"id\":\"x\",\"owner\":\"o\",\"plan\":\"free\",\"kind\":\"tool\",\"status\":\"queued\"}");
	expect_bad("{\"id\":\"x\",\"owner\":\"o\",\"plan\":\"free\",\"kind\":\"tool\",\"status\":\"queued\",\"rev\":1,"
		   "\"attempts\":\"2\"}");
	expect_bad("{\"id\":\"x\",\"owner\":\"o\",\"plan\":\"free\",\"kind\":\"tool\",\"status\":\"queued\",\"rev\":1,"
		   "\"progress\":3}");
	expect_bad("{\"id\":\"0123456789012345678901234567890123456789\",\"owner\":\"o\",\"plan\":\"free\","
		   "\"kind\":\"tool\",\"status\":\"queued\",\"rev\":1}");
	expect_bad("{\"id\":\"\",\"owner\":\"o\",\"plan\":\"free\",\"kind\":\"tool\",\"status\":\"queued\",\"rev\":1}");
}

static void test_dup(void **state)
{
	struct vex_job *j = full_job(), *d;
	char *a, *b;

	(void)state;
	d = vex_job_dup(j);
	assert_non_null(d);
	assert_ptr_not_equal(d->input_json, j->input_json);
	assert_ptr_not_equal(d->lease_owner, j->lease_owner);
	assert_string_equal(d->lease_owner, "runner-1");
	assert_string_equal(d->idempotency_key, "k1");
	assert_ptr_not_equal(d->traceparent, j->traceparent);
	a = dump(j);
	vex_job_free(j); /* the copy must not share anything with the original */
	b = dump(d);
	assert_string_equal(a, b);
	free(a);
	free(b);
	vex_job_free(d);
	vex_job_free(NULL);
	assert_null(vex_job_dup(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_status_names),    cmocka_unit_test(test_agent_validate),
		cmocka_unit_test(test_prompt_validate), cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_minimal),    cmocka_unit_test(test_json_rejects),
		cmocka_unit_test(test_dup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
