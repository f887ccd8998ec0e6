/* config_keys.c - the vex.conf key table and parsing one value: paths, sockets, servers, numbers, delays. */
#include "core/base/config_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>

#include "core/base/cidr.h"
#include "core/base/err.h"
#include "core/base/limits.h"
#include "core/base/log.h"
#include "core/base/timeutil.h"

#define OFF(m) offsetof(struct vex_config, m)
/* [http] cors_origins: entries, and bytes of one (scheme, a DNS name of 253, a port). */
#define VEX_CORS_ORIGINS_MAX 64
#define VEX_CORS_ORIGIN_MAX 300
/* [limits] max_<thing>_<plan>: the four plans of one per-owner cap. */
#define CAP_KEY(thing, cap, plan, name) \
	{ "limits", "max_" thing "_" name, K_INT, OFF(caps[cap][plan]), 1, VEX_CAP_MAX }
#define CAP_KEYS(thing, cap)                                                                 \
	CAP_KEY(thing, cap, VEX_PLAN_FREE, "free"), CAP_KEY(thing, cap, VEX_PLAN_STANDARD, "standard"), \
		CAP_KEY(thing, cap, VEX_PLAN_PRO, "pro"), CAP_KEY(thing, cap, VEX_PLAN_ENTERPRISE, "enterprise")

