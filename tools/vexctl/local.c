/* local.c - the vexctl commands that work on the secret and the store directly: token, key, revoke, revocations. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/auth/apikeys.h"
#include "core/auth/jwt.h"
#include "core/auth/credential.h"
#include "core/auth/revocation.h"
#include "core/base/config.h"
#include "core/base/err.h"
#include "core/base/ids.h"
#include "core/base/json.h"
#include "core/base/perms.h"
#include "core/store/store.h"
#include "core/base/timeutil.h"
#include "tools/vexctl/vexctl.h"

#define TTL_DEFAULT VEX_TOKEN_TTL_DEFAULT
#define TTL_MAX VEX_TOKEN_TTL_MAX /* the outer bound; [auth] token_ttl_max_s (vex_authn_mint) applies after */

/*
 * Load "path" (or $VEX_CONFIG, or defaults only) and, when "need_secret", insist on a usable
 * secret, so that vexctl signs with exactly what vex-api verifies with.
 */
static int load_config(const char *path, int need_secret, struct vex_config *cfg)
{
	char err[512];
	int optional = 0;
	int rc;

	if (!path || !*path) {
		path = getenv("VEX_CONFIG");
		if (!path || !*path) {
			path = NULL;
			optional = 1;
		}
	}
	rc = vex_config_load(path, optional, cfg, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "vexctl: %s\n", err);
		goto out;
	}
	rc = need_secret ? vex_config_require_secret(cfg, err, sizeof(err)) : 0;
	if (rc < 0) {
		fprintf(stderr, "vexctl: %s\n", err);
		vex_config_release(cfg);
	}
out:
	return rc;
}

/* vexctl token: mint a JWT the way vex-api verifies it (core/auth/jwt.h). */
/*
 * What every subcommand's option loop ends with: --config, --help and getopt's errors. 0 after
 * --config (the loop goes on); else the command ends: after --help with *status 0, after a usage
 * error with *status as it was.
 */
static int common_opt(int c, char **argv, const char **config_path, int *status)
{
	switch (c) {
	case 'c':
		*config_path = optarg;
		return 0;
	case 'h':
		vc_usage(stdout);
		*status = 0;
		return 1;
	case ':':
		vc_usage_error("option %s needs a value", argv[optind - 1]);
		return 1;
	default:
		vc_usage_error("unknown option %s", argv[optind - 1]);
		return 1;
	}
}

/* After the options: 0, or 1 after a usage error naming the first operand left over. */
static int no_operands(int argc, char **argv)
{
	if (optind >= argc)
		return 0;
	vc_usage_error("unexpected argument '%s'", argv[optind]);
	return 1;
}

static int cmd_token(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "sub", required_argument, NULL, 's' },  { "role", required_argument, NULL, 'r' },
		{ "plan", required_argument, NULL, 'p' }, { "ttl", required_argument, NULL, 't' },
		{ "config", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vex_config cfg;
	struct vex_principal p;
	const char *sub = NULL;
	long long ttl = TTL_DEFAULT;
	struct vex_field_error fe;
	char *token = NULL, jti[VEX_UUID_LEN + 1];
	int64_t expires;
	int loaded = 0;
	int status = VC_EXIT_USAGE;
	int c, rc;

	memset(&cfg, 0, sizeof(cfg));
	memset(&p, 0, sizeof(p));
	p.role = VEX_ROLE_USER;
	p.plan = VEX_PLAN_FREE;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			sub = optarg;
			break;
		case 'r':
			if (vex_role_parse(optarg, &p.role) < 0) {
				vc_usage_error("--role must be user or admin, not '%s'", optarg);
				goto out;
			}
			break;
		case 'p':
			if (vex_plan_parse(optarg, &p.plan) < 0) {
				vc_usage_error("--plan must be free, standard, pro or enterprise, not '%s'", optarg);
				goto out;
			}
			break;
		case 't':
			if (vc_parse_ll(optarg, 1, TTL_MAX, &ttl) < 0) {
				vc_usage_error("--ttl must be a whole number of seconds from 1 to %lld, not '%s'",
					    TTL_MAX, optarg);
				goto out;
			}
			break;
		default:
			if (common_opt(c, argv, &config_path, &status) != 0)
				goto out;
		}
	}
	if (no_operands(argc, argv) != 0)
		goto out;
	if (!sub) {
		vc_usage_error("token needs --sub SUB");
		goto out;
	}
	/* The same rule vex_jwt_verify applies, so a minted token is never refused for its sub. */
	if (!*sub || strlen(sub) > VEX_SUB_MAX || vex_has_control_chars(sub)) {
		vc_usage_error("--sub must be 1..128 bytes without control characters");
		goto out;
	}
	memcpy(p.sub, sub, strlen(sub) + 1);

	status = VC_EXIT_FAIL;
	if (load_config(config_path, 1, &cfg) < 0)
		goto out;
	loaded = 1;
	rc = vex_authn_mint(&cfg, &p, ttl, vex_now_us(), &token, &expires, jti, &fe);
	if (rc == VEX_EINVAL) {
		vc_usage_error("--%s: %s", fe.field, fe.message);
		status = VC_EXIT_USAGE;
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "vexctl: could not sign the token\n");
		goto out;
	}
	if (printf("%s\n", token) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "vexctl: could not write the token: %s\n", strerror(errno));
		goto out;
	}
	status = 0;
