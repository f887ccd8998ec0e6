/* watch.c - vexctl follows a job's event stream (SSE): a progress bar on a terminal, lines when piped. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "core/base/timeutil.h"
#include "tools/vexctl/jobs.h"
#include "tools/vexctl/output.h"

#define BAR_WIDTH 30
#define RECONNECT_MS 2000 /* the stream's own "retry: 2000" */
#define MAX_FAILS 5       /* reconnections in a row that brought no event */

/* One stream being read: the line being assembled, the event being assembled, what was seen. */
struct watch {
	struct vc_client *c;
	struct vex_buf line;
	struct vex_buf data;
	char event[64];
	long long id;      /* the "id:" of the event being read */
	long long last_id; /* the last event shown: Last-Event-ID on reconnection */
	int tty, drawn;    /* stdout is a terminal; a bar is on its last line */
	int events;        /* events shown by this connection */
	int terminal;      /* the terminal event came */
	int bad;           /* 0, or VEX_ETOOBIG / VEX_EINVAL: the stream is unusable */
	json_t *job;       /* the job as of the last event */
};

static int is_terminal(const char *s)
{
	return s && (!strcmp(s, "completed") || !strcmp(s, "failed") || !strcmp(s, "timeout") ||
		     !strcmp(s, "canceled"));
}

/* "step 2/3  67%  message" of the job's progress into "buf" ("" when none). */
static void progress_text(json_t *job, char *buf, size_t n, double *ret_pct)
{
	json_t *p = json_object_get(job, "progress");
	char step[64], total[64], msg[256], clean[256];
	const char *cur, *tot, *m;
	double pct = -1;

	buf[0] = '\0';
	*ret_pct = -1;
	if (!json_is_object(p))
		return;
	cur = vc_cell(p, "current_step", step, sizeof(step));
	tot = vc_cell(p, "total_steps", total, sizeof(total));
	m = vc_cell(p, "message", msg, sizeof(msg));
	if (json_is_number(json_object_get(p, "percentage")))
		pct = json_number_value(json_object_get(p, "percentage"));
	if (pct < 0 || pct > 100)
		pct = pct < 0 ? -1 : 100;
	snprintf(buf, n, "step %s/%s", cur ? vc_clean(cur, step, sizeof(step)) : "?",
		 tot ? vc_clean(tot, total, sizeof(total)) : "?");
	if (pct >= 0)
		snprintf(buf + strlen(buf), n - strlen(buf), "  %.0f%%", pct);
	if (m)
		snprintf(buf + strlen(buf), n - strlen(buf), "  %s", vc_clean(m, clean, 80));
	*ret_pct = pct;
}

/* The one-line account of an event: "progress  running  step 2/3  67%  message". */
static void event_line(struct watch *w, const char *status, char *buf, size_t n, double *ret_pct)
{
	char prog[512], ev[64];
	size_t len;

	progress_text(w->job, prog, sizeof(prog), ret_pct);
	snprintf(buf, n, "%-16s %-9s%s%s", vc_clean(w->event[0] ? w->event : "message", ev, sizeof(ev)), status,
		 prog[0] ? "  " : "", prog);
	len = strlen(buf);
	while (len && buf[len - 1] == ' ')
		buf[--len] = '\0';
}

/* Shows the event just read: --json its data, on a terminal the bar redrawn in place, else a line. */
static int show(struct watch *w, const char *status)
{
	char line[700], bar[BAR_WIDTH + 1];
	double pct;
	int fill;

	if (w->c->json) {
		fwrite(w->data.p, 1, w->data.len, stdout);
		putchar('\n');
	} else if (!w->tty || is_terminal(status)) {
		event_line(w, status, line, sizeof(line), &pct);
		printf("%s%s\n", w->drawn ? "\r\033[K" : "", line);
		w->drawn = 0;
	} else {
		event_line(w, status, line, sizeof(line), &pct);
		fill = pct < 0 ? 0 : (int)(pct * BAR_WIDTH / 100 + 0.5);
		for (int i = 0; i < BAR_WIDTH; i++)
			bar[i] = i < fill ? '#' : '.';
		bar[BAR_WIDTH] = '\0';
		printf("\r\033[K[%s] %s", bar, line);
		w->drawn = 1;
	}
	return fflush(stdout) == 0 ? 0 : VEX_EIO;
}

