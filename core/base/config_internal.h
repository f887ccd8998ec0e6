/* config_internal.h - private to config.c and config_keys.c: the vex.conf key table and setting one value. */
#ifndef VEX_CONFIG_INTERNAL_H
#define VEX_CONFIG_INTERNAL_H

#include <stddef.h>

#include "core/base/config.h"

enum key_type { K_PATH, K_SOCKET, K_SERVERS, K_INT, K_SIZE, K_SYNC, K_LEVEL, K_BOOL, K_DELAYS, K_STR, K_URL, K_TIME, K_ORIGINS,
		K_NETS };

struct key_def {
	const char *section;
	const char *key;
	enum key_type type;
	size_t offset; /* into struct vex_config */
	long long min, max;
};

/* Every key of vex.conf, "vex_config_nkeys" of them; the first is [server] home. */
extern const struct key_def vex_config_keys[];
extern const size_t vex_config_nkeys;

/* Looking keys up and setting one value: config_keys.c says how, above each. */
const struct key_def *vex_config_find_key(const char *section, const char *key);
int vex_config_section_known(const char *section);
void vex_config_section_keys(const char *section, char *out, size_t outlen);
int vex_config_set_value(struct vex_config *cfg, const struct key_def *d, const char *value, char *msg,
			 size_t msglen);

#endif
