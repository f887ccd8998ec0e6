# test_webhooks_api.py - the webhook resource in both dialects (/webhooks and /api/v1/webhooks) through nginx:
# create (secret shown once), every validation error with nothing stored, list/get/patch/delete, re-enable,
# owner isolation, admins, the per-owner cap, private targets refused, the deliveries listing of a new hook.
import base64
import re
import time

import pytest

import vexit
from vexit import KeyClient, assert_api_error, assert_json, is_rfc3339, new_sub, parse_rfc3339

HOOK_ID_RE = re.compile(r"^hook_[0-9a-f]{32}$")
ALL_EVENTS = ["job.queued", "job.started", "job.completed", "job.failed", "job.canceled", "job.timeout"]
HOOK_FIELDS = {"id", "owner", "url", "events", "description", "status", "disabled_reason", "failing_since",
               "last_error", "created_at", "updated_at"}
PREFIX = {"corex": "/webhooks", "vex": "/api/v1/webhooks"}
DIALECTS = ["corex", "vex"]
PUBLIC_URL = "https://hooks.example.com/vex"


@pytest.fixture(scope="module")
def strict(request, tls):
    """A service as shipped: private targets refused; and a small per-owner cap (3, the free plan's)."""
    s = vexit.Service(tls, workers=2, api_env={"VEX_WEBHOOKS_ALLOW_PRIVATE": "false",
                                               "VEX_LIMITS_MAX_WEBHOOKS_FREE": "3"})
    request.addfinalizer(s.stop)
    s.start()
    return s


def corex_error(r, status, code, argument=None, message=None):
    """{"error":{"code","message","argument"?}}: the corex error body."""
    assert r.status_code == status, "wanted %d %s, got %d: %s" % (status, code, r.status_code, r.text[:500])
    err = assert_json(r)["error"]
    assert err["code"] == code, err
    assert isinstance(err["message"], str) and err["message"], err
    if argument is not None:
        assert err.get("argument") == argument, err
    if message is not None:
        assert err["message"] == message, err
    return err


def dialect_error(dialect, r, vex_status, field, vex_code="VALIDATION_ERROR", corex_code="INVALID_ARGUMENTS",
                  corex_status=400):
    """The error a validation failure gets: vex keeps 400/422 with "field", corex says 400 with "argument"."""
    if dialect == "vex":
        return assert_api_error(r, vex_status, vex_code, field=field)
    return corex_error(r, corex_status, corex_code, argument=field)


def hooks_of(svc, owner):
    return svc.db_query("SELECT * FROM webhooks WHERE owner = ? ORDER BY id", (owner,))


def create(c, dialect, **body):
    r = c.post(PREFIX[dialect], json=body)
    assert r.status_code == 201, r.text
    return assert_json(r)


def check_time(dialect, v, lo, hi):
    """A time field of the dialect (corex: Unix seconds, vex: RFC 3339) between lo and hi (Unix seconds)."""
    if dialect == "corex":
        assert type(v) is int, v
        t = v
    else:
        assert isinstance(v, str) and is_rfc3339(v), v
        t = parse_rfc3339(v).timestamp()
    assert lo - 1 <= t <= hi + 1, (v, lo, hi)


def raw_update(svc, sql, params=()):
    """Write the database directly (what the runner does to a failing hook)."""
    svc.db_exec([(sql, params)])


# ---- create ----

