/* config.c - vex.conf loading: defaults, the INI file (inih), environment overrides, the JWT secret. */
#include "core/base/config.h"
#include "core/base/config_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ini.h>

#include "core/base/err.h"
#include "core/base/limits.h"
#include "core/base/log.h"

static const char *const sections = "server, store, cache, auth, runner, limits, streams, webhooks, tools, browser, model, log";
static const char *const plan_names[VEX_PLAN_COUNT] = {"free", "standard", "pro", "enterprise"};

/* Parsing context shared by the inih callbacks. */
struct load_ctx {
	struct vex_config *cfg;
	FILE *f;
	int lineno;    /* lines handed to inih so far: the line being handled */
	int err_line;  /* first line with an error of ours, 0 when none */
	char msg[1280]; /* its explanation, without the "file:line: " prefix */
};


/* inih reader: one fgets per call, counting lines exactly as inih numbers them. */
static char *conf_reader(char *str, int num, void *stream)
{
	struct load_ctx *ctx = stream;
	char *line = fgets(str, num, ctx->f);
	size_t n;

	if (!line)
		return NULL;
	ctx->lineno++;
	n = strlen(line);
	if (n > 0 && line[n - 1] != '\n' && !feof(ctx->f) && !ctx->err_line) {
		ctx->err_line = ctx->lineno;
		snprintf(ctx->msg, sizeof(ctx->msg), "line longer than %d characters", num - 2);
	}
	return line;
}

static int conf_handler(void *user, const char *section, const char *name, const char *value)
{
	struct load_ctx *ctx = user;
	const struct key_def *d;
	char known[1024];

	if (ctx->err_line)
		return 1; /* only the first error is reported; inih keeps going */
	if (section[0] == '\0') {
		snprintf(ctx->msg, sizeof(ctx->msg), "key '%s' outside any section; allowed sections: %s", name,
			 sections);
		goto bad;
	}
	if (!vex_config_section_known(section)) {
		snprintf(ctx->msg, sizeof(ctx->msg), "unknown section [%s]; allowed sections: %s", section, sections);
		goto bad;
	}
	d = vex_config_find_key(section, name);
	if (!d && strcmp(name, "per_owner") == 0 &&
	    (strcmp(section, "webhooks") == 0 || strcmp(section, "streams") == 0)) {
		snprintf(ctx->msg, sizeof(ctx->msg),
			 "'per_owner' in [%s] became per plan: [limits] max_%s_free, max_%s_standard, max_%s_pro, "
			 "max_%s_enterprise (docs/limits.md)", section, section, section, section, section);
		goto bad;
	}
	if (!d) {
		vex_config_section_keys(section, known, sizeof(known));
		snprintf(ctx->msg, sizeof(ctx->msg), "unknown key '%s' in [%s]; allowed keys: %s", name, section,
			 known);
		goto bad;
	}
	{
		char m[400];

		if (vex_config_set_value(ctx->cfg, d, value, m, sizeof(m)) == 0)
			return 1;
		snprintf(ctx->msg, sizeof(ctx->msg), "[%s] %s", section, m);
	}
bad:
	ctx->err_line = ctx->lineno;
	return 0;
}

/* The per-owner caps of core/base/limits.h, by enum vex_cap and plan. */
static void set_cap_defaults(struct vex_config *cfg)
{
	static const int defaults[VEX_CAP_COUNT][VEX_PLAN_COUNT] = {
		[VEX_CAP_AGENTS] = VEX_CAP_AGENTS_DEFAULT,
		[VEX_CAP_SCHEDULES] = VEX_CAP_SCHEDULES_DEFAULT,
		[VEX_CAP_QUEUED_JOBS] = VEX_CAP_QUEUED_JOBS_DEFAULT,
		[VEX_CAP_WEBHOOKS] = VEX_CAP_WEBHOOKS_DEFAULT,
		[VEX_CAP_STREAMS] = VEX_CAP_STREAMS_DEFAULT,
	};

	memcpy(cfg->caps, defaults, sizeof(cfg->caps));
}

