/* test_browser.c - the browser session: origins, and a real Playwright MCP server + chromium on a loopback page. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "runner/browser.h"

#define PAGE_TITLE "Vex Browser Zebra-4417"
#define PAGE_TEXT "Purple otter 4417 says hello"

static const char page[] = "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n"
			   "<html><head><title>" PAGE_TITLE "</title></head><body><h1>" PAGE_TEXT
			   "</h1></body></html>";

/* A loopback HTTP server answering every request with "page". */
static int listen_fd = -1;
static int port;

static void *serve(void *arg)
{
	(void)arg;
	for (;;) {
		char buf[4096];
		size_t got = 0;
		ssize_t n;
		int c = accept(listen_fd, NULL, NULL);

		if (c < 0)
			return NULL;
		while (got < sizeof(buf) - 1 && (n = read(c, buf + got, sizeof(buf) - 1 - got)) > 0) {
			got += (size_t)n;
			buf[got] = '\0';
			if (strstr(buf, "\r\n\r\n"))
				break;
		}
		if (write(c, page, sizeof(page) - 1) < 0) {
			/* the browser went away: nothing to do */
		}
		close(c);
	}
}

static void start_server(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	pthread_t t;

	listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(listen_fd >= 0);
	assert_int_equal(bind(listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(listen_fd, 16), 0);
	assert_int_equal(getsockname(listen_fd, (struct sockaddr *)&sa, &sl), 0);
	port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&t, NULL, serve, NULL), 0);
	pthread_detach(t);
}

static void test_origin(void **state)
{
	char o[VEX_BROWSER_ORIGIN_MAX];

	(void)state;
	assert_int_equal(vex_browser_origin("http://127.0.0.1:8080/a/b?c", o, sizeof(o)), 0);
	assert_string_equal(o, "http://127.0.0.1:8080");
	assert_int_equal(vex_browser_origin("HTTPS://Example.COM:443/", o, sizeof(o)), 0);
	assert_string_equal(o, "https://example.com");
	assert_int_equal(vex_browser_origin("http://example.com", o, sizeof(o)), 0);
	assert_string_equal(o, "http://example.com");
	assert_int_equal(vex_browser_origin("http://[::1]:81/x", o, sizeof(o)), 0);
	assert_string_equal(o, "http://[::1]:81");
	assert_int_equal(vex_browser_origin("ftp://example.com/", o, sizeof(o)), VEX_EINVAL);
	assert_int_equal(vex_browser_origin("http://user@example.com/", o, sizeof(o)), VEX_EINVAL);
	assert_int_equal(vex_browser_origin("http:///x", o, sizeof(o)), VEX_EINVAL);
	assert_int_equal(vex_browser_origin("http://a:99999/", o, sizeof(o)), VEX_EINVAL);
	assert_int_equal(vex_browser_origin("http://a:/", o, sizeof(o)), VEX_EINVAL);
	assert_int_equal(vex_browser_origin("about:blank", o, sizeof(o)), VEX_EINVAL);
	assert_int_equal(vex_browser_origin(NULL, o, sizeof(o)), VEX_EINVAL);
	assert_int_equal(vex_browser_origin("http://example.com/", o, 8), VEX_EINVAL);
}

static char work_dir[] = "/tmp/vex-test-browser-XXXXXX";

static void make_cfg(struct vex_config *cfg, char *command)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->tools_work_dir = work_dir;
	cfg->browser_mcp_command = command;
	cfg->browser_chromium = "/usr/bin/chromium";
	cfg->tools_output_max = 1048576;
	cfg->tools_kill_grace_ms = 2000;
	cfg->mcp_init_timeout_ms = 30000;
	cfg->browser_allow_private = 1; /* the test's page is on loopback */
}

static void test_not_configured(void **state)
{
	struct vex_browser *b = NULL;
	struct vex_config cfg;
	char why[200];

	(void)state;
	make_cfg(&cfg, NULL);
	assert_int_equal(vex_browser_open(&cfg, "http://127.0.0.1:1/", NULL, &b, why, sizeof(why)), VEX_EINVAL);
	assert_non_null(strstr(why, "mcp_command"));
	assert_null(b);
	assert_true(vex_browser_close(NULL) == 0);
}

/* Without [browser] allow_private a session to a private address never starts. */
static void test_private_refused(void **state)
{
	static const char *const urls[] = { "http://127.0.0.1:1/", "http://169.254.169.254/latest/meta-data/",
					    "http://[::ffff:127.0.0.1]/", "http://localhost:8080/", "http://[2002:7f00:1::]/",
					    NULL };
	struct vex_browser *b = NULL;
	struct vex_config cfg;
	char why[300];
	size_t i;

	(void)state;
	make_cfg(&cfg, "/bin/false");
	cfg.browser_allow_private = 0;
	for (i = 0; urls[i]; i++) {
		assert_int_equal(vex_browser_open(&cfg, urls[i], NULL, &b, why, sizeof(why)), VEX_EINVAL);
		assert_non_null(strstr(why, "[browser] allow_private"));
		assert_null(b);
	}
}