const struct key_def vex_config_keys[] = {
	{"server", "home", K_PATH, OFF(home), 0, 0},
	{"server", "workers", K_INT, OFF(workers), 1, 256},
	{"server", "api_socket", K_SOCKET, OFF(api_socket), 0, 0},
	{"server", "runner_socket", K_SOCKET, OFF(runner_socket), 0, 0},
	{"server", "commit_socket", K_SOCKET, OFF(commit_socket), 0, 0},
	{"server", "intake_socket", K_SOCKET, OFF(intake_socket), 0, 0},
	{"server", "max_body_bytes", K_SIZE, OFF(max_body_bytes), 1024, 1073741824},
	{"server", "socket_group", K_STR, OFF(socket_group), 0, 0},
	{"store", "path", K_PATH, OFF(db_path), 0, 0},
	{"store", "url", K_STR, OFF(store_url), 0, 0},
	{"store", "synchronous", K_SYNC, OFF(db_synchronous), 0, 2},
	{"store", "busy_timeout_ms", K_INT, OFF(db_busy_timeout_ms), 0, 600000},
	{"store", "group", K_STR, OFF(store_group), 0, 0},
	{"store", "job_retention_s", K_INT, OFF(job_retention_s), 0, 315360000},
	{"cache", "servers", K_SERVERS, OFF(cache_servers), 0, 0},
	{"cache", "timeout_ms", K_INT, OFF(cache_timeout_ms), 1, 60000},
	{"cache", "sasl_user", K_STR, OFF(cache_sasl_user), 0, 0},
	{"cache", "sasl_password_file", K_PATH, OFF(cache_sasl_password_file), 0, 0},
	{"auth", "jwt_secret_file", K_PATH, OFF(jwt_secret_file), 0, 0},
	{"auth", "jwt_secret_file_previous", K_PATH, OFF(jwt_secret_file_previous), 0, 0},
	{"auth", "jwt_previous_until", K_TIME, OFF(jwt_previous_until_s), 0, 0},
	{"auth", "token_ttl_max_s", K_INT, OFF(token_ttl_max_s), 60, VEX_TOKEN_TTL_MAX},
	{"auth", "token_max_age_s", K_INT, OFF(token_max_age_s), 0, VEX_TOKEN_TTL_MAX * 10},
	{"runner", "concurrency", K_INT, OFF(runner_concurrency), 1, 1024},
	{"runner", "lease_ms", K_INT, OFF(lease_ms), 1000, 3600000},
	{"runner", "rescue_interval_ms", K_INT, OFF(rescue_interval_ms), 100, 3600000},
	{"runner", "poll_interval_ms", K_INT, OFF(poll_interval_ms), 10, 3600000},
	{"runner", "shutdown_grace_ms", K_INT, OFF(shutdown_grace_ms), 0, 3600000},
	{"runner", "default_timeout_ms", K_INT, OFF(default_timeout_ms), 1000, VEX_JOB_TIMEOUT_MAX_MS},
	{"runner", "max_attempts", K_INT, OFF(max_attempts), 1, 100},
	{"runner", "schedule_catchup_s", K_INT, OFF(schedule_catchup_s), 10, 86400},
	{"limits", "free", K_INT, OFF(plan_concurrency[VEX_PLAN_FREE]), 1, 100000},
	{"limits", "standard", K_INT, OFF(plan_concurrency[VEX_PLAN_STANDARD]), 1, 100000},
	{"limits", "pro", K_INT, OFF(plan_concurrency[VEX_PLAN_PRO]), 1, 100000},
	{"limits", "enterprise", K_INT, OFF(plan_concurrency[VEX_PLAN_ENTERPRISE]), 1, 100000},
	/* The names before the limiter covered every path that creates work (docs/configuration.md);
	 * listed first, so that in the environment the new name wins. */
	{"limits", "free_per_minute", K_INT, OFF(plan_rate_per_minute[VEX_PLAN_FREE]), 1, 10000000},
	{"limits", "standard_per_minute", K_INT, OFF(plan_rate_per_minute[VEX_PLAN_STANDARD]), 1, 10000000},
	{"limits", "pro_per_minute", K_INT, OFF(plan_rate_per_minute[VEX_PLAN_PRO]), 1, 10000000},
	{"limits", "enterprise_per_minute", K_INT, OFF(plan_rate_per_minute[VEX_PLAN_ENTERPRISE]), 1, 10000000},
	{"limits", "rate_free", K_INT, OFF(plan_rate_per_minute[VEX_PLAN_FREE]), 1, 10000000},
	{"limits", "rate_standard", K_INT, OFF(plan_rate_per_minute[VEX_PLAN_STANDARD]), 1, 10000000},
	{"limits", "rate_pro", K_INT, OFF(plan_rate_per_minute[VEX_PLAN_PRO]), 1, 10000000},
	{"limits", "rate_enterprise", K_INT, OFF(plan_rate_per_minute[VEX_PLAN_ENTERPRISE]), 1, 10000000},
	CAP_KEYS("agents", VEX_CAP_AGENTS),
	CAP_KEYS("schedules", VEX_CAP_SCHEDULES),
	CAP_KEYS("queued_jobs", VEX_CAP_QUEUED_JOBS),
	CAP_KEYS("webhooks", VEX_CAP_WEBHOOKS),
	CAP_KEYS("streams", VEX_CAP_STREAMS),
	{"streams", "socket", K_SOCKET, OFF(stream_socket), 0, 0},
	{"streams", "max", K_INT, OFF(streams_max), 1, 1000000},
	{"streams", "ping_s", K_INT, OFF(stream_ping_s), 1, 3600},
	{"streams", "poll_ms", K_INT, OFF(stream_poll_ms), 1, 10000},
	{"streams", "token_ttl_s", K_INT, OFF(stream_token_ttl_s), 10, 86400},
	{"streams", "event_retention_s", K_INT, OFF(event_retention_s), 10, 31536000},
	{"webhooks", "allow_private", K_BOOL, OFF(hooks_allow_private), 0, 1},
	{"webhooks", "timeout_ms", K_INT, OFF(hook_timeout_ms), 100, 300000},
	{"webhooks", "concurrency", K_INT, OFF(hook_concurrency), 1, 1024},
	{"webhooks", "per_hook_inflight", K_INT, OFF(hook_per_hook_inflight), 1, 1024},
	{"webhooks", "retry_s", K_DELAYS, OFF(hook_retry_ms), 0, 0},
	{"webhooks", "disable_after_s", K_INT, OFF(hook_disable_after_s), 1, 31536000},
	{"webhooks", "secret_key_file", K_PATH, OFF(hook_key_file), 0, 0},
	{"webhooks", "secret_key_file_previous", K_PATH, OFF(hook_key_file_previous), 0, 0},
	{"tools", "commands_file", K_PATH, OFF(tools_commands_file), 0, 0},
	{"tools", "mcp_file", K_PATH, OFF(tools_mcp_file), 0, 0},
	{"tools", "work_dir", K_PATH, OFF(tools_work_dir), 0, 0},
	{"tools", "output_max_bytes", K_SIZE, OFF(tools_output_max), 1024, 1073741824},
	{"tools", "kill_grace_ms", K_INT, OFF(tools_kill_grace_ms), 0, 600000},
	{"tools", "mcp_init_timeout_ms", K_INT, OFF(mcp_init_timeout_ms), 100, 600000},
	{"tools", "run_as", K_STR, OFF(tools_run_as), 0, 0},
	{"browser", "mcp_command", K_PATH, OFF(browser_mcp_command), 0, 0},
	{"browser", "chromium", K_PATH, OFF(browser_chromium), 0, 0},
	{"browser", "allow_private", K_BOOL, OFF(browser_allow_private), 0, 1},
	{"model", "base_url", K_URL, OFF(model_base_url), 0, 0},
	{"model", "model", K_STR, OFF(model_name), 0, 0},
	{"model", "api_key_env", K_STR, OFF(model_api_key_env), 0, 0},
	{"model", "timeout_ms", K_INT, OFF(model_timeout_ms), 100, 3600000},
	{"model", "retries", K_INT, OFF(model_retries), 0, 10},
	{"model", "max_tokens", K_INT, OFF(model_max_tokens), 0, 10000000},
	{"metrics", "allow_networks", K_NETS, OFF(metrics_allow_networks), 0, 0},
	{"log", "level", K_LEVEL, OFF(log_level), 0, 0},
	{"http", "cors_origins", K_ORIGINS, OFF(cors_origins), 0, 0},
};
#define NKEYS (sizeof(vex_config_keys) / sizeof(vex_config_keys[0]))
const size_t vex_config_nkeys = NKEYS;