static void set_defaults(struct vex_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->workers = 4;
	cfg->max_body_bytes = 1048576;
	cfg->db_synchronous = 2;
	cfg->db_busy_timeout_ms = 5000;
	cfg->job_retention_s = 604800;
	cfg->cache_timeout_ms = 100;
	cfg->runner_concurrency = 8;
	cfg->lease_ms = 30000;
	cfg->rescue_interval_ms = 5000;
	cfg->poll_interval_ms = 1000;
	cfg->shutdown_grace_ms = 10000;
	cfg->default_timeout_ms = 300000;
	cfg->max_attempts = 3;
	cfg->schedule_catchup_s = 300;
	cfg->plan_concurrency[VEX_PLAN_FREE] = 1;
	cfg->plan_concurrency[VEX_PLAN_STANDARD] = 2;
	cfg->plan_concurrency[VEX_PLAN_PRO] = 5;
	cfg->plan_concurrency[VEX_PLAN_ENTERPRISE] = 20;
	cfg->plan_rate_per_minute[VEX_PLAN_FREE] = 10;
	cfg->plan_rate_per_minute[VEX_PLAN_STANDARD] = 30;
	cfg->plan_rate_per_minute[VEX_PLAN_PRO] = 100;
	cfg->plan_rate_per_minute[VEX_PLAN_ENTERPRISE] = 1000;
	set_cap_defaults(cfg);
	cfg->streams_max = 4096;
	cfg->stream_ping_s = 15;
	cfg->stream_poll_ms = 20;
	cfg->stream_token_ttl_s = 300;
	cfg->token_ttl_max_s = VEX_TOKEN_TTL_MAX_DEFAULT;
	cfg->event_retention_s = 3600;
	cfg->hooks_allow_private = 0;
	cfg->browser_allow_private = 0;
	cfg->hook_timeout_ms = 10000;
	cfg->hook_concurrency = 16;
	cfg->hook_per_hook_inflight = 4;
	{
		/* About a day in all: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, 4 h, 8 h, 8 h. */
		static const int64_t def[] = {5000, 30000, 120000, 600000, 1800000, 3600000, 7200000,
					      14400000, 28800000, 28800000};

		memcpy(cfg->hook_retry_ms, def, sizeof(def));
		cfg->hook_retries = (int)(sizeof(def) / sizeof(def[0]));
	}
	cfg->hook_disable_after_s = 86400;
	cfg->tools_output_max = 1048576;
	cfg->tools_kill_grace_ms = 2000;
	cfg->mcp_init_timeout_ms = 10000;
	cfg->model_timeout_ms = 60000;
	cfg->model_retries = 3;
	cfg->model_max_tokens = 0;
	cfg->log_level = VEX_LOG_INFO;
}

static int load_file(const char *path, int optional, struct vex_config *cfg, char *err, size_t errlen)
{
	struct load_ctx ctx;
	struct stat st;
	int rc = VEX_EINVAL, line;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cfg = cfg;
	ctx.f = fopen(path, "re");
	if (!ctx.f) {
		if (errno == ENOENT && optional) {
			rc = 0;
			goto out;
		}
		snprintf(err, errlen, "%s: cannot open the configuration file: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fileno(ctx.f), &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: cannot read the configuration file: it is a directory", path);
		goto out;
	}
	line = ini_parse_stream(conf_reader, &ctx, conf_handler, &ctx);
	if (line >= 0 && ferror(ctx.f)) {
		snprintf(err, errlen, "%s: cannot read the configuration file: %s", path, strerror(errno));
		goto out;
	}
	if (line < 0) {
		snprintf(err, errlen, "%s: cannot parse the configuration file (%s)", path,
			 line == -2 ? "out of memory" : "read error");
		goto out;
	}
	/* inih reports the first failing line: ours (with a message) or a syntax error. */
	if (ctx.err_line && (line == 0 || ctx.err_line <= line)) {
		snprintf(err, errlen, "%s:%d: %s", path, ctx.err_line, ctx.msg);
		goto out;
	}
	if (line > 0) {
		snprintf(err, errlen, "%s:%d: syntax error; expected \"[section]\", \"key = value\" or a comment", path,
			 line);
		goto out;
	}
	rc = 0;
out:
	if (ctx.f)
		fclose(ctx.f);
	return rc;
}

