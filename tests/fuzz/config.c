/* config.c - fuzzes loading vex.conf (core/base/config.h) from a memory file, as the programs load it. */
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/base/config.h"
#include "core/base/err.h"
#include "tests/fuzz/fuzz.h"

/* The secret from the environment: the file named by [auth] jwt_secret_file is then never read. */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("VEX_JWT_SECRET", "fuzzing-secret-of-at-least-32-bytes!", 1);
	return 0;
}

/* The input is the text of vex.conf, in a memfd (nothing is written to disk), loaded by its path. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vex_config cfg;
	char path[64], err[1024];
	int fd, rc;

	fd = memfd_create("vex.conf", MFD_CLOEXEC);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size)
		goto out;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	memset(&cfg, 0, sizeof(cfg));
	err[0] = '\0';
	rc = vex_config_load(path, 0, &cfg, err, sizeof(err));
	if (rc == 0) {
		FUZZ_ASSERT(vex_config_require_secret(&cfg, err, sizeof(err)) == 0);
		vex_config_release(&cfg);
	} else {
		FUZZ_ASSERT(rc == VEX_EINVAL || rc == VEX_ENOMEM);
		FUZZ_ASSERT(err[0] != '\0' || rc == VEX_ENOMEM);
	}
out:
	close(fd);
	return 0;
}
