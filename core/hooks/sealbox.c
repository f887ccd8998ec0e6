/* sealbox.c - AES-256-GCM sealing of short secrets at rest, and the key files that hold the keys. */
#include "core/hooks/sealbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/base/err.h"
#include "core/base/hex.h"
#include "core/base/ids.h"

#define NONCE_LEN 12
#define TAG_LEN 16
#define HEADER_LEN (sizeof(VEX_SEAL_PREFIX) - 1 + VEX_SEAL_ID_LEN + 1) /* "vxs1:" id ":" */

/* The key's id: hex of the first 4 bytes of SHA-256("vex seal key" || key). */
static int key_id(struct vex_sealkey *k)
{
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ok;

	ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(c, "vex seal key", 12) == 1 &&
	     EVP_DigestUpdate(c, k->key, sizeof(k->key)) == 1 && EVP_DigestFinal_ex(c, md, &mdlen) == 1;
	EVP_MD_CTX_free(c);
	if (!ok)
		return VEX_ERROR;
	vex_hex_encode(md, VEX_SEAL_ID_LEN / 2, k->id);
	return 0;
}

/* Write a new random key to "path" through a private temporary file and link(2): never replaces one. */
static int key_create(const char *path, char *err, size_t errlen)
{
	unsigned char key[VEX_SEAL_KEY_LEN];
	char text[2 * VEX_SEAL_KEY_LEN + 2], tmp[4096];
	int fd = -1, rc = VEX_EIO;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "key file path too long: %s", path);
		return VEX_EINVAL;
	}
	if (vex_random_bytes(key, sizeof(key)) != 0) {
		snprintf(err, errlen, "no random bytes for a new key");
		goto out;
	}
	vex_hex_encode(key, sizeof(key), text);
	text[2 * VEX_SEAL_KEY_LEN] = '\n';
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, text, sizeof(text) - 1) != (ssize_t)(sizeof(text) - 1) || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write a new key to %s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create the key file %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int vex_sealkey_load(const char *path, int create, struct vex_sealkey *ret, char *err, size_t errlen)
{
	struct vex_sealkey k;
	struct stat st;
	char buf[2 * VEX_SEAL_KEY_LEN + 8];
	ssize_t n = 0, r;
	int fd = -1, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if ((rc = key_create(path, err, errlen)) != 0)
			return rc;
		fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0) {
		snprintf(err, errlen, "cannot read the key file %s: %s", path, strerror(errno));
		return errno == ENOENT ? VEX_ENOTFOUND : VEX_EIO;
	}
	/* A key file of ours that others may read is made private (an operator's copy left 0644). */
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) != 0)
		(void)fchmod(fd, 0600);
	while ((size_t)n < sizeof(buf) && (r = read(fd, buf + n, sizeof(buf) - (size_t)n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "cannot read the key file %s: %s", path, strerror(errno));
			rc = VEX_EIO;
			goto out;
		}
		n += r;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n != 2 * VEX_SEAL_KEY_LEN || vex_hex_decode(buf, VEX_SEAL_KEY_LEN, k.key) != 0) {
		snprintf(err, errlen, "the key file %s must hold 64 hex digits (e.g. openssl rand -hex 32)", path);
		rc = VEX_EINVAL;
		goto out;
	}
	if ((rc = key_id(&k)) != 0) {
		snprintf(err, errlen, "cannot name the key in %s", path);
		goto out;
	}
	*ret = k;
out:
	close(fd);
	OPENSSL_cleanse(buf, sizeof(buf));
	OPENSSL_cleanse(&k, sizeof(k));
	return rc;
}

int vex_sealring_load(const char *path, const char *prev_path, int create, struct vex_sealring *ret, char *err,
		      size_t errlen)
{
	struct vex_sealring r;
	int rc;

	memset(&r, 0, sizeof(r));
	rc = vex_sealkey_load(path, create, &r.cur, err, errlen);
	if (rc == 0 && prev_path) {
		rc = vex_sealkey_load(prev_path, 0, &r.prev, err, errlen);
		r.has_prev = rc == 0;
	}
	if (rc == 0)
		*ret = r;
	OPENSSL_cleanse(&r, sizeof(r));
	return rc;
}

void vex_sealring_release(struct vex_sealring *r)
{
	if (r)
		OPENSSL_cleanse(r, sizeof(*r));
}

int vex_sealbox_is_sealed(const char *s)
{
	return s && strncmp(s, VEX_SEAL_PREFIX, sizeof(VEX_SEAL_PREFIX) - 1) == 0;
}

int vex_sealbox_is_current(const struct vex_sealring *r, const char *s)
{
	return vex_sealbox_is_sealed(s) && strlen(s) > HEADER_LEN &&
	       memcmp(s + sizeof(VEX_SEAL_PREFIX) - 1, r->cur.id, VEX_SEAL_ID_LEN) == 0;
}

/*
 * One AES-256-GCM operation over "in" ("n" bytes) into "out"; the associated data is the value's
 * header ("vxs1:<id>:") followed by "ad". "tag" is written when sealing, checked when opening.
 */