/* VEX_<SECTION>_<KEY> for every key, then VEX_HOME (which wins for home). */
static int load_env(struct vex_config *cfg, char *err, size_t errlen)
{
	char name[96], msg[400];
	const char *v;

	for (size_t i = 0; i < vex_config_nkeys; i++) {
		size_t j;

		snprintf(name, sizeof(name), "VEX_%s_%s", vex_config_keys[i].section, vex_config_keys[i].key);
		for (j = 0; name[j]; j++)
			if (name[j] >= 'a' && name[j] <= 'z')
				name[j] = (char)(name[j] - 'a' + 'A');
		v = getenv(name);
		if (v && vex_config_set_value(cfg, &vex_config_keys[i], v, msg, sizeof(msg))) {
			snprintf(err, errlen, "environment variable %s: %s", name, msg);
			return VEX_EINVAL;
		}
	}
	v = getenv("VEX_HOME");
	if (v && vex_config_set_value(cfg, &vex_config_keys[0], v, msg, sizeof(msg))) {
		snprintf(err, errlen, "environment variable VEX_HOME: %s", msg);
		return VEX_EINVAL;
	}
	return 0;
}

/* "a" + "/" + "b" without a leading "./" in b; NULL on ENOMEM. */
static char *path_join(const char *a, const char *b)
{
	size_t la, lb;
	char *s;

	while (b[0] == '.' && b[1] == '/')
		b += 2;
	if (strcmp(b, ".") == 0)
		b = "";
	la = strlen(a);
	lb = strlen(b);
	while (la > 1 && a[la - 1] == '/')
		la--;
	s = malloc(la + lb + 2);
	if (!s)
		return NULL;
	memcpy(s, a, la);
	s[la] = '/';
	memcpy(s + la + 1, b, lb + 1);
	if (lb == 0)
		s[la] = '\0';
	return s;
}

/* Make home absolute: the real path of an existing directory, else joined to the cwd. */
static int resolve_home(struct vex_config *cfg, char *err, size_t errlen)
{
	char buf[PATH_MAX], *abs = NULL;
	struct stat st;
	int rc = VEX_EINVAL;

	if (!cfg->home && !(cfg->home = strdup("./var"))) {
		rc = VEX_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (realpath(cfg->home, buf)) {
		if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) {
			snprintf(err, errlen, "[server] home: \"%s\" exists but is not a directory", cfg->home);
			goto out;
		}
		abs = strdup(buf);
	} else if (cfg->home[0] == '/') {
		abs = strdup(cfg->home);
	} else {
		if (!getcwd(buf, sizeof(buf))) {
			snprintf(err, errlen, "[server] home: cannot resolve \"%s\": %s", cfg->home, strerror(errno));
			goto out;
		}
		abs = path_join(buf, cfg->home);
	}
	if (!abs) {
		rc = VEX_ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	free(cfg->home);
	cfg->home = abs;
	rc = 0;
out:
	return rc;
}

/* "*p" NULL -> home + default; relative -> home + value. */
static int resolve_path(const struct vex_config *cfg, char **p, const char *def)
{
	char *s;

	if (*p && (*p)[0] == '/')
		return 0;
	s = path_join(cfg->home, *p ? *p : def);
	if (!s)
		return VEX_ENOMEM;
	free(*p);
	*p = s;
	return 0;
}

/*
 * [store] url picks the store: a path, or "sqlite:PATH" / "sqlite://" followed by an absolute path,
 * is the SQLite database at PATH (relative to home, like [store] path, which it replaces);
 * "postgresql://" or "postgres://" is a PostgreSQL database (libpq's URL form), kept whole for
 * store_target below.
 */
static int store_url(struct vex_config *cfg, char *err, size_t errlen)
{
	const char *u = cfg->store_url, *p;
	char *copy;

	if (!u || !*u)
		return 0;
	if (strncmp(u, "postgresql://", 13) == 0 || strncmp(u, "postgres://", 11) == 0) {
		cfg->store_pg = 1;
		return 0;
	}
	if (strncmp(u, "sqlite://", 9) == 0) {
		p = u + 9;
		if (p[0] != '/') {
			snprintf(err, errlen, "[store] url: \"%s\": after sqlite:// comes an absolute path "
				 "(sqlite:///var/lib/vex/vex.db), or write sqlite:PATH", u);
			return VEX_EINVAL;
		}
	} else if (strncmp(u, "sqlite:", 7) == 0) {
		p = u + 7;
	} else if ((p = strstr(u, "://")) != NULL) {
		/* The scheme alone: the rest of a URL may hold a password. */
		snprintf(err, errlen, "[store] url: unknown scheme \"%.*s\"; allowed: a path, sqlite:PATH, sqlite:///PATH, "
			 "postgresql://...", (int)(p - u > 32 ? 32 : p - u), u);
		return VEX_EINVAL;
	} else {
		p = u;
	}
	if (!*p) {
		snprintf(err, errlen, "[store] url: \"%s\" names no database file", u);
		return VEX_EINVAL;
	}
	copy = strdup(p);
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return VEX_ENOMEM;
	}
	free(cfg->db_path);
	cfg->db_path = copy;
	return 0;
}

