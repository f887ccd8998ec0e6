# test_api_keys.py - API keys and tokens: create (HTTP and vexctl), use (Bearer, X-API-Key), revoke, list, mint JWTs.
import hashlib
import json
import time

from vexit import (UUID7_RE, KeyClient, api_key, api_key_with_id, assert_api_error, assert_json, b64url_decode,
                   is_rfc3339, new_sub, parse_rfc3339, vexctl)

KEY_FIELDS = {"id", "prefix", "owner", "role", "plan", "name", "created_at", "last_used_at", "revoked_at"}


def _admin(svc):
    return svc.client(role="admin")


def _create(svc, admin, **body):
    r = admin.post("/api/v1/keys", json=body)
    assert r.status_code == 201, r.text
    return assert_json(r)


def _as_key(svc, key, method, path, header="Authorization", **kw):
    h = {"Authorization": "Bearer " + key} if header == "Authorization" else {header: key}
    h.update(kw.pop("headers", {}))
    return svc.request(method, path, headers=h, **kw)


def test_create_over_http_shows_the_key_once_and_stores_only_its_hash(svc):
    admin = _admin(svc)
    owner = new_sub()
    before = time.time()
    k = _create(svc, admin, owner=owner, role="user", plan="pro", name="ci runner")
    assert set(k) == {"id", "key", "prefix", "owner", "role", "plan", "name", "created_at"}, k
    assert UUID7_RE.match(k["id"])
    assert k["key"].startswith("vex_") and len(k["key"]) == 47
    assert k["prefix"] == k["key"][4:12]
    assert (k["owner"], k["role"], k["plan"], k["name"]) == (owner, "user", "pro", "ci runner")
    assert is_rfc3339(k["created_at"])

    rows = svc.db_query("SELECT * FROM api_keys WHERE id = ?", (k["id"],))
    assert len(rows) == 1
    row = rows[0]
    assert row["hash"] == hashlib.sha256(k["key"].encode()).hexdigest()
    assert row["prefix"] == k["prefix"] and row["owner"] == owner and row["plan"] == "pro"
    assert row["revoked_at"] is None
    assert row["created_at"] >= int(before * 1e6) - 1000000  # Unix microseconds
    # The key itself is nowhere in the table.
    for v in row.values():
        assert not (isinstance(v, str) and k["key"][4:] in v), row

    # It works, as that owner with that plan.
    r = _as_key(svc, k["key"], "POST", "/api/v1/agents", json={"name": "by key", "role": "You are a test agent"})
    assert r.status_code == 200, r.text
    assert svc.db_query("SELECT owner FROM agents WHERE id = ?", (r.json()["id"],))[0]["owner"] == owner


def test_defaults_and_name_optional(svc):
    k = _create(svc, _admin(svc), owner=new_sub())
    assert (k["role"], k["plan"], k["name"]) == ("user", "free", None)


def test_key_works_with_bearer_and_x_api_key_in_any_case(svc):
    c = KeyClient(svc)
    agent = c.create_agent()
    for header in ("Authorization", "X-API-Key", "X-Api-Key", "x-api-key"):
        r = _as_key(svc, c.key, "GET", "/api/v1/agents/" + agent["id"], header=header)
        assert r.status_code == 200, (header, r.text)
        assert r.json()["id"] == agent["id"]
    # Scheme in any case, and both headers naming the same key.
    r = svc.get("/api/v1/agents/" + agent["id"], headers={"Authorization": "bearer " + c.key})
    assert r.status_code == 200, r.text
    r = svc.get("/api/v1/agents/" + agent["id"], headers={"Authorization": "Bearer " + c.key, "X-API-Key": c.key})
    assert r.status_code == 200, r.text


def test_last_used_is_recorded(svc):
    key, kid = api_key_with_id(svc)
    assert svc.db_query("SELECT last_used_at FROM api_keys WHERE id = ?", (kid,))[0]["last_used_at"] is None
    assert _as_key(svc, key, "GET", "/api/v1/agents").status_code == 200
    assert svc.db_query("SELECT last_used_at FROM api_keys WHERE id = ?", (kid,))[0]["last_used_at"] is not None


