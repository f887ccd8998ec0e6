# test_token_lifecycle.py - JWT revocation (by jti, by subject cut-off), the minted lifetime cap, secret rotation
# by kid, and revoked credentials ending open streams (docs/api-keys.md).
import base64
import datetime
import hashlib
import hmac
import time

import pytest

from test_streams import Stream, check_stream_head
from vexit import KeyClient, assert_api_error, assert_json, vexctl, wait_for
from vexwire import b64url_decode, claims_for, mint, new_sub


def kid_of(secret):
    """The key id vex derives from a secret (core/auth/jwt.c vex_jwt_kid, re-implemented)."""
    mac = hmac.new(secret.encode(), b"vex-jwt-kid", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()[:16]


def header_of(token):
    import json
    return json.loads(b64url_decode(token.split(".")[0]))


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def bearer(token):
    return {"Authorization": "Bearer " + token}


def revocations(svc):
    return svc.db_query("SELECT * FROM token_revocations ORDER BY id")


def revoke(svc, **body):
    r = svc.client(role="admin").post("/api/v1/tokens/revocations", json=body)
    assert r.status_code == 201, r.text
    return assert_json(r)


def test_a_minted_token_carries_jti_and_kid_and_its_revoked_jti_answers_401(svc):
    admin = svc.client(role="admin")
    sub = new_sub()
    r = admin.post("/api/v1/tokens", json={"sub": sub, "ttl": 600})
    assert r.status_code == 201, r.text
    minted = assert_json(r)
    assert header_of(minted["token"])["kid"] == kid_of(svc.secret)
    jti = minted["jti"]
    assert svc.get("/api/v1/agents", headers=bearer(minted["token"])).status_code == 200

    rev = revoke(svc, jti=jti, reason="laptop stolen")
    assert rev["jti"] == jti and rev["sub"] is None and rev["issued_before"] is None, rev
    assert rev["reason"] == "laptop stolen"
    row = svc.db_query("SELECT * FROM token_revocations WHERE id = ?", (rev["id"],))[0]
    assert row["jti"] == jti and row["sub"] is None

    r = svc.get("/api/v1/agents", headers=bearer(minted["token"]))
    assert_api_error(r, 401, "TOKEN_REVOKED", message="token revoked")
    assert r.headers.get("WWW-Authenticate") == "Bearer"
    # The corex and events dialects too, and the stream server.
    assert_api_error(svc.get("/jobs", headers=bearer(minted["token"])), 401, "TOKEN_REVOKED")
    assert_api_error(svc.get("/v1/agents", headers=bearer(minted["token"])), 401, "TOKEN_REVOKED")
    job = svc.client(sub=sub).tool("echo", {"x": 1})
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, bearer(minted["token"]))
    assert st.status == 401
    assert st.json()["error"]["code"] == "TOKEN_REVOKED"
    # Revoking it again says so; nothing more is stored.
    n = len(revocations(svc))
    r = admin.post("/api/v1/tokens/revocations", json={"jti": jti})
    assert_api_error(r, 409, "ALREADY_REVOKED", field="jti")
    assert len(revocations(svc)) == n


def test_a_subject_cut_off_revokes_older_tokens_only(svc):
    sub, other = new_sub(), new_sub()
    now = int(time.time())
    old = mint(svc.secret, claims_for(sub, now=now - 100))            # no jti, no kid: an integrator's token
    new = mint(svc.secret, claims_for(sub, now=now - 10))
    others = mint(svc.secret, claims_for(other, now=now - 100))
    for t in (old, new, others):
        assert svc.get("/api/v1/agents", headers=bearer(t)).status_code == 200

    rev = revoke(svc, sub=sub, issued_before=rfc3339(now - 50))
    assert rev["sub"] == sub and rev["jti"] is None and rev["issued_before"].startswith(rfc3339(now - 50)[:19])
    assert_api_error(svc.get("/api/v1/agents", headers=bearer(old)), 401, "TOKEN_REVOKED")
    assert svc.get("/api/v1/agents", headers=bearer(new)).status_code == 200
    assert svc.get("/api/v1/agents", headers=bearer(others)).status_code == 200

    # Without issued_before: every token of the subject issued before now.
    revoke(svc, sub=other)
    assert_api_error(svc.get("/api/v1/agents", headers=bearer(others)), 401, "TOKEN_REVOKED")
    fresh = mint(svc.secret, claims_for(other, now=int(time.time()) + 2))
    assert svc.get("/api/v1/agents", headers=bearer(fresh)).status_code == 200