/* "url" with the password of its user part and the value of any parameter named *password (password=,
 * sslpassword=) replaced by "***" (a new string). */
static char *url_without_password(const char *url)
{
	const char *scheme = strstr(url, "://"), *at, *colon, *end, *q;
	size_t len = strlen(url);
	char *out = malloc(len + 8), *o;

	if (!out)
		return NULL;
	o = out;
	end = url + len;
	at = scheme ? strpbrk(scheme + 3, "@/?") : NULL;
	if (at && *at == '@') {
		colon = memchr(scheme + 3, ':', (size_t)(at - (scheme + 3)));
		if (colon) {
			memcpy(o, url, (size_t)(colon + 1 - url));
			o += colon + 1 - url;
			memcpy(o, "***", 3);
			o += 3;
			url = at;
		}
	}
	while (url < end) {
		q = strstr(url, "password=");
		if (!q) {
			size_t n = q ? (size_t)(q + 9 - url) : (size_t)(end - url);

			memcpy(o, url, n);
			o += n;
			url += n;
			continue;
		}
		memcpy(o, url, (size_t)(q + 9 - url));
		o += q + 9 - url;
		memcpy(o, "***", 3);
		o += 3;
		url = q + 9;
		while (url < end && *url != '&')
			url++;
	}
	*o = '\0';
	return out;
}

/* What vex_store_open opens and what logs call it (after db_path is resolved). */
static int store_target(struct vex_config *cfg)
{
	free(cfg->store);
	free(cfg->store_label);
	cfg->store = strdup(cfg->store_pg ? cfg->store_url : cfg->db_path);
	cfg->store_label = cfg->store_pg ? url_without_password(cfg->store_url) : strdup(cfg->db_path);
	return cfg->store && cfg->store_label ? 0 : VEX_ENOMEM;
}

static int check_socket_path(const char *section, const char *key, const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "[%s] %s: \"%s\" is %zu bytes; unix socket paths allow at most %zu", section, key,
			 path, strlen(path), sizeof(sa.sun_path) - 1);
		return VEX_EINVAL;
	}
	return 0;
}

