# test_limits.py - every request limit of docs/limits.md at its boundary, in every dialect that takes the field:
# the limit is accepted, limit+1 is refused with the dialect's precise 4xx JSON error, and nothing is stored.
import pytest

from vexit import assert_api_error, assert_json

IDEM_KEY_MAX = 255
CONTEXT_ID_MAX = 256
JOB_TIMEOUT_MAX_MS = 86400000
EXECUTE_WAIT_MAX_MS = 300000
ROLE = "You are a limits test agent"


@pytest.fixture(scope="module")
def vex_agent(svc):
    c = svc.client()
    return c, c.create_agent(name="limits", role=ROLE)


@pytest.fixture(scope="module")
def events_agent(svc):
    c = svc.client()
    r = c.post("/v1/agents", json={"name": "limits", "mode": "SCHEDULED", "content": ROLE})
    assert r.status_code == 201, r.text
    return c, r.json()["data"]


def corex_error(r, status, code, argument):
    """The corex error body {"error":{"code","message","argument"}}."""
    assert r.status_code == status, (r.status_code, r.text)
    err = assert_json(r)["error"]
    assert err["code"] == code and err.get("argument") == argument and err["message"], err
    return err


def idem_rows(svc, key):
    return svc.db_query("SELECT id FROM jobs WHERE idempotency_key = ?", (key,))


# ---- Idempotency-Key: 1..255 printable ASCII, every POST that creates a job ----

def _idem_posts(svc, vex_agent, events_agent):
    """(dialect, post(key) -> response, the job id of an accepted response)."""
    vc, va = vex_agent
    ec, ea = events_agent
    cc = svc.client()
    return [
        ("vex agent", lambda k: vc.post("/api/v1/agents/%s/execute" % va["id"], json={"prompt": "p"},
                                        headers={"Idempotency-Key": k}), lambda r: r.json()["job_id"]),
        ("vex tool", lambda k: vc.post("/api/v1/tools/echo/execute", json={"arguments": {}},
                                       headers={"Idempotency-Key": k}), lambda r: r.json()["job_id"]),
        ("corex", lambda k: cc.post("/jobs/submit", json={"tool": "echo", "arguments": {}},
                                    headers={"Idempotency-Key": k}), lambda r: r.json()["job_id"]),
        ("events", lambda k: ec.post("/v1/agents/%s/execute" % ea["id"], json={},
                                     headers={"Idempotency-Key": k}), lambda r: r.json()["data"]["requestId"]),
    ]


@pytest.mark.parametrize("which", ["vex agent", "vex tool", "corex", "events"])
def test_idempotency_key_boundary(svc, vex_agent, events_agent, which):
    post, job_id = next((p, j) for name, p, j in _idem_posts(svc, vex_agent, events_agent) if name == which)
    key = (which.replace(" ", "-") + "-" + "k" * IDEM_KEY_MAX)[:IDEM_KEY_MAX]
    r = post(key)
    assert r.status_code in (200, 202), r.text
    assert [row["id"] for row in idem_rows(svc, key)] == [job_id(r)]
    before = svc.counts()
    long_key = key + "k"
    r = post(long_key)
    if which == "corex":
        err = corex_error(r, 400, "INVALID_ARGUMENTS", "Idempotency-Key")
    else:
        err = assert_api_error(r, 400, "VALIDATION_ERROR", "Idempotency-Key")
    assert "1-255" in err["message"], err
    assert svc.counts() == before and idem_rows(svc, long_key) == []


# ---- context_id: at most 256 bytes (vex agent execute) ----

def test_context_id_boundary(svc, vex_agent):
    c, a = vex_agent
    ack = c.execute(a["id"], "p", context_id="c" * CONTEXT_ID_MAX)
    assert c.get("/api/v1/jobs/" + ack["job_id"]).status_code == 200
    before = svc.counts()
    r = c.post("/api/v1/agents/%s/execute" % a["id"], json={"prompt": "p", "context_id": "c" * (CONTEXT_ID_MAX + 1)})
    assert_api_error(r, 422, "VALIDATION_ERROR", "context_id",
                     "context_id must be at most 256 bytes without control characters")
    assert svc.counts() == before


# ---- a queued tool job's timeout_ms: 1 ms .. one day, in the vex and corex dialects ----

def test_vex_job_timeout_boundary(svc):
    c = svc.client()
    job_id = c.tool("echo", {}, timeout_ms=JOB_TIMEOUT_MAX_MS)
    assert svc.db_job(job_id)["timeout_ms"] == JOB_TIMEOUT_MAX_MS
    before = svc.counts()
    for t in (JOB_TIMEOUT_MAX_MS + 1, 0):
        r = c.post("/api/v1/tools/echo/execute", json={"arguments": {}, "timeout_ms": t})
        assert_api_error(r, 422, "VALIDATION_ERROR", "timeout_ms", "timeout_ms must be between 1 and 86400000")
    assert svc.counts() == before


def test_corex_job_timeout_boundary(svc):
    c = svc.client()
    r = c.post("/jobs/submit", json={"tool": "echo", "arguments": {}, "timeout_ms": JOB_TIMEOUT_MAX_MS})
    assert r.status_code == 200, r.text
    assert svc.db_job(r.json()["job_id"])["timeout_ms"] == JOB_TIMEOUT_MAX_MS
    before = svc.counts()
    for t in (JOB_TIMEOUT_MAX_MS + 1, 0, "60000"):
        r = c.post("/jobs/submit", json={"tool": "echo", "arguments": {}, "timeout_ms": t})
        err = corex_error(r, 400, "INVALID_ARGUMENTS", "timeout_ms")
        assert err["message"] == "timeout_ms must be between 1 and 86400000" or t == "60000", err
    assert svc.counts() == before