def test_a_token_without_jti_or_kid_still_works(svc):
    t = mint(svc.secret, claims_for(new_sub()))
    assert "kid" not in header_of(t)
    assert svc.get("/api/v1/agents", headers=bearer(t)).status_code == 200


def test_a_token_with_an_unknown_kid_is_refused(svc):
    t = mint(svc.secret, claims_for(new_sub()), header={"alg": "HS256", "typ": "JWT", "kid": "not-ours"})
    assert_api_error(svc.get("/api/v1/agents", headers=bearer(t)), 401, "UNAUTHORIZED", message="unknown key id")
    t = mint(svc.secret, claims_for(new_sub()), header={"alg": "HS256", "typ": "JWT", "kid": kid_of(svc.secret)})
    assert svc.get("/api/v1/agents", headers=bearer(t)).status_code == 200


def test_minted_lifetime_is_capped_at_30_days(svc):
    admin = svc.client(role="admin")
    r = admin.post("/api/v1/tokens", json={"sub": new_sub(), "ttl": 30 * 86400 + 1})
    assert_api_error(r, 422, "VALIDATION_ERROR", field="ttl")
    r = admin.post("/api/v1/tokens", json={"sub": new_sub(), "ttl": 30 * 86400})
    assert r.status_code == 201, r.text
    assert r.json()["expires_in"] == 30 * 86400
    # vexctl applies the same cap.
    out = vexctl(svc, "token", "--sub", new_sub(), "--ttl", str(30 * 86400 + 1), check=False)
    assert out.returncode == 2 and "ttl" in out.stderr, out
    out = vexctl(svc, "token", "--sub", new_sub(), "--ttl", str(30 * 86400))
    tok = out.stdout.strip()
    assert header_of(tok)["kid"] == kid_of(svc.secret)
    assert svc.get("/api/v1/agents", headers=bearer(tok)).status_code == 200


def test_a_non_admin_cannot_revoke_or_list(svc):
    n = len(revocations(svc))
    user = svc.client()
    assert_api_error(user.post("/api/v1/tokens/revocations", json={"sub": user.sub}), 403, "FORBIDDEN")
    assert_api_error(user.get("/api/v1/tokens/revocations"), 403, "FORBIDDEN")
    k = KeyClient(svc)
    assert_api_error(k.post("/api/v1/tokens/revocations", json={"jti": "x"}), 403, "FORBIDDEN")
    assert len(revocations(svc)) == n


@pytest.mark.parametrize("body,field", [
    ({}, "jti"),
    ({"jti": "a", "sub": "b"}, "sub"),
    ({"jti": 5}, "jti"),
    ({"jti": ""}, "jti"),
    ({"jti": "x" * 129}, "jti"),
    ({"jti": "a\u0001b"}, "jti"),
    ({"sub": "x" * 129}, "sub"),
    ({"sub": "alice", "issued_before": "yesterday"}, "issued_before"),
    ({"sub": "alice", "issued_before": 1700000000}, "issued_before"),
    ({"sub": "alice", "issued_before": "2999-01-01T00:00:00Z"}, "issued_before"),
    ({"jti": "a", "issued_before": "2020-01-01T00:00:00Z"}, "issued_before"),
    ({"jti": "a", "reason": ""}, "reason"),
    ({"jti": "a", "reason": "r" * 201}, "reason"),
    ({"jti": "a", "expires": 5}, "expires"),
])
def test_bad_revocation_input_is_400_and_stores_nothing(svc, body, field):
    n = len(revocations(svc))
    r = svc.client(role="admin").post("/api/v1/tokens/revocations", json=body)
    assert_api_error(r, 400, "VALIDATION_ERROR", field=field)
    assert len(revocations(svc)) == n


def test_malformed_revocation_bodies(svc):
    n = len(revocations(svc))
    admin = svc.client(role="admin")
    r = admin.request("POST", "/api/v1/tokens/revocations", data="{", headers={"Content-Type": "application/json"})
    assert_api_error(r, 400, "INVALID_JSON")
    r = admin.post("/api/v1/tokens/revocations", json=["jti"])
    assert_api_error(r, 400, "VALIDATION_ERROR")
    assert len(revocations(svc)) == n


