/* page.c - one page of a store listing (page.h). */
#include "fcgi-app/page.h"

json_t *vex_page_rows(const void *list, size_t n, int limit, vex_page_row_fn row, const void *arg, const char **next)
{
	size_t i, shown = limit > 0 && n > (size_t)limit ? (size_t)limit : n;
	const char *id = NULL;
	json_t *arr = json_array(), *v;

	*next = NULL;
	if (arr == NULL)
		return NULL;
	for (i = 0; i < shown; i++) {
		v = row(list, i, arg, &id);
		if (v == NULL || json_array_append_new(arr, v) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	if (shown < n)
		*next = id;
	return arr;
}

/* A function pointer does not convert to void *: the views travel in these. */
struct agent_view {
	json_t *(*fn)(const struct vex_agent *);
};
struct job_view {
	json_t *(*fn)(const struct vex_job *);
};

static json_t *agent_row(const void *list, size_t i, const void *arg, const char **id)
{
	const struct vex_agent *a = ((const struct vex_agent_list *)list)->items[i];

	*id = a->id;
	return ((const struct agent_view *)arg)->fn(a);
}

static json_t *job_row(const void *list, size_t i, const void *arg, const char **id)
{
	const struct vex_job *j = ((const struct vex_job_list *)list)->items[i];

	*id = j->id;
	return ((const struct job_view *)arg)->fn(j);
}

json_t *vex_page_agents(const struct vex_agent_list *l, int limit, json_t *(*view)(const struct vex_agent *),
			const char **next)
{
	struct agent_view v = { view };

	return vex_page_rows(l, l->n, limit, agent_row, &v, next);
}

json_t *vex_page_jobs(const struct vex_job_list *l, int limit, json_t *(*view)(const struct vex_job *),
		      const char **next)
{
	struct job_view v = { view };

	return vex_page_rows(l, l->n, limit, job_row, &v, next);
}
