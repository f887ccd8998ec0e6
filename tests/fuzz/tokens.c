/* tokens.c - fuzzes credential parsing: JWTs (core/auth/jwt.h), API keys (apikeys.h), page cursors and
 * stream tokens (fcgi-app/cursor.h, streamtoken.h). */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "core/auth/apikeys.h"
#include "core/auth/jwt.h"
#include "core/base/base64.h"
#include "core/base/err.h"
#include "fcgi-app/cursor.h"
#include "fcgi-app/streamtoken.h"
#include "tests/fuzz/fuzz.h"

#define NOW 1800000000LL
#define JOB "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
#define TOKEN_CAP 4096

static const unsigned char secret[] = "fuzzing-secret-of-at-least-32-bytes!";
#define SECRET_LEN (sizeof(secret) - 1)

/* The text "t" as every kind of credential vex reads from a client. */
static void as_credentials(const char *t)
{
	struct vex_principal p;
	const char *why, *cred;
	char id[VEX_UUID_LEN + 1], disp[VEX_APIKEY_DISPLAY_LEN + 1], hash[VEX_APIKEY_HASH_LEN + 1];
	unsigned char out[VEX_SEAL_PAYLOAD_MAX];
	size_t len;
	json_t *v = NULL;

	if (vex_jwt_verify(secret, SECRET_LEN, t, NOW, &p, &why) == 0)
		FUZZ_ASSERT(p.sub[0] != '\0');
	else
		FUZZ_ASSERT(why != NULL);
	if (vex_auth_bearer_token(t, &cred, &len, &why) == 0)
		FUZZ_ASSERT(cred >= t && cred + len <= t + strlen(t));
	if (vex_apikey_valid(t)) {
		FUZZ_ASSERT(vex_apikey_looks_like(t));
		FUZZ_ASSERT(vex_apikey_display(t, disp) == 0);
	} else {
		FUZZ_ASSERT(vex_apikey_display(t, disp) == VEX_EINVAL);
	}
	vex_apikey_hash(t, hash);
	vex_cursor_open(secret, SECRET_LEN, "events|alice", t, id);
	if (vex_unseal(secret, SECRET_LEN, "vex nextToken v1", t, VEX_CURSOR_MAX, out, sizeof(out), &len) == 0)
		FUZZ_ASSERT(len <= sizeof(out));
	if (vex_unseal_json(secret, SECRET_LEN, "vex nextToken v1", t, VEX_CURSOR_MAX, 256, &v) == 0)
		FUZZ_ASSERT(json_is_object(v));
	json_decref(v);
	if (vex_streamtoken_verify(secret, SECRET_LEN, t, JOB, NOW, &p, &why) != 0)
		FUZZ_ASSERT(why != NULL);
}

/* "h" and "c" (JSON texts) as a JWT signed with the secret: the claims get past the signature. */
static void signed_jwt(const char *h, size_t hlen, const char *c, size_t clen)
{
	char *tok = malloc(VEX_B64_ENCODED_LEN(hlen, 0) + VEX_B64_ENCODED_LEN(clen, 0) + 64);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned maclen = 0;
	struct vex_principal p;
	const char *why;
	size_t n;

	if (!tok)
		return;
	n = vex_b64_encode(h, hlen, tok, VEX_B64_URL);
	tok[n++] = '.';
	n += vex_b64_encode(c, clen, tok + n, VEX_B64_URL);
	HMAC(EVP_sha256(), secret, (int)SECRET_LEN, (const unsigned char *)tok, n, mac, &maclen);
	tok[n++] = '.';
	vex_b64_encode(mac, maclen, tok + n, VEX_B64_URL);
	if (vex_jwt_verify(secret, SECRET_LEN, tok, NOW, &p, &why) == 0) {
		FUZZ_ASSERT(p.sub[0] != '\0' && strlen(p.sub) <= VEX_SUB_MAX);
		FUZZ_ASSERT(p.role == VEX_ROLE_USER || p.role == VEX_ROLE_ADMIN);
	}
	free(tok);
}

/* "payload" sealed as a page token and as a stream token: what they carry gets past the MAC. */
static void sealed(const uint8_t *payload, size_t len)
{
	char tok[TOKEN_CAP], id[VEX_UUID_LEN + 1];
	struct vex_principal p;
	const char *why;

	if (vex_seal(secret, SECRET_LEN, "vex nextToken v1", payload, len, tok, sizeof(tok)) == 0)
		if (vex_cursor_open(secret, SECRET_LEN, "events|alice", tok, id) == 0)
			FUZZ_ASSERT(strlen(id) == VEX_UUID_LEN);
	if (vex_seal(secret, SECRET_LEN, "vex stream_token v1", payload, len, tok, sizeof(tok)) == 0)
		if (vex_streamtoken_verify(secret, SECRET_LEN, tok, JOB, NOW, &p, &why) == 0)
			FUZZ_ASSERT(p.sub[0] != '\0');
}

/*
 * The first byte picks what the rest is: 0 a credential as a client sends it (JWT, API key, page
 * token, stream token, Authorization value); 1 a JWT header and claims (JSON, split at the first
 * NUL) signed with the secret; 2 a payload sealed as a page token and as a stream token.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul;
	char *t;

	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		t = fuzz_str(data + 1, size - 1);
		if (t)
			as_credentials(t);
		free(t);
		break;
	case 1:
		nul = memchr(data + 1, '\0', size - 1);
		if (nul)
			signed_jwt((const char *)data + 1, (size_t)(nul - data - 1), (const char *)nul + 1,
				   size - (size_t)(nul - data) - 1);
		break;
	default:
		sealed(data + 1, size - 1);
	}
	return 0;
}
