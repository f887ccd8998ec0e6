/* schema_pattern.c - ECMA-262 patterns of JSON Schema compiled and matched by PCRE2 within limits. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/tools/schema_pattern.h"

#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"

#define CACHE_SLOTS 16 /* compiled patterns kept during one check */

struct slot {
	const char *text; /* the pattern as the schema holds it: the key */
	pcre2_code *re;   /* NULL: does not compile */
};

struct vex_patterns {
	struct slot slot[CACHE_SLOTS];
	size_t n;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
};

/*
 * ECMA-262 with the "u" flag is what JSON Schema means: UTF-8 code points; "$" only at the very end
 * (no newline before it); \uHHHH and \u{H…} escapes (ALT_BSUX). Not PCRE2_UCP: ECMA's \d, \w and
 * \b are ASCII, and UCP would let \d accept every script's digits. \C (one byte of a code point)
 * is refused.
 */
#define COMPILE_OPTIONS (PCRE2_UTF | PCRE2_ALT_BSUX | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C)

/* Unicode's long General_Category names, which ECMA-262 accepts in \p{...} and PCRE2 10.42 does not. */
static const char *const categories[][2] = {
	{ "Letter", "L" }, { "Cased_Letter", "LC" }, { "Uppercase_Letter", "Lu" }, { "Lowercase_Letter", "Ll" },
	{ "Titlecase_Letter", "Lt" }, { "Modifier_Letter", "Lm" }, { "Other_Letter", "Lo" }, { "Mark", "M" },
	{ "Combining_Mark", "M" }, { "Nonspacing_Mark", "Mn" }, { "Spacing_Mark", "Mc" }, { "Enclosing_Mark", "Me" },
	{ "Number", "N" }, { "Decimal_Number", "Nd" }, { "digit", "Nd" }, { "Letter_Number", "Nl" },
	{ "Other_Number", "No" }, { "Punctuation", "P" }, { "punct", "P" }, { "Connector_Punctuation", "Pc" },
	{ "Dash_Punctuation", "Pd" }, { "Open_Punctuation", "Ps" }, { "Close_Punctuation", "Pe" },
	{ "Initial_Punctuation", "Pi" }, { "Final_Punctuation", "Pf" }, { "Other_Punctuation", "Po" },
	{ "Symbol", "S" }, { "Math_Symbol", "Sm" }, { "Currency_Symbol", "Sc" }, { "Modifier_Symbol", "Sk" },
	{ "Other_Symbol", "So" }, { "Separator", "Z" }, { "Space_Separator", "Zs" }, { "Line_Separator", "Zl" },
	{ "Paragraph_Separator", "Zp" }, { "Other", "C" }, { "Control", "Cc" }, { "cntrl", "Cc" }, { "Format", "Cf" },
	{ "Surrogate", "Cs" }, { "Private_Use", "Co" }, { "Unassigned", "Cn" },
};

/* "text" into "out" ("cap" bytes, no fewer than text's) with \\p{General_Category=Letter}, \\p{gc=L}
 * and \\p{Letter} written as PCRE2's \\p{L}; everything else copied. Never longer than "text". */
static void spell_properties(const char *text, char *out, size_t cap)
{
	const char *name, *end;
	size_t i, n, o = 0;

	while (*text && o + 1 < cap) {
		if (text[0] != '\\' || !text[1]) {
			out[o++] = *text++;
			continue;
		}
		end = (text[1] == 'p' || text[1] == 'P') && text[2] == '{' ? strchr(text + 3, '}') : NULL;
		if (!end) {
			out[o++] = *text++; /* an escape: both characters as they are */
			if (o + 1 < cap)
				out[o++] = *text++;
			continue;
		}
		name = text + 3;
		if (strncmp(name, "General_Category=", 17) == 0)
			name += 17;
		else if (strncmp(name, "gc=", 3) == 0)
			name += 3;
		n = (size_t)(end - name);
		for (i = 0; i < sizeof(categories) / sizeof(categories[0]); i++)
			if (strlen(categories[i][0]) == n && strncmp(name, categories[i][0], n) == 0)
				break;
		if (i < sizeof(categories) / sizeof(categories[0]))
			name = categories[i][1], n = strlen(name);
		o += (size_t)snprintf(out + o, cap - o, "\\%c{%.*s}", text[1], (int)n, name);
		text = end + 1;
	}
	out[o < cap ? o : cap - 1] = '\0';
}