const struct key_def *vex_config_find_key(const char *section, const char *key)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(vex_config_keys[i].section, section) == 0 && strcmp(vex_config_keys[i].key, key) == 0)
			return &vex_config_keys[i];
	return NULL;
}

int vex_config_section_known(const char *section)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(vex_config_keys[i].section, section) == 0)
			return 1;
	return 0;
}

/* "path, synchronous, busy_timeout_ms" for the known keys of "section". */
void vex_config_section_keys(const char *section, char *out, size_t outlen)
{
	size_t used = 0;

	out[0] = '\0';
	for (size_t i = 0; i < NKEYS && used < outlen; i++) {
		if (strcmp(vex_config_keys[i].section, section) != 0)
			continue;
		int n = snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", vex_config_keys[i].key);

		if (n < 0)
			break;
		used += (size_t)n;
	}
}

/* The entry of a comma-separated list that starts at "p": its first character past leading spaces
 * (returned) and its length without trailing ones (*ret_n); *ret_end is its comma, or NULL. */
static const char *list_entry(const char *p, const char **ret_end, size_t *ret_n)
{
	const char *end = strchr(p, ',');
	size_t n = end ? (size_t)(end - p) : strlen(p);

	while (n > 0 && *p == ' ') {
		p++;
		n--;
	}
	while (n > 0 && p[n - 1] == ' ')
		n--;
	*ret_end = end;
	*ret_n = n;
	return p;
}

/*
 * One browser origin of "n" bytes at "p" as browsers send it in Origin: "http://" or "https://", a
 * lower-case host name ([a-z0-9.-]) or a bracketed IPv6 address, and a port only when it is not the
 * scheme's default (1..65535, no leading zero); nothing else (no path, no "*", no "null").
 */
static int origin_valid(const char *p, size_t n)
{
	size_t i, host, port_at = 0;
	long port = 0;

	if (n > 7 && strncmp(p, "http://", 7) == 0)
		i = 7;
	else if (n > 8 && strncmp(p, "https://", 8) == 0)
		i = 8;
	else
		return 0;
	host = i;
	if (p[i] == '[') {
		for (i++; i < n && p[i] != ']'; i++)
			if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f') || p[i] == ':' || p[i] == '.'))
				return 0;
		if (i >= n || i == host + 1)
			return 0;
		i++;
	} else {
		for (; i < n && p[i] != ':'; i++)
			if (!((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= '0' && p[i] <= '9') || p[i] == '.' || p[i] == '-'))
				return 0;
		if (i == host || p[host] == '.' || p[host] == '-' || p[i - 1] == '.' || p[i - 1] == '-')
			return 0;
	}
	if (i == n)
		return 1;
	if (p[i] != ':' || i + 1 == n || p[i + 1] == '0' || n - (i + 1) > 5)
		return 0;
	for (port_at = i + 1, i = port_at; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return 0;
		port = port * 10 + (p[i] - '0');
	}
	return port <= 65535 && port != (host == 7 ? 80 : 443);
}

