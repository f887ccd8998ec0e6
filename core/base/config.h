/* config.h - vex.conf (INI, parsed with inih) plus environment overrides. */
#ifndef VEX_CONFIG_H
#define VEX_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "core/base/limits.h"

#define VEX_JWT_SECRET_MIN 32
#define VEX_JWT_SECRET_MAX 512
#define VEX_HOOK_RETRIES_MAX 32 /* [webhooks] retry_s entries */
#define VEX_SASL_USER_MAX 255      /* [cache] sasl_user, bytes */
#define VEX_SASL_PASSWORD_MAX 1024 /* the password in [cache] sasl_password_file, bytes */

/* Plans, in the order used by vex_config.plan_concurrency[]. */
enum vex_plan { VEX_PLAN_FREE, VEX_PLAN_STANDARD, VEX_PLAN_PRO, VEX_PLAN_ENTERPRISE, VEX_PLAN_COUNT };

/*
 * Every setting has a safe default. Strings are owned by the struct and
 * freed by vex_config_release(). Paths are absolute after loading (relative
 * ones are resolved against "home").
 *
 * INI layout and the environment variable that overrides each key
 * (VEX_<SECTION>_<KEY>, upper case), e.g. [store] synchronous -> VEX_STORE_SYNCHRONOUS:
 *
 *   [server]  home (VEX_HOME, default ./var), workers (default 4),
 *             api_socket (default <home>/run/api.sock),
 *             runner_socket (default <home>/run/runner.sock),
 *             commit_socket (default <home>/run/commit.sock: vex-api's group committer),
 *             intake_socket (default <home>/run/intake.sock: the runner's writer takes new jobs
 *             there, committed with its own round; vex-api's workers prefer it to commit_socket),
 *             max_body_bytes (default 1048576),
 *             socket_group (default empty: www-data's group when it exists and vex may use it,
 *             else vex's own group; the group of api.sock, stream.sock (0660) and <home>/run (0750))
 *   [store]   path (default <home>/vex.db), synchronous (off|normal|full, default full),
 *             busy_timeout_ms (default 5000),
 *             group (default empty: vex.db, -wal, -shm 0600; a group name: 0640 with that group,
 *             e.g. for a backup user),
 *             job_retention_s (default 604800: finished jobs older than this are pruned; 0 keeps them)
 *   [cache]   servers (default 127.0.0.1:11211; comma-separated host[:port] and unix
 *             sockets "/abs/path" or "unix:/abs/path"; empty disables the cache),
 *             timeout_ms (default 100),
 *             sasl_user (default unset: no SASL) and sasl_password_file (default unset; a file holding
 *             the password, read at load, refused when others may read or write it): both or
 *             neither; TCP connections then authenticate (memcached -S, core/jobs/cache.h)
 *   [auth]    jwt_secret_file (default <home>/jwt.secret); the environment
 *             variable VEX_JWT_SECRET (raw bytes) wins over the file.
 *             jwt_secret_file_previous (default none; VEX_JWT_SECRET_PREVIOUS wins): the secret being
 *             rotated out, accepted for verification until jwt_previous_until (RFC 3339 or Unix
 *             seconds; required with a previous secret),
 *             token_ttl_max_s (default 2592000: the longest lifetime of a token vex mints),
 *             token_max_age_s (default 0: off; else a token whose iat is older is refused, whoever
 *             minted it)
 *   [runner]  concurrency (default 8), lease_ms (default 30000),
 *             rescue_interval_ms (default 5000), poll_interval_ms (default 1000),
 *             shutdown_grace_ms (default 10000), default_timeout_ms (default 300000),
 *             max_attempts (default 3), schedule_catchup_s (default 300)
 *   [limits]  free, standard, pro, enterprise: running jobs per owner
 *             (defaults 1, 2, 5, 20)
 *             free_per_minute, standard_per_minute, pro_per_minute, enterprise_per_minute:
 *             execution requests (/execute_tool, /jobs/submit) per principal per minute
 *             (defaults 10, 30, 100, 1000)
 *             max_agents_<plan>, max_schedules_<plan>, max_queued_jobs_<plan>, max_webhooks_<plan>,
 *             max_streams_<plan> (<plan>: free, standard, pro, enterprise): per-owner caps
 *             (core/base/limits.h VEX_CAP_*_DEFAULT, docs/limits.md)
 *   [streams] socket (default <home>/run/stream.sock: vex-api's stream server),
 *             max (default 4096: open streams in all; per owner: [limits] max_streams_<plan>),
 *             ping_s (default 15: a comment line when nothing else was sent),
 *             poll_ms (default 20: how often the stream server looks for job events),
 *             token_ttl_s (default 300: lifetime of a stream_token),
 *             event_retention_s (default 3600: job events kept for Last-Event-ID resumes)
 *   [webhooks] allow_private (default false: loopback, private, link-local targets refused),
 *             timeout_ms (default 10000: one delivery attempt), concurrency (default 16),
 *             retry_s (default 5,30,120,600,1800,3600,7200,14400,28800,28800: waits between
 *             attempts, seconds, decimals allowed; jittered +-20%),
 *             disable_after_s (default 86400: a hook failing that long is disabled),
 *             secret_key_file (default <home>/webhook.key: 64 hex digits, the AES-256-GCM key that
 *             encrypts signing secrets in the database; made 0600 at first start when absent),
 *             secret_key_file_previous (default none: a key being rotated out, read only; secrets
 *             under it are re-encrypted with secret_key_file at start)
 *   [tools]   commands_file (default <home>/tools.json: operator command tools; absent = none),
 *             mcp_file (default <home>/mcp.json: {"mcpServers":{...}}; absent = none),
 *             work_dir (default <home>/work: each command run gets a private directory inside),
 *             run_as (default vex-tools: the user every command tool, MCP stdio server and the
 *             browser's server runs as when it names none; never root; empty = the runner's own
 *             user, unsafe; a missing user stops the runner),
 *             output_max_bytes (default 1048576: a command's stdout / an MCP result beyond fails),
 *             kill_grace_ms (default 2000: SIGTERM to SIGKILL; MCP cancel to recycle),
 *             mcp_init_timeout_ms (default 10000: start + initialize + tools/list of a server)
 *   [browser] mcp_command (no default: Playwright's MCP server, e.g.
 *             <repo>/.deps/node_modules/.bin/playwright-mcp; unset = agents with a base_url fail
 *             with BROWSER_UNAVAILABLE), chromium (default /usr/bin/chromium),
 *             allow_private (default false: an agent's base_url on loopback, private, link-local or
 *             other non-public addresses is refused at create, patch and session start)
 *   [model]   base_url (default empty: no endpoint; an OpenAI-compatible http(s) URL ending in /v1),
 *             model (default empty: the model asked for when the agent names none),
 *             api_key_env (default VEX_MODEL_API_KEY: the NAME of the environment variable holding
 *             the key; the key itself never sits in vex.conf), timeout_ms (default 60000: one
 *             request), retries (default 3: after the first attempt, on 429, 5xx and network
 *             errors), max_tokens (default 0: not sent)
 *   [metrics] allow_networks (default empty: nobody; addresses or address/prefix ranges, separated by
 *             commas or blanks, from which GET /metrics answers without a credential; docs/operations.md)
 *   [log]     level (debug|info|warn|error, default info)
 *   [http]    cors_origins (default empty: no CORS headers at all; exact browser origins,
 *             comma-separated, scheme://host[:port]; tools/render-nginx writes them into nginx,
 *             which answers CORS: docs/security.md, "CORS")
 */