def test_bad_keys_are_401(svc):
    key = api_key(svc)
    other = api_key(svc)
    flipped = key[:-2] + ("A" if key[-2] != "A" else "B") + key[-1]
    cases = [
        ({"Authorization": "Bearer " + flipped}, "invalid API key"),
        ({"Authorization": "Bearer vex_short"}, "invalid API key"),
        ({"X-API-Key": "vex_" + "A" * 200}, "invalid API key"),
        ({"X-API-Key": "not-a-key"}, "invalid API key"),
        ({"X-API-Key": svc.token()}, "invalid API key"),
        ({"Authorization": "Bearer " + key, "X-API-Key": other}, None),
        ({"Authorization": "Bearer " + svc.token(), "X-API-Key": key}, None),
    ]
    before = svc.counts()
    for headers, message in cases:
        r = svc.request("POST", "/api/v1/agents", headers=headers, json={"name": "x", "role": "You are a test"})
        err = assert_api_error(r, 401, "UNAUTHORIZED", message=message)
        if message is None:
            assert "conflicting credentials" in err["message"], err
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert svc.counts() == before


def test_revoke_over_http_is_immediate(svc):
    admin = _admin(svc)
    k = _create(svc, admin, owner=new_sub())
    assert _as_key(svc, k["key"], "GET", "/api/v1/agents").status_code == 200
    r = admin.delete("/api/v1/keys/" + k["id"])
    assert r.status_code == 204, r.text
    assert r.content == b""
    for header in ("Authorization", "X-API-Key"):
        assert_api_error(_as_key(svc, k["key"], "GET", "/api/v1/agents", header=header), 401, "UNAUTHORIZED",
                         message="invalid API key")
    assert svc.db_query("SELECT revoked_at FROM api_keys WHERE id = ?", (k["id"],))[0]["revoked_at"] is not None
    # Twice, or an unknown id: 404.
    assert_api_error(admin.delete("/api/v1/keys/" + k["id"]), 404, "NOT_FOUND")
    assert_api_error(admin.delete("/api/v1/keys/01890000-0000-7000-8000-000000000000"), 404, "NOT_FOUND")
    assert_api_error(admin.delete("/api/v1/keys/nope"), 404, "NOT_FOUND")


def test_vexctl_create_list_revoke(svc):
    owner = new_sub()
    r = vexctl(svc, "key", "create", "--owner", owner, "--role", "admin", "--plan", "enterprise", "--name", "ops")
    key, kid = r.stdout.split()
    assert key.startswith("vex_") and UUID7_RE.match(kid)
    row = svc.db_query("SELECT * FROM api_keys WHERE id = ?", (kid,))[0]
    assert (row["owner"], row["role"], row["plan"], row["name"]) == (owner, "admin", "enterprise", "ops")
    assert row["hash"] == hashlib.sha256(key.encode()).hexdigest()

    # An admin key can manage keys over HTTP.
    r = _as_key(svc, key, "GET", "/api/v1/keys?owner=" + owner)
    assert r.status_code == 200, r.text
    assert [k["id"] for k in r.json()["keys"]] == [kid]

    listing = vexctl(svc, "key", "list", "--owner", owner).stdout
    assert kid in listing and key not in listing and key[4:12] in listing

    assert vexctl(svc, "key", "revoke", kid).returncode == 0
    assert_api_error(_as_key(svc, key, "GET", "/api/v1/keys"), 401, "UNAUTHORIZED", message="invalid API key")
    again = vexctl(svc, "key", "revoke", kid, check=False)
    assert again.returncode == 1 and "no live key" in again.stderr

    bad = vexctl(svc, "key", "create", "--owner", owner, "--role", "root", check=False)
    assert bad.returncode == 2 and "--role" in bad.stderr
    missing = vexctl(svc, "key", "create", check=False)
    assert missing.returncode == 2 and "--owner" in missing.stderr
    # vexctl token still works.
    tok = vexctl(svc, "token", "--sub", owner).stdout.strip()
    assert svc.get("/api/v1/agents", headers={"Authorization": "Bearer " + tok}).status_code == 200