@pytest.mark.parametrize("dialect", DIALECTS)
def test_create_every_field_and_what_is_stored(svc, dialect):
    c = KeyClient(svc)  # a real API key
    before = time.time()
    r = c.post(PREFIX[dialect], json={"url": PUBLIC_URL, "events": ["job.failed", "job.completed"],
                                      "description": "ops channel"})
    after = time.time()
    assert r.status_code == 201, r.text
    h = assert_json(r)
    assert set(h) == HOOK_FIELDS | {"secret"}, h
    assert HOOK_ID_RE.match(h["id"]), h
    assert h["owner"] == c.sub
    assert h["url"] == PUBLIC_URL
    assert h["events"] == ["job.completed", "job.failed"]  # always in the documented order
    assert h["description"] == "ops channel"
    assert h["status"] == "active"
    assert h["disabled_reason"] is None and h["failing_since"] is None and h["last_error"] is None
    check_time(dialect, h["created_at"], before, after)
    assert h["updated_at"] == h["created_at"]
    assert h["secret"].startswith("whsec_")
    assert len(base64.b64decode(h["secret"][6:], validate=True)) == 32
    assert r.headers["Location"] == "%s/%s" % (PREFIX[dialect], h["id"])
    assert "no-store" in r.headers.get("Cache-Control", "")

    rows = hooks_of(svc, c.sub)
    assert len(rows) == 1
    row = rows[0]
    assert row["id"] == h["id"] and row["url"] == PUBLIC_URL and row["status"] == "active"
    assert row["events"] == (1 << 2) | (1 << 3)
    # kept to sign deliveries, sealed under the webhook key (test_file_modes.py opens it)
    assert row["secret"].startswith("vxs1:") and h["secret"] not in row["secret"]
    assert row["description"] == "ops channel"
    assert row["created_at"] >= int(before * 1e6) - 1000000  # Unix microseconds


@pytest.mark.parametrize("dialect", DIALECTS)
def test_create_defaults_with_a_jwt(svc, dialect):
    c = svc.client()
    h = create(c, dialect, url=PUBLIC_URL)
    assert h["events"] == ALL_EVENTS
    assert h["description"] is None
    assert h["status"] == "active"
    assert hooks_of(svc, c.sub)[0]["events"] == 0x3f


def test_ids_and_secrets_differ_and_ids_sort_by_creation(svc):
    c = svc.client()
    hooks = [create(c, "vex", url=PUBLIC_URL) for _ in range(4)]
    assert len({h["id"] for h in hooks}) == 4
    assert len({h["secret"] for h in hooks}) == 4
    assert [h["id"] for h in hooks] == sorted(h["id"] for h in hooks)


def test_secret_is_shown_once_and_never_again(svc):
    c = svc.client()
    h = create(c, "corex", url=PUBLIC_URL)
    secret = h["secret"]
    answers = [
        c.get("/webhooks/" + h["id"]), c.get("/api/v1/webhooks/" + h["id"]),
        c.get("/webhooks"), c.get("/api/v1/webhooks"),
        c.patch("/webhooks/" + h["id"], json={"description": "x"}),
        c.patch("/api/v1/webhooks/" + h["id"], json={"events": ["job.completed"]}),
        c.get("/webhooks/%s/deliveries" % h["id"]), c.get("/api/v1/webhooks/%s/deliveries" % h["id"]),
    ]
    for r in answers:
        assert r.status_code == 200, r.text
        assert "secret" not in r.json() and secret not in r.text and secret[6:] not in r.text, r.text
    for item in c.get("/api/v1/webhooks").json()["webhooks"]:
        assert "secret" not in item


def test_unicode_description_round_trips(svc):
    c = svc.client()
    text = "Ops \u65e5\u672c\u8a9e \U0001f680 e\u0301 \u202eevil \u05e9\u05dc\u05d5\u05dd \u00e9"
    h = create(c, "vex", url=PUBLIC_URL, description=text)
    assert h["description"] == text
    assert c.get("/api/v1/webhooks/" + h["id"]).json()["description"] == text
    assert hooks_of(svc, c.sub)[0]["description"] == text
    # 500 code points (2000 bytes of astral characters) is the limit, counted in code points.
    h = create(c, "corex", url=PUBLIC_URL, description="\U0001f680" * 500)
    assert h["description"] == "\U0001f680" * 500
    n = len(hooks_of(svc, c.sub))
    r = c.post("/api/v1/webhooks", json={"url": PUBLIC_URL, "description": "\U0001f680" * 501})
    assert_api_error(r, 422, "VALIDATION_ERROR", field="description")
    assert len(hooks_of(svc, c.sub)) == n
    # "" and null mean no description.
    assert create(c, "vex", url=PUBLIC_URL, description="")["description"] is None
    assert create(c, "vex", url=PUBLIC_URL, description=None)["description"] is None


def test_loopback_target_allowed_when_the_operator_allows_it(svc):
    c = svc.client()  # the harness's service runs with allow_private = true
    for url in ("http://127.0.0.1:9/hook", "http://localhost:8080/", "http://[::1]:9000/x", "http://10.1.2.3/"):
        assert create(c, "vex", url=url)["url"] == url


# ---- validation: every error names its field, nothing is stored ----

