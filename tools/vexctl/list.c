/* list.c - vexctl's listings: query options, the request, the table or the raw answer. */
#include <string.h>

#include "tools/vexctl/list.h"

#define MAX_QUERY_OPTS 16

int vc_list_query(int argc, char **argv, struct vc_ctx *ctx, const struct option *opts, const char *const *names,
		  char *path, size_t n)
{
	const char *values[MAX_QUERY_OPTS] = { NULL };
	size_t count = 0;
	int ch;

	while (opts && opts[count].name && count < MAX_QUERY_OPTS)
		count++;
	optind = 0;
	while ((ch = vc_getopt(argc, argv, opts, ctx)) != -1) {
		if (ch < 1 || (size_t)ch > count)
			return ch == VC_OPT_HELP ? VC_OPT_HELP : VC_EXIT_USAGE;
		values[ch - 1] = optarg;
	}
	if (vc_operands(argc, argv, 0, "") < 0)
		return VC_EXIT_USAGE;
	for (size_t i = 0; i < count; i++) {
		if (vc_query(path, n, names[i], values[i]) < 0) {
			vc_usage_error("the options are too long");
			return VC_EXIT_USAGE;
		}
	}
	return 0;
}

int vc_list_print(const struct vc_client *c, const struct vc_answer *a, const struct vc_listing *l)
{
	struct vc_table t;
	json_t *item;
	const char *next;
	char clean[256];
	size_t i;
	int status;

	if (c->json)
		return vc_print_raw(a);
	vc_table_init(&t, l->ncols, l->head);
	if (l->member) {
		json_array_foreach(json_object_get(a->json, l->member), i, item)
			l->row(&t, item);
	} else {
		l->row(&t, a->json);
	}
	status = vc_table_print(&t);
	vc_table_release(&t);
	next = l->member ? json_string_value(json_object_get(a->json, "next_cursor")) : NULL;
	if (status == 0 && next)
		fprintf(stderr, "more: --cursor %s\n", vc_clean(next, clean, sizeof(clean)));
	return status;
}

int vc_list_show(struct vc_ctx *ctx, const char *method, const char *path, const struct vc_listing *l)
{
	struct vc_client c = { 0 };
	struct vc_answer a = { 0 };
	int status = vc_client_open(ctx, &c);

	if (status)
		goto out;
	status = vc_call(&c, method, path, NULL, &a);
	if (status == 0)
		status = vc_list_print(&c, &a, l);
out:
	vc_answer_release(&a);
	vc_client_release(&c);
	return status;
}