def test_list_hides_the_key_and_pages(svc):
    admin = _admin(svc)
    owner = new_sub()
    made = [_create(svc, admin, owner=owner, name="k%d" % i) for i in range(3)]
    r = admin.get("/api/v1/keys", params={"owner": owner, "limit": 2})
    assert r.status_code == 200, r.text
    page = r.json()
    assert [k["id"] for k in page["keys"]] == [made[2]["id"], made[1]["id"]]
    for k in page["keys"]:
        assert set(k) == KEY_FIELDS and "key" not in k and "hash" not in k
    assert page["next_cursor"] == made[1]["id"]
    r = admin.get("/api/v1/keys", params={"owner": owner, "limit": 2, "cursor": page["next_cursor"]})
    page2 = r.json()
    assert [k["id"] for k in page2["keys"]] == [made[0]["id"]] and page2["next_cursor"] is None
    assert all(m["key"] not in r.text for m in made)
    one = admin.get("/api/v1/keys/" + made[0]["id"])
    assert one.status_code == 200 and one.json()["name"] == "k0" and "key" not in one.json()
    # Without owner: every owner's keys.
    r = admin.get("/api/v1/keys", params={"limit": 100})
    assert {m["id"] for m in made} <= {k["id"] for k in r.json()["keys"]}
    assert_api_error(admin.get("/api/v1/keys", params={"limit": 0}), 400, "VALIDATION_ERROR", field="limit")
    assert_api_error(admin.get("/api/v1/keys", params={"cursor": "x"}), 400, "VALIDATION_ERROR", field="cursor")


def test_non_admin_is_403_with_token_or_key(svc):
    user = svc.client()
    keyed = KeyClient(svc)
    before = svc.count("api_keys")
    for c in (user, keyed):
        assert_api_error(c.post("/api/v1/keys", json={"owner": c.sub}), 403, "FORBIDDEN")
        assert_api_error(c.get("/api/v1/keys"), 403, "FORBIDDEN")
        assert_api_error(c.get("/api/v1/keys/" + keyed.key_id), 403, "FORBIDDEN")
        assert_api_error(c.delete("/api/v1/keys/" + keyed.key_id), 403, "FORBIDDEN")
        assert_api_error(c.post("/api/v1/tokens", json={"sub": c.sub, "role": "admin"}), 403, "FORBIDDEN")
    assert svc.count("api_keys") == before
    assert_api_error(svc.request("GET", "/api/v1/keys"), 401, "UNAUTHORIZED")