static int gcm(int seal, const struct vex_sealkey *k, const unsigned char nonce[NONCE_LEN], const char *ad,
	       const unsigned char *in, size_t n, unsigned char *out, unsigned char tag[TAG_LEN])
{
	char header[HEADER_LEN + 1];
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	int len = 0, rc = VEX_ERROR;

	snprintf(header, sizeof(header), VEX_SEAL_PREFIX "%s:", k->id);
	if (!c || EVP_CipherInit_ex(c, EVP_aes_256_gcm(), NULL, NULL, NULL, seal) != 1 ||
	    EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
	    EVP_CipherInit_ex(c, NULL, NULL, k->key, nonce, seal) != 1 ||
	    EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)header, (int)HEADER_LEN) != 1 ||
	    EVP_CipherUpdate(c, NULL, &len, (const unsigned char *)ad, (int)strlen(ad)) != 1 ||
	    EVP_CipherUpdate(c, out, &len, in, (int)n) != 1)
		goto out;
	if (!seal && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, TAG_LEN, tag) != 1)
		goto out;
	if (EVP_CipherFinal_ex(c, out + len, &len) != 1) {
		rc = seal ? VEX_ERROR : VEX_EAUTH;
		goto out;
	}
	if (seal && EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, TAG_LEN, tag) != 1)
		goto out;
	rc = 0;
out:
	EVP_CIPHER_CTX_free(c);
	return rc;
}

int vex_sealbox_seal(const struct vex_sealkey *k, const char *ad, const char *plain, char **ret)
{
	unsigned char *blob = NULL;
	char *out = NULL;
	size_t n, blen;
	int rc = VEX_EINVAL;

	if (!k || !ad || !plain)
		return VEX_EINVAL;
	n = strlen(plain);
	if (n == 0 || n > VEX_SEAL_PLAIN_MAX)
		return VEX_EINVAL;
	blen = NONCE_LEN + n + TAG_LEN;
	rc = VEX_ENOMEM;
	blob = malloc(blen);
	out = malloc(HEADER_LEN + 2 * blen + 1);
	if (!blob || !out)
		goto out;
	rc = VEX_ERROR;
	if (vex_random_bytes(blob, NONCE_LEN) != 0)
		goto out;
	rc = gcm(1, k, blob, ad, (const unsigned char *)plain, n, blob + NONCE_LEN, blob + NONCE_LEN + n);
	if (rc)
		goto out;
	snprintf(out, HEADER_LEN + 1, VEX_SEAL_PREFIX "%s:", k->id);
	vex_hex_encode(blob, blen, out + HEADER_LEN);
	*ret = out;
	out = NULL;
out:
	if (blob)
		OPENSSL_cleanse(blob, blen);
	free(blob);
	free(out);
	return rc;
}

int vex_sealbox_open(const struct vex_sealring *r, const char *ad, const char *sealed, char **ret)
{
	const struct vex_sealkey *k;
	unsigned char *blob = NULL;
	char *plain = NULL;
	size_t hexlen, blen, n;
	int rc = VEX_EINVAL;

	if (!r || !ad || !vex_sealbox_is_sealed(sealed))
		return VEX_EINVAL;
	hexlen = strlen(sealed);
	if (hexlen < HEADER_LEN || sealed[HEADER_LEN - 1] != ':')
		return VEX_EINVAL;
	hexlen -= HEADER_LEN;
	if (hexlen % 2 != 0 || hexlen / 2 < NONCE_LEN + 1 + TAG_LEN || hexlen / 2 > NONCE_LEN + VEX_SEAL_PLAIN_MAX + TAG_LEN)
		return VEX_EINVAL;
	if (memcmp(sealed + sizeof(VEX_SEAL_PREFIX) - 1, r->cur.id, VEX_SEAL_ID_LEN) == 0)
		k = &r->cur;
	else if (r->has_prev && memcmp(sealed + sizeof(VEX_SEAL_PREFIX) - 1, r->prev.id, VEX_SEAL_ID_LEN) == 0)
		k = &r->prev;
	else
		return VEX_ENOTFOUND;
	blen = hexlen / 2;
	n = blen - NONCE_LEN - TAG_LEN;
	rc = VEX_ENOMEM;
	blob = malloc(blen);
	plain = malloc(n + 1);
	if (!blob || !plain)
		goto out;
	rc = VEX_EINVAL;
	if (vex_hex_decode(sealed + HEADER_LEN, blen, blob) != 0)
		goto out;
	rc = gcm(0, k, blob, ad, blob + NONCE_LEN, n, (unsigned char *)plain, blob + NONCE_LEN + n);
	if (rc)
		goto out;
	plain[n] = '\0';
	/* A value with a NUL inside is no string of ours. */
	if (strlen(plain) != n) {
		rc = VEX_EINVAL;
		goto out;
	}
	*ret = plain;
	plain = NULL;
out:
	if (plain)
		OPENSSL_cleanse(plain, n + 1);
	free(plain);
	free(blob);
	return rc;
}
