/* sealbox.h - secrets at rest: AES-256-GCM sealing of short values (webhook signing secrets) with keys from key files. */
#ifndef VEX_SEALBOX_H
#define VEX_SEALBOX_H

#include <stddef.h>

#define VEX_SEAL_KEY_LEN 32
#define VEX_SEAL_ID_LEN 8        /* hex digits naming a key: SHA-256("vex seal key" || key), first 4 bytes */
#define VEX_SEAL_PREFIX "vxs1:"  /* format version 1 */
#define VEX_SEAL_PLAIN_MAX 4096

struct vex_sealkey {
	unsigned char key[VEX_SEAL_KEY_LEN];
	char id[VEX_SEAL_ID_LEN + 1];
};

/* The key that seals, and the one being rotated out (read only). */
struct vex_sealring {
	struct vex_sealkey cur;
	struct vex_sealkey prev;
	int has_prev;
};

/*
 * Read the key file "path": 64 hex digits (a trailing newline allowed). When it is absent and
 * "create" is set, write a new random key (0600, atomically: two programs starting together end
 * up with the same key). A file of this process's user that others may read is made 0600.
 * 0, VEX_ENOTFOUND (absent, "create" unset), VEX_EINVAL (not 64 hex
 * digits), VEX_EIO. "err" says which, with the path.
 */
int vex_sealkey_load(const char *path, int create, struct vex_sealkey *ret, char *err, size_t errlen);

/* The current key (created when absent and "create" is set) and, when "prev_path" is not NULL, the previous one. */
int vex_sealring_load(const char *path, const char *prev_path, int create, struct vex_sealring *ret, char *err,
		      size_t errlen);

/* Wipe the keys. Accepts NULL. */
void vex_sealring_release(struct vex_sealring *r);

/*
 * Seal "plain" (a NUL-terminated string, 1..VEX_SEAL_PLAIN_MAX bytes) under key "k", bound to
 * "ad" (associated data: what the value belongs to, e.g. "webhooks.secret:<hook id>"):
 * "vxs1:<key id>:<hex of 12-byte random nonce || ciphertext || 16-byte tag>". *ret is malloc'd
 * (the caller frees it). 0, VEX_EINVAL, VEX_ENOMEM, VEX_ERROR.
 */
int vex_sealbox_seal(const struct vex_sealkey *k, const char *ad, const char *plain, char **ret);

/*
 * Open a sealed value with whichever key of "r" its id names. *ret is malloc'd (the caller
 * cleanses and frees it). 0; VEX_EINVAL (not a sealed value of this version, or truncated);
 * VEX_ENOTFOUND (no key of "r" has its id); VEX_EAUTH (tampered with, or another "ad"); VEX_ENOMEM.
 */
int vex_sealbox_open(const struct vex_sealring *r, const char *ad, const char *sealed, char **ret);

/* 1 when "s" is sealed (starts with VEX_SEAL_PREFIX), else 0. */
int vex_sealbox_is_sealed(const char *s);

/* 1 when "s" is sealed under the current key of "r", else 0. */
int vex_sealbox_is_current(const struct vex_sealring *r, const char *s);

#endif
