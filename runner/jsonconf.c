/* jsonconf.c - what the operator's JSON files (tools.json, mcp.json) share: reading, names, error lines. */
#include "runner/jsonconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/base/err.h"

int vex_conf_read_file(const char *path, size_t max, char **ret, size_t *ret_len, char *err, size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return VEX_ENOTFOUND;
	if (fd < 0 || fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		rc = VEX_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: must be a regular file of at most %zu bytes", path, max);
		rc = VEX_EINVAL;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		rc = VEX_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path, r < 0 ? strerror(errno) : "file shrank while read");
			rc = VEX_EIO;
			goto out;
		}
		got += (size_t)r;
	}
	buf[got] = '\0';
	*ret = buf;
	*ret_len = got;
	buf = NULL;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

int vex_conf_failv(char *err, size_t errlen, const char *path, const char *kind, const char *name, const char *field,
		   const char *fmt, va_list ap)
{
	char msg[512], who[128] = "";

	if (!errlen)
		return VEX_EINVAL;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (kind && name)
		snprintf(who, sizeof(who), "%s \"%.64s\": ", kind, name);
	snprintf(err, errlen, "%s: %s%s%s%s", path, who, field ? field : "", field ? ": " : "", msg);
	return VEX_EINVAL;
}

static int name_char(char c, int digits, int dash)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (digits && c >= '0' && c <= '9') ||
	       (dash && c == '-');
}

int vex_conf_name_valid(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char(s[i], 1, 1))
			return 0;
	return 1;
}

int vex_conf_env_name_valid(const char *s, size_t max)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if (!name_char(s[i], i > 0, 0))
			return 0;
	return 1;
}

void vex_strv_free(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
