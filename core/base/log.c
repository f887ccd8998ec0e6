/* log.c - JSON-lines logging to stderr: one object per line, one write(2) per line. */
#include "core/base/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/base/timeutil.h"

#define LOG_LINE_MAX 16384
#define LOG_TAIL 48 /* room kept for the truncation marker and the closing brace */

static char log_proc[64] = "vex";
static int log_min = VEX_LOG_INFO;
/* One line is one write(2), but long lines on a pipe are not atomic: serialise writers of this process. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void vex_log_init(const char *proc, int min_level)
{
	if (proc)
		snprintf(log_proc, sizeof(log_proc), "%s", proc);
	if (min_level >= VEX_LOG_DEBUG && min_level <= VEX_LOG_ERROR)
		log_min = min_level;
}

int vex_log_level_parse(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i <= VEX_LOG_ERROR; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

struct line {
	char buf[LOG_LINE_MAX];
	size_t len;
	size_t cap;    /* usable bytes before the reserved tail */
	int truncated;
};

static void put_raw(struct line *l, const char *s, size_t n)
{
	if (l->truncated || l->len + n > l->cap) {
		l->truncated = 1;
		return;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* Length of the valid UTF-8 sequence at "s" (1..4), or 0 when invalid. */
static size_t utf8_seq(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f))
			return 0; /* overlong or surrogate */
		return 3;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80)
			return 0;
		if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] > 0x8f))
			return 0;
		return 4;
	}
	return 0;
}

static int b64url_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Length of the run of characters at "p" that "ok" accepts ('.' too when "dots"). */
static size_t run_len(const unsigned char *p, int dots, int b64std)
{
	size_t n = 0;

	while (b64url_char(p[n]) || (dots && p[n] == '.') || (b64std && (p[n] == '+' || p[n] == '/' || p[n] == '=')))
		n++;
	return n;
}

/*
 * A credential starting at "p" (the character before it is no part of a token): a JWT or a
 * stream/page token (base64url JSON: "eyJ", with a dot), an API key ("vex_" + 43), a webhook
 * secret ("whsec_..."), a model key ("sk-..."), or what follows "Bearer " or "stream_token=".
 * Returns the bytes to replace (0: none) and in *keep how many of them stay visible (the label).
 */
static size_t credential_at(const unsigned char *p, size_t *keep)
{
	size_t n;

	*keep = 0;
	if (strncmp((const char *)p, "eyJ", 3) == 0) {
		n = run_len(p, 1, 0);
		return n >= 16 && memchr(p, '.', n) ? n : 0;
	}
	if (strncmp((const char *)p, "vex_", 4) == 0 && run_len(p + 4, 0, 0) >= 43) {
		*keep = 4;
		return 4 + run_len(p + 4, 0, 0);
	}
	if (strncmp((const char *)p, "whsec_", 6) == 0 && run_len(p + 6, 0, 1) >= 8) {
		*keep = 6;
		return 6 + run_len(p + 6, 0, 1);
	}
	if (strncmp((const char *)p, "sk-", 3) == 0 && run_len(p + 3, 0, 0) >= 16) {
		*keep = 3;
		return 3 + run_len(p + 3, 0, 0);
	}
	if (strncasecmp((const char *)p, "bearer ", 7) == 0 && run_len(p + 7, 1, 1) >= 8) {
		*keep = 7;
		return 7 + run_len(p + 7, 1, 1);
	}
	if (strncmp((const char *)p, "stream_token=", 13) == 0 && run_len(p + 13, 1, 1) > 0) {
		*keep = 13;
		return 13 + run_len(p + 13, 1, 1);
	}
	return 0;
}

/*
 * Append "s" as a JSON string. Credentials in it (credential_at) become "[masked]": no log line
 * carries a token, key or secret, whatever a message quotes. Control characters are escaped and invalid
 * UTF-8 becomes U+FFFD, so a line stays valid JSON whatever a client sent.
 * When the line is full the string is cut at a character boundary and closed.
 * Returns 1 when the string was opened (and so closed), 0 when nothing was written.
 */
static int put_str(struct line *l, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : ""), *start = p;
	char esc[8];

	if (l->truncated)
		return 0;
	if (l->len + 2 > l->cap) {
		l->truncated = 1;
		return 0;
	}
	l->buf[l->len++] = '"';
	l->cap--; /* keep room for the closing quote */
	while (*p && !l->truncated) {
		size_t n = utf8_seq(p), keep, cred = 0;

		if (p == start || !b64url_char(p[-1]))
			cred = credential_at(p, &keep);
		if (cred > 0) {
			put_raw(l, (const char *)p, keep);
			put_raw(l, "[masked]", 8);
			p += cred;
		} else if (n == 0) {
			put_raw(l, "\\ufffd", 6);
			p++;
		} else if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			put_raw(l, esc, 2);
			p++;
		} else if (*p == '\n') {
			put_raw(l, "\\n", 2);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			put_raw(l, esc, 6);
			p++;
		} else {
			put_raw(l, (const char *)p, n);
			p += n;
		}
	}
	l->cap++;
	l->buf[l->len++] = '"';
	return 1;
}

void vex_log(int level, const char *msg, ...)
{
	struct line l;
	char ts[VEX_RFC3339_LEN], num[32];
	const char *lvl;
	va_list ap;

	if (level < log_min)
		return;
	lvl = level >= VEX_LOG_DEBUG && level <= VEX_LOG_ERROR ? level_names[level] : "error";
	l.len = 0;
	l.cap = sizeof(l.buf) - LOG_TAIL;
	l.truncated = 0;
	vex_rfc3339(vex_now_us(), ts);

	put_raw(&l, "{\"ts\":", 6);
	put_str(&l, ts);
	put_raw(&l, ",\"level\":", 9);
	put_str(&l, lvl);
	put_raw(&l, ",\"proc\":", 8);
	put_str(&l, log_proc);
	snprintf(num, sizeof(num), ",\"pid\":%ld", (long)getpid());
	put_raw(&l, num, strlen(num));
	put_raw(&l, ",\"msg\":", 7);
	put_str(&l, msg);

	va_start(ap, msg);
	for (;;) {
		const char *k = va_arg(ap, const char *);
		const char *v;
		size_t mark = l.len;
		int whole;

		if (!k)
			break;
		v = va_arg(ap, const char *);
		put_raw(&l, ",", 1);
		whole = put_str(&l, k) && !l.truncated;
		put_raw(&l, ":", 1);
		whole = whole && !l.truncated && put_str(&l, v);
		/* A pair cut before its value opened would break the object: drop it. */
		if (!whole)
			l.len = mark;
	}
	va_end(ap);

	/* The reserved tail always fits the marker and the end of the object. */
	if (l.truncated) {
		memcpy(l.buf + l.len, ",\"truncated\":true", 17);
		l.len += 17;
	}
	l.buf[l.len++] = '}';
	l.buf[l.len++] = '\n';

	pthread_mutex_lock(&log_lock);
	{
		const char *p = l.buf;
		size_t left = l.len;

		while (left > 0) {
			ssize_t n = write(STDERR_FILENO, p, left);

			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			p += n;
			left -= (size_t)n;
		}
	}
	pthread_mutex_unlock(&log_lock);
}
