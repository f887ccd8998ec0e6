/* hookkeys.h - the webhook secrets' key at start: load (or create) the key file, seal what is not sealed under it. */
#ifndef VEX_HOOKKEYS_H
#define VEX_HOOKKEYS_H

#include <stddef.h>

struct vex_config;

/*
 * For a program's start (vex-api's master, vex-runner), before serving: read [webhooks]
 * secret_key_file (created, 0600, when absent) and secret_key_file_previous, then open the
 * database once and seal under the current key every hook secret that is plaintext or under the
 * previous key (logged with counts). 0, or a negative VEX_E... with "err" saying what is wrong.
 */
int vex_hookkeys_prepare(const struct vex_config *cfg, char *err, size_t errlen);

/* For --check-config: the key files are readable and well formed (an absent secret_key_file is
 * fine: it is made at start; an absent secret_key_file_previous is not). 0 or VEX_E... with "err". */
int vex_hookkeys_check(const struct vex_config *cfg, char *err, size_t errlen);

#endif
