/* tools.c - the builtin tools echo, sleep and fail; names resolved over builtins and the catalog; ranking. */
#include "core/tools/tools.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/tools/grant.h"

static const struct vex_tool_info builtins[] = {
	{
		"echo",
		"builtin",
		"Returns its arguments object unchanged as the result. Useful to check that jobs flow end to "
		"end and to see exactly what a tool receives.",
		"{\"type\":\"object\",\"additionalProperties\":true}",
		NULL,
	},
	{
		"sleep",
		"builtin",
		"Waits \"ms\" milliseconds (default 1000, at most one hour), reporting progress in \"steps\" "
		"equal parts (default 1, at most 1000), then returns {\"slept_ms\":ms,\"steps\":steps}. "
		"Useful to exercise progress, timeouts and cancellation.",
		"{\"type\":\"object\",\"properties\":{"
		"\"ms\":{\"type\":\"integer\",\"minimum\":0,\"maximum\":3600000,"
		"\"description\":\"How long to wait, in milliseconds.\"},"
		"\"steps\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":1000,"
		"\"description\":\"How many progress reports to make while waiting.\"}},"
		"\"additionalProperties\":false}",
		NULL,
	},
	{
		"fail",
		"builtin",
		"Always fails, with error code \"code\" (default TOOL_FAILED) and \"message\" (default "
		"\"the fail tool always fails\"). Useful to test error handling, retries and webhooks.",
		"{\"type\":\"object\",\"properties\":{"
		"\"message\":{\"type\":\"string\",\"maxLength\":1000,"
		"\"description\":\"The error message to report.\"},"
		"\"code\":{\"type\":\"string\",\"maxLength\":64,"
		"\"description\":\"The error code to report.\"}},"
		"\"additionalProperties\":false}",
		NULL,
	},
};

size_t vex_tools_builtin(const struct vex_tool_info **ret)
{
	*ret = builtins;
	return sizeof(builtins) / sizeof(builtins[0]);
}