def test_listing_and_vexctl(svc):
    sub = new_sub()
    out = vexctl(svc, "revoke", "--sub", sub, "--reason", "offboarded")
    rid = out.stdout.split()[1]
    out = vexctl(svc, "revoke", "--jti", "vexctl-" + sub)
    jid = out.stdout.split()[1]
    listed = vexctl(svc, "revocations", "--sub", sub).stdout.splitlines()
    assert listed[0].split("\t")[:3] == ["ID", "JTI", "SUB"]
    assert [l.split("\t")[0] for l in listed[1:]] == [rid]
    assert listed[1].split("\t")[4] == "offboarded"
    bad = vexctl(svc, "revoke", "--jti", "a", "--sub", "b", check=False)
    assert bad.returncode == 2

    admin = svc.client(role="admin")
    body = assert_json(admin.get("/api/v1/tokens/revocations?sub=" + sub))
    assert [x["id"] for x in body["revocations"]] == [rid] and body["next_cursor"] is None
    assert body["revocations"][0]["created_by"] == "vexctl"
    page = assert_json(admin.get("/api/v1/tokens/revocations?limit=1"))
    assert page["revocations"][0]["id"] == jid and page["next_cursor"] == jid
    nxt = assert_json(admin.get("/api/v1/tokens/revocations?limit=1&cursor=" + page["next_cursor"]))
    assert nxt["revocations"][0]["id"] == rid
    assert_api_error(admin.get("/api/v1/tokens/revocations?limit=0"), 400, "VALIDATION_ERROR", field="limit")


# ---- open streams end when their credential is revoked ----

def open_running_stream(svc, client, headers):
    job = client.tool("sleep", {"ms": 60000})
    client.wait_job(job, ("running",))
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, headers, timeout=10)
    check_stream_head(st)
    first = st.next()
    assert first is not None and first["data"]["status"] == "running", first
    return job, st


def test_revoking_an_api_key_ends_its_open_stream(svc):
    k = KeyClient(svc)
    job, st = open_running_stream(svc, k, k.headers())
    r = svc.client(role="admin").delete("/api/v1/keys/" + k.key_id)
    assert r.status_code == 204, r.text
    # The stream ends (the job runs a minute and pings come every 15 s: only the revocation ends it).
    assert st.next() is None and st.eof
    assert ": credential revoked" in st.comments
    assert_api_error(k.get("/api/v1/jobs/" + job), 401, "UNAUTHORIZED", message="invalid API key")
    again = Stream(svc, "/api/v1/jobs/%s/stream" % job, k.headers())
    assert again.status == 401 and again.json()["error"]["message"] == "invalid API key"
    svc.client(role="admin").post("/api/v1/jobs/%s/cancel" % job)


def test_revoking_a_jti_ends_its_open_stream_and_spares_the_others(svc):
    sub = new_sub()
    admin = svc.client(role="admin")
    mk = lambda: assert_json(admin.post("/api/v1/tokens", json={"sub": sub, "ttl": 600}))
    a, b = mk(), mk()
    c = svc.client(sub=sub)
    job, st_a = open_running_stream(svc, c, bearer(a["token"]))
    st_b = Stream(svc, "/api/v1/jobs/%s/stream" % job, bearer(b["token"]), timeout=10)
    check_stream_head(st_b)
    assert st_b.next() is not None
    revoke(svc, jti=a["jti"])
    assert st_a.next() is None and st_a.eof
    # b's stream is still open: a cancel reaches it as events.
    admin.post("/api/v1/jobs/%s/cancel" % job)
    evs = st_b.events()
    assert evs and evs[-1]["data"]["status"] == "canceled", evs


def test_a_subject_cut_off_ends_the_streams_of_older_tokens(svc):
    sub = new_sub()
    now = int(time.time())
    old = mint(svc.secret, claims_for(sub, now=now - 100))
    job, st = open_running_stream(svc, svc.client(sub=sub), bearer(old))
    revoke(svc, sub=sub, issued_before=rfc3339(now - 50))
    assert st.next() is None and st.eof
    assert ": credential revoked" in st.comments
    svc.client(role="admin").post("/api/v1/jobs/%s/cancel" % job)