out:
	free(token);
	if (loaded)
		vex_config_release(&cfg);
	return status;
}

/* Open the store the configuration names (the same file vex-api uses). */
static int open_store(const char *config_path, struct vex_config *cfg, struct vex_store **ret)
{
	int rc;

	rc = load_config(config_path, 0, cfg);
	if (rc < 0)
		goto out;
	rc = vex_perms_store_files(cfg);
	if (rc == 0)
		rc = vex_store_open(cfg->store, cfg->db_synchronous, cfg->db_busy_timeout_ms, ret);
	if (rc < 0) {
		fprintf(stderr, "vexctl: cannot open the store %s: %s\n", cfg->store_label, vex_strerror(rc));
		vex_config_release(cfg);
	}
out:
	return rc;
}

/* vexctl key create: issue a key through core/auth/apikeys.c (the same rules as POST /api/v1/keys). */
static int key_create(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "owner", required_argument, NULL, 'o' }, { "role", required_argument, NULL, 'r' },
		{ "plan", required_argument, NULL, 'p' },  { "name", required_argument, NULL, 'n' },
		{ "config", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vex_config cfg;
	struct vex_store *store = NULL;
	struct vex_api_key k;
	struct vex_field_error fe;
	enum vex_role role = VEX_ROLE_USER;
	enum vex_plan plan = VEX_PLAN_FREE;
	const char *owner = NULL, *name = NULL;
	char key[VEX_APIKEY_LEN + 1];
	int status = VC_EXIT_USAGE;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			owner = optarg;
			break;
		case 'r':
			if (vex_role_parse(optarg, &role) < 0) {
				vc_usage_error("--role must be user or admin, not '%s'", optarg);
				goto out;
			}
			break;
		case 'p':
			if (vex_plan_parse(optarg, &plan) < 0) {
				vc_usage_error("--plan must be free, standard, pro or enterprise, not '%s'", optarg);
				goto out;
			}
			break;
		case 'n':
			name = optarg;
			break;
		default:
			if (common_opt(c, argv, &config_path, &status) != 0)
				goto out;
		}
	}
	if (no_operands(argc, argv) != 0)
		goto out;
	if (!owner) {
		vc_usage_error("key create needs --owner OWNER");
		goto out;
	}
	status = VC_EXIT_FAIL;
	if (open_store(config_path, &cfg, &store) < 0)
		goto out;
	rc = vex_apikey_issue(store, owner, role, plan, name, vex_now_us(), &k, key, &fe);
	if (rc == VEX_EINVAL) {
		vc_usage_error("--%s: %s", fe.field, fe.message);
		status = VC_EXIT_USAGE;
	} else if (rc < 0) {
		fprintf(stderr, "vexctl: could not create the key: %s\n", vex_strerror(rc));
	} else if (printf("%s\n%s\n", key, k.id) < 0 || fflush(stdout) != 0) {
		fprintf(stderr, "vexctl: could not write the key: %s\n", strerror(errno));
	} else {
		status = 0;
	}
	vex_store_free(store);
	vex_config_release(&cfg);
out:
	return status;
}

/* A time column for the listing: RFC 3339, or "-" when unset. */
static const char *when(int64_t us, char buf[VEX_RFC3339_LEN])
{
	if (us == 0)
		return "-";
	vex_rfc3339(us, buf);
	return buf;
}

/* The options of a listing: --NAME VALUE (a filter, "name"), --config, --help. 0 with *ret_filter (NULL
 * when absent), VC_EXIT_USAGE (said), or -1 after --help (printed). */
static int filter_opts(int argc, char **argv, const char *name, const char **ret_filter, const char **config_path)
{
	const struct option opts[] = {
		{ name, required_argument, NULL, 'f' }, { "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },     { NULL, 0, NULL, 0 },
	};
	int c, status = VC_EXIT_USAGE;

	*ret_filter = NULL;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			*ret_filter = optarg;
			break;
		default:
			if (common_opt(c, argv, config_path, &status) != 0)
				return status == 0 ? -1 : VC_EXIT_USAGE;
		}
	}
	return no_operands(argc, argv) != 0 ? VC_EXIT_USAGE : 0;
}

