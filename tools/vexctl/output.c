/* output.c - vexctl's aligned tables, cleaned cells and raw JSON output. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "tools/vexctl/output.h"

const char *vc_clean(const char *s, char *buf, size_t n)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p && o + 1 < n; p++) {
		/* C0, DEL and the C1 controls (U+0080-U+009F: 0xC2 0x80-0x9F in UTF-8). */
		if (*p < 0x20 || *p == 0x7f) {
			buf[o++] = '?';
		} else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			buf[o++] = '?';
			p++;
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o] = '\0';
	return buf;
}

/* Display width: UTF-8 code points (continuation bytes do not count). */
static size_t width(const char *s)
{
	size_t w = 0;

	for (; *s; s++)
		w += ((unsigned char)*s & 0xc0) != 0x80;
	return w;
}

/* "s" cut to VC_CELL_MAX code points, "..." at the end when cut, into "buf" (4 bytes a code point). */
static const char *cut(const char *s, char buf[VC_CELL_MAX * 4 + 4])
{
	size_t w = 0, i;

	if (width(s) <= VC_CELL_MAX)
		return s;
	for (i = 0; s[i]; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80 && w++ == VC_CELL_MAX - 3)
			break;
	}
	memcpy(buf, s, i);
	memcpy(buf + i, "...", 4);
	return buf;
}

void vc_table_init(struct vc_table *t, size_t ncols, const char *const *head)
{
	memset(t, 0, sizeof(*t));
	t->ncols = ncols;
	t->head = head;
}

void vc_table_add(struct vc_table *t, const char *const *cells)
{
	char clean[VC_CELL_MAX * 8], short_[VC_CELL_MAX * 4 + 4];
	char **grown;

	if (t->err)
		return;
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;

		grown = realloc(t->cells, cap * t->ncols * sizeof(char *));
		if (!grown) {
			t->err = VEX_ENOMEM;
			return;
		}
		t->cells = grown;
		t->cap = cap;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		const char *s = cells[i] ? cut(vc_clean(cells[i], clean, sizeof(clean)), short_) : "-";

		t->cells[t->nrows * t->ncols + i] = strdup(*s ? s : "-");
		if (!t->cells[t->nrows * t->ncols + i]) {
			for (size_t k = 0; k < i; k++)
				free(t->cells[t->nrows * t->ncols + k]);
			t->err = VEX_ENOMEM;
			return;
		}
	}
	t->nrows++;
}

static void print_row(const struct vc_table *t, const char *const *row, const size_t *w)
{
	for (size_t i = 0; i < t->ncols; i++) {
		if (i + 1 == t->ncols)
			printf("%s\n", row[i]);
		else
			printf("%s%*s", row[i], (int)(w[i] - width(row[i]) + 2), "");
	}
}

int vc_table_print(struct vc_table *t)
{
	size_t w[16] = { 0 };

	if (t->err || t->ncols > 16) {
		fprintf(stderr, "vexctl: out of memory\n");
		return VC_EXIT_API;
	}
	for (size_t i = 0; i < t->ncols; i++) {
		w[i] = t->head ? width(t->head[i]) : 0;
		for (size_t r = 0; r < t->nrows; r++) {
			size_t cw = width(t->cells[r * t->ncols + i]);

			w[i] = cw > w[i] ? cw : w[i];
		}
	}
	if (t->head)
		print_row(t, t->head, w);
	for (size_t r = 0; r < t->nrows; r++)
		print_row(t, (const char *const *)&t->cells[r * t->ncols], w);
	return vc_done(0);
}

void vc_table_release(struct vc_table *t)
{
	for (size_t i = 0; t->cells && i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = t->cap = 0;
}

const char *vc_cell(json_t *obj, const char *key, char *buf, size_t n)
{
	json_t *v = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	char *dump;

	switch (v ? json_typeof(v) : JSON_NULL) {
	case JSON_STRING:
		snprintf(buf, n, "%s", json_string_value(v));
		return buf;
	case JSON_INTEGER:
		snprintf(buf, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		return buf;
	case JSON_REAL:
		snprintf(buf, n, "%g", json_real_value(v));
		return buf;
	case JSON_TRUE:
		return "true";
	case JSON_FALSE:
		return "false";
	case JSON_OBJECT:
	case JSON_ARRAY:
		dump = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!dump)
			return NULL;
		snprintf(buf, n, "%s", dump);
		free(dump);
		return buf;
	default:
		return NULL;
	}
}

int vc_print_object(json_t *obj)
{
	struct vc_table t;
	const char *key;
	json_t *v;
	char buf[VC_CELL_MAX * 8];
	int status;

	vc_table_init(&t, 2, NULL);
	json_object_foreach(obj, key, v) {
		const char *row[2] = { key, vc_cell(obj, key, buf, sizeof(buf)) };

		vc_table_add(&t, row);
	}
	status = vc_table_print(&t);
	vc_table_release(&t);
	return status;
}

int vc_print_raw(const struct vc_answer *a)
{
	if (a->body.len) {
		fwrite(a->body.p, 1, a->body.len, stdout);
		if (a->body.p[a->body.len - 1] != '\n')
			putchar('\n');
	}
	return vc_done(0);
}

int vc_done(int status)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "vexctl: cannot write the output: %s\n", strerror(errno));
		return status ? status : VC_EXIT_API;
	}
	return status;
}