const struct vex_tool_info *vex_tool_find(const char *name)
{
	size_t i;

	if (!name)
		return NULL;
	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

/* ---- resolution and listing ---- */

static void info_from_row(const struct vex_tool_row *r, struct vex_tool_info *t)
{
	t->name = r->name;
	t->source = r->source;
	t->description = r->description ? r->description : "";
	t->input_schema_json = r->input_schema;
	t->server = r->server;
}

void vex_tool_match_release(struct vex_tool_match *m)
{
	if (!m)
		return;
	vex_tool_rows_release(&m->rows);
	memset(m, 0, sizeof(*m));
}

/* "<name> is ambiguous: a, b" (cut with "..." when long). */
static int ambiguous(const char *name, const struct vex_tool_rows *rows, struct vex_field_error *e)
{
	char list[sizeof(e->message) - 120]; /* room for the name and the words around the list */
	size_t i, len = 0;

	list[0] = '\0';
	for (i = 0; i < rows->n && len < sizeof(list); i++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%s", i ? ", " : "", rows->items[i].name);
	if (len >= sizeof(list))
		memcpy(list + sizeof(list) - 4, "...", 4);
	return vex_field_error_set(e, 400, "AMBIGUOUS_TOOL", "tool", "%.100s is ambiguous: %s", name, list);
}

int vex_tool_row_allowed(const struct vex_tool_row *r, const void *who)
{
	return vex_grant_allows(r->grant, who);
}

int vex_tool_resolve(struct vex_store *s, const struct vex_principal *who, const char *name,
		     struct vex_tool_match *ret, struct vex_field_error *e)
{
	struct vex_field_error scratch;
	struct vex_tool_rows rows = { NULL, 0 };
	const struct vex_tool_info *b;
	int rc;

	if (!e)
		e = &scratch;
	if (!name || !*name)
		return VEX_ENOTFOUND;
	b = vex_tool_find(name);
	if (b) {
		memset(ret, 0, sizeof(*ret));
		ret->info = *b;
		return 0;
	}
	rc = vex_store_tool_resolve(s, name, who && who->role != VEX_ROLE_ADMIN ? vex_tool_row_allowed : NULL, who,
				    &rows);
	if (rc == VEX_ECONFLICT)
		rc = ambiguous(name, &rows, e);
	if (rc == 0) {
		memset(ret, 0, sizeof(*ret));
		ret->rows = rows;
		info_from_row(&rows.items[0], &ret->info);
		rows.items = NULL;
		rows.n = 0;
	}
	vex_tool_rows_release(&rows);
	return rc;
}

int vex_tools_list(struct vex_store *s, const struct vex_principal *who, struct vex_tool_list *ret)
{
	struct vex_tool_list l;
	const struct vex_tool_info *b;
	size_t nb, i;
	int rc;

	memset(&l, 0, sizeof(l));
	nb = vex_tools_builtin(&b);
	rc = vex_store_tools_list(s, &l.rows);
	if (rc)
		return rc;
	l.items = calloc(nb + l.rows.n, sizeof(*l.items));
	if (!l.items) {
		vex_tool_rows_release(&l.rows);
		return VEX_ENOMEM;
	}
	for (i = 0; i < nb; i++)
		l.items[l.n++] = b[i];
	/* a row shadowed by a builtin's name could never be called by that name: leave it out */
	for (i = 0; i < l.rows.n; i++)
		if (!vex_tool_find(l.rows.items[i].name) && vex_tool_row_allowed(&l.rows.items[i], who))
			info_from_row(&l.rows.items[i], &l.items[l.n++]);
	*ret = l;
	return 0;
}

void vex_tool_list_release(struct vex_tool_list *l)
{
	if (!l)
		return;
	free(l->items);
	vex_tool_rows_release(&l->rows);
	memset(l, 0, sizeof(*l));
}

json_t *vex_tool_schema(const struct vex_tool_info *t)
{
	json_t *v = t->input_schema_json ? json_loads(t->input_schema_json, JSON_DECODE_ANY, NULL) : NULL;

	return v ? v : json_object();
}

/* ---- ranking ---- */

#define TOKEN_MAX 64     /* bytes of a token compared (longer ones are cut) */
#define NAME_TOKENS_MAX 32

struct tokens {
	char (*t)[TOKEN_MAX + 1];
	size_t n, cap;
};

static int is_word(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int is_upper(unsigned char c)
{
	return c >= 'A' && c <= 'Z';
}

/*
 * The next token of "s" from *pos (len bytes in all) into "out", lower-cased; 0 at the end.
 * A token ends at a non-word byte, or where a lower-case letter or digit meets an upper-case one.
 */
static int next_token(const char *s, size_t len, size_t *pos, char *out)
{
	size_t i = *pos, n = 0;
	unsigned char c, prev = 0;

	while (i < len && !is_word((unsigned char)s[i]))
		i++;
	if (i >= len) {
		*pos = i;
		return 0;
	}
	for (; i < len && is_word(c = (unsigned char)s[i]); i++) {
		if (n > 0 && is_upper(c) && prev && !is_upper(prev) && prev < 0x80)
			break;
		if (n < TOKEN_MAX)
			out[n++] = (char)(is_upper(c) ? c - 'A' + 'a' : c);
		prev = c;
	}
	out[n] = '\0';
	*pos = i;
	return 1;
}

static int starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The points of query token "q" against the tool: 3, 2, 1 or 0. */
static int token_points(const char *q, char (*name)[TOKEN_MAX + 1], size_t nname, const char *desc,
			size_t desc_len)
{
	char tok[TOKEN_MAX + 1];
	size_t i, pos = 0;
	int best = 0;

	for (i = 0; i < nname; i++) {
		if (strcmp(name[i], q) == 0)
			return 3;
		if (starts_with(name[i], q))
			best = 2;
	}
	if (best)
		return best;
	while (next_token(desc, desc_len, &pos, tok))
		if (starts_with(tok, q))
			return 1;
	return 0;
}

static int hit_cmp(const void *a, const void *b)
{
	const struct vex_tool_hit *x = a, *y = b;

	if (x->score != y->score)
		return x->score > y->score ? -1 : 1;
	return strcmp(x->tool->name, y->tool->name);
}

size_t vex_tools_rank(const char *query, const struct vex_tool_info *tools, size_t n, struct vex_tool_hit *hits)
{
	char q[VEX_TOOLS_QUERY_TOKENS_MAX][TOKEN_MAX + 1], name[NAME_TOKENS_MAX][TOKEN_MAX + 1], tok[TOKEN_MAX + 1];
	size_t nq = 0, nname, i, j, pos = 0, nhits = 0, desc_len;
	int points;

	if (!query)
		return 0;
	while (nq < VEX_TOOLS_QUERY_TOKENS_MAX && next_token(query, strlen(query), &pos, tok)) {
		for (j = 0; j < nq && strcmp(q[j], tok) != 0; j++)
			;
		if (j == nq)
			memcpy(q[nq++], tok, sizeof(tok));
	}
	if (nq == 0)
		return 0;
	for (i = 0; i < n; i++) {
		const char *nm = tools[i].name ? tools[i].name : "", *desc = tools[i].description;

		nname = 0;
		pos = 0;
		while (nname < NAME_TOKENS_MAX && next_token(nm, strlen(nm), &pos, name[nname]))
			nname++;
		desc_len = desc ? strnlen(desc, VEX_TOOLS_DESC_SCAN_MAX) : 0;
		points = 0;
		for (j = 0; j < nq; j++)
			points += token_points(q[j], name, nname, desc ? desc : "", desc_len);
		if (points > 0) {
			hits[nhits].tool = &tools[i];
			hits[nhits].score = (double)points / (double)(3 * nq);
			nhits++;
		}
	}
	qsort(hits, nhits, sizeof(*hits), hit_cmp);
	return nhits;
}
