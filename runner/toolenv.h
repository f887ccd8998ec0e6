/* toolenv.h - the allow-listed environment every tool process (command tool, MCP stdio server, browser) starts from. */
#ifndef VEX_TOOLENV_H
#define VEX_TOOLENV_H

#include <stddef.h>

#define VEX_TOOLENV_PATH "/usr/local/bin:/usr/bin:/bin" /* PATH unless the operator names one */
#define VEX_TOOLENV_LANG "C.UTF-8"                      /* LANG when the runner has none */

/*
 * A new environment for a tool: PATH=VEX_TOOLENV_PATH, HOME="home", TMPDIR="tmpdir" (when not
 * NULL), LANG (the runner's, else VEX_TOOLENV_LANG), TZ (the runner's, when set), then the "nextra"
 * "K=V" entries of "extra" — what the operator named for this tool — each replacing a fixed one of
 * the same name. Nothing else of the runner's environment: no VEX_* variable, no model key.
 * On 0 the caller owns *ret (every string and the array; vex_toolenv_free). 0 or VEX_ENOMEM.
 */
int vex_toolenv_build(const char *home, const char *tmpdir, char *const *extra, size_t nextra, char ***ret);

/*
 * Makes the tools' work directory "path" when missing, mode 0711 past the process's umask (027):
 * a run-as user reaches its own directory inside it and lists nothing. 0, or -1 with errno set.
 */
int vex_toolenv_workdir(const char *path);

/* Frees what vex_toolenv_build made. Accepts NULL. */
void vex_toolenv_free(char **envp);

#endif
