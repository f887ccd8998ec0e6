/* settings.c - where vexctl finds the service, the credential and the CA: flags, environment, config file. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/err.h"
#include "core/base/json.h"
#include "tools/vexctl/http.h"

#define CONFIG_MAX (64 * 1024)

/* One source of settings; NULL members are unset. */
struct source {
	const char *url, *token, *api_key, *cacert;
};

/* The config file's values, kept for the client's life. */
struct file_values {
	char url[1024], token[1024], api_key[1024], cacert[1024];
};

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/* One "key = value" line into "fv"/"src"; 0 or VEX_EINVAL (said, with "path" and "lineno"). */
static int config_line(const char *path, int lineno, char *line, struct file_values *fv, struct source *src)
{
	static const char *const keys[] = { "url", "token", "api_key", "cacert" };
	char *eq = strchr(line, '='), *key, *value;
	char *slots[4] = { fv->url, fv->token, fv->api_key, fv->cacert };
	const char **set[4] = { &src->url, &src->token, &src->api_key, &src->cacert };

	if (!eq) {
		fprintf(stderr, "vexctl: %s:%d: not a 'key = value' line\n", path, lineno);
		return VEX_EINVAL;
	}
	*eq = '\0';
	key = trim(line);
	value = trim(eq + 1);
	for (size_t i = 0; i < 4; i++) {
		if (strcmp(key, keys[i]))
			continue;
		if (!*value || strlen(value) >= sizeof(fv->url)) {
			fprintf(stderr, "vexctl: %s:%d: %s must be 1..%zu bytes\n", path, lineno, key, sizeof(fv->url) - 1);
			return VEX_EINVAL;
		}
		memcpy(slots[i], value, strlen(value) + 1);
		*set[i] = slots[i];
		return 0;
	}
	fprintf(stderr, "vexctl: %s:%d: unknown key '%s' (url, token, api_key, cacert)\n", path, lineno, key);
	return VEX_EINVAL;
}

/*
 * The config file: $VEXCTL_CONFIG (which must exist), else ~/.config/vex/config when it exists.
 * Like ssh with its keys, a file holding a credential that its group or others may read or write,
 * or that another user owns, is refused. 0 (src filled, or nothing when there is no file) or VEX_EINVAL (said).
 */