/* Exact origins, comma-separated (spaces around each allowed), at most VEX_CORS_ORIGINS_MAX; empty: none. */
static int origins_valid(const char *v)
{
	const char *p = v;
	int count = 0;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return 1;
	for (;;) {
		const char *end;
		size_t n;

		p = list_entry(p, &end, &n);
		if (n == 0 || n > VEX_CORS_ORIGIN_MAX || ++count > VEX_CORS_ORIGINS_MAX || !origin_valid(p, n))
			return 0;
		if (!end)
			return 1;
		p = end + 1;
	}
}

/* Entries host[:port], /abs/path or unix:/abs/path, comma-separated; empty allowed (cache disabled). */
static int servers_valid(const char *v)
{
	const char *p = v;

	if (*p == '\0')
		return 1;
	for (;;) {
		const char *end, *colon;
		size_t n;

		p = list_entry(p, &end, &n);
		if (n == 0)
			return 0;
		if (n > 5 && strncmp(p, "unix:", 5) == 0 && p[5] == '/') {
			p += 5;
			n -= 5;
		}
		if (p[0] == '/') {
			/* A unix socket: fits sun_path (108 bytes with its NUL), printable, no spaces. */
			if (n >= 108)
				return 0;
			for (const char *c = p; c < p + n; c++)
				if (*c <= ' ' || *c == 0x7f)
					return 0;
			if (!end)
				return 1;
			p = end + 1;
			continue;
		}
		colon = memchr(p, ':', n);
		for (const char *c = p; c < (colon ? colon : p + n); c++)
			if (*c <= ' ' || *c == '/' || *c == '[' || *c == ']')
				return 0;
		if (colon == p)
			return 0;
		if (colon) {
			long port = 0;
			const char *c = colon + 1;

			if (c == p + n)
				return 0;
			for (; c < p + n; c++) {
				if (*c < '0' || *c > '9')
					return 0;
				port = port * 10 + (*c - '0');
				if (port > 65535)
					return 0;
			}
			if (port < 1)
				return 0;
		}
		if (!end)
			return 1;
		p = end + 1;
	}
}

static int parse_ll(const char *v, long long *ret)
{
	char *end;
	long long n;

	if (*v == '\0' || *v == ' ' || *v == '\t')
		return VEX_EINVAL;
	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno || *end != '\0')
		return VEX_EINVAL;
	*ret = n;
	return 0;
}

/* A retry schedule: "5,30,120" (seconds, decimals allowed, 0.001..604800 each, 1..32 entries). */
static int parse_delays(const char *v, int64_t *out, int *ret_n)
{
	const char *p = v;
	int n = 0;

	for (;;) {
		char *end;
		double d;

		while (*p == ' ')
			p++;
		if (*p < '0' || *p > '9' || n == VEX_HOOK_RETRIES_MAX)
			return VEX_EINVAL;
		errno = 0;
		d = strtod(p, &end);
		if (errno || end == p || d < 0.001 || d > 604800.0)
			return VEX_EINVAL;
		out[n++] = (int64_t)(d * 1000.0 + 0.5);
		p = end;
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		if (*p != ',')
			return VEX_EINVAL;
		p++;
	}
	*ret_n = n;
	return 0;
}

/*
 * Apply "value" to the key "d". On a bad value writes what is wrong and what
 * is allowed into "msg" and returns VEX_EINVAL.
 */
