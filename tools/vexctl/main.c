/* main.c - vexctl's command table, help, global options and the option parsing every command shares. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "core/base/err.h"
#include "core/base/perms.h"
#include "core/base/version.h"
#include "tools/vexctl/vexctl.h"

static const struct vc_cmd commands[] = {
	{ "jobs", "submit|get|list|cancel|retry|watch ...",
	  "submit a tool or agent job, show, list, cancel, retry or follow jobs", vc_cmd_jobs },
	{ "tools", "list | run NAME --args JSON", "the tools you may run; run one and follow its job", vc_cmd_tools },
	{ "agents", "list | create --name N --role R | run ID --prompt TEXT",
	  "your agents; create one; run one and follow its job", vc_cmd_agents },
	{ "stats", "[--owner SUB]", "job counts, the oldest queued job, tools of the last hour, runners", vc_cmd_stats },
	{ "runners", "", "the runners with their slots and running jobs", vc_cmd_runners },
	{ "webhooks", "list | deliveries HOOK | deliveries --job JOB | resend HOOK DELIVERY",
	  "your webhooks, their deliveries, re-send one delivery", vc_cmd_webhooks },
	{ "token", "--sub SUB [--role user|admin] [--plan free|standard|pro|enterprise] [--ttl SECONDS]",
	  "(local) print a JWT signed with the configured secret (default role user, ttl 3600, at most "
	  "[auth] token_ttl_max_s), with a jti and the secret's kid", vc_cmd_token },
	{ "key",
	  "create --owner OWNER [--role user|admin] [--plan PLAN] [--name NAME] | list [--owner OWNER] | revoke ID",
	  "(local) manage API keys in the store: create prints the key (once) then its id", vc_cmd_key },
	{ "revoke", "--jti JTI | --sub SUB [--before RFC3339] ; [--reason TEXT]",
	  "(local) revoke one token (jti) or every token of a subject issued before a time (default now)",
	  vc_cmd_revoke },
	{ "revocations", "[--sub SUB]", "(local) list token revocations, newest first, tab separated",
	  vc_cmd_revocations },
	{ "store", "migrate --from SQLITE_PATH [--to postgresql://...]",
	  "(local) copy a SQLite store into a new PostgreSQL database (--to defaults to $VEX_STORE_URL)",
	  vc_cmd_store },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

void vc_usage(FILE *f)
{
	fprintf(f, "usage: vexctl [OPTIONS] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %s %s\n      %s\n", commands[i].name, commands[i].args, commands[i].summary);
	fprintf(f,
		"  help | --version\n"
		"\nservice options (before or after the command; docs/vexctl.md):\n"
		"  --url URL        the service, e.g. https://localhost:8443 (else $VEX_URL, else the config file)\n"
		"  --token JWT      a bearer token (else $VEX_TOKEN) | --api-key KEY (else $VEX_API_KEY)\n"
		"  --cacert FILE    the CA certificate to trust (else $VEX_CA; default: the system's)\n"
		"  --json           print the server's JSON as it came, for scripts\n"
		"  The config file: $VEXCTL_CONFIG, else ~/.config/vex/config (key = value: url, token, api_key,\n"
		"  cacert); one holding a credential must not be readable by group or others.\n"
		"\nlocal options:\n"
		"  --config FILE    vex.conf to read (also accepted after the command; default: $VEX_CONFIG,\n"
		"                   else built-in defaults: home ./var, secret file <home>/jwt.secret)\n"
		"  -h, --help       this text\n"
		"\nThe JWT secret comes from VEX_JWT_SECRET when set, else from [auth] jwt_secret_file.\n"
		"Exit status: 0 done; 1 the job failed, timed out or was canceled (watch, run, --wait), or a\n"
		"local command failed; 2 bad arguments or config file; 3 the server answered an error;\n"
		"4 no answer (connection, TLS certificate, timeout).\n");
}

void vc_usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "vexctl: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n\n");
	vc_usage(stderr);
}

int vc_parse_ll(const char *s, long long min, long long max, long long *ret)
{
	char *end = NULL;
	long long v;

	if (!s || !*s)
		return VEX_EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return VEX_EINVAL;
	*ret = v;
	return 0;
}

enum { OPT_URL = 1000, OPT_TOKEN, OPT_KEY, OPT_CACERT, OPT_JSON, OPT_CONFIG, OPT_HELP };

static const struct option common_opts[] = {
	{ "url", required_argument, NULL, OPT_URL },       { "token", required_argument, NULL, OPT_TOKEN },
	{ "api-key", required_argument, NULL, OPT_KEY },   { "cacert", required_argument, NULL, OPT_CACERT },
	{ "json", no_argument, NULL, OPT_JSON },           { "config", required_argument, NULL, OPT_CONFIG },
	{ "help", no_argument, NULL, OPT_HELP },
};
#define N_COMMON (sizeof(common_opts) / sizeof(common_opts[0]))
#define MAX_OWN 24

/* A common option into "ctx": 1 when "c" was one. */
static int common_set(int c, const char *arg, struct vc_ctx *ctx)
{
	switch (c) {
	case OPT_URL:
		ctx->url = arg;
		return 1;
	case OPT_TOKEN:
		ctx->token = arg;
		return 1;
	case OPT_KEY:
		ctx->api_key = arg;
		return 1;
	case OPT_CACERT:
		ctx->cacert = arg;
		return 1;
	case OPT_JSON:
		ctx->json = 1;
		return 1;
	case OPT_CONFIG:
		ctx->config_path = arg;
		return 1;
	default:
		return 0;
	}
}

