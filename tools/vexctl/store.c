/* store.c - vexctl store migrate: a SQLite store's rows into a new PostgreSQL store (core/store/store_copy.h). */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/base/err.h"
#include "core/store/store_copy.h"
#include "tools/vexctl/vexctl.h"

static void copied(void *arg, const char *table, int64_t rows)
{
	(void)arg;
	printf("%s\t%" PRId64 "\n", table, rows);
	fflush(stdout);
}

/* vexctl store migrate --from PATH [--to URL]: the URL defaults to $VEX_STORE_URL, so that a password in it
 * need not be on a command line (where other users' ps shows it); libpq's ~/.pgpass works too. */
static int store_migrate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *to = NULL;
	char err[1024];
	int c, rc;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'h':
			printf("usage: vexctl store migrate --from SQLITE_PATH [--to postgresql://...]\n"
			       "Copies every row into a new, empty PostgreSQL database in one transaction (docs/storage.md).\n"
			       "--to defaults to $VEX_STORE_URL. Stop vex on the SQLite store first.\n");
			return VC_EXIT_OK;
		default:
			vc_usage_error("store migrate takes --from SQLITE_PATH and --to postgresql://... (or $VEX_STORE_URL)");
			return VC_EXIT_USAGE;
		}
	}
	if (optind < argc) {
		vc_usage_error("store migrate: unexpected argument '%s'", argv[optind]);
		return VC_EXIT_USAGE;
	}
	if (!to || !*to)
		to = getenv("VEX_STORE_URL");
	if (!from || !*from || !to || !*to) {
		vc_usage_error("store migrate needs --from SQLITE_PATH and --to postgresql://... (or $VEX_STORE_URL)");
		return VC_EXIT_USAGE;
	}
	if (strncmp(from, "sqlite:", 7) == 0)
		from += strncmp(from, "sqlite://", 9) == 0 ? 9 : 7;
	rc = vex_store_copy(from, to, copied, NULL, err, sizeof(err));
	if (rc == VEX_EINVAL && strncmp(err, "copy from", 9) == 0) {
		vc_usage_error("%s", err);
		return VC_EXIT_USAGE;
	}
	if (rc) {
		fprintf(stderr, "vexctl: store migrate: %s; nothing was written\n", err);
		return VC_EXIT_FAIL;
	}
	printf("done: the PostgreSQL store holds a copy; point [store] url at it\n");
	return VC_EXIT_OK;
}

int vc_cmd_store(int argc, char **argv, struct vc_ctx *ctx)
{
	(void)ctx;
	if (argc >= 2 && strcmp(argv[1], "migrate") == 0)
		return store_migrate(argc - 1, argv + 1);
	vc_usage_error("store: the one action is migrate --from SQLITE_PATH --to postgresql://...");
	return VC_EXIT_USAGE;
}
