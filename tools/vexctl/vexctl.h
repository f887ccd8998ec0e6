/* vexctl.h - what the files of vexctl share: exit statuses, the command table, option parsing. */
#ifndef VEXCTL_H
#define VEXCTL_H

#include <getopt.h>
#include <stdio.h>

/*
 * Exit statuses (docs/vexctl.md). The local commands (token, key, revoke, revocations) keep theirs:
 * 0 done, 1 could not do it (configuration, secret, store), 2 bad arguments.
 */
#define VC_EXIT_OK 0
#define VC_EXIT_JOB 1   /* the job ended failed, timeout or canceled (watch, run, --wait) */
#define VC_EXIT_FAIL 1  /* a local command could not do it */
#define VC_EXIT_USAGE 2 /* bad arguments, a bad or unsafe client config file */
#define VC_EXIT_API 3   /* the server answered an error, or an answer vexctl cannot use */
#define VC_EXIT_CONN 4  /* no answer: DNS, connection, TLS (certificate), timeout */

/*
 * What the options before and after a command set. The client settings are the flags only;
 * vc_client_open (http.h) adds the environment and the config file to them.
 */
struct vc_ctx {
	const char *config_path; /* --config: the service's vex.conf (local commands) */
	const char *url;         /* --url */
	const char *token;       /* --token */
	const char *api_key;     /* --api-key */
	const char *cacert;      /* --cacert */
	int json;                /* --json: print the server's JSON as it came */
	const char *usage;       /* the running command's usage line, for -h */
};

/* A command: argv starts at its own name. Returns the exit status. */
struct vc_cmd {
	const char *name;
	const char *args;    /* usage line after the name */
	const char *summary; /* one line for help */
	int (*run)(int argc, char **argv, struct vc_ctx *ctx);
};

/* The command groups (one file each). */
int vc_cmd_token(int argc, char **argv, struct vc_ctx *ctx);       /* local.c */
int vc_cmd_key(int argc, char **argv, struct vc_ctx *ctx);         /* local.c */
int vc_cmd_revoke(int argc, char **argv, struct vc_ctx *ctx);      /* local.c */
int vc_cmd_revocations(int argc, char **argv, struct vc_ctx *ctx); /* local.c */
int vc_cmd_store(int argc, char **argv, struct vc_ctx *ctx);       /* store.c */
int vc_cmd_jobs(int argc, char **argv, struct vc_ctx *ctx);        /* jobs.c */
int vc_cmd_tools(int argc, char **argv, struct vc_ctx *ctx);       /* tools.c */
int vc_cmd_agents(int argc, char **argv, struct vc_ctx *ctx);      /* agents.c */
int vc_cmd_stats(int argc, char **argv, struct vc_ctx *ctx);       /* ops.c */
int vc_cmd_runners(int argc, char **argv, struct vc_ctx *ctx);     /* ops.c */
int vc_cmd_webhooks(int argc, char **argv, struct vc_ctx *ctx);    /* webhooks.c */

/* The whole help text (main.c). */
void vc_usage(FILE *f);

/* "vexctl: <message>", a blank line and the whole help, on stderr. */
void vc_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * getopt_long over "own" options plus the ones every remote command takes (--url, --token,
 * --api-key, --cacert, --json, --config, -h/--help), which it stores in "ctx" itself. Returns the
 * next own option's val, -1 at the end (operands from optind; argv is permuted so operands and
 * options may mix), VC_OPT_HELP after printing ctx->usage to stdout, or VC_OPT_ERROR after a usage
 * error (said). Set optind = 0 before the first call ("own" may be NULL).
 */
#define VC_OPT_HELP (-100)
#define VC_OPT_ERROR (-101)
int vc_getopt(int argc, char **argv, const struct option *own, struct vc_ctx *ctx);

/* Operands left after the options: exactly "n" of them, else a usage error naming "what". */
int vc_operands(int argc, char **argv, int n, const char *what);

/*
 * A subcommand table: "argv[1]" names the action; runs it with argv from the action's name.
 * Unknown or missing action: usage error listing them. "group" names the command for messages.
 */
struct vc_action {
	const char *name;
	const char *usage; /* the whole usage line */
	int (*run)(int argc, char **argv, struct vc_ctx *ctx);
};
int vc_dispatch(const char *group, const struct vc_action *actions, size_t n, int argc, char **argv,
		struct vc_ctx *ctx);

/* Strict decimal parse of "s" into [min, max]; 0 or VEX_EINVAL. */
int vc_parse_ll(const char *s, long long min, long long max, long long *ret);

#endif