/* A group setting names a group of this host, or is empty. */
static int check_group(const char *section, const char *key, const char *name, char *err, size_t errlen)
{
	struct group gr, *res = NULL;
	char buf[4096];

	if (!name[0] || (getgrnam_r(name, &gr, buf, sizeof(buf), &res) == 0 && res))
		return 0;
	snprintf(err, errlen, "[%s] %s: no group \"%s\" on this host; allowed: a group name (see /etc/group), or empty",
		 section, key, name);
	return VEX_EINVAL;
}

static void strip_newlines(unsigned char *buf, size_t *len)
{
	while (*len > 0 && (buf[*len - 1] == '\n' || buf[*len - 1] == '\r'))
		(*len)--;
}

/* The environment variable "env_name" wins; else the file "path" (NULL: none), named "key" in messages.
 * A missing file is no error (see vex_config_require_secret). */
static int load_secret(const char *env_name, const char *path, const char *key, unsigned char *out,
		       size_t *out_len, char *err, size_t errlen)
{
	unsigned char buf[VEX_JWT_SECRET_MAX + 2];
	const char *env = getenv(env_name);
	size_t len = 0;
	int fd = -1, rc = VEX_EINVAL, too_long = 0;

	if (env) {
		len = strlen(env);
		if (len > VEX_JWT_SECRET_MAX) {
			snprintf(err, errlen, "%s is %zu bytes; at most %d are allowed", env_name, len,
				 VEX_JWT_SECRET_MAX);
			goto out;
		}
		memcpy(out, env, len);
		*out_len = len;
		rc = 0;
		goto out;
	}
	if (!path) {
		rc = 0;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT) {
			rc = 0;
			goto out;
		}
		snprintf(err, errlen, "[auth] %s: cannot read \"%s\": %s", key, path, strerror(errno));
		goto out;
	}
	/* Read one byte more than a CRLF-terminated maximum to notice an oversized file. */
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "[auth] %s: cannot read \"%s\": %s", key, path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len == sizeof(buf)) {
		char extra;

		if (read(fd, &extra, 1) != 0)
			too_long = 1;
	}
	strip_newlines(buf, &len);
	if (too_long || len > VEX_JWT_SECRET_MAX) {
		snprintf(err, errlen, "[auth] %s: \"%s\" holds more than %d bytes; at most %d are allowed", key,
			 path, VEX_JWT_SECRET_MAX, VEX_JWT_SECRET_MAX);
		goto out;
	}
	memcpy(out, buf, len);
	*out_len = len;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/*
 * [cache] sasl_user and sasl_password_file go together. The password is read now, before vex-api's
 * workers or the runner's threads open their cache handles, from a regular file that others may not
 * read, write or run (0600, or 0640 with vex's group); a file that is empty, longer than
 * VEX_SASL_PASSWORD_MAX (after its trailing newlines) or holds a NUL is refused. Messages name the
 * file, never what it holds.
 */