int vc_getopt(int argc, char **argv, const struct option *own, struct vc_ctx *ctx)
{
	struct option all[MAX_OWN + N_COMMON + 1];
	size_t n = 0;
	int c;

	for (; own && own[n].name && n < MAX_OWN; n++)
		all[n] = own[n];
	memcpy(all + n, common_opts, sizeof(common_opts));
	memset(&all[n + N_COMMON], 0, sizeof(all[0]));
	opterr = 0;
	for (;;) {
		c = getopt_long(argc, argv, ":h", all, NULL);
		if (common_set(c, optarg, ctx))
			continue;
		if (c == 'h' || c == OPT_HELP) {
			printf("usage: vexctl %s\n\nservice options: --url URL, --token JWT | --api-key KEY, --cacert FILE, "
			       "--json (vexctl help)\n",
			       ctx->usage ? ctx->usage : "COMMAND");
			return VC_OPT_HELP;
		}
		if (c == ':') {
			vc_usage_error("option %s needs a value", argv[optind - 1]);
			return VC_OPT_ERROR;
		}
		if (c == '?') {
			vc_usage_error("unknown option %s (usage: vexctl %s)", argv[optind - 1],
				       ctx->usage ? ctx->usage : "COMMAND");
			return VC_OPT_ERROR;
		}
		return c;
	}
}

int vc_operands(int argc, char **argv, int n, const char *what)
{
	if (argc - optind == n)
		return 0;
	if (argc - optind > n)
		vc_usage_error("unexpected argument '%s'", argv[optind + n]);
	else
		vc_usage_error("missing %s", what);
	return VEX_EINVAL;
}

int vc_dispatch(const char *group, const struct vc_action *actions, size_t n, int argc, char **argv,
		struct vc_ctx *ctx)
{
	char names[256] = "";
	size_t used = 0;

	for (size_t i = 0; i < n; i++) {
		if (argc >= 2 && !strcmp(argv[1], actions[i].name)) {
			ctx->usage = actions[i].usage;
			return actions[i].run(argc - 1, argv + 1, ctx);
		}
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "", actions[i].name);
		if (used >= sizeof(names))
			used = sizeof(names) - 1;
	}
	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))) {
		for (size_t i = 0; i < n; i++)
			printf("usage: vexctl %s\n", actions[i].usage);
		return VC_EXIT_OK;
	}
	if (argc < 2)
		vc_usage_error("%s needs an action: %s", group, names);
	else
		vc_usage_error("unknown %s action '%s' (%s)", group, argv[1], names);
	return VC_EXIT_USAGE;
}

int main(int argc, char **argv)
{
	struct vc_ctx ctx;
	int i = 1, status;

	memset(&ctx, 0, sizeof(ctx));
	vex_perms_umask();
	/* Global options before the command; the command parses the rest itself. */
	while (i < argc && argv[i][0] == '-') {
		const struct option *o = NULL;
		const char *arg = NULL;
		size_t len;

		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			vc_usage(stdout);
			return VC_EXIT_OK;
		}
		if (!strcmp(argv[i], "--version")) {
			printf("vexctl %s\n", VEX_VERSION);
			return VC_EXIT_OK;
		}
		for (size_t k = 0; k < N_COMMON && !o; k++) {
			len = strlen(common_opts[k].name);
			if (argv[i][1] != '-' || strncmp(argv[i] + 2, common_opts[k].name, len))
				continue;
			if (argv[i][2 + len] == '=' && common_opts[k].has_arg)
				arg = argv[i] + 3 + len;
			else if (argv[i][2 + len] != '\0')
				continue;
			o = &common_opts[k];
		}
		if (!o || o->val == OPT_HELP) {
			vc_usage_error("unknown option %s", argv[i]);
			return VC_EXIT_USAGE;
		}
		if (o->has_arg && !arg) {
			if (i + 1 >= argc) {
				vc_usage_error("option %s needs a value", argv[i]);
				return VC_EXIT_USAGE;
			}
			arg = argv[++i];
		}
		common_set(o->val, arg, &ctx);
		i++;
	}
	if (i >= argc) {
		vc_usage_error("no command given");
		return VC_EXIT_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		vc_usage(stdout);
		return VC_EXIT_OK;
	}
	for (size_t k = 0; k < N_COMMANDS; k++) {
		if (strcmp(argv[i], commands[k].name))
			continue;
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			fprintf(stderr, "vexctl: cannot initialise libcurl\n");
			return VC_EXIT_CONN;
		}
		ctx.usage = commands[k].name;
		status = commands[k].run(argc - i, argv + i, &ctx);
		curl_global_cleanup();
		return status;
	}
	vc_usage_error("unknown command '%s'", argv[i]);
	return VC_EXIT_USAGE;
}
