/* jobfilter.h - the job listings' filters both job dialects take (GET /api/v1/jobs, corex GET /jobs):
 * status (one name or several joined by commas), kind, tool, agent_id, created_after, created_before. */
#ifndef VEX_JOBFILTER_H
#define VEX_JOBFILTER_H

#include "core/base/json.h"
#include "core/base/limits.h"
#include "core/store/store.h"
#include "fcgi-app/router.h"

/* Where the filter's strings live while the listing runs. */
struct vex_jobfilter_bufs {
	char tool[VEX_COREX_TOOL_NAME_MAX + 1];
	char agent_id[VEX_UUID_LEN + 1];
};

/* The status names of a dialect: vex says "pending" for queued (and refuses "queued"), corex "queued". */
enum vex_jobfilter_names { VEX_JOBFILTER_VEX, VEX_JOBFILTER_COREX };

/*
 * Read the filter query parameters of the request into "f" (its other members untouched), the strings
 * into "b". Answers nothing: VEX_EINVAL with "e" (400 VALIDATION_ERROR naming the parameter) for a bad
 * value, for the dialect to render. An empty "status" is refused in the vex names (as before) and
 * means no filter in the corex ones; other empty parameters mean no filter.
 */
int vex_jobfilter_query(struct vex_ctx *c, enum vex_jobfilter_names names, struct vex_job_filter *f,
			struct vex_jobfilter_bufs *b, struct vex_field_error *e);

#endif
