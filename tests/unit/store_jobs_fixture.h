/* store_jobs_fixture.h - the job store tests' shared state: a fresh store per test, tool jobs, counts. */
#ifndef VEX_TEST_STORE_JOBS_FIXTURE_H
#define VEX_TEST_STORE_JOBS_FIXTURE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/store/store.h"
#define STORE_FIXTURE_GLOBALS "jobs"
#include "tests/unit/store_fixture.h"

static const int limits[VEX_PLAN_COUNT] = { 1, 2, 5, 20 };
static int64_t clock_us = 1700000000000000;

#define LEASE_US 30000000

static inline struct vex_job *new_tool_job(const char *owner, enum vex_plan plan, int priority)
{
	struct vex_job *j = vex_job_new();

	assert_non_null(j);
	vex_uuid7(j->id);
	snprintf(j->owner, sizeof(j->owner), "%s", owner);
	j->plan = plan;
	j->kind = VEX_JOB_TOOL;
	j->tool = strdup("echo");
	j->input_json = strdup("{\"x\":1}");
	j->max_attempts = 3;
	j->priority = priority;
	j->timeout_ms = 1000;
	j->created_at = ++clock_us;
	return j;
}

/* Insert a tool job and return its id in "id". */
static inline void add_job(const char *owner, enum vex_plan plan, int priority, char id[VEX_UUID_LEN + 1])
{
	struct vex_job *j = new_tool_job(owner, plan, priority), *got = NULL;
	int created = -1;

	assert_int_equal(vex_store_job_insert(store, j, &got, &created), 0);
	assert_int_equal(created, 1);
	if (id)
		memcpy(id, got->id, VEX_UUID_LEN + 1);
	vex_job_free(got);
	vex_job_free(j);
}

/* Queue "n" equal tool jobs of "owner". */
static inline void add_jobs(const char *owner, enum vex_plan plan, int n)
{
	for (int i = 0; i < n; i++)
		add_job(owner, plan, 0, NULL);
}

static inline int64_t count(const char *owner, int status)
{
	struct vex_job_filter f;
	int64_t n = -1;

	vex_job_filter_init(&f);
	f.owner = owner;
	f.status = status;
	assert_int_equal(vex_store_jobs_count(store, &f, &n), 0);
	return n;
}

/* The jobs of "owner" (a plain name) with "status" (-1: any) as stored, read by SQL on either backend. */
static inline int64_t stored_count(const char *owner, int status)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM jobs WHERE owner = '%s'%s%s%s", owner,
		 status >= 0 ? " AND status = '" : "", status >= 0 ? vex_job_status_name(status) : "",
		 status >= 0 ? "'" : "");
	return store_fixture_sql_int(&fx, sql);
}

#endif