/* A blank line ends an event: its data must be a job, which is shown. */
static int dispatch(struct watch *w)
{
	json_t *job;
	const char *status;
	int rc = 0;

	if (!w->data.len)
		goto out;
	job = json_loadb(w->data.p, w->data.len, 0, NULL);
	status = json_string_value(json_object_get(job, "status"));
	if (!json_is_object(job) || !status || !*status || strlen(status) > 16 || vex_has_control_chars(status)) {
		json_decref(job);
		rc = w->bad = VEX_EINVAL;
		goto out;
	}
	json_decref(w->job);
	w->job = job;
	rc = show(w, status);
	if (w->id > w->last_id)
		w->last_id = w->id;
	w->events++;
	w->terminal = is_terminal(status);
out:
	vex_buf_reset(&w->data);
	w->event[0] = '\0';
	return rc;
}

/* One line of the stream (without its end). */
static int take_line(struct watch *w, char *s, size_t len)
{
	long long v;

	if (len && s[len - 1] == '\r')
		s[--len] = '\0';
	if (len == 0)
		return dispatch(w);
	if (s[0] == ':')
		return 0; /* a comment: pings */
	if (!strncmp(s, "data:", 5)) {
		s += 5 + (s[5] == ' ');
		if (w->data.len && vex_buf_add(&w->data, "\n", 1) < 0)
			return w->bad = VEX_ETOOBIG;
		return vex_buf_puts(&w->data, s) < 0 ? (w->bad = VEX_ETOOBIG) : 0;
	}
	if (!strncmp(s, "event:", 6)) {
		s += 6 + (s[6] == ' ');
		snprintf(w->event, sizeof(w->event), "%s", s);
	} else if (!strncmp(s, "id:", 3)) {
		s += 3 + (s[3] == ' ');
		if (vc_parse_ll(s, 1, 999999999999999999LL, &v) == 0)
			w->id = v;
	}
	return 0; /* retry: and unknown fields are ignored, as EventSource does */
}

/* libcurl's write callback: whole lines to take_line; 0 (stop) once the job ended or the stream is bad. */
static size_t on_data(char *p, size_t size, size_t n, void *arg)
{
	struct watch *w = arg;
	size_t len = size * n, start = 0;

	if (w->terminal || w->bad)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] != '\n')
			continue;
		if (vex_buf_add(&w->line, p + start, i - start) < 0) {
			w->bad = VEX_ETOOBIG;
			return 0;
		}
		if (take_line(w, w->line.len ? w->line.p : (char *)"", w->line.len) < 0 || w->terminal || w->bad)
			return 0;
		vex_buf_reset(&w->line);
		start = i + 1;
	}
	if (vex_buf_add(&w->line, p + start, len - start) < 0) {
		w->bad = VEX_ETOOBIG;
		return 0;
	}
	return len;
}

/* The outcome after the terminal event: the result on stdout, or the error. */
static int outcome(struct watch *w)
{
	const char *status = json_string_value(json_object_get(w->job, "status"));
	json_t *err = json_object_get(w->job, "error");
	char buf[4096], code[128], msg[1024];
	char *dump = NULL;

	if (w->c->json)
		return vc_done(!strcmp(status, "completed") ? VC_EXIT_OK : VC_EXIT_JOB);
	if (!strcmp(status, "completed")) {
		dump = json_dumps(json_object_get(w->job, "result"), JSON_COMPACT | JSON_ENCODE_ANY);
		if (dump)
			printf("result: %s\n", vc_clean(dump, buf, sizeof(buf)));
		free(dump);
		return vc_done(VC_EXIT_OK);
	}
	printf("%s: %s: %s\n", status, vc_cell(err, "code", code, sizeof(code)) ? vc_clean(code, buf, 128) : "-",
	       vc_cell(err, "message", msg, sizeof(msg)) ? vc_clean(msg, buf + 128, sizeof(buf) - 128) : "-");
	return vc_done(VC_EXIT_JOB);
}

