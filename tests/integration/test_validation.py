# test_validation.py - bad input on create agent and execute: precise 4xx JSON errors and nothing stored.
import json

import pytest

from vexit import assert_api_error, assert_error, assert_json

ROLE = "You are a test agent"


@pytest.fixture(scope="module")
def owner(svc):
    c = svc.client()
    c.agent = c.create_agent(name="validation", role=ROLE)
    return c


def _post(c, path, body, content_type="application/json"):
    """POST raw bytes (or a value dumped to JSON) with the given Content-Type."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return c.post(path, data=data, headers={"Content-Type": content_type})


AGENT_CASES = [
    # (name, body, status, code, field, message)
    ("malformed json", b'{"name": "x", "role": ', 400, "INVALID_JSON", None, None),
    ("trailing garbage", b'{"name": "x", "role": "abcd"} x', 400, "INVALID_JSON", None, None),
    ("empty body", b"", 400, None, None, None),
    ("array body", [], 400, "VALIDATION_ERROR", None, None),
    ("array of object", [{"name": "x", "role": ROLE}], 400, "VALIDATION_ERROR", None, None),
    ("string body", "agent", 400, "VALIDATION_ERROR", None, None),
    ("null body", None, 400, "VALIDATION_ERROR", None, None),
    ("name missing", {"role": ROLE}, 400, "VALIDATION_ERROR", "name", "name is required"),
    ("role missing", {"name": "x"}, 400, "VALIDATION_ERROR", "role", "role is required"),
    ("name number", {"name": 5, "role": ROLE}, 400, "VALIDATION_ERROR", "name", "name must be a string"),
    ("name null", {"name": None, "role": ROLE}, 400, "VALIDATION_ERROR", "name", None),
    ("role object", {"name": "x", "role": {}}, 400, "VALIDATION_ERROR", "role", "role must be a string"),
    ("max_depth string", {"name": "x", "role": ROLE, "max_depth": "3"}, 400, "VALIDATION_ERROR", "max_depth", None),
    ("max_depth float", {"name": "x", "role": ROLE, "max_depth": 3.5}, 400, "VALIDATION_ERROR", "max_depth", None),
    ("max_depth bool", {"name": "x", "role": ROLE, "max_depth": True}, 400, "VALIDATION_ERROR", "max_depth", None),
    ("spawn_shadow string", {"name": "x", "role": ROLE, "spawn_shadow": "yes"}, 400, "VALIDATION_ERROR",
     "spawn_shadow", None),
    ("spawn_shadow int", {"name": "x", "role": ROLE, "spawn_shadow": 1}, 400, "VALIDATION_ERROR", "spawn_shadow", None),
    ("max_depth 11", {"name": "x", "role": ROLE, "max_depth": 11}, 422, "VALIDATION_ERROR", "max_depth",
     "max_depth exceeds safety limit of 10"),
    ("max_depth huge", {"name": "x", "role": ROLE, "max_depth": 10 ** 12}, 422, "VALIDATION_ERROR", "max_depth",
     "max_depth exceeds safety limit of 10"),
    ("max_depth 0", {"name": "x", "role": ROLE, "max_depth": 0}, 422, "VALIDATION_ERROR", "max_depth", None),
    ("max_depth negative", {"name": "x", "role": ROLE, "max_depth": -1}, 422, "VALIDATION_ERROR", "max_depth", None),
    ("empty name", {"name": "", "role": ROLE}, (400, 422), "VALIDATION_ERROR", "name", None),
    ("name 101 chars", {"name": "n" * 101, "role": ROLE}, (400, 422), "VALIDATION_ERROR", "name", None),
    ("name 101 multibyte", {"name": "\u00e9" * 101, "role": ROLE}, (400, 422), "VALIDATION_ERROR", "name", None),
    ("name with newline", {"name": "a\nb", "role": ROLE}, (400, 422), "VALIDATION_ERROR", "name", None),
    ("name with U+0001", {"name": "a\u0001b", "role": ROLE}, (400, 422), "VALIDATION_ERROR", "name", None),
    ("name with DEL", {"name": "a\u007fb", "role": ROLE}, (400, 422), "VALIDATION_ERROR", "name", None),
    ("name with C1", {"name": "a\u0085b", "role": ROLE}, (400, 422), "VALIDATION_ERROR", "name", None),
    ("name with NUL", {"name": "a\u0000b", "role": ROLE}, (400, 422), None, None, None),
    ("role too short", {"name": "x", "role": "ab"}, (400, 422), "VALIDATION_ERROR", "role", None),
    ("role too long", {"name": "x", "role": "r" * 501}, (400, 422), "VALIDATION_ERROR", "role", None),
    ("invalid utf-8", b'{"name": "\xff\xfe", "role": "You are a test agent"}', 400, "INVALID_JSON", None, None),
    ("overlong utf-8", b'{"name": "\xc0\xaf", "role": "You are a test agent"}', 400, "INVALID_JSON", None, None),
    ("lone surrogate", b'{"name": "\\ud800", "role": "You are a test agent"}', (400, 422), None, None, None),
    ("too deep", b"[" * 100 + b"]" * 100, 400, "INVALID_JSON", None, None),
]


def _check(svc, r, status, code, field, message):
    statuses = status if isinstance(status, tuple) else (status,)
    assert r.status_code in statuses, (r.status_code, r.text)
    if code is None:
        body = assert_json(r)
        assert isinstance(body["error"]["code"], str) and body["error"]["message"], body
        return
    assert_api_error(r, r.status_code, code, field, message)


@pytest.mark.parametrize("name,body,status,code,field,message", AGENT_CASES, ids=[c[0] for c in AGENT_CASES])
def test_create_agent_rejects(svc, owner, name, body, status, code, field, message):
    before = svc.counts()
    r = _post(owner, "/api/v1/agents", body)
    _check(svc, r, status, code, field, message)
    assert svc.counts() == before


PROMPT_CASES = [
    ("malformed json", b'{"prompt": "x"', 400, "INVALID_JSON", None, None),
    ("array body", ["hello"], 400, "VALIDATION_ERROR", None, None),
    ("prompt missing", {}, 400, "VALIDATION_ERROR", "prompt", "prompt is required"),
    ("prompt number", {"prompt": 42}, 400, "VALIDATION_ERROR", "prompt", "prompt must be a string"),
    ("prompt array", {"prompt": ["a"]}, 400, "VALIDATION_ERROR", "prompt", None),
    ("prompt null", {"prompt": None}, 400, "VALIDATION_ERROR", "prompt", None),
    ("empty prompt", {"prompt": ""}, (400, 422), "VALIDATION_ERROR", "prompt", None),
    ("prompt 50001 chars", {"prompt": "p" * 50001}, (400, 422), "VALIDATION_ERROR", "prompt", None),
    ("prompt 50001 multibyte", {"prompt": "\u00e9" * 50001}, (400, 422), "VALIDATION_ERROR", "prompt", None),
    ("context_id number", {"prompt": "p", "context_id": 7}, 400, "VALIDATION_ERROR", "context_id", None),
    ("context_id 257", {"prompt": "p", "context_id": "c" * 257}, 422, "VALIDATION_ERROR", "context_id", None),
    ("invalid utf-8", b'{"prompt": "ab\xc3"}', 400, "INVALID_JSON", None, None),
    ("prompt with NUL", {"prompt": "a\u0000b"}, (400, 422), None, None, None),
]


@pytest.mark.parametrize("name,body,status,code,field,message", PROMPT_CASES, ids=[c[0] for c in PROMPT_CASES])
def test_execute_rejects(svc, owner, name, body, status, code, field, message):
    before = svc.counts()
    r = _post(owner, "/api/v1/agents/%s/execute" % owner.agent["id"], body)
    _check(svc, r, status, code, field, message)
    assert svc.counts() == before


def test_limits_count_code_points(svc, owner):
    # 100 code points of 2, 3 and 4 bytes each are a valid name.
    for ch in ("\u00e9", "\u65e5", "\U0001F600"):
        a = owner.create_agent(name=ch * 100, role=ROLE)
        assert a["name"] == ch * 100
        assert owner.get("/api/v1/agents/" + a["id"]).json()["name"] == ch * 100
    a = owner.create_agent(name="n" * 100, role="r" * 500)
    assert len(a["name"]) == 100 and len(a["role"]) == 500
    # A 50000-code-point prompt of 2-byte characters (100 KB) is accepted, and its result is exact.
    prompt = "\u00e9" * 50000
    ack = owner.execute(owner.agent["id"], prompt)
    env = owner.wait_job(ack["job_id"])
    assert env["result"]["prompt"] == prompt
    assert env["result"]["response"] == "Echo: " + prompt


def test_unknown_fields_refused(svc, owner):
    """Strict input (tests/integration/test_strict_input.py covers every endpoint): a read-only field
    ("generation") or a typo is refused naming it, not silently dropped."""
    before = svc.counts()
    for extra in ({"colour": "blue"}, {"generation": 99}):
        body = {"name": "extra", "role": ROLE}
        body.update(extra)
        (field,) = extra
        assert_error(owner.post("/api/v1/agents", json=body), 400, "VALIDATION_ERROR", field)
    assert svc.counts() == before


@pytest.mark.parametrize("path", ["/api/v1/agents", "EXECUTE"])
def test_body_over_limit_is_413(svc, owner, path):
    if path == "EXECUTE":
        path = "/api/v1/agents/%s/execute" % owner.agent["id"]
    before = svc.counts()
    body = json.dumps({"name": "big", "role": ROLE, "prompt": "p" * (2 * 1024 * 1024)}).encode()
    r = _post(owner, path, body)
    assert_error(r, 413, "PAYLOAD_TOO_LARGE")
    assert svc.counts() == before


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded", "application/xml",
                                   "application/jsonx", ""])
def test_wrong_content_type_is_415(svc, owner, ctype):
    before = svc.counts()
    for path, body in (("/api/v1/agents", {"name": "x", "role": ROLE}),
                       ("/api/v1/agents/%s/execute" % owner.agent["id"], {"prompt": "p"})):
        data = json.dumps(body).encode()
        headers = {"Content-Type": ctype} if ctype else {}
        r = owner.request("POST", path, data=data, headers=headers)
        if not ctype:
            # requests sends no Content-Type for raw bytes: a body without one is not JSON either.
            assert "Content-Type" not in r.request.headers
        assert_api_error(r, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert svc.counts() == before


def test_json_content_type_with_charset_accepted(svc, owner):
    r = _post(owner, "/api/v1/agents", {"name": "charset", "role": ROLE}, "application/json; charset=utf-8")
    assert r.status_code == 200, r.text
    r = _post(owner, "/api/v1/agents", {"name": "charset2", "role": ROLE}, "Application/JSON")
    assert r.status_code == 200, r.text
