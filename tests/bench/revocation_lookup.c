/* revocation_lookup.c - what checking a JWT against the revocations costs per request: the lookup alone, next to
 * an API key's point read and a JWT verification, with "N" jti and N subject revocations stored.
 * Usage: bench-revocation-lookup DB N (DB is created afresh). Prints microseconds per call; "JWT verify + lookup"
 * is a request's authentication of a token it saw before (its verification memoised). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/auth/credential.h"
#include "core/auth/revocation.h"
#include "core/base/timeutil.h"
#include "core/store/store.h"

#define ROUNDS 200000

static double per_call(int64_t t0)
{
	return (double)(vex_mono_us() - t0) / ROUNDS;
}

int main(int argc, char **argv)
{
	struct vex_token_revocation r;
	struct vex_field_error e;
	struct vex_principal p, who;
	struct vex_api_key k;
	struct vex_config cfg;
	struct vex_store *s = NULL;
	char name[64], *tok = NULL, hdr[2048];
	int64_t t0, now = vex_now_us();
	long i, n;
	int revoked;

	if (argc != 3 || (n = strtol(argv[2], NULL, 10)) < 0) {
		fprintf(stderr, "usage: %s DB N\n", argv[0]);
		return 2;
	}
	unlink(argv[1]);
	if (vex_store_open(argv[1], 1, 5000, &s) != 0)
		return 1;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "jti-%ld", i);
		vex_revocation_issue(s, name, NULL, 0, NULL, "bench", now, &r, &e);
		snprintf(name, sizeof(name), "sub-%ld", i);
		vex_revocation_issue(s, NULL, name, now / 1000000 - 10, NULL, "bench", now, &r, &e);
	}
	memset(&cfg, 0, sizeof(cfg));
	memset(cfg.jwt_secret, 'k', 40);
	cfg.jwt_secret_len = 40;
	memset(&p, 0, sizeof(p));
	memcpy(p.sub, "alice", 6);
	if (vex_jwt_mint(cfg.jwt_secret, cfg.jwt_secret_len, &p, now / 1000000, 600, "some-jti", &tok) != 0)
		return 1;
	snprintf(hdr, sizeof(hdr), "Bearer %s", tok);

	t0 = vex_mono_us();
	for (i = 0; i < ROUNDS; i++)
		vex_store_key_by_hash(s, "0000000000000000000000000000000000000000000000000000000000000000", &k);
	printf("revocations %ld+%ld: API key point read %.2f us", n, n, per_call(t0));
	t0 = vex_mono_us();
	for (i = 0; i < ROUNDS; i++)
		vex_store_token_revoked(s, "some-jti", "alice", now / 1000000, &revoked);
	printf(", revocation lookup %.2f us", per_call(t0));
	t0 = vex_mono_us();
	for (i = 0; i < ROUNDS; i++)
		vex_jwt_verify(cfg.jwt_secret, cfg.jwt_secret_len, tok, now / 1000000, &who, NULL);
	printf(", JWT verify %.2f us", per_call(t0));
	/* The request path memoises a token it verified (core/auth/jwt.c): the same token again. */
	t0 = vex_mono_us();
	for (i = 0; i < ROUNDS; i++)
		vex_authn_check(&cfg, NULL, hdr, NULL, now, 0, &who, NULL, NULL);
	printf(", JWT again (memo) %.2f us", per_call(t0));
	t0 = vex_mono_us();
	for (i = 0; i < ROUNDS; i++)
		vex_authn_check(&cfg, s, hdr, NULL, now, 0, &who, NULL, NULL);
	printf(", JWT verify + lookup %.2f us\n", per_call(t0));
	free(tok);
	vex_store_free(s);
	return 0;
}