struct vex_config {
	char *home;
	int workers;
	char *api_socket;
	char *runner_socket;
	char *commit_socket;
	char *intake_socket;
	size_t max_body_bytes;
	char *socket_group; /* "" = the default of vex_perms_socket_gid() */

	char *store_url;   /* [store] url as given (NULL: unset); its SQLite path replaces db_path */
	char *db_path;     /* the SQLite database; with PostgreSQL, the stem of this host's own files (metrics) */
	char *store;       /* what vex_store_open opens: db_path, or the PostgreSQL URL */
	char *store_label; /* the store as logs name it: the path, or the URL without its password */
	int store_pg;      /* 1: the store is PostgreSQL ([store] url postgresql://...) */
	int db_synchronous; /* 0 off, 1 normal, 2 full */
	int db_busy_timeout_ms;
	char *store_group; /* "": database files 0600; a group: 0640 with that group */
	int job_retention_s; /* finished jobs are pruned this long after completed_at; 0: never */

	char *cache_servers; /* "host[:port]" and "/path" or "unix:/path" entries, comma-separated; "" for none */
	int cache_timeout_ms;
	char *cache_sasl_user;          /* NULL or "": no SASL */
	char *cache_sasl_password_file; /* NULL: none */
	char *cache_sasl_password;      /* read from the file at load (NULL without SASL); wiped at release */