# ---- /execute_tool's synchronous wait: at most 300000 ms (nginx waits 330 s) ----

def test_execute_tool_wait_boundary(svc):
    a = svc.client(role="admin")
    r = a.post("/execute_tool", json={"tool": "echo", "arguments": {"x": 1}, "timeout_ms": EXECUTE_WAIT_MAX_MS})
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    before = svc.counts()
    r = a.post("/execute_tool", json={"tool": "echo", "arguments": {}, "timeout_ms": EXECUTE_WAIT_MAX_MS + 1})
    assert r.status_code == 400, r.text
    body = assert_json(r)
    assert body["status"] == "error" and body["error"]["code"] == "INVALID_ARGUMENTS", body
    assert body["error"]["argument"] == "timeout_ms" and "300000" in body["error"]["message"], body
    assert svc.counts() == before


# ---- listing limits ----

@pytest.mark.parametrize("path,limit_max", [("/api/v1/jobs", 100), ("/api/v1/agents", 100),
                                            ("/api/v1/webhooks", 100)])
def test_vex_list_limit_boundary(svc, path, limit_max):
    c = svc.client()
    assert c.get("%s?limit=%d" % (path, limit_max)).status_code == 200
    r = c.get("%s?limit=%d" % (path, limit_max + 1))
    assert_api_error(r, 400, "VALIDATION_ERROR", "limit", "limit must be an integer between 1 and %d" % limit_max)


@pytest.mark.parametrize("path", ["/jobs", "/webhooks"])
def test_corex_list_limit_boundary(svc, path):
    c = svc.client()
    assert c.get(path + "?limit=100").status_code == 200
    corex_error(c.get(path + "?limit=101"), 400, "INVALID_PARAMETER", "limit")


@pytest.mark.parametrize("path", ["/v1/agents", "/v1/events"])
def test_events_list_limit_clamped(svc, path):
    # The events dialect clamps a limit above 200 to 200 (seed 002); below 1 is refused.
    c = svc.client()
    assert c.get(path + "?limit=200").status_code == 200
    assert c.get(path + "?limit=201").status_code == 200
    r = c.get(path + "?limit=0")
    assert_api_error(r, 400, "VALIDATION_ERROR", "limit")


# ---- agents and prompts in the events dialect (the vex dialect's are in test_validation.py) ----

@pytest.mark.parametrize("field,limit", [("name", 100), ("content", 500)])
def test_events_agent_text_boundary(svc, field, limit):
    c = svc.client()
    body = {"name": "limits", "mode": "SCHEDULED", "content": ROLE}
    body[field] = "\u00e9" * limit
    r = c.post("/v1/agents", json=body)
    assert r.status_code == 201 and r.json()["data"][field] == body[field], r.text
    before = svc.counts()
    body[field] = "\u00e9" * (limit + 1)
    assert_api_error(c.post("/v1/agents", json=body), 400, "VALIDATION_ERROR", field)
    assert svc.counts() == before


def test_events_prompt_boundary(svc, events_agent):
    c, a = events_agent
    r = c.post("/v1/agents/%s/execute" % a["id"], json={"prompt": "p" * 50000})
    assert r.status_code == 202, r.text
    before = svc.counts()
    r = c.post("/v1/agents/%s/execute" % a["id"], json={"prompt": "p" * 50001})
    assert_api_error(r, 400, "VALIDATION_ERROR", "prompt")
    assert svc.counts() == before


# ---- corex "tool": 1..256 bytes ----

def test_corex_tool_name_boundary(svc):
    c = svc.client()
    r = c.post("/jobs/submit", json={"tool": "t" * 256, "arguments": {}})
    assert r.status_code == 404 and r.json()["error"]["code"] == "TOOL_NOT_FOUND", r.text
    before = svc.counts()
    corex_error(c.post("/jobs/submit", json={"tool": "t" * 257, "arguments": {}}), 400, "INVALID_ARGUMENTS", "tool")
    assert svc.counts() == before


# ---- an agent's model, tools and base_url (vex dialect; the events dialect's model and baseUrl share them) ----

MODEL_NAME_MAX = 200
AGENT_TOOLS_MAX = 128
TOOL_NAME_MAX = 128
BASE_URL_MAX = 2048


def _agent_url(n):
    """A public http URL of exactly "n" bytes."""
    head = "https://93.184.215.14/"
    return head + "p" * (n - len(head))


@pytest.mark.parametrize("field,ok,over,message", [
    ("model", "m" * MODEL_NAME_MAX, "m" * (MODEL_NAME_MAX + 1), "model must be at most 200 characters"),
    ("tools", ["t%d" % i for i in range(AGENT_TOOLS_MAX)], ["t%d" % i for i in range(AGENT_TOOLS_MAX + 1)],
     "tools must be an array of at most 128 tool names"),
    ("tools", ["t" * TOOL_NAME_MAX], ["t" * (TOOL_NAME_MAX + 1)], "tools[0] must be a tool name (1-128 bytes)"),
    ("base_url", _agent_url(BASE_URL_MAX), _agent_url(BASE_URL_MAX + 1), "base_url must be at most 2048 bytes"),
])
def test_vex_agent_field_boundaries(svc, field, ok, over, message):
    c = svc.client()
    a = c.create_agent(name="limits", role=ROLE, **{field: ok})
    assert a[field] == ok
    before = svc.counts()
    r = c.post("/api/v1/agents", json={"name": "limits", "role": ROLE, field: over})
    assert_api_error(r, 422, "VALIDATION_ERROR", field, message)
    r = c.patch("/api/v1/agents/" + a["id"], json={field: over})
    assert_api_error(r, 422, "VALIDATION_ERROR", field, message)
    assert svc.counts() == before
    assert c.get("/api/v1/agents/" + a["id"]).json()[field] == ok