BAD_BODIES = [
    # (body, vex status, field, words in the message)
    ({}, 400, "url", "url is required"),
    ({"events": ["job.completed"]}, 400, "url", "url is required"),
    ({"url": 5}, 400, "url", "must be a string"),
    ({"url": None}, 400, "url", "must be a string"),
    ({"url": ""}, 422, "url", "empty"),
    ({"url": "ftp://example.com/x"}, 422, "url", "http or https"),
    ({"url": "javascript:alert(1)"}, 422, "url", "http or https"),
    ({"url": "example.com/hook"}, 422, "url", "absolute"),
    ({"url": "https://"}, 422, "url", "host is missing"),
    ({"url": "https:///x"}, 422, "url", "host is missing"),
    ({"url": "https://user:pw@example.com/"}, 422, "url", "user name or password"),
    ({"url": "https://example.com:0/"}, 422, "url", "port"),
    ({"url": "https://example.com:65536/"}, 422, "url", "port"),
    ({"url": "https://example.com:http/"}, 422, "url", "port"),
    ({"url": "https://example.com/a#frag"}, 422, "url", "fragment"),
    ({"url": "https://exa mple.com/"}, 422, "url", "whitespace"),
    ({"url": "https://example.com/\r\nX: y"}, 422, "url", "whitespace"),
    ({"url": "https://example.com/\u0007"}, 422, "url", "control character"),
    ({"url": "https://b\u00fccher.example/"}, 422, "url", "non-ASCII"),
    ({"url": "https://exa_mple..com/"}, 422, "url", "empty label"),
    ({"url": "https://[::1/"}, 422, "url", "]"),
    ({"url": "https://127.1/"}, 422, "url", "IPv4"),
    ({"url": "https://2130706433/"}, 422, "url", "IPv4"),
    ({"url": "https://example.com/" + "a" * 2100}, 422, "url", "longer than 2048"),
    ({"url": PUBLIC_URL, "events": "job.completed"}, 400, "events", "array"),
    ({"url": PUBLIC_URL, "events": None}, 400, "events", "array"),
    ({"url": PUBLIC_URL, "events": {"job.completed": True}}, 400, "events", "array"),
    ({"url": PUBLIC_URL, "events": []}, 422, "events", "must not be empty"),
    ({"url": PUBLIC_URL, "events": [1]}, 400, "events", "events[0] must be a string"),
    ({"url": PUBLIC_URL, "events": ["job.completed", "job.done"]}, 422, "events", "job.done"),
    ({"url": PUBLIC_URL, "events": ["JOB.COMPLETED"]}, 422, "events", "JOB.COMPLETED"),
    ({"url": PUBLIC_URL, "events": ["job.progress"]}, 422, "events", "job.progress"),
    ({"url": PUBLIC_URL, "events": ["job.failed", "job.failed"]}, 422, "events", "twice"),
    ({"url": PUBLIC_URL, "description": 5}, 400, "description", "must be a string"),
    ({"url": PUBLIC_URL, "description": ["x"]}, 400, "description", "must be a string"),
    ({"url": PUBLIC_URL, "description": "x" * 501}, 422, "description", "at most 500"),
    ({"url": PUBLIC_URL, "description": "a\u0001b"}, 422, "description", "control"),
    ({"url": PUBLIC_URL, "description": "line\nbreak"}, 422, "description", "control"),
    ({"url": PUBLIC_URL, "secret": "whsec_mine"}, 400, "secret", "unknown field"),
    ({"url": PUBLIC_URL, "status": "active"}, 400, "status", "unknown field"),
    ({"url": PUBLIC_URL, "Events": ["job.failed"]}, 400, "Events", "unknown field"),
]


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("body,status,field,words", BAD_BODIES,
                         ids=["%d-%s" % (i, b[2]) for i, b in enumerate(BAD_BODIES)])
def test_create_rejections_name_the_field_and_store_nothing(svc, dialect, body, status, field, words):
    c = svc.client()
    r = c.post(PREFIX[dialect], json=body)
    err = dialect_error(dialect, r, status, field)
    assert words in err["message"], err
    assert hooks_of(svc, c.sub) == []