/* 1 when some process still carries the session's marker in its environment. */
static int marker_alive(const char *dir)
{
	char needle[4200], path[300], buf[65536];
	struct dirent *e;
	DIR *d = opendir("/proc");
	int found = 0;

	snprintf(needle, sizeof(needle), "VEX_BROWSER_SESSION=%s", dir);
	while (d && (e = readdir(d)) != NULL && !found) {
		ssize_t n;
		int fd;

		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/environ", e->d_name);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf));
		close(fd);
		if (n > 0 && memmem(buf, (size_t)n, needle, strlen(needle)))
			found = 1;
	}
	if (d)
		closedir(d);
	return found;
}

static void test_session(void **state)
{
	const char *env = getenv("VEX_BROWSER_MCP");
	char command[4096], url[128], other[128], args[300], why[400], dir[4096], *text = NULL;
	struct vex_browser *b = NULL;
	struct vex_config cfg;
	json_t *fns = json_array();
	struct stat st;
	int is_error = -1, saw_nav = 0, saw_snap = 0, saw_eval = 0;
	size_t i;
	json_t *f;
	double secs;

	(void)state;
	snprintf(command, sizeof(command), "%s", env ? env : ".deps/node_modules/.bin/playwright-mcp");
	if (command[0] != '/') {
		char cwd[2048];

		assert_non_null(getcwd(cwd, sizeof(cwd)));
		snprintf(command, sizeof(command), "%s/%s", cwd, env ? env : ".deps/node_modules/.bin/playwright-mcp");
	}
	if (access(command, X_OK) != 0 || access("/usr/bin/chromium", X_OK) != 0) {
		fprintf(stderr, "skipped: %s or /usr/bin/chromium missing (tools/install-deps installs them)\n", command);
		skip();
	}
	start_server();
	make_cfg(&cfg, command);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	assert_int_equal(vex_browser_open(&cfg, url, NULL, &b, why, sizeof(why)), 0);
	snprintf(dir, sizeof(dir), "%s", vex_browser_dir(b));
	assert_int_equal(strncmp(dir, work_dir, strlen(work_dir)), 0);

	/* the tools as functions: the page tools offered, code evaluation not */
	assert_int_equal(vex_browser_functions(b, fns), 0);
	json_array_foreach(fns, i, f) {
		const char *name = json_string_value(json_object_get(json_object_get(f, "function"), "name"));

		saw_nav |= strcmp(name, "browser__navigate") == 0;
		saw_snap |= strcmp(name, "browser__snapshot") == 0;
		saw_eval |= strcmp(name, "browser__evaluate") == 0 || strcmp(name, "browser__run_code_unsafe") == 0;
		assert_true(json_is_object(json_object_get(json_object_get(f, "function"), "parameters")));
	}
	assert_true(saw_nav && saw_snap);
	assert_false(saw_eval);
	assert_true(vex_browser_has(b, "browser__navigate"));
	assert_false(vex_browser_has(b, "browser__evaluate"));

	/* navigate and snapshot: the page's title and text come back */
	snprintf(args, sizeof(args), "{\"url\":\"http://127.0.0.1:%d/page.html\"}", port);
	assert_int_equal(vex_browser_call(b, NULL, "browser__navigate", args, &text, &is_error, why, sizeof(why)), 0);
	assert_int_equal(is_error, 0);
	assert_non_null(strstr(text, PAGE_TITLE));
	free(text);
	text = NULL;
	assert_int_equal(vex_browser_call(b, NULL, "browser__snapshot", NULL, &text, &is_error, why, sizeof(why)), 0);
	assert_int_equal(is_error, 0);
	assert_non_null(strstr(text, PAGE_TEXT));
	free(text);
	text = NULL;
	assert_int_equal(vex_browser_steps(b), 2);

	/* another origin is refused before the browser sees it */
	snprintf(other, sizeof(other), "{\"url\":\"http://127.0.0.2:%d/\"}", port);
	assert_int_equal(vex_browser_call(b, NULL, "browser__navigate", other, &text, &is_error, why, sizeof(why)), 0);
	assert_int_equal(is_error, 1);
	assert_non_null(strstr(text, "refused"));
	free(text);
	text = NULL;
	assert_int_equal(vex_browser_steps(b), 2);

	/* unknown functions and bad arguments */
	assert_int_equal(vex_browser_call(b, NULL, "browser__evaluate", "{}", &text, &is_error, why, sizeof(why)),
			 VEX_EINVAL);
	assert_int_equal(vex_browser_call(b, NULL, "browser__navigate", "[1]", &text, &is_error, why, sizeof(why)),
			 VEX_EINVAL);
	assert_null(text);

	/* the session's processes were running; close ends all of them and removes the directory */
	assert_true(marker_alive(dir));
	secs = vex_browser_close(b);
	assert_true(secs > 0);
	assert_false(marker_alive(dir));
	assert_int_equal(stat(dir, &st), -1);
	json_decref(fns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_origin),
		cmocka_unit_test(test_not_configured),
		cmocka_unit_test(test_private_refused),
		cmocka_unit_test(test_session),
	};
	int rc;

	if (!mkdtemp(work_dir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(work_dir);
	return rc;
}