static int load_sasl(struct vex_config *cfg, char *err, size_t errlen)
{
	char buf[VEX_SASL_PASSWORD_MAX + 3]; /* a CRLF and one byte more: notices a longer file */
	const char *user = cfg->cache_sasl_user && cfg->cache_sasl_user[0] ? cfg->cache_sasl_user : NULL;
	const char *path = cfg->cache_sasl_password_file;
	struct stat st;
	size_t len = 0;
	int fd = -1, rc = VEX_EINVAL;

	if (!user && !path)
		return 0;
	if (!user || !path) {
		snprintf(err, errlen, "[cache] sasl_user and sasl_password_file go together: %s is set but %s is not; "
			 "set both (VEX_CACHE_SASL_USER, VEX_CACHE_SASL_PASSWORD_FILE) to authenticate to memcached -S, "
			 "or neither", user ? "sasl_user" : "sasl_password_file", user ? "sasl_password_file" : "sasl_user");
		goto out;
	}
	if (strlen(user) > VEX_SASL_USER_MAX) {
		snprintf(err, errlen, "[cache] sasl_user: longer than %d bytes", VEX_SASL_USER_MAX);
		goto out;
	}
	for (const char *p = user; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			snprintf(err, errlen, "[cache] sasl_user: holds a control character; allowed: a SASL user name "
				 "as saslpasswd2 made it (e.g. vex)");
			goto out;
		}
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "[cache] sasl_password_file: cannot read \"%s\": %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "[cache] sasl_password_file: \"%s\" is not a regular file", path);
		goto out;
	}
	if (st.st_mode & S_IRWXO) {
		snprintf(err, errlen, "[cache] sasl_password_file: others may read or change \"%s\" (mode %04o); "
			 "refusing it: chmod o-rwx %s (0600, or 0640 with vex's group)", path,
			 (unsigned)(st.st_mode & 07777), path);
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "[cache] sasl_password_file: cannot read \"%s\": %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len < sizeof(buf))
		strip_newlines((unsigned char *)buf, &len);
	if (len > VEX_SASL_PASSWORD_MAX) {
		snprintf(err, errlen, "[cache] sasl_password_file: \"%s\" holds more than %d bytes", path,
			 VEX_SASL_PASSWORD_MAX);
		goto out;
	}
	if (len == 0 || memchr(buf, '\0', len)) {
		snprintf(err, errlen, "[cache] sasl_password_file: \"%s\" %s", path,
			 len == 0 ? "is empty; it holds the password saslpasswd2 was given"
				  : "holds a NUL byte, which a SASL password cannot carry");
		goto out;
	}
	rc = VEX_ENOMEM;
	if (!(cfg->cache_sasl_password = malloc(len + 1))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(cfg->cache_sasl_password, buf, len);
	cfg->cache_sasl_password[len] = '\0';
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* A previous secret is for a rotation: it needs its deadline, the size of a secret and to differ from the
 * current one. */
static int check_previous_secret(const struct vex_config *cfg, char *err, size_t errlen)
{
	if (cfg->jwt_previous_secret_len == 0) {
		if (cfg->jwt_previous_until_s == 0)
			return 0;
		snprintf(err, errlen, "[auth] jwt_previous_until is set but no previous secret was loaded: set "
			 "VEX_JWT_SECRET_PREVIOUS or [auth] jwt_secret_file_previous");
		return VEX_EINVAL;
	}
	if (cfg->jwt_previous_secret_len < VEX_JWT_SECRET_MIN) {
		snprintf(err, errlen, "the previous JWT secret is %zu bytes; at least %d are required",
			 cfg->jwt_previous_secret_len, VEX_JWT_SECRET_MIN);
		return VEX_EINVAL;
	}
	if (cfg->jwt_previous_until_s == 0) {
		snprintf(err, errlen, "a previous JWT secret is loaded but [auth] jwt_previous_until is not set: "
			 "say until when tokens signed with it are accepted (RFC 3339 or Unix seconds)");
		return VEX_EINVAL;
	}
	if (cfg->jwt_previous_secret_len == cfg->jwt_secret_len &&
	    memcmp(cfg->jwt_previous_secret, cfg->jwt_secret, cfg->jwt_secret_len) == 0) {
		snprintf(err, errlen, "the previous JWT secret is the current one: a rotation needs a new secret");
		return VEX_EINVAL;
	}
	return 0;
}

int vex_config_load(const char *path, int optional, struct vex_config *cfg, char *err, size_t errlen)
{
	char dummy[8];
	int rc = VEX_EINVAL;

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (!cfg)
		return VEX_EINVAL;
	set_defaults(cfg);
	if (!path && !optional) {
		snprintf(err, errlen, "no configuration file given");
		goto out;
	}
	if (path && (rc = load_file(path, optional, cfg, err, errlen)) != 0)
		goto out;
	if ((rc = load_env(cfg, err, errlen)) != 0)
		goto out;
	if ((rc = resolve_home(cfg, err, errlen)) != 0)
		goto out;
	if ((rc = store_url(cfg, err, errlen)) != 0)
		goto out;
	rc = VEX_ENOMEM;
	if ((!cfg->cache_servers && !(cfg->cache_servers = strdup("127.0.0.1:11211"))) ||
	    (!cfg->model_base_url && !(cfg->model_base_url = strdup(""))) ||
	    (!cfg->cors_origins && !(cfg->cors_origins = strdup(""))) ||
	    (!cfg->model_name && !(cfg->model_name = strdup(""))) ||
	    (!cfg->socket_group && !(cfg->socket_group = strdup(""))) ||
	    (!cfg->store_group && !(cfg->store_group = strdup(""))) ||
	    (!cfg->metrics_allow_networks && !(cfg->metrics_allow_networks = strdup(""))) ||
	    resolve_path(cfg, &cfg->hook_key_file, "webhook.key") ||
	    (cfg->hook_key_file_previous && resolve_path(cfg, &cfg->hook_key_file_previous, NULL)) ||
	    (!cfg->model_api_key_env && !(cfg->model_api_key_env = strdup("VEX_MODEL_API_KEY"))) ||
	    (!cfg->tools_run_as && !(cfg->tools_run_as = strdup("vex-tools"))) ||
	    resolve_path(cfg, &cfg->api_socket, "run/api.sock") ||
	    resolve_path(cfg, &cfg->runner_socket, "run/runner.sock") ||
	    resolve_path(cfg, &cfg->commit_socket, "run/commit.sock") ||
	    resolve_path(cfg, &cfg->intake_socket, "run/intake.sock") ||
	    resolve_path(cfg, &cfg->stream_socket, "run/stream.sock") ||
	    resolve_path(cfg, &cfg->tools_commands_file, "tools.json") ||
	    resolve_path(cfg, &cfg->tools_mcp_file, "mcp.json") ||
	    resolve_path(cfg, &cfg->tools_work_dir, "work") ||
	    (cfg->browser_mcp_command && resolve_path(cfg, &cfg->browser_mcp_command, NULL)) ||
	    (!cfg->browser_chromium && !(cfg->browser_chromium = strdup("/usr/bin/chromium"))) ||
	    resolve_path(cfg, &cfg->browser_chromium, NULL) ||
	    resolve_path(cfg, &cfg->db_path, "vex.db") || store_target(cfg) ||
	    resolve_path(cfg, &cfg->jwt_secret_file, "jwt.secret") ||
	    (cfg->jwt_secret_file_previous && resolve_path(cfg, &cfg->jwt_secret_file_previous, NULL)) ||
	    (cfg->cache_sasl_password_file && resolve_path(cfg, &cfg->cache_sasl_password_file, NULL))) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	rc = VEX_EINVAL;
	if (check_socket_path("server", "api_socket", cfg->api_socket, err, errlen) ||
	    check_socket_path("server", "runner_socket", cfg->runner_socket, err, errlen) ||
	    check_socket_path("server", "commit_socket", cfg->commit_socket, err, errlen) ||
	    check_socket_path("server", "intake_socket", cfg->intake_socket, err, errlen) ||
	    check_socket_path("streams", "socket", cfg->stream_socket, err, errlen))
		goto out;
	if ((rc = check_group("server", "socket_group", cfg->socket_group, err, errlen)) != 0 ||
	    (rc = check_group("store", "group", cfg->store_group, err, errlen)) != 0)
		goto out;
	if ((rc = load_secret("VEX_JWT_SECRET", cfg->jwt_secret_file, "jwt_secret_file", cfg->jwt_secret,
			      &cfg->jwt_secret_len, err, errlen)) != 0 ||
	    (rc = load_secret("VEX_JWT_SECRET_PREVIOUS", cfg->jwt_secret_file_previous, "jwt_secret_file_previous",
			      cfg->jwt_previous_secret, &cfg->jwt_previous_secret_len, err, errlen)) != 0 ||
	    (rc = check_previous_secret(cfg, err, errlen)) != 0 || (rc = load_sasl(cfg, err, errlen)) != 0)
		goto out;
	/* the model key is read now, so that the environment can drop it (core/base/secrets.h) */
	if (cfg->model_api_key_env[0] && getenv(cfg->model_api_key_env) &&
	    !(cfg->model_api_key = strdup(getenv(cfg->model_api_key_env)))) {
		snprintf(err, errlen, "out of memory");
		rc = VEX_ENOMEM;
		goto out;
	}
	rc = 0;
out:
	if (rc)
		vex_config_release(cfg);
	return rc;
}

int vex_config_require_secret(const struct vex_config *cfg, char *err, size_t errlen)
{
	char dummy[8];
	const char *from_env = getenv("VEX_JWT_SECRET");

	if (!err || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	if (cfg && cfg->jwt_secret_len >= VEX_JWT_SECRET_MIN)
		return 0;
	if (!cfg)
		snprintf(err, errlen, "no configuration loaded");
	else if (from_env)
		snprintf(err, errlen, "VEX_JWT_SECRET is %zu bytes; at least %d are required", cfg->jwt_secret_len,
			 VEX_JWT_SECRET_MIN);
	else if (cfg->jwt_secret_len == 0)
		snprintf(err, errlen,
			 "no JWT secret: set VEX_JWT_SECRET (at least %d bytes) or write one to %s "
			 "(e.g. head -c 48 /dev/urandom | base64 > %s)",
			 VEX_JWT_SECRET_MIN, cfg->jwt_secret_file ? cfg->jwt_secret_file : "[auth] jwt_secret_file",
			 cfg->jwt_secret_file ? cfg->jwt_secret_file : "the file");
	else
		snprintf(err, errlen, "the JWT secret in %s is %zu bytes; at least %d are required",
			 cfg->jwt_secret_file ? cfg->jwt_secret_file : "[auth] jwt_secret_file", cfg->jwt_secret_len,
			 VEX_JWT_SECRET_MIN);
	return VEX_EINVAL;
}

void vex_config_release(struct vex_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->home);
	free(cfg->api_socket);
	free(cfg->runner_socket);
	free(cfg->commit_socket);
	free(cfg->intake_socket);
	free(cfg->stream_socket);
	free(cfg->tools_commands_file);
	free(cfg->tools_mcp_file);
	free(cfg->tools_work_dir);
	free(cfg->tools_run_as);
	free(cfg->browser_mcp_command);
	free(cfg->browser_chromium);
	free(cfg->store_url);
	free(cfg->db_path);
	free(cfg->store);
	free(cfg->store_label);
	free(cfg->cache_servers);
	free(cfg->cache_sasl_user);
	free(cfg->cache_sasl_password_file);
	if (cfg->cache_sasl_password)
		explicit_bzero(cfg->cache_sasl_password, strlen(cfg->cache_sasl_password));
	free(cfg->cache_sasl_password);
	free(cfg->model_base_url);
	free(cfg->cors_origins);
	free(cfg->model_name);
	free(cfg->model_api_key_env);
	if (cfg->model_api_key)
		explicit_bzero(cfg->model_api_key, strlen(cfg->model_api_key));
	free(cfg->model_api_key);
	free(cfg->jwt_secret_file);
	free(cfg->jwt_secret_file_previous);
	free(cfg->socket_group);
	free(cfg->store_group);
	free(cfg->metrics_allow_networks);
	free(cfg->hook_key_file);
	free(cfg->hook_key_file_previous);
	explicit_bzero(cfg, sizeof(*cfg));
}

int vex_plan_parse(const char *name, enum vex_plan *ret)
{
	if (!name)
		return VEX_EINVAL;
	for (int i = 0; i < VEX_PLAN_COUNT; i++) {
		if (strcmp(name, plan_names[i]) == 0) {
			*ret = (enum vex_plan)i;
			return 0;
		}
	}
	return VEX_EINVAL;
}

const char *vex_plan_name(enum vex_plan plan)
{
	if ((int)plan < 0 || plan >= VEX_PLAN_COUNT)
		return "free";
	return plan_names[plan];
}
