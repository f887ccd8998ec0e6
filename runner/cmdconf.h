/* cmdconf.h - operator command tools: the [tools] commands_file (tools.json) parsed and checked. */
#ifndef VEX_CMDCONF_H
#define VEX_CMDCONF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VEX_CMD_FILE_MAX (1024 * 1024) /* bytes of tools.json */
#define VEX_CMD_TOOLS_MAX 1000         /* tools in one file */
#define VEX_CMD_NAME_MAX 64            /* [A-Za-z0-9_-]{1,64} */
#define VEX_CMD_DESC_MAX 4096          /* code points of a description */
#define VEX_CMD_ARGV_MAX 256           /* argv entries */
#define VEX_CMD_ARG_MAX 4096           /* bytes of one argv entry or one environment value */
#define VEX_CMD_ENV_MAX 128            /* env names + env_set entries */
#define VEX_CMD_GROUPS_MAX 256         /* supplementary groups of a run-as user */
#define VEX_CMD_TIMEOUT_MAX_MS 86400000LL

/* Resource limits applied to a command tool's process (setrlimit, soft = hard). */
struct vex_cmd_limits {
	long cpu_s;   /* RLIMIT_CPU, seconds of CPU time (default 60) */
	long as_mb;   /* RLIMIT_AS, MiB of address space (default 1024) */
	long nofile;  /* RLIMIT_NOFILE (default 64) */
	long nproc;   /* RLIMIT_NPROC: processes of the user it runs as (default 64) */
};

/* One command tool, everything resolved at load so that starting it needs no lookup. */
struct vex_cmd_tool {
	char *name;
	char *description;     /* "" when none */
	char *input_schema;    /* a JSON Schema object, compact text ({"type":"object"} when none) */
	char **argv;           /* argc entries + NULL; argv[0] is an absolute path */
	size_t argc;
	char **env;            /* envc "K=V" entries + NULL: the allow-listed names present in the
				* environment at load, then env_set; never HOME or TMPDIR */
	size_t envc;
	int64_t timeout_ms;    /* the tool's own wall-clock limit; 0 = the job's only */
	char *user;            /* NULL: run as the runner's user */
	uid_t uid;             /* with "user": its uid, gid and supplementary groups */
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	struct vex_cmd_limits limits;
	char *grant;           /* NULL: admins only; else the grant's text (core/tools/grant.h) */
};

struct vex_cmd_tools {
	struct vex_cmd_tool *items;
	size_t n;
	char **left_out;  /* nleft_out messages: tools kept out of the catalog, and why */
	size_t nleft_out;
};

/*
 * Read and check the tools file "path". A missing file is no tools (0 with ret->n == 0).
 * Refuses, with an explanation naming the file, the tool and the field in "err": invalid JSON,
 * unknown keys, a name outside [A-Za-z0-9_-]{1,64} or equal to a builtin's, an input schema that
 * is not an object, an argv[0] that is not an absolute path to an executable file, an unknown
 * user (or any user other than the runner's own when the runner is not root), out-of-range
 * limits. Environment values are read (getenv) now. On 0 the caller owns *ret (vex_cmd_tools_release).
 * A tool whose input schema holds a pattern that does not compile (vex_schema_patterns_compile) is
 * left out of ret->items, the rest of the file kept; ret->left_out says which and why, in the same
 * form as "err" ("<path>: tool "x": inputSchema.properties.a.pattern "(": ...").
 * Returns 0, VEX_EINVAL (err filled), VEX_EIO (err filled) or VEX_ENOMEM.
 */
int vex_cmd_tools_load(const char *path, struct vex_cmd_tools *ret, char *err, size_t errlen);

/* The same over "len" bytes of "text"; "path" only names the file in messages. */
int vex_cmd_tools_parse(const char *path, const char *text, size_t len, struct vex_cmd_tools *ret, char *err,
			size_t errlen);

/* Frees every tool of "t" and zeroes it. Accepts NULL. */
void vex_cmd_tools_release(struct vex_cmd_tools *t);

/* The tool called "name" in "t", or NULL. */
const struct vex_cmd_tool *vex_cmd_tools_find(const struct vex_cmd_tools *t, const char *name);

#endif
