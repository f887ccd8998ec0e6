/* http.c - fuzzes request parsing (fcgi-app/http.h): CGI parameters into a request, query strings, escapes. */
#include <fcgiapp.h>

#include "core/base/err.h"
#include "fcgi-app/http.h"
#include "tests/fuzz/fuzz.h"

#define PARAMS_MAX 32

/*
 * The input is "NAME=value" lines: the CGI parameters of one request (REQUEST_URI, QUERY_STRING,
 * CONTENT_LENGTH, HTTP_X_REQUEST_ID, ...), read as vex_http_req_begin reads nginx's. Its query is
 * then asked for the keys vex reads, and the whole input goes through the decoders.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = { "limit", "cursor", "status", "owner", "q", "a b", "", NULL };
	char *text = fuzz_str(data, size), *envp[PARAMS_MAX + 1], *line, *save = NULL;
	char out[64], big[VEX_HTTP_PATH_MAX];
	struct vex_http_req r;
	FCGX_Request f;
	size_t n = 0, i;
	long v;
	int rc;

	if (!text)
		return 0;
	for (i = 0; i < 2; i++) {
		rc = vex_http_decode((const char *)data, size, (int)i, big, sizeof(big));
		if (rc == 0)
			FUZZ_ASSERT(strlen(big) <= size);
	}
	vex_http_request_id_ok(text);
	vex_http_is_json(text);
	for (line = strtok_r(text, "\n", &save); line && n < PARAMS_MAX; line = strtok_r(NULL, "\n", &save))
		if (strchr(line, '='))
			envp[n++] = line;
	envp[n] = NULL;
	memset(&f, 0, sizeof(f));
	memset(&r, 0, sizeof(r));
	f.envp = envp;
	rc = vex_http_req_begin(&r, &f);
	FUZZ_ASSERT(rc == 0 || rc == VEX_EINVAL);
	FUZZ_ASSERT(r.path[0] == '/' || rc == 0);
	FUZZ_ASSERT(strlen(r.path) < sizeof(r.path));
	FUZZ_ASSERT(vex_http_request_id_ok(r.request_id));
	FUZZ_ASSERT(r.content_length >= -1);
	for (i = 0; keys[i]; i++) {
		rc = vex_http_query(&r, keys[i], out, sizeof(out));
		if (rc == 0)
			FUZZ_ASSERT(strlen(out) < sizeof(out));
		vex_http_query_get(r.query, keys[i], out, 1);
		vex_http_query_long(&r, keys[i], 20, 1, 100, (int)(i & 1), &v);
	}
	vex_http_is_json(vex_http_param(&r, "CONTENT_TYPE"));
	vex_http_req_release(&r);
	free(text);
	return 0;
}