static int config_read(struct file_values *fv, struct source *src)
{
	const char *env = getenv("VEXCTL_CONFIG"), *home = getenv("HOME");
	char path[1024], text[CONFIG_MAX + 1], *line, *next;
	struct stat st;
	FILE *f = NULL;
	size_t len;
	int lineno = 0, rc = VEX_EINVAL;

	if (env && *env) {
		if (snprintf(path, sizeof(path), "%s", env) >= (int)sizeof(path))
			goto too_long;
	} else if (home && *home) {
		if (snprintf(path, sizeof(path), "%s/.config/vex/config", home) >= (int)sizeof(path))
			goto too_long;
	} else {
		return 0;
	}
	f = fopen(path, "re");
	if (!f && errno == ENOENT && !(env && *env))
		return 0;
	if (!f) {
		fprintf(stderr, "vexctl: cannot read the config file %s: %s\n", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "vexctl: the config file %s is not a regular file\n", path);
		goto out;
	}
	len = fread(text, 1, sizeof(text), f);
	if (ferror(f) || len > CONFIG_MAX) {
		fprintf(stderr, "vexctl: cannot read the config file %s (at most %d bytes)\n", path, CONFIG_MAX);
		goto out;
	}
	text[len] = '\0';
	for (line = text; line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		line = trim(line);
		if (!*line || *line == '#')
			continue;
		if (config_line(path, lineno, line, fv, src) < 0)
			goto out;
	}
	if ((src->token || src->api_key) && ((st.st_mode & 077) || (st.st_uid != getuid() && st.st_uid != 0))) {
		fprintf(stderr,
			"vexctl: the config file %s holds a credential but %s (mode %04o); "
			"refusing it: chmod 600 %s\n",
			path, (st.st_mode & 077) ? "its group or others may read or change it" : "another user owns it",
			(unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	rc = 0;
out:
	if (f)
		fclose(f);
	return rc;
too_long:
	fprintf(stderr, "vexctl: the config file's path is too long\n");
	return VEX_EINVAL;
}

static const char *env_value(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

/* "dst" (size "n") = "src"; VEX_EINVAL (said, naming "what") when it is too long or has control bytes. */
static int set_value(char *dst, size_t n, const char *src, const char *what)
{
	if (strlen(src) >= n || vex_has_control_chars(src)) {
		fprintf(stderr, "vexctl: the %s must be under %zu bytes, without control characters\n", what, n);
		return VEX_EINVAL;
	}
	memcpy(dst, src, strlen(src) + 1);
	return 0;
}

/* The credential of the first source that has one; both in one source is a mistake. */
static int pick_credential(const struct source *srcs, size_t n, struct vc_client *c)
{
	static const char *const names[] = { "--token and --api-key", "VEX_TOKEN and VEX_API_KEY",
					     "token and api_key in the config file" };
	char cred[1024];

	for (size_t i = 0; i < n; i++) {
		const struct source *s = &srcs[i];

		if (!s->token && !s->api_key)
			continue;
		if (s->token && s->api_key) {
			fprintf(stderr, "vexctl: %s are both set: give one credential\n", names[i]);
			return VEX_EINVAL;
		}
		if (set_value(cred, sizeof(cred), s->token ? s->token : s->api_key, "credential") < 0)
			return VEX_EINVAL;
		snprintf(c->auth, sizeof(c->auth), "%s%s", s->token ? "Authorization: Bearer " : "X-API-Key: ", cred);
		return 0;
	}
	fprintf(stderr, "vexctl: no credential: give --token JWT or --api-key KEY, set VEX_TOKEN or VEX_API_KEY, "
			"or put token or api_key in the config file (docs/vexctl.md)\n");
	return VEX_EINVAL;
}

int vc_client_open(struct vc_ctx *ctx, struct vc_client *c)
{
	struct file_values *fv = NULL;
	struct source srcs[3];
	const char *url = NULL, *cacert = NULL;
	int status = VC_EXIT_USAGE;
	size_t len;

	memset(c, 0, sizeof(*c));
	memset(srcs, 0, sizeof(srcs));
	c->json = ctx->json;
	srcs[0] = (struct source){ ctx->url, ctx->token, ctx->api_key, ctx->cacert };
	srcs[1] = (struct source){ env_value("VEX_URL"), env_value("VEX_TOKEN"), env_value("VEX_API_KEY"),
				   env_value("VEX_CA") };
	/* The file only when the flags and the environment leave something open. */
	if (!(srcs[0].url || srcs[1].url) ||
	    !(srcs[0].token || srcs[0].api_key || srcs[1].token || srcs[1].api_key) ||
	    !(srcs[0].cacert || srcs[1].cacert)) {
		fv = calloc(1, sizeof(*fv));
		if (!fv || config_read(fv, &srcs[2]) < 0)
			goto out;
	}
	for (size_t i = 0; i < 3; i++) {
		url = url ? url : srcs[i].url;
		cacert = cacert ? cacert : srcs[i].cacert;
	}
	if (!url) {
		fprintf(stderr, "vexctl: no service URL: give --url URL, set VEX_URL, or put url in the config file\n");
		goto out;
	}
	if (strncmp(url, "https://", 8)) {
		fprintf(stderr, "vexctl: the URL must start with https:// (vexctl speaks HTTPS only), not '%s'\n", url);
		goto out;
	}
	if (set_value(c->url, sizeof(c->url), url, "URL") < 0 ||
	    (cacert && set_value(c->cacert, sizeof(c->cacert), cacert, "CA file name") < 0) ||
	    pick_credential(srcs, 3, c) < 0)
		goto out;
	len = strlen(c->url);
	while (len > 8 && c->url[len - 1] == '/')
		c->url[--len] = '\0';
	c->curl = curl_easy_init();
	if (!c->curl) {
		fprintf(stderr, "vexctl: out of memory\n");
		status = VC_EXIT_CONN;
		goto out;
	}
	status = 0;
out:
	if (fv)
		explicit_bzero(fv, sizeof(*fv));
	free(fv);
	return status;
}

void vc_client_release(struct vc_client *c)
{
	if (c->curl)
		curl_easy_cleanup(c->curl);
	c->curl = NULL;
	explicit_bzero(c->auth, sizeof(c->auth));
}