def test_create_validation_names_the_field(svc):
    admin = _admin(svc)
    before = svc.count("api_keys")
    cases = [
        ({}, 400, "owner"),
        ({"owner": 5}, 400, "owner"),
        ({"owner": ""}, 422, "owner"),
        ({"owner": "a" * 129}, 422, "owner"),
        ({"owner": "a\u0001b"}, 422, "owner"),
        ({"owner": "o", "role": "root"}, 422, "role"),
        ({"owner": "o", "role": 1}, 400, "role"),
        ({"owner": "o", "plan": "gold"}, 422, "plan"),
        ({"owner": "o", "name": ""}, 422, "name"),
        ({"owner": "o", "name": "n" * 101}, 422, "name"),
        ({"owner": "o", "name": "tab\there"}, 422, "name"),
        ({"owner": "o", "name": ["x"]}, 400, "name"),
    ]
    for body, status, field in cases:
        r = admin.post("/api/v1/keys", json=body)
        assert r.status_code == status, (body, r.status_code, r.text)
        assert_api_error(r, status, "VALIDATION_ERROR", field=field)
    r = admin.post("/api/v1/keys", data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert_api_error(admin.post("/api/v1/keys", json=[1]), 400, "VALIDATION_ERROR")
    assert svc.count("api_keys") == before


def test_tokens_endpoint_mints_a_working_jwt(svc):
    admin = _admin(svc)
    sub = new_sub()
    before = time.time()
    r = admin.post("/api/v1/tokens", json={"sub": sub, "role": "user", "plan": "pro", "ttl": 600})
    assert r.status_code == 201, r.text
    body = assert_json(r)
    assert set(body) >= {"token", "expires_at"}
    assert is_rfc3339(body["expires_at"])
    claims = json.loads(b64url_decode(body["token"].split(".")[1]))
    assert (claims["sub"], claims["role"], claims["plan"], claims["iss"]) == (sub, "user", "pro", "vex-api")
    assert claims["exp"] - claims["iat"] == 600 and claims["iat"] >= int(before) - 1
    assert abs(parse_rfc3339(body["expires_at"]).timestamp() - claims["exp"]) < 1
    h = {"Authorization": "Bearer " + body["token"]}
    r = svc.request("POST", "/api/v1/agents", headers=h, json={"name": "t", "role": "You are a test agent"})
    assert r.status_code == 200, r.text
    assert svc.db_query("SELECT owner, plan FROM agents WHERE id = ?", (r.json()["id"],))[0] == \
        {"owner": sub, "plan": "pro"}
    # Minted admin tokens are admins.
    r = admin.post("/api/v1/tokens", json={"sub": new_sub(), "role": "admin"})
    assert r.status_code == 201
    assert svc.get("/api/v1/keys", headers={"Authorization": "Bearer " + r.json()["token"]}).status_code == 200
    # Validation.
    for payload, status, field in [({}, 400, "sub"), ({"sub": "s", "ttl": 0}, 422, "ttl"),
                                   ({"sub": "s", "ttl": 10 ** 9}, 422, "ttl"), ({"sub": "s", "ttl": "1"}, 400, "ttl"),
                                   ({"sub": "s", "role": "god"}, 422, "role"), ({"sub": "s", "plan": "x"}, 422, "plan")]:
        assert_api_error(admin.post("/api/v1/tokens", json=payload), status, "VALIDATION_ERROR", field=field)


def test_cross_owner_is_404_with_keys(svc):
    alice, bob = KeyClient(svc), KeyClient(svc, header="X-API-Key")
    agent = alice.create_agent()
    job = alice.execute(agent["id"])["job_id"]
    assert_api_error(bob.get("/api/v1/agents/" + agent["id"]), 404, "NOT_FOUND")
    assert_api_error(bob.get("/api/v1/jobs/" + job), 404, "NOT_FOUND")
    assert_api_error(bob.delete("/api/v1/agents/" + agent["id"]), 404, "NOT_FOUND")
    assert agent["id"] not in bob.get("/api/v1/agents").text
    assert alice.get("/api/v1/agents/" + agent["id"]).status_code == 200
    # An admin key sees everyone's.
    root = KeyClient(svc, role="admin")
    assert root.get("/api/v1/agents/" + agent["id"]).status_code == 200


def test_whoami_names_the_credentials_holder_for_keys_and_tokens(svc):
    """GET /api/v1/whoami: the subject, role and plan the credential carries, for an API key (either header) and a
    JWT, user or admin; no credential or a bad one is 401; a key revoked is 401 at once."""
    for header in ("Authorization", "X-API-Key"):
        k = KeyClient(svc, sub="who-key-" + header[:1], role="user", plan="pro", header=header)
        r = k.get("/api/v1/whoami")
        assert r.status_code == 200, r.text
        assert r.json() == {"sub": k.sub, "role": "user", "plan": "pro"}
    admin = KeyClient(svc, sub="who-admin-key", role="admin")
    assert admin.get("/api/v1/whoami").json()["role"] == "admin"
    t = svc.client(sub="who-jwt", role="admin", plan="standard")
    assert t.get("/api/v1/whoami").json() == {"sub": "who-jwt", "role": "admin", "plan": "standard"}
    assert svc.get("/api/v1/whoami").status_code == 401
    r = svc.get("/api/v1/whoami", headers={"Authorization": "Bearer vex_" + "0" * 43})
    assert r.status_code == 401, r.text
    gone = KeyClient(svc, sub="who-gone")
    assert svc.client(role="admin").delete("/api/v1/keys/%s" % gone.key_id).status_code == 204
    assert gone.get("/api/v1/whoami").status_code == 401
    assert t.post("/api/v1/whoami", json={}).status_code == 405
