# test_token_rotation.py - secret rotation with kid: the previous secret verifies until [auth] jwt_previous_until,
# then never; minted tokens carry the current kid (docs/operations.md, "Rotating the JWT secret").
import secrets
import time

import pytest

from test_token_lifecycle import bearer, header_of, kid_of, rfc3339
from vexit import assert_api_error, assert_json, children_of
from vexwire import claims_for, mint, new_sub

PREVIOUS = secrets.token_urlsafe(36)


def rotation_env(until):
    return {"api_env": {"VEX_JWT_SECRET_PREVIOUS": PREVIOUS, "VEX_AUTH_JWT_PREVIOUS_UNTIL": until}}


def old_tokens(sub):
    c = claims_for(sub)
    return (mint(PREVIOUS, c, header={"alg": "HS256", "typ": "JWT", "kid": kid_of(PREVIOUS)}),
            mint(PREVIOUS, c))  # minted before the rotation: no kid


@pytest.mark.parametrize("fresh_svc", [rotation_env(rfc3339(time.time() + 86400))], indirect=True)
def test_before_the_deadline_old_tokens_work_and_new_ones_carry_the_current_kid(fresh_svc):
    svc = fresh_svc
    with_kid, bare = old_tokens(new_sub())
    assert svc.get("/api/v1/agents", headers=bearer(with_kid)).status_code == 200
    assert svc.get("/api/v1/agents", headers=bearer(bare)).status_code == 200
    # Tokens of the current secret work, with its kid or none.
    assert svc.get("/api/v1/agents", headers=bearer(mint(svc.secret, claims_for(new_sub())))).status_code == 200
    minted = assert_json(svc.client(role="admin").post("/api/v1/tokens", json={"sub": new_sub()}))
    assert header_of(minted["token"])["kid"] == kid_of(svc.secret) != kid_of(PREVIOUS)
    # A previous kid on a token the current secret signed is no key confusion: refused.
    crossed = mint(svc.secret, claims_for(new_sub()), header={"alg": "HS256", "kid": kid_of(PREVIOUS)})
    assert_api_error(svc.get("/api/v1/agents", headers=bearer(crossed)), 401, "UNAUTHORIZED",
                     message="invalid signature")
    # The previous secret leaves the environment of vex-api and its children once read, as the current one.
    for pid in [svc.api.pid] + children_of(svc.api.pid):
        with open("/proc/%d/environ" % pid, "rb") as f:
            assert PREVIOUS.encode() not in f.read(), pid


@pytest.mark.parametrize("fresh_svc", [rotation_env(str(int(time.time()) - 60))], indirect=True)
def test_after_the_deadline_old_tokens_are_refused(fresh_svc):
    svc = fresh_svc
    with_kid, bare = old_tokens(new_sub())
    assert_api_error(svc.get("/api/v1/agents", headers=bearer(with_kid)), 401, "UNAUTHORIZED",
                     message="token signed with a retired key")
    assert_api_error(svc.get("/api/v1/agents", headers=bearer(bare)), 401, "UNAUTHORIZED",
                     message="invalid signature")
    assert svc.get("/api/v1/agents", headers=bearer(mint(svc.secret, claims_for(new_sub())))).status_code == 200