	char *jwt_secret_file;
	unsigned char jwt_secret[VEX_JWT_SECRET_MAX];
	size_t jwt_secret_len; /* 0 when no secret could be loaded */
	char *jwt_secret_file_previous; /* NULL when none */
	unsigned char jwt_previous_secret[VEX_JWT_SECRET_MAX];
	size_t jwt_previous_secret_len; /* 0: no rotation in progress */
	int64_t jwt_previous_until_s;   /* Unix seconds: the previous secret verifies before this; 0 unset */
	int token_ttl_max_s;            /* POST /api/v1/tokens, vexctl token */
	int token_max_age_s;            /* 0: off */

	int runner_concurrency;
	int lease_ms;
	int rescue_interval_ms;
	int poll_interval_ms;
	int shutdown_grace_ms;
	int default_timeout_ms;
	int max_attempts;
	int schedule_catchup_s; /* a scheduled slot missed by longer is skipped, not fired late */

	int plan_concurrency[VEX_PLAN_COUNT];
	int plan_rate_per_minute[VEX_PLAN_COUNT]; /* requests that create work, per principal ([limits] rate_<plan>) */
	int caps[VEX_CAP_COUNT][VEX_PLAN_COUNT];  /* per-owner caps by enum vex_cap and plan */

	char *stream_socket;
	int streams_max;
	int stream_ping_s;
	int stream_poll_ms;
	int stream_token_ttl_s;
	int event_retention_s;

	int hooks_allow_private;
	int hook_timeout_ms;
	int hook_concurrency;
	int hook_per_hook_inflight; /* deliveries of one hook in flight at most (all runners) */
	int64_t hook_retry_ms[VEX_HOOK_RETRIES_MAX]; /* waits before attempt 2, 3, ... */
	int hook_retries;                            /* entries used in hook_retry_ms */
	int hook_disable_after_s;
	char *hook_key_file;          /* the webhook secrets' encryption key (core/hooks/sealbox.h) */
	char *hook_key_file_previous; /* NULL, or the key being rotated out (read only) */

	char *tools_commands_file;
	char *tools_mcp_file;
	char *tools_work_dir;
	char *tools_run_as;      /* the user tools run as ("": the runner's own, unsafe) */
	size_t tools_output_max;
	int tools_kill_grace_ms;
	int mcp_init_timeout_ms;

	char *browser_mcp_command; /* NULL when not configured */
	char *browser_chromium;
	int browser_allow_private;

	char *model_base_url;    /* "" when no endpoint is configured */
	char *model_name;        /* "" when none */
	char *model_api_key_env; /* the environment variable's name */
	char *model_api_key;     /* its value, read at load (NULL when unset); the environment then drops it */
	int model_timeout_ms;
	int model_retries;
	int model_max_tokens;    /* 0: not sent */

	char *metrics_allow_networks; /* "" when none (core/base/cidr.h) */

	int log_level; /* VEX_LOG_* from log.h */

	char *cors_origins; /* "": no CORS headers; else exact origins, comma-separated (nginx answers CORS) */
};

/*
 * Load defaults, then "path" (NULL or a missing file when "optional" is
 * set means defaults only), then environment overrides, then the JWT
 * secret. On failure writes a human explanation (file, line, key, what is
 * wrong and what is allowed) into "err" and returns VEX_EINVAL; "cfg" is
 * left released. A missing or short JWT secret is NOT an error here:
 * callers that need it use vex_config_require_secret().
 */
int vex_config_load(const char *path, int optional, struct vex_config *cfg, char *err, size_t errlen);

/* VEX_EINVAL with an explanation unless a secret of >= 32 bytes is loaded. */
int vex_config_require_secret(const struct vex_config *cfg, char *err, size_t errlen);

/* Frees the strings; accepts a zeroed or NULL struct. */
void vex_config_release(struct vex_config *cfg);

/* "free" -> VEX_PLAN_FREE ...; NULL or unknown -> VEX_EINVAL. */
int vex_plan_parse(const char *name, enum vex_plan *ret);
const char *vex_plan_name(enum vex_plan plan);

#endif