/* The compiled "text", or NULL with "why" (when not NULL) saying why it does not compile. */
static pcre2_code *compile(const char *text, char *why, size_t whylen, int *nomem)
{
	char spelled[VEX_SCHEMA_PATTERN_MAX + 1];
	pcre2_compile_context *cctx;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off = 0;
	pcre2_code *re = NULL;
	size_t len = strlen(text);
	int err = 0;

	*nomem = 0;
	if (len > VEX_SCHEMA_PATTERN_MAX) {
		if (why)
			snprintf(why, whylen, "longer than %d bytes", VEX_SCHEMA_PATTERN_MAX);
		return NULL;
	}
	cctx = pcre2_compile_context_create(NULL);
	if (!cctx) {
		*nomem = 1;
		return NULL;
	}
	pcre2_set_compile_extra_options(cctx, PCRE2_EXTRA_ALT_BSUX);
	spell_properties(text, spelled, sizeof(spelled));
	re = pcre2_compile((PCRE2_SPTR)spelled, strlen(spelled), COMPILE_OPTIONS, &err, &off, cctx);
	pcre2_compile_context_free(cctx);
	if (re)
		return re;
	if (err == PCRE2_ERROR_HEAPLIMIT || err == PCRE2_ERROR_NOMEMORY) {
		*nomem = 1;
		return NULL;
	}
	if (why) {
		if (pcre2_get_error_message(err, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", err);
		snprintf(why, whylen, "%s at offset %zu", (char *)msg, (size_t)off);
	}
	return NULL;
}

static int patterns_new(struct vex_patterns **ret)
{
	struct vex_patterns *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return VEX_ENOMEM;
	ps->mctx = pcre2_match_context_create(NULL);
	ps->md = pcre2_match_data_create(1, NULL);
	if (!ps->mctx || !ps->md) {
		vex_patterns_free(ps);
		return VEX_ENOMEM;
	}
	pcre2_set_match_limit(ps->mctx, VEX_SCHEMA_MATCH_LIMIT);
	pcre2_set_depth_limit(ps->mctx, VEX_SCHEMA_MATCH_DEPTH);
	pcre2_set_heap_limit(ps->mctx, VEX_SCHEMA_MATCH_HEAP_KIB);
	*ret = ps;
	return 0;
}

/* The slot of "text", compiled on first use; a schema with more patterns than slots recycles the oldest. */
static int slot_get(struct vex_patterns *ps, const char *text, struct slot **ret)
{
	struct slot *s;
	size_t i;
	int nomem;

	for (i = 0; i < ps->n; i++)
		if (ps->slot[i].text == text) {
			*ret = &ps->slot[i];
			return 0;
		}
	if (ps->n == CACHE_SLOTS) {
		pcre2_code_free(ps->slot[0].re);
		memmove(&ps->slot[0], &ps->slot[1], sizeof(ps->slot[0]) * (CACHE_SLOTS - 1));
		ps->n--;
	}
	s = &ps->slot[ps->n];
	s->re = compile(text, NULL, 0, &nomem);
	if (nomem)
		return VEX_ENOMEM;
	s->text = text;
	ps->n++;
	*ret = s;
	return 0;
}

int vex_patterns_match(struct vex_patterns **ps, const char *text, const char *subject)
{
	struct slot *s;
	int rc;

	if (!*ps && (rc = patterns_new(ps)) < 0)
		return rc;
	if ((rc = slot_get(*ps, text, &s)) < 0)
		return rc;
	if (!s->re)
		return VEX_EINVAL;
	rc = pcre2_match(s->re, (PCRE2_SPTR)subject, strlen(subject), 0, 0, (*ps)->md, (*ps)->mctx);
	if (rc >= 0)
		return 1; /* 0: matched, with more groups than the match data holds */
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_NOMEMORY)
		return VEX_ENOMEM;
	return VEX_ETOOBIG; /* match, depth or heap limit (or a subject PCRE2 refuses) */
}

void vex_patterns_free(struct vex_patterns *ps)
{
	size_t i;

	if (!ps)
		return;
	for (i = 0; i < ps->n; i++)
		pcre2_code_free(ps->slot[i].re);
	pcre2_match_data_free(ps->md);
	pcre2_match_context_free(ps->mctx);
	free(ps);
}

/* ---- every pattern of a schema ---- */

/* Keywords whose value is a schema (ONE), an array of schemas (LIST) or an object of schemas (MAP). */
enum { ONE, LIST, MAP };
static const struct {
	const char *key;
	int kind;
} subschemas[] = {
	{ "additionalProperties", ONE }, { "additionalItems", ONE }, { "items", ONE }, { "not", ONE },
	{ "contains", ONE }, { "if", ONE }, { "then", ONE }, { "else", ONE }, { "propertyNames", ONE },
	{ "unevaluatedItems", ONE }, { "unevaluatedProperties", ONE }, { "contentSchema", ONE },
	{ "allOf", LIST }, { "anyOf", LIST }, { "oneOf", LIST }, { "prefixItems", LIST }, { "items", LIST },
	{ "properties", MAP }, { "patternProperties", MAP }, { "$defs", MAP }, { "definitions", MAP },
	{ "dependentSchemas", MAP },
};

static int walk(const json_t *schema, char *where, size_t used, size_t cap, char *why, size_t whylen);

/* "where" (holding "used" bytes) extended by ".<name>", or "[index]" when "name" is NULL; its new
 * length ("used" when it does not fit: the message shows the path so far). */
static size_t path_add(char *where, size_t used, size_t cap, const char *name, size_t index)
{
	int n;

	if (name)
		n = snprintf(where + used, cap - used, "%s%s", used ? "." : "", name);
	else
		n = snprintf(where + used, cap - used, "[%zu]", index);
	if (n < 0 || (size_t)n >= cap - used) {
		where[used] = '\0';
		return used;
	}
	return used + (size_t)n;
}

/* "what" of "text" does not compile: "<where>.<what> "<text>": <reason>". */
static int compile_one(const char *text, const char *where, const char *what, char *why, size_t whylen)
{
	char reason[VEX_SCHEMA_PATTERN_WHY_MAX];
	pcre2_code *re;
	int nomem;

	re = compile(text, reason, sizeof(reason), &nomem);
	if (re) {
		pcre2_code_free(re);
		return 0;
	}
	if (nomem)
		return VEX_ENOMEM;
	snprintf(why, whylen, "%s%s%s \"%.80s%s\": %s", where, *where ? "." : "", what, text,
		 strlen(text) > 80 ? "..." : "", reason);
	return VEX_EINVAL;
}

static int walk(const json_t *schema, char *where, size_t used, size_t cap, char *why, size_t whylen)
{
	const json_t *x, *sub;
	const char *key;
	size_t i, j;
	int rc;

	if (!json_is_object(schema))
		return 0;
	x = json_object_get(schema, "pattern");
	if (json_is_string(x) && (rc = compile_one(json_string_value(x), where, "pattern", why, whylen)) < 0)
		return rc;
	x = json_object_get(schema, "patternProperties");
	json_object_foreach((json_t *)x, key, sub)
		if ((rc = compile_one(key, where, "patternProperties key", why, whylen)) < 0)
			return rc;
	for (i = 0; i < sizeof(subschemas) / sizeof(subschemas[0]); i++) {
		size_t at;

		x = json_object_get(schema, subschemas[i].key);
		if (subschemas[i].kind == LIST ? !json_is_array(x) : !json_is_object(x))
			continue;
		at = path_add(where, used, cap, subschemas[i].key, 0);
		rc = 0;
		if (subschemas[i].kind == ONE) {
			rc = walk(x, where, at, cap, why, whylen);
		} else if (subschemas[i].kind == LIST) {
			json_array_foreach(x, j, sub)
				if ((rc = walk(sub, where, path_add(where, at, cap, NULL, j), cap, why, whylen)) < 0)
					break;
		} else {
			json_object_foreach((json_t *)x, key, sub)
				if ((rc = walk(sub, where, path_add(where, at, cap, key, 0), cap, why, whylen)) < 0)
					break;
		}
		where[used] = '\0';
		if (rc < 0)
			return rc;
	}
	return 0;
}

int vex_schema_patterns_compile(const json_t *schema, char *why, size_t whylen)
{
	char where[256] = "";

	return walk(schema, where, 0, sizeof(where), why, whylen);
}
