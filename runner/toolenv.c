/* toolenv.c - the allow-listed environment of a tool process. */
#include "runner/toolenv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/base/err.h"

#define FIXED_MAX 5

/* "name=value" in a new string; NULL on ENOMEM. */
static char *pair(const char *name, const char *value)
{
	size_t len = strlen(name) + 1 + strlen(value) + 1;
	char *kv = malloc(len);

	if (kv)
		snprintf(kv, len, "%s=%s", name, value);
	return kv;
}

/* 1 when "kv" ("K=V") sets one of "extra"'s names. */
static int replaced(const char *kv, char *const *extra, size_t nextra)
{
	size_t kl = strcspn(kv, "=") + 1, i;

	for (i = 0; i < nextra; i++)
		if (strncmp(extra[i], kv, kl) == 0)
			return 1;
	return 0;
}

int vex_toolenv_build(const char *home, const char *tmpdir, char *const *extra, size_t nextra, char ***ret)
{
	const char *lang = getenv("LANG"), *tz = getenv("TZ");
	char *fixed[FIXED_MAX] = { NULL };
	char **env = NULL;
	size_t nf = 0, i, k = 0;
	int rc = VEX_ENOMEM;

	if (!(fixed[nf++] = pair("PATH", VEX_TOOLENV_PATH)) || !(fixed[nf++] = pair("HOME", home)))
		goto out;
	if (tmpdir && !(fixed[nf++] = pair("TMPDIR", tmpdir)))
		goto out;
	if (!(fixed[nf++] = pair("LANG", lang && *lang ? lang : VEX_TOOLENV_LANG)))
		goto out;
	if (tz && *tz && !(fixed[nf++] = pair("TZ", tz)))
		goto out;
	env = calloc(nf + nextra + 1, sizeof(char *));
	if (!env)
		goto out;
	for (i = 0; i < nf; i++) {
		if (replaced(fixed[i], extra, nextra))
			continue;
		env[k++] = fixed[i];
		fixed[i] = NULL;
	}
	for (i = 0; i < nextra; i++)
		if (!(env[k++] = strdup(extra[i])))
			goto out;
	*ret = env;
	env = NULL;
	rc = 0;
out:
	for (i = 0; i < nf; i++)
		free(fixed[i]);
	vex_toolenv_free(env);
	return rc;
}

void vex_toolenv_free(char **envp)
{
	size_t i;

	if (!envp)
		return;
	for (i = 0; envp[i]; i++)
		free(envp[i]);
	free(envp);
}

int vex_toolenv_workdir(const char *path)
{
	if (mkdir(path, 0711) == 0)
		return chmod(path, 0711);
	return errno == EEXIST ? 0 : -1;
}
