/* agents.c - vexctl agents list|create|run: the caller's agents; create one; run one and follow its job. */
#include <stdlib.h>
#include <string.h>

#include "tools/vexctl/jobs.h"
#include "tools/vexctl/list.h"

static const char *const agent_head[] = { "ID", "NAME", "MODEL", "STATUS", "CREATED" };

static void agent_row(struct vc_table *t, json_t *agent)
{
	char id[128], name[512], model[256], st[64], created[64];
	const char *row[5] = { vc_cell(agent, "id", id, sizeof(id)), vc_cell(agent, "name", name, sizeof(name)),
			       vc_cell(agent, "model", model, sizeof(model)), vc_cell(agent, "status", st, sizeof(st)),
			       vc_cell(agent, "created_at", created, sizeof(created)) };

	vc_table_add(t, row);
}

static int agents_list(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 1 }, { "cursor", required_argument, NULL, 2 },
		{ "owner", required_argument, NULL, 3 }, { NULL, 0, NULL, 0 },
	};
	static const char *const names[] = { "limit", "cursor", "owner" };
	static const struct vc_listing agents = { "agents", 5, agent_head, agent_row };
	char path[2048] = "/api/v1/agents";
	int rc = vc_list_query(argc, argv, ctx, opts, names, path, sizeof(path));

	if (rc)
		return rc == VC_OPT_HELP ? VC_EXIT_OK : rc;
	return vc_list_show(ctx, "GET", path, &agents);
}

/* agents create --name N --role R [--model M] [--max-depth N] [--tools a,b] [--base-url U] [--spawn-shadow] */
static int agents_create(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },     { "role", required_argument, NULL, 'r' },
		{ "model", required_argument, NULL, 'm' },    { "max-depth", required_argument, NULL, 'd' },
		{ "tools", required_argument, NULL, 't' },    { "base-url", required_argument, NULL, 'b' },
		{ "spawn-shadow", no_argument, NULL, 's' },   { NULL, 0, NULL, 0 },
	};
	static const struct vc_listing one = { NULL, 5, agent_head, agent_row };
	struct vc_client c = { 0 };
	struct vc_answer a = { 0 };
	json_t *body = json_object(), *tools;
	char *text = NULL, *list = NULL, *save = NULL;
	long long depth;
	int ch, status = VC_EXIT_USAGE;

	optind = 0;
	while ((ch = vc_getopt(argc, argv, opts, ctx)) != -1) {
		switch (ch) {
		case 'n': json_object_set_new(body, "name", json_string(optarg)); break;
		case 'r': json_object_set_new(body, "role", json_string(optarg)); break;
		case 'm': json_object_set_new(body, "model", json_string(optarg)); break;
		case 'b': json_object_set_new(body, "base_url", json_string(optarg)); break;
		case 's': json_object_set_new(body, "spawn_shadow", json_true()); break;
		case 'd':
			if (vc_parse_ll(optarg, 1, 1000, &depth) < 0) {
				vc_usage_error("--max-depth must be a whole number, not '%s'", optarg);
				goto out;
			}
			json_object_set_new(body, "max_depth", json_integer(depth));
			break;
		case 't':
			tools = json_array();
			free(list);
			list = strdup(optarg);
			for (char *p = list ? strtok_r(list, ",", &save) : NULL; p; p = strtok_r(NULL, ",", &save))
				json_array_append_new(tools, json_string(p));
			json_object_set_new(body, "tools", tools);
			break;
		default:
			status = ch == VC_OPT_HELP ? VC_EXIT_OK : VC_EXIT_USAGE;
			goto out;
		}
	}
	if (vc_operands(argc, argv, 0, "") < 0)
		goto out;
	if (!json_object_get(body, "name") || !json_object_get(body, "role")) {
		/* json_string of invalid UTF-8 is NULL: the member is then missing too */
		vc_usage_error("agents create needs --name NAME and --role TEXT (valid UTF-8)");
		goto out;
	}
	text = json_dumps(body, JSON_COMPACT);
	status = vc_client_open(ctx, &c);
	if (status)
		goto out;
	status = vc_call(&c, "POST", "/api/v1/agents", text, &a);
	if (status == 0)
		status = vc_list_print(&c, &a, &one);
out:
	free(list);
	free(text);
	json_decref(body);
	vc_answer_release(&a);
	vc_client_release(&c);
	return status;
}

/* agents run ID --prompt TEXT [--no-wait]: queue a run, then follow its job. */
static int agents_run(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct option opts[] = {
		{ "prompt", required_argument, NULL, 'p' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	struct vc_client c = { 0 };
	const char *prompt = NULL;
	int ch, wait = 1, status;

	optind = 0;
	while ((ch = vc_getopt(argc, argv, opts, ctx)) != -1) {
		if (ch == 'p')
			prompt = optarg;
		else if (ch == 'n')
			wait = 0;
		else
			return ch == VC_OPT_HELP ? VC_EXIT_OK : VC_EXIT_USAGE;
	}
	if (vc_operands(argc, argv, 1, "the agent's id") < 0)
		return VC_EXIT_USAGE;
	if (!prompt) {
		vc_usage_error("agents run needs --prompt TEXT");
		return VC_EXIT_USAGE;
	}
	status = vc_client_open(ctx, &c);
	if (status == 0)
		status = vc_submit_agent(&c, argv[optind], prompt, wait);
	vc_client_release(&c);
	return status;
}

int vc_cmd_agents(int argc, char **argv, struct vc_ctx *ctx)
{
	static const struct vc_action actions[] = {
		{ "list", "agents list [--limit N] [--cursor C] [--owner SUB]", agents_list },
		{ "create",
		  "agents create --name NAME --role TEXT [--model M] [--max-depth N] [--tools A,B] [--base-url URL] "
		  "[--spawn-shadow]",
		  agents_create },
		{ "run", "agents run ID --prompt TEXT [--no-wait]", agents_run },
	};

	return vc_dispatch("agents", actions, sizeof(actions) / sizeof(actions[0]), argc, argv, ctx);
}