/*
 * A listing of vexctl: the option naming its filter, its header, and one page of rows. page() prints
 * at most PAGE_ROWS rows after "cursor" (empty: from the newest), moves "cursor" to the last one and
 * sets *n; 0 or a VEX_E... code.
 */
#define PAGE_ROWS 500
struct listing {
	const char *filter;
	const char *header;
	int (*page)(struct vex_store *s, const char *filter, char cursor[VEX_UUID_LEN + 1], size_t *n);
};

/* Every row of "l" (of the filter's value), page by page, tab separated. */
static int list_all(int argc, char **argv, const char *config_path, const struct listing *l)
{
	struct vex_config cfg;
	struct vex_store *store = NULL;
	const char *filter = NULL;
	char cursor[VEX_UUID_LEN + 1] = "";
	int status = filter_opts(argc, argv, l->filter, &filter, &config_path);
	size_t n = 0;
	int rc;

	if (status != 0)
		return status < 0 ? 0 : status;
	if (open_store(config_path, &cfg, &store) < 0)
		return VC_EXIT_FAIL;
	printf("%s\n", l->header);
	do
		rc = l->page(store, filter, cursor, &n);
	while (rc == 0 && n == PAGE_ROWS);
	if (rc < 0)
		fprintf(stderr, "vexctl: could not list: %s\n", vex_strerror(rc));
	status = rc == 0 && fflush(stdout) == 0 ? 0 : VC_EXIT_FAIL;
	vex_store_free(store);
	vex_config_release(&cfg);
	return status;
}

static int key_page(struct vex_store *s, const char *owner, char cursor[VEX_UUID_LEN + 1], size_t *n)
{
	struct vex_api_key_list l = { NULL, 0 };
	char t1[VEX_RFC3339_LEN], t2[VEX_RFC3339_LEN], t3[VEX_RFC3339_LEN];
	int rc = vex_store_keys_list(s, owner, cursor[0] ? cursor : NULL, PAGE_ROWS, &l);

	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		const struct vex_api_key *k = &l.items[i];

		printf("%s\tvex_%s...\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k->id, k->prefix, k->owner, vex_role_name(k->role),
		       vex_plan_name(k->plan), k->name[0] ? k->name : "-", when(k->created_at, t1),
		       when(k->last_used_at, t2), when(k->revoked_at, t3));
		memcpy(cursor, k->id, VEX_UUID_LEN + 1);
	}
	*n = l.n;
	vex_api_key_list_release(&l);
	return rc;
}

/* vexctl key list: every key (of --owner), newest first, tab separated, never the key itself. */
static int key_list(int argc, char **argv, const char *config_path)
{
	static const struct listing keys = {
		"owner", "ID\tPREFIX\tOWNER\tROLE\tPLAN\tNAME\tCREATED\tLAST_USED\tREVOKED", key_page,
	};

	return list_all(argc, argv, config_path, &keys);
}

/* vexctl key revoke ID: the key stops working at once (vex-api looks keys up on every request). */
static int key_revoke(int argc, char **argv, const char *config_path)
{
	struct vex_config cfg;
	struct vex_store *store = NULL;
	int status = VC_EXIT_USAGE;
	int i, rc;
	const char *id = NULL;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc) {
			config_path = argv[++i];
		} else if (!strncmp(argv[i], "--config=", 9)) {
			config_path = argv[i] + 9;
		} else if (argv[i][0] == '-' || id) {
			vc_usage_error("unexpected argument '%s'", argv[i]);
			goto out;
		} else {
			id = argv[i];
		}
	}
	if (!id || !vex_uuid_valid(id)) {
		vc_usage_error("key revoke needs the key's ID (a UUID, as key create and key list show it)");
		goto out;
	}
	status = VC_EXIT_FAIL;
	if (open_store(config_path, &cfg, &store) < 0)
		goto out;
	rc = vex_store_key_revoke(store, id, NULL, vex_now_us());
	if (rc == VEX_ENOTFOUND)
		fprintf(stderr, "vexctl: no live key with id %s\n", id);
	else if (rc < 0)
		fprintf(stderr, "vexctl: could not revoke the key: %s\n", vex_strerror(rc));
	else if (printf("revoked %s\n", id) >= 0 && fflush(stdout) == 0)
		status = 0;
	vex_store_free(store);
	vex_config_release(&cfg);
out:
	return status;
}

