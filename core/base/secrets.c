/* secrets.c - overwrite and unset secret environment variables, then become non-dumpable. */
#include "core/base/secrets.h"

#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "core/base/err.h"

extern char **environ;

int vex_secrets_unset(const char *name)
{
	size_t nl, i;
	int n = 0;

	if (!name || !*name || strchr(name, '='))
		return 0;
	nl = strlen(name);
	/* the values first, where they live (the kernel's block, or libc's copy of a setenv); the
	 * names stay, so that unsetenv still finds every entry and drops it from environ */
	for (i = 0; environ && environ[i]; i++)
		if (strncmp(environ[i], name, nl) == 0 && environ[i][nl] == '=') {
			explicit_bzero(environ[i] + nl + 1, strlen(environ[i] + nl + 1));
			n++;
		}
	if (n)
		unsetenv(name);
	return n;
}

int vex_secrets_scrub(const char *const *names)
{
	size_t i;

	for (i = 0; names && names[i]; i++)
		vex_secrets_unset(names[i]);
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return VEX_EIO;
	return 0;
}