/* After 204 (the job ended and every event was seen): the job itself. */
static int fetch_final(struct watch *w, const char *path)
{
	struct vc_answer a;
	char jp[512];
	int status;

	memcpy(jp, path, strlen(path) - strlen("/stream") + 1);
	jp[strlen(path) - strlen("/stream")] = '\0';
	status = vc_call(w->c, "GET", jp, NULL, &a);
	if (status == 0 && is_terminal(json_string_value(json_object_get(a.json, "status")))) {
		json_decref(w->job);
		w->job = json_incref(a.json);
		w->terminal = 1;
	} else if (status == 0) {
		fprintf(stderr, "vexctl: the stream ended (204) but the job is not finished\n");
		status = VC_EXIT_API;
	}
	vc_answer_release(&a);
	return status;
}

int vc_watch(struct vc_client *c, const char *id)
{
	struct watch w;
	struct vex_buf errbody;
	struct vc_answer ea;
	char path[512];
	long st;
	CURLcode code;
	int fails = 0, status = VC_EXIT_API, rc;

	memset(&w, 0, sizeof(w));
	w.c = c;
	w.tty = isatty(STDOUT_FILENO);
	vex_buf_init(&w.line, VC_EVENT_MAX);
	vex_buf_init(&w.data, VC_EVENT_MAX);
	vex_buf_init(&errbody, 64 * 1024);
	if (vc_path(path, sizeof(path), "jobs/%s/stream", id) < 0) {
		fprintf(stderr, "vexctl: bad job id (empty, \".\", \"..\", a \"/\", or too long)\n");
		goto out;
	}
	for (;;) {
		w.events = 0;
		w.event[0] = '\0';
		vex_buf_reset(&w.line);
		vex_buf_reset(&w.data);
		vex_buf_reset(&errbody);
		rc = vc_stream(c, path, w.last_id, on_data, &w, &st, &errbody, &code);
		if (w.terminal)
			break;
		if (w.bad) {
			fprintf(stderr, "vexctl: the stream sent %s: stopped\n",
				w.bad == VEX_ETOOBIG ? "a line larger than 16 MiB" : "an event that is not a job");
			goto out;
		}
		if (st == 204) {
			status = fetch_final(&w, path);
			if (status)
				goto out;
			break;
		}
		if (st && st != 200 && st != 502 && st != 503 && st != 504) {
			memset(&ea, 0, sizeof(ea));
			ea.status = st;
			ea.json = errbody.len ? json_loadb(errbody.p, errbody.len, 0, NULL) : NULL;
			vc_say_api_error(&ea);
			json_decref(ea.json);
			goto out;
		}
		fails = w.events ? 0 : fails + 1;
		if (fails > MAX_FAILS) {
			fprintf(stderr, "vexctl: gave up following job %s after %d attempts\n", id, fails);
			status = rc < 0 || !st ? VC_EXIT_CONN : VC_EXIT_API;
			goto out;
		}
		if (w.drawn && fflush(stdout) == 0) {
			putchar('\n');
			w.drawn = 0;
		}
		fprintf(stderr, "vexctl: the stream of job %s ended early; reconnecting after event %lld\n", id,
			w.last_id);
		vex_sleep_ms(RECONNECT_MS, NULL);
	}
	status = outcome(&w);
out:
	if (w.drawn) {
		putchar('\n');
		fflush(stdout);
	}
	json_decref(w.job);
	vex_buf_release(&w.line);
	vex_buf_release(&w.data);
	vex_buf_release(&errbody);
	return status;
}