static int cmd_key(int argc, char **argv, const char *config_path)
{
	if (argc < 2) {
		vc_usage_error("key needs an action: create, list or revoke");
		return VC_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "create"))
		return key_create(argc - 1, argv + 1, config_path);
	if (!strcmp(argv[1], "list"))
		return key_list(argc - 1, argv + 1, config_path);
	if (!strcmp(argv[1], "revoke"))
		return key_revoke(argc - 1, argv + 1, config_path);
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		vc_usage(stdout);
		return 0;
	}
	vc_usage_error("unknown key action '%s' (create, list, revoke)", argv[1]);
	return VC_EXIT_USAGE;
}

/* vexctl revoke: one token by its jti, or a subject's tokens issued before --before (default now). */
static int cmd_revoke(int argc, char **argv, const char *config_path)
{
	static const struct option opts[] = {
		{ "jti", required_argument, NULL, 'j' },    { "sub", required_argument, NULL, 's' },
		{ "before", required_argument, NULL, 'b' }, { "reason", required_argument, NULL, 'r' },
		{ "config", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vex_token_revocation r;
	struct vex_field_error fe;
	struct vex_config cfg;
	struct vex_store *store = NULL;
	const char *jti = NULL, *sub = NULL, *reason = NULL;
	int64_t before_us = 0;
	int status = VC_EXIT_USAGE;
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			jti = optarg;
			break;
		case 's':
			sub = optarg;
			break;
		case 'b':
			if (vex_parse_rfc3339(optarg, &before_us) != 0 || before_us <= 0) {
				vc_usage_error("--before must be an RFC 3339 date-time, not '%s'", optarg);
				goto out;
			}
			break;
		case 'r':
			reason = optarg;
			break;
		default:
			if (common_opt(c, argv, &config_path, &status) != 0)
				goto out;
		}
	}
	if (no_operands(argc, argv) != 0)
		goto out;
	status = VC_EXIT_FAIL;
	if (open_store(config_path, &cfg, &store) < 0)
		goto out;
	rc = vex_revocation_issue(store, jti, sub, before_us ? (before_us + 999999) / 1000000 : 0, reason, "vexctl",
				  vex_now_us(), &r, &fe);
	if (rc == VEX_EINVAL) {
		vc_usage_error("--%s: %s", fe.field[0] ? fe.field : "jti", fe.message);
		status = VC_EXIT_USAGE;
	} else if (rc == VEX_EEXIST) {
		fprintf(stderr, "vexctl: jti %s is already revoked\n", jti);
	} else if (rc < 0) {
		fprintf(stderr, "vexctl: could not store the revocation: %s\n", vex_strerror(rc));
	} else if (printf("revoked %s\n", r.id) >= 0 && fflush(stdout) == 0) {
		status = 0;
	}
	vex_store_free(store);
	vex_config_release(&cfg);
out:
	return status;
}

static int revocation_page(struct vex_store *s, const char *sub, char cursor[VEX_UUID_LEN + 1], size_t *n)
{
	struct vex_token_revocation_list l = { NULL, 0 };
	char t1[VEX_RFC3339_LEN], t2[VEX_RFC3339_LEN];
	int rc = vex_store_revocations_list(s, sub, cursor[0] ? cursor : NULL, PAGE_ROWS, &l);

	for (size_t i = 0; rc == 0 && i < l.n; i++) {
		const struct vex_token_revocation *r = &l.items[i];

		printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r->id, r->jti[0] ? r->jti : "-", r->sub[0] ? r->sub : "-",
		       r->sub[0] ? when(r->issued_before_s * 1000000, t1) : "-", r->reason[0] ? r->reason : "-",
		       r->created_by, when(r->created_at, t2));
		memcpy(cursor, r->id, VEX_UUID_LEN + 1);
	}
	*n = l.n;
	vex_token_revocation_list_release(&l);
	return rc;
}

/* vexctl revocations: every revocation (of --sub), newest first, tab separated. */
static int cmd_revocations(int argc, char **argv, const char *config_path)
{
	static const struct listing revocations = {
		"sub", "ID\tJTI\tSUB\tISSUED_BEFORE\tREASON\tCREATED_BY\tCREATED", revocation_page,
	};

	return list_all(argc, argv, config_path, &revocations);
}

/* The entry points of the command table (main.c): the service's vex.conf from --config. */
int vc_cmd_token(int argc, char **argv, struct vc_ctx *ctx)
{
	return cmd_token(argc, argv, ctx->config_path);
}

int vc_cmd_key(int argc, char **argv, struct vc_ctx *ctx)
{
	return cmd_key(argc, argv, ctx->config_path);
}

int vc_cmd_revoke(int argc, char **argv, struct vc_ctx *ctx)
{
	return cmd_revoke(argc, argv, ctx->config_path);
}

int vc_cmd_revocations(int argc, char **argv, struct vc_ctx *ctx)
{
	return cmd_revocations(argc, argv, ctx->config_path);
}