@pytest.mark.parametrize("dialect", DIALECTS)
def test_create_rejects_bodies_that_are_not_objects(svc, dialect):
    c = svc.client()
    r = c.post(PREFIX[dialect], data=b'{"url":', headers={"Content-Type": "application/json"})
    dialect_error(dialect, r, 400, None, vex_code="INVALID_JSON", corex_code="INVALID_JSON")
    r = c.post(PREFIX[dialect], json=[{"url": PUBLIC_URL}])
    dialect_error(dialect, r, 400, None)
    r = c.post(PREFIX[dialect], data=b"", headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert hooks_of(svc, c.sub) == []


# ---- private targets on a service as shipped ----

PRIVATE_URLS = ["http://127.0.0.1:9/hook", "http://localhost/", "http://LocalHost./x", "http://api.localhost:3000/",
                "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://169.254.169.254/latest",
                "http://100.64.0.1/", "http://0.0.0.0/", "http://[::1]/", "http://[::ffff:127.0.0.1]/",
                "http://[fe80::1]/", "http://[fd12:3456::1]/"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_private_targets_refused_unless_allowed(strict, dialect):
    c = strict.client()
    for url in PRIVATE_URLS:
        r = c.post(PREFIX[dialect], json={"url": url})
        err = dialect_error(dialect, r, 422, "url")
        assert "loopback, private or other special-purpose addresses" in err["message"], (url, err)
        assert "[webhooks] allow_private" in err["message"], (url, err)
    assert hooks_of(strict, c.sub) == []
    # Names other than localhost are not resolved at registration; public literals pass.
    h = create(c, dialect, url="https://example.com/hook")
    assert create(c, dialect, url="http://8.8.8.8:8080/")["url"] == "http://8.8.8.8:8080/"
    # A PATCH to a private target is refused too, and changes nothing.
    r = c.patch("%s/%s" % (PREFIX[dialect], h["id"]), json={"url": "http://127.0.0.1/"})
    dialect_error(dialect, r, 422, "url")
    assert c.get("%s/%s" % (PREFIX[dialect], h["id"])).json()["url"] == "https://example.com/hook"
    # Clean up under the cap of this service.
    for item in c.get(PREFIX[dialect]).json()["webhooks"]:
        assert c.delete("%s/%s" % (PREFIX[dialect], item["id"])).status_code in (200, 204)


# Every special-purpose range of IANA's registries, and the IPv6 forms that carry an IPv4 address
# (core/hooks/netguard.c; each range and its edges: tests/unit/test_netguard.c).
SPECIAL_URLS = ["http://192.0.2.10/", "http://198.51.100.7/", "http://203.0.113.9/", "http://198.18.0.1/",
                "http://192.88.99.1/", "http://192.31.196.1/", "http://192.52.193.1/", "http://192.175.48.1/",
                "http://192.0.0.9/", "http://240.0.0.1/",
                "http://[::ffff:10.0.0.1]/", "http://[::ffff:a9fe:a9fe]/",       # IPv4-mapped
                "http://[::ffff:0:a00:1]/",                                      # IPv4-translated
                "http://[64:ff9b::a9fe:a9fe]/", "http://[64:ff9b::10.1.2.3]/",   # NAT64 around a private address
                "http://[64:ff9b:1::808:808]/",                                  # local-use NAT64
                "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",                # Teredo
                "http://[2002:c0a8:101::1]/", "http://[2002:808:808::1]/",       # 6to4, whatever inside
                "http://[2001:2::1]/", "http://[2001:3::1]/", "http://[2001:20::1]/", "http://[2001:db8::1]/",
                "http://[3fff::1]/", "http://[100::1]/", "http://[5f00::1]/", "http://[fec0::1]/",
                "http://[2620:4f:8000::1]/"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_special_purpose_targets_refused(strict, dialect):
    """A user points a hook at an address the IANA registries keep special, or at a private IPv4 address
    wrapped in IPv6: refused at create and at patch, the setting named, nothing stored. A public IPv4
    address in the two forms that are that address (mapped, NAT64's well-known prefix) is accepted."""
    c = strict.client()
    for url in SPECIAL_URLS:
        r = c.post(PREFIX[dialect], json={"url": url})
        err = dialect_error(dialect, r, 422, "url")
        assert "[webhooks] allow_private" in err["message"], (url, err)
    assert hooks_of(strict, c.sub) == []
    h = create(c, dialect, url="http://[64:ff9b::808:808]/hook")
    assert create(c, dialect, url="http://[::ffff:8.8.8.8]/")["url"] == "http://[::ffff:8.8.8.8]/"
    for url in ("http://[2002:808:808::1]/", "http://[64:ff9b:1::808:808]/"):
        r = c.patch("%s/%s" % (PREFIX[dialect], h["id"]), json={"url": url})
        dialect_error(dialect, r, 422, "url")
    assert c.get("%s/%s" % (PREFIX[dialect], h["id"])).json()["url"] == "http://[64:ff9b::808:808]/hook"
    for item in c.get(PREFIX[dialect]).json()["webhooks"]:
        assert c.delete("%s/%s" % (PREFIX[dialect], item["id"])).status_code in (200, 204)


# ---- list ----

@pytest.mark.parametrize("dialect", DIALECTS)
def test_list_newest_first_with_cursor(svc, dialect):
    c = svc.client()
    ids = [create(c, dialect, url="%s/%d" % (PUBLIC_URL, i))["id"] for i in range(5)]
    r = c.get(PREFIX[dialect] + "?limit=2")
    assert r.status_code == 200, r.text
    page = assert_json(r)
    assert set(page) == {"webhooks", "next_cursor"}
    assert [h["id"] for h in page["webhooks"]] == [ids[4], ids[3]]
    for h in page["webhooks"]:
        assert set(h) == HOOK_FIELDS, h
    assert page["next_cursor"] == ids[3]
    page = c.get(PREFIX[dialect] + "?limit=2&cursor=" + page["next_cursor"]).json()
    assert [h["id"] for h in page["webhooks"]] == [ids[2], ids[1]]
    page = c.get(PREFIX[dialect] + "?limit=2&before=" + page["next_cursor"]).json()  # "before" is a synonym
    assert [h["id"] for h in page["webhooks"]] == [ids[0]]
    assert page["next_cursor"] is None
    full = c.get(PREFIX[dialect]).json()
    assert [h["id"] for h in full["webhooks"]] == ids[::-1] and full["next_cursor"] is None
    # Only the caller's own.
    assert c.get(PREFIX[dialect]).json()["webhooks"][0]["owner"] == c.sub
    assert svc.client().get(PREFIX[dialect]).json() == {"webhooks": [], "next_cursor": None}


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("q,param", [("limit=0", "limit"), ("limit=101", "limit"), ("limit=x", "limit"),
                                     ("limit=-1", "limit"), ("cursor=zzz", "cursor"),
                                     ("cursor=hook_123", "cursor"), ("before=msg_" + "0" * 32, "before")])
def test_list_bad_query(svc, dialect, q, param):
    r = svc.client().get(PREFIX[dialect] + "?" + q)
    dialect_error(dialect, r, 400, param, corex_code="INVALID_PARAMETER")


# ---- get, patch, delete ----

@pytest.mark.parametrize("dialect", DIALECTS)
def test_get_one(svc, dialect):
    c = svc.client()
    h = create(c, dialect, url=PUBLIC_URL, events=["job.timeout"], description="d")
    r = c.get("%s/%s" % (PREFIX[dialect], h["id"]))
    assert r.status_code == 200, r.text
    got = assert_json(r)
    expected = dict(h)
    del expected["secret"]
    assert got == expected


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("ident", ["hook_" + "0" * 32, "hook_" + "A" * 32, "nothook", "hook_" + "0" * 33,
                                   "0190aaaa-0000-7000-8000-000000000001"])
def test_unknown_or_malformed_id_is_404(svc, dialect, ident):
    c = svc.client()
    for r in (c.get("%s/%s" % (PREFIX[dialect], ident)), c.delete("%s/%s" % (PREFIX[dialect], ident)),
              c.patch("%s/%s" % (PREFIX[dialect], ident), json={"description": "x"}),
              c.get("%s/%s/deliveries" % (PREFIX[dialect], ident))):
        if dialect == "vex":
            assert_api_error(r, 404, "NOT_FOUND")
        else:
            corex_error(r, 404, "WEBHOOK_NOT_FOUND", message="Webhook %s does not exist" % ident)


@pytest.mark.parametrize("dialect", DIALECTS)
def test_patch_fields(svc, dialect):
    c = svc.client()
    h = create(c, dialect, url=PUBLIC_URL, description="old")
    path = "%s/%s" % (PREFIX[dialect], h["id"])
    row = hooks_of(svc, c.sub)[0]
    stored_secret = row["secret"]  # sealed; a patch leaves it as it is
    # A visible updated_at in Unix seconds: the clock has entered the second after the creation.
    vexit.wait_for(lambda: time.time() >= row["created_at"] // 10**6 + 1, 5, what="the next Unix second")
    r = c.patch(path, json={"url": "https://other.example.org/in?x=1", "events": ["job.canceled", "job.queued"],
                            "description": "new"})
    assert r.status_code == 200, r.text
    p = assert_json(r)
    assert set(p) == HOOK_FIELDS
    assert (p["url"], p["events"], p["description"]) == ("https://other.example.org/in?x=1",
                                                        ["job.queued", "job.canceled"], "new")
    assert p["created_at"] == h["created_at"] and p["updated_at"] != h["updated_at"]
    assert c.get(path).json() == p
    row = hooks_of(svc, c.sub)[0]
    assert row["events"] == (1 << 0) | (1 << 4) and row["secret"] == stored_secret
    # One field at a time; the others stay.
    p = c.patch(path, json={"description": None}).json()
    assert p["description"] is None and p["url"] == "https://other.example.org/in?x=1"
    p = c.patch(path, json={"events": ALL_EVENTS[::-1]}).json()
    assert p["events"] == ALL_EVENTS


@pytest.mark.parametrize("dialect", DIALECTS)
def test_patch_rejections_change_nothing(svc, dialect):
    c = svc.client()
    h = create(c, dialect, url=PUBLIC_URL, description="keep")
    path = "%s/%s" % (PREFIX[dialect], h["id"])
    before = hooks_of(svc, c.sub)
    cases = [({}, 400, None), ({"secret": "x"}, 400, "secret"), ({"owner": "me"}, 400, "owner"),
             ({"id": "hook_" + "1" * 32}, 400, "id"), ({"url": "nope"}, 422, "url"), ({"url": None}, 400, "url"),
             ({"events": []}, 422, "events"), ({"events": ["job.x"]}, 422, "events"),
             ({"description": "x" * 501}, 422, "description"), ({"status": "deleted"}, 422, "status"),
             ({"status": "paused"}, 422, "status"), ({"status": True}, 400, "status"),
             ({"description": "ok", "bogus": 1}, 400, "bogus")]
    for body, status, field in cases:
        r = c.patch(path, json=body)
        err = dialect_error(dialect, r, status, field)
        if not body:
            assert "at least one of" in err["message"], err
    r = c.patch(path, data=b"", headers={"Content-Type": "application/json"})
    dialect_error(dialect, r, 400, None)
    r = c.patch(path, data=b"[1]", headers={"Content-Type": "application/json"})
    dialect_error(dialect, r, 400, None)
    assert hooks_of(svc, c.sub) == before


@pytest.mark.parametrize("dialect", DIALECTS)
def test_disable_and_re_enable(svc, dialect):
    c = svc.client()
    h = create(c, dialect, url=PUBLIC_URL)
    path = "%s/%s" % (PREFIX[dialect], h["id"])
    p = c.patch(path, json={"status": "disabled"}).json()
    assert p["status"] == "disabled" and p["disabled_reason"] == "disabled by the owner"
    assert hooks_of(svc, c.sub)[0]["status"] == "disabled"
    # Disabled hooks are still listed (and counted).
    assert [x["id"] for x in c.get(PREFIX[dialect]).json()["webhooks"]] == [h["id"]]
    p = c.patch(path, json={"status": "active"}).json()
    assert p["status"] == "active" and p["disabled_reason"] is None

    # As the runner leaves a hook that failed for a day: re-enabling clears reason and failure record.
    since_us = int((time.time() - 86400) * 1e6)
    raw_update(svc, "UPDATE webhooks SET status = 'disabled', disabled_reason = ?, failing_since = ?,"
               " last_error = ? WHERE id = ?", ("failing for 24 h: HTTP 500", since_us, "HTTP 500", h["id"]))
    g = c.get(path).json()
    assert g["status"] == "disabled" and g["disabled_reason"] == "failing for 24 h: HTTP 500"
    assert g["last_error"] == "HTTP 500"
    check_time(dialect, g["failing_since"], since_us / 1e6, since_us / 1e6)
    # Saying "disabled" again keeps the runner's reason.
    assert c.patch(path, json={"status": "disabled"}).json()["disabled_reason"] == "failing for 24 h: HTTP 500"
    p = c.patch(path, json={"status": "active"}).json()
    assert (p["status"], p["disabled_reason"], p["failing_since"], p["last_error"]) == ("active", None, None, None)
    row = hooks_of(svc, c.sub)[0]
    assert (row["status"], row["disabled_reason"], row["failing_since"], row["last_error"]) == \
        ("active", None, None, None)


def test_delete_corex(svc):
    c = svc.client()
    h = create(c, "corex", url=PUBLIC_URL)
    r = c.delete("/webhooks/" + h["id"])
    assert r.status_code == 200, r.text
    assert assert_json(r) == {"id": h["id"], "deleted": True}
    corex_error(c.get("/webhooks/" + h["id"]), 404, "WEBHOOK_NOT_FOUND")
    corex_error(c.delete("/webhooks/" + h["id"]), 404, "WEBHOOK_NOT_FOUND")
    corex_error(c.get("/webhooks/%s/deliveries" % h["id"]), 404, "WEBHOOK_NOT_FOUND")
    corex_error(c.patch("/webhooks/" + h["id"], json={"status": "active"}), 404, "WEBHOOK_NOT_FOUND")
    assert c.get("/webhooks").json()["webhooks"] == []
    assert hooks_of(svc, c.sub)[0]["status"] == "deleted"


def test_delete_vex(svc):
    c = svc.client()
    h = create(c, "vex", url=PUBLIC_URL)
    r = c.delete("/api/v1/webhooks/" + h["id"])
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_api_error(c.get("/api/v1/webhooks/" + h["id"]), 404, "NOT_FOUND")
    assert_api_error(c.delete("/api/v1/webhooks/" + h["id"]), 404, "NOT_FOUND")
    # The same hook seen from the other dialect is gone too.
    corex_error(c.get("/webhooks/" + h["id"]), 404, "WEBHOOK_NOT_FOUND")
    assert hooks_of(svc, c.sub)[0]["status"] == "deleted"


def test_one_hook_two_dialects(svc):
    c = svc.client()
    h = create(c, "vex", url=PUBLIC_URL)
    x = c.get("/webhooks/" + h["id"]).json()
    assert type(x["created_at"]) is int and abs(x["created_at"] - parse_rfc3339(h["created_at"]).timestamp()) <= 1
    assert {k: v for k, v in x.items() if not k.endswith("_at")} == \
        {k: v for k, v in h.items() if not k.endswith("_at") and k != "secret"}


# ---- owners and admins ----

@pytest.mark.parametrize("dialect", DIALECTS)
def test_another_owner_sees_404_and_changes_nothing(svc, dialect):
    alice, bob = svc.client(), KeyClient(svc)
    h = create(alice, dialect, url=PUBLIC_URL, description="alice's")
    path = "%s/%s" % (PREFIX[dialect], h["id"])
    before = hooks_of(svc, alice.sub)
    for r in (bob.get(path), bob.patch(path, json={"status": "disabled"}), bob.delete(path),
              bob.get(path + "/deliveries")):
        if dialect == "vex":
            assert_api_error(r, 404, "NOT_FOUND")
        else:
            corex_error(r, 404, "WEBHOOK_NOT_FOUND")
    assert bob.get(PREFIX[dialect]).json()["webhooks"] == []
    # An admin asking for another owner's listing is honoured; a user's "owner" is ignored.
    assert bob.get(PREFIX[dialect] + "?owner=" + alice.sub).json()["webhooks"] == []
    assert hooks_of(svc, alice.sub) == before


@pytest.mark.parametrize("dialect", DIALECTS)
def test_admin_sees_and_manages_every_owner(svc, dialect):
    alice, admin = svc.client(), svc.client(role="admin")
    h = create(alice, dialect, url=PUBLIC_URL)
    path = "%s/%s" % (PREFIX[dialect], h["id"])
    g = admin.get(path)
    assert g.status_code == 200 and g.json()["owner"] == alice.sub, g.text
    assert admin.get(path + "/deliveries").status_code == 200
    p = admin.patch(path, json={"description": "by admin"})
    assert p.status_code == 200 and p.json()["owner"] == alice.sub, p.text
    # The admin's own listing is its own hooks; owner=<sub> or owner=* widens it.
    assert h["id"] not in [x["id"] for x in admin.get(PREFIX[dialect]).json()["webhooks"]]
    assert [x["id"] for x in admin.get(PREFIX[dialect] + "?owner=" + alice.sub).json()["webhooks"]] == [h["id"]]
    assert h["id"] in [x["id"] for x in admin.get(PREFIX[dialect] + "?owner=*&limit=100").json()["webhooks"]]
    # A hook an admin creates is the admin's.
    assert create(admin, dialect, url=PUBLIC_URL)["owner"] == admin.sub
    r = admin.delete(path)
    assert r.status_code in (200, 204), r.text
    assert alice.get(path).status_code == 404


def test_needs_a_credential(svc):
    for path in ("/webhooks", "/api/v1/webhooks"):
        r = svc.request("POST", path, json={"url": PUBLIC_URL})
        assert r.status_code == 401, r.text
        assert svc.get(path).status_code == 401
    assert svc.get("/webhooks/hook_%s" % ("0" * 32)).status_code == 401


def test_other_methods_are_405(svc):
    c = svc.client()
    h = create(c, "vex", url=PUBLIC_URL)
    for path in ("/webhooks/" + h["id"], "/api/v1/webhooks/" + h["id"]):
        r = c.request("PUT", path, json={"url": PUBLIC_URL})
        assert r.status_code == 405, r.text
        assert set(x.strip() for x in r.headers["Allow"].split(",")) >= {"GET", "PATCH", "DELETE"}
    r = c.request("DELETE", "/webhooks")
    assert r.status_code == 405, r.text


# ---- the per-owner cap ----

@pytest.mark.parametrize("dialect", DIALECTS)
def test_per_owner_cap(strict, dialect):
    c, other = strict.client(), strict.client()
    hooks = [create(c, dialect, url="https://example.com/%d" % i) for i in range(3)]
    # A disabled hook still counts.
    assert c.patch("%s/%s" % (PREFIX[dialect], hooks[0]["id"]), json={"status": "disabled"}).status_code == 200
    r = c.post(PREFIX[dialect], json={"url": "https://example.com/4"})
    assert r.status_code == 409, r.text
    err = assert_json(r)["error"]
    assert err["code"] == "WEBHOOK_LIMIT_REACHED" and "at most 3 webhooks per owner" in err["message"], err
    assert len(hooks_of(strict, c.sub)) == 3
    # Another owner has its own allowance; deleting one frees a place.
    create(other, dialect, url="https://example.com/other")
    assert c.delete("%s/%s" % (PREFIX[dialect], hooks[1]["id"])).status_code in (200, 204)
    create(c, dialect, url="https://example.com/5")
    assert c.post(PREFIX[dialect], json={"url": "https://example.com/6"}).status_code == 409
    # Validation comes before the cap: a bad body at the cap is still told what is wrong.
    dialect_error(dialect, c.post(PREFIX[dialect], json={"url": "nope"}), 422, "url")


# ---- deliveries of a new hook ----

@pytest.mark.parametrize("dialect", DIALECTS)
def test_deliveries_of_a_new_hook_is_empty(svc, dialect):
    c = svc.client()
    h = create(c, dialect, url=PUBLIC_URL)
    r = c.get("%s/%s/deliveries" % (PREFIX[dialect], h["id"]))
    assert r.status_code == 200, r.text
    assert assert_json(r) == {"webhook_id": h["id"], "deliveries": [], "next_cursor": None}
    r = c.get("%s/%s/deliveries?limit=100&before=msg_%s" % (PREFIX[dialect], h["id"], "f" * 32))
    assert r.status_code == 200 and r.json()["deliveries"] == [], r.text
    for q, param in (("limit=0", "limit"), ("limit=101", "limit"), ("before=hook_" + "0" * 32, "before"),
                     ("before=msg_xyz", "before"), ("cursor=1", "cursor")):
        r = c.get("%s/%s/deliveries?%s" % (PREFIX[dialect], h["id"], q))
        dialect_error(dialect, r, 400, param, corex_code="INVALID_PARAMETER")
