/* browser.h - a browser session for one agent job: Playwright's MCP server over stdio, held to one origin. */
#ifndef VEX_RUNNER_BROWSER_H
#define VEX_RUNNER_BROWSER_H

#include <jansson.h>
#include <stddef.h>

#include "core/base/config.h"
#include "runner/exec.h"

/* Prefix of the function names the model is offered: browser__navigate calls browser_navigate. */
#define VEX_BROWSER_FN_PREFIX "browser__"
#define VEX_BROWSER_ORIGIN_MAX 512

struct vex_browser;

/*
 * The origin ("http://host[:port]", scheme and host lower-cased, default port dropped) of the
 * http(s) URL "url" into "ret" (retlen bytes). 0, or VEX_EINVAL (not an http(s) URL with a host,
 * user info present, or too long).
 */
int vex_browser_origin(const char *url, char *ret, size_t retlen);

/*
 * Opens a session limited to the origin of "base_url": a private directory under
 * cfg->tools_work_dir (0700; the server's HOME, TMPDIR and --output-dir), then cfg->browser_mcp_command
 * started in its own process group with --headless --isolated --no-sandbox --executable-path
 * cfg->browser_chromium --allowed-origins <origin>, initialized and its tools listed, all within
 * cfg->mcp_init_timeout_ms. "ctx" (may be NULL) is checked for a stop while waiting. On 0 the caller
 * owns *ret (vex_browser_close). VEX_EINVAL (a bad base_url, or [browser] mcp_command not set),
 * VEX_EIO (could not start or initialize), VEX_ESTATE (the job stopped), VEX_ENOMEM; "why" says
 * why. Nothing is left running on failure.
 */
int vex_browser_open(const struct vex_config *cfg, const char *base_url, struct vex_exec_ctx *ctx,
		     struct vex_browser **ret, char *why, size_t whylen);

/*
 * Appends the session's tools to "functions" (an array, borrowed) as chat-completions functions
 * {"type":"function","function":{"name":"browser__<tool>","description","parameters"}}; tools that
 * run arbitrary code or touch local files (browser_evaluate, browser_run_code_unsafe,
 * browser_file_upload) are never offered. 0 or VEX_ENOMEM.
 */
int vex_browser_functions(const struct vex_browser *b, json_t *functions);

/* 1 when "function" is one of this session's offered function names, else 0. */
int vex_browser_has(const struct vex_browser *b, const char *function);

/*
 * Calls the offered function "function" with "arguments_json" (a JSON object text; NULL is {}).
 * *ret_text (caller frees) is what goes back to the model: the text items of the result, images
 * named, cut at cfg->tools_output_max bytes; *ret_is_error is 1 when the tool failed (its text
 * says why). A navigation to another origin than the session's is refused here, without a call.
 * Every call that reaches the browser counts one step. 0 (the tool may still have failed);
 * VEX_ESTATE when "ctx" said stop; VEX_EIO when the server is gone ("why"); VEX_EINVAL (unknown
 * function, arguments not an object); VEX_ENOMEM.
 */
int vex_browser_call(struct vex_browser *b, struct vex_exec_ctx *ctx, const char *function,
		     const char *arguments_json, char **ret_text, int *ret_is_error, char *why, size_t whylen);

/* Tool calls that reached the browser so far. */
int vex_browser_steps(const struct vex_browser *b);

/* The private directory of the session (borrowed; valid until close). */
const char *vex_browser_dir(const struct vex_browser *b);

/*
 * Ends the session: the server's stdin closed, then SIGTERM and SIGKILL to its process group,
 * then SIGKILL to any process still running from the session's private directory (chromium runs
 * in a process group of its own), which is then removed. Returns the session's seconds (wall
 * time from open to close). Accepts NULL (0).
 */
double vex_browser_close(struct vex_browser *b);

#endif