int vex_config_set_value(struct vex_config *cfg, const struct key_def *d, const char *value, char *msg, size_t msglen)
{
	char *base = (char *)cfg + d->offset;
	long long n;
	int rc = VEX_EINVAL;

	switch (d->type) {
	case K_PATH:
	case K_SOCKET:
	case K_SERVERS:
	case K_STR:
	case K_ORIGINS:
	case K_NETS:
	case K_URL: {
		char *s;
		char why[160];

		if (d->type == K_URL && value[0] != '\0' && strncasecmp(value, "http://", 7) != 0 &&
		    strncasecmp(value, "https://", 8) != 0) {
			snprintf(msg, msglen, "%s: \"%s\" is not allowed; allowed: an http:// or https:// URL "
				 "(e.g. http://127.0.0.1:8080/v1), or empty for none", d->key, value);
			goto out;
		}
		if ((d->type == K_PATH || d->type == K_SOCKET) && value[0] == '\0') {
			snprintf(msg, msglen, "%s: empty value; a file system path is required", d->key);
			goto out;
		}
		if (d->type == K_ORIGINS && !origins_valid(value)) {
			snprintf(msg, msglen,
				 "%s: \"%s\" is not allowed; allowed: exact browser origins, comma-separated, each "
				 "scheme://host[:port] in lower case as browsers send them (e.g. https://app.example.com,"
				 "http://localhost:3000), no path, no \"*\", no default port, at most %d; or empty for "
				 "no CORS",
				 d->key, value, VEX_CORS_ORIGINS_MAX);
			goto out;
		}
		if (d->type == K_SERVERS && !servers_valid(value)) {
			snprintf(msg, msglen,
				 "%s: \"%s\" is not a server list; allowed: comma-separated host:port or "
				 "unix socket paths (e.g. 127.0.0.1:11211 or /run/vex/memcached/memcached.sock), "
				 "or empty to disable the cache",
				 d->key, value);
			goto out;
		}
		if (d->type == K_NETS && vex_cidr_list_check(value, why, sizeof(why)) != 0) {
			snprintf(msg, msglen, "%s: %s; allowed: addresses or address/prefix ranges separated by commas, "
				 "or empty for none", d->key, why);
			goto out;
		}
		s = strdup(value);
		if (!s) {
			snprintf(msg, msglen, "%s: out of memory", d->key);
			goto out;
		}
		free(*(char **)base);
		*(char **)base = s;
		break;
	}
	case K_INT:
	case K_SIZE:
		if (parse_ll(value, &n) || n < d->min || n > d->max) {
			snprintf(msg, msglen, "%s: \"%s\" is not allowed; allowed: an integer from %lld to %lld",
				 d->key, value, d->min, d->max);
			goto out;
		}
		if (d->type == K_SIZE)
			*(size_t *)base = (size_t)n;
		else
			*(int *)base = (int)n;
		break;
	case K_SYNC:
		if (strcasecmp(value, "off") == 0)
			*(int *)base = 0;
		else if (strcasecmp(value, "normal") == 0)
			*(int *)base = 1;
		else if (strcasecmp(value, "full") == 0)
			*(int *)base = 2;
		else {
			snprintf(msg, msglen, "%s: \"%s\" is not allowed; allowed: off, normal, full", d->key, value);
			goto out;
		}
		break;
	case K_LEVEL: {
		int lvl = vex_log_level_parse(value);

		if (lvl < 0) {
			snprintf(msg, msglen, "%s: \"%s\" is not allowed; allowed: debug, info, warn, error", d->key,
				 value);
			goto out;
		}
		*(int *)base = lvl;
		break;
	}
	case K_BOOL:
		if (strcasecmp(value, "true") == 0 || strcasecmp(value, "yes") == 0 || strcmp(value, "1") == 0)
			*(int *)base = 1;
		else if (strcasecmp(value, "false") == 0 || strcasecmp(value, "no") == 0 || strcmp(value, "0") == 0)
			*(int *)base = 0;
		else {
			snprintf(msg, msglen, "%s: \"%s\" is not allowed; allowed: true, false", d->key, value);
			goto out;
		}
		break;
	case K_DELAYS: {
		int64_t tmp[VEX_HOOK_RETRIES_MAX];
		int k;

		if (parse_delays(value, tmp, &k)) {
			snprintf(msg, msglen,
				 "%s: \"%s\" is not allowed; allowed: 1 to %d waits in seconds, comma separated "
				 "(e.g. 5,30,120), each from 0.001 to 604800",
				 d->key, value, VEX_HOOK_RETRIES_MAX);
			goto out;
		}
		memcpy(cfg->hook_retry_ms, tmp, sizeof(tmp[0]) * (size_t)k);
		cfg->hook_retries = k;
		break;
	}
	case K_TIME: {
		int64_t us;

		/* Unix seconds or an RFC 3339 date-time, into Unix seconds. */
		if (parse_ll(value, &n) == 0 && n > 0 && n < 253402300800LL) {
			*(int64_t *)base = n;
		} else if (vex_parse_rfc3339(value, &us) == 0 && us > 0) {
			*(int64_t *)base = us / 1000000;
		} else {
			snprintf(msg, msglen,
				 "%s: \"%s\" is not allowed; allowed: an RFC 3339 date-time (e.g. "
				 "2027-01-31T00:00:00Z) or Unix seconds", d->key, value);
			goto out;
		}
		break;
	}
	}
	rc = 0;
out:
	return rc;
}
