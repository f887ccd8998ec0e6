# test_strict_input.py - strict input: an unknown top-level field in any write body is refused naming it (nothing
# stored), the seeds' documented bodies still pass, vex agents carry model/tools/base_url, and an Idempotency-Key
# reused for another request (body or path) is refused while the same request still replays.
import json
import uuid

import pytest

from vexit import KeyClient, assert_json
from vexwire import assert_api_error

ROLE = "You are a strict input test agent"
PUBLIC_URL = "https://93.184.215.14/start"  # a public IP literal: no DNS needed
HOOK_URL = "https://93.184.215.14/hooks"


def snapshot(svc):
    """Every table a refused write could touch."""
    return {t: svc.count(t) for t in ("agents", "jobs", "api_keys", "webhooks")}


def corex_error(r, status, code, argument=None):
    assert r.status_code == status, (r.status_code, r.text)
    err = assert_json(r)["error"]
    assert err["code"] == code, err
    if argument is not None:
        assert err.get("argument") == argument, err
    return err


def unknown(err, name):
    assert err["message"].startswith("unknown field '%s'" % name), err


@pytest.fixture(scope="module")
def who(svc):
    """A user (JWT), an admin (JWT), a corex user and admin (API keys), an agent and a queued job of the user's."""
    c = svc.client(plan="enterprise")
    admin = svc.client(role="admin", plan="enterprise")
    agent = c.create_agent(role=ROLE)
    job = c.tool("sleep", {"ms": 60000})
    ev = c.post("/v1/agents", json={"name": "ev", "mode": "SCHEDULED", "content": ROLE})
    assert ev.status_code == 201, ev.text
    return {"c": c, "admin": admin, "agent": agent, "job": job, "ev": ev.json()["data"],
            "kc": KeyClient(svc, plan="enterprise"), "kadmin": KeyClient(svc, role="admin", plan="enterprise")}


# ---- an unknown field, endpoint by endpoint: 400 naming it, nothing stored ----

VEX_CASES = [
    # (who, method, path, body, field)
    ("c", "POST", "/api/v1/agents", {"name": "x", "role": ROLE, "modle": "echo"}, "modle"),
    ("c", "PATCH", "/api/v1/agents/{agent}", {"max_depth": 4, "depth": 4}, "depth"),
    ("c", "POST", "/api/v1/agents/{agent}/execute", {"prompt": "p", "context": "c"}, "context"),
    ("c", "POST", "/api/v1/tools/sleep/execute", {"ms": 100}, "ms"),
    ("c", "POST", "/api/v1/tools/echo/execute", {"arguments": {}, "timeout": 5}, "timeout"),
    ("c", "POST", "/api/v1/jobs/{job}/cancel", {"reason": "no"}, "reason"),
    ("c", "POST", "/api/v1/jobs/{job}/stream_token", {"ttl": 5}, "ttl"),
    ("c", "POST", "/api/v1/webhooks", {"url": HOOK_URL, "secret": "whsec_mine"}, "secret"),
    ("admin", "POST", "/api/v1/keys", {"owner": "eve", "scopes": ["all"]}, "scopes"),
    ("admin", "POST", "/api/v1/tokens", {"sub": "eve", "exp": 1}, "exp"),
    ("c", "POST", "/v1/agents", {"name": "x", "mode": "SCHEDULED", "content": ROLE, "role": ROLE}, "role"),
    ("c", "PATCH", "/v1/agents/{ev}", {"content": ROLE, "baseurl": PUBLIC_URL}, "baseurl"),
    ("c", "POST", "/v1/agents/{ev}/pause", {"until": "tomorrow"}, "until"),
    ("c", "POST", "/v1/agents/{ev}/resume", {"now": True}, "now"),
    ("c", "POST", "/v1/agents/{ev}/execute", {"prompt": "p", "agentId": "x"}, "agentId"),
]


def path_of(who, path):
    return path.format(agent=who["agent"]["id"], job=who["job"], ev=who["ev"]["id"])


@pytest.mark.parametrize("actor,method,path,body,field", VEX_CASES, ids=["%s %s" % (c[1], c[2]) for c in VEX_CASES])
def test_unknown_field_vex_and_events(svc, who, actor, method, path, body, field):
    before = snapshot(svc)
    agent_before = svc.db_query("SELECT * FROM agents WHERE id IN (?, ?)", (who["agent"]["id"], who["ev"]["id"]))
    r = who[actor].request(method, path_of(who, path), json=body)
    err = assert_api_error(r, 400, "VALIDATION_ERROR", field=field)
    unknown(err, field)
    assert snapshot(svc) == before
    assert svc.db_query("SELECT * FROM agents WHERE id IN (?, ?)",
                        (who["agent"]["id"], who["ev"]["id"])) == agent_before, "a refused PATCH changed nothing"
    assert svc.db_job(who["job"])["status"] != "canceled", "a refused cancel canceled nothing"


COREX_CASES = [
    ("kadmin", "POST", "/execute_tool", {"tool": "echo", "arguments": {}, "timeout": 5}, "timeout"),
    ("kc", "POST", "/jobs/submit", {"tool": "echo", "arguments": {}, "mode": "sync"}, "mode"),
    ("kc", "POST", "/jobs/submit", {"tool": "echo", "arguments": {}, "priority": 9}, "priority"),
    ("kc", "POST", "/jobs/{job}/stream_token", {"ttl": 5}, "ttl"),
    ("kc", "POST", "/webhooks", {"url": HOOK_URL, "events": ["job.failed"], "active": True}, "active"),
]


@pytest.mark.parametrize("actor,method,path,body,field", COREX_CASES, ids=["%s %s %s" % (c[1], c[2], c[4])
                                                                             for c in COREX_CASES])
def test_unknown_field_corex(svc, who, actor, method, path, body, field):
    job = who["kc"].post("/jobs/submit", json={"tool": "echo", "arguments": {}}).json()["job_id"]
    before = snapshot(svc)
    r = who[actor].request(method, path.format(job=job), json=body)
    unknown(corex_error(r, 400, "INVALID_ARGUMENTS", field), field)
    if path == "/execute_tool":
        assert r.json()["status"] == "error", r.text  # /execute_tool's own error shape
    assert snapshot(svc) == before


def test_webhook_patch_unknown_field(svc, who):
    for prefix, c in (("/api/v1", who["c"]), ("", who["kc"])):
        r = c.post(prefix + "/webhooks", json={"url": HOOK_URL})
        assert r.status_code in (200, 201), r.text
        hook = r.json()
        r = c.patch(prefix + "/webhooks/" + hook["id"], json={"status": "disabled", "url2": HOOK_URL})
        assert r.status_code == 400, r.text
        assert r.json()["error"].get("field", r.json()["error"].get("argument")) == "url2"
        assert svc.db_query("SELECT status FROM webhooks WHERE id = ?", (hook["id"],))[0]["status"] == "active"


def test_sleep_without_arguments_wrapper_is_refused(svc, who):
    """The issue's example: {"ms":100} used to sleep the default; now it names "ms"."""
    c = who["c"]
    before = svc.count("jobs")
    r = c.post("/api/v1/tools/sleep/execute", json={"ms": 100})
    err = assert_api_error(r, 400, "VALIDATION_ERROR", field="ms")
    assert err["message"] == "unknown field 'ms'; allowed: arguments, timeout_ms", err
    assert svc.count("jobs") == before
    assert c.post("/api/v1/tools/sleep/execute", json={"arguments": {"ms": 100}}).status_code == 200


def test_no_field_endpoints_take_empty_bodies(svc, who):
    """cancel, stream_token, pause and resume read no body: none, or {}, is fine."""
    c = who["c"]
    for body in (None, {}):
        kw = {} if body is None else {"json": body}
        assert c.post("/api/v1/jobs/%s/stream_token" % who["job"], **kw).status_code == 200
        assert c.post("/v1/agents/%s/pause" % who["ev"]["id"], **kw).status_code == 200
        assert c.post("/v1/agents/%s/resume" % who["ev"]["id"], **kw).status_code == 200
    r = c.post("/api/v1/jobs/%s/cancel" % who["job"], json=[])
    assert_api_error(r, 400, "VALIDATION_ERROR")


# ---- the seeds' documented bodies keep working ----

def test_seed_000_bodies(svc):
    c = svc.client()
    r = c.post("/api/v1/agents", json={"name": "seed-agent", "role": ROLE, "max_depth": 3, "spawn_shadow": False})
    assert r.status_code == 200, r.text
    aid = r.json()["id"]
    for body in ({"prompt": "Summarise the queue"}, {"prompt": "Summarise", "context_id": "ctx-1"},
                 {"prompt": "Summarise", "context_id": None}):
        r = c.post("/api/v1/agents/%s/execute" % aid, json=body)
        assert r.status_code == 200, (body, r.text)


def test_seed_001_bodies(svc):
    kc, ka = KeyClient(svc, plan="enterprise"), KeyClient(svc, role="admin", plan="enterprise")
    for body in ({"tool": "echo", "arguments": {"environment": "production", "service": "api"}},
                 {"tool": "echo", "arguments": {"version": "1.2.3"}, "timeout_ms": 60000},
                 {"tool": "echo", "arguments": {}, "mode": "sync"}):
        r = ka.post("/execute_tool", json=body)
        assert r.status_code == 200 and r.json()["status"] == "success", (body, r.text)
    for body in ({"tool": "echo", "arguments": {"service": "api", "version": "1.2.3"}},
                 {"tool": "echo", "arguments": {}, "timeout_ms": 60000}):
        r = kc.post("/jobs/submit", json=body)
        assert r.status_code == 200 and r.json()["status"] == "queued", (body, r.text)
    r = kc.post("/webhooks", json={"url": HOOK_URL, "events": ["job.completed", "job.failed"]})
    assert r.status_code in (200, 201), r.text


def test_seed_002_bodies(svc):
    c = KeyClient(svc, header="X-Api-Key")
    r = c.post("/v1/agents", json={"name": "daily digest", "baseUrl": PUBLIC_URL, "mode": "SCHEDULED",
                                   "content": "You summarise the news",
                                   "schedule": {"tasksPerDay": 1, "times": ["09:00"]}})
    assert r.status_code == 201, r.text
    a = r.json()["data"]
    # the document's `curl -X POST` sends no body at all
    r = c.request("POST", "/v1/agents/%s/execute" % a["id"])
    assert r.status_code == 202, r.text
    r = c.patch("/v1/agents/" + a["id"], json={"status": "PAUSED", "model": "echo", "schedule": None,
                                                "baseUrl": None, "name": "digest", "content": ROLE,
                                                "mode": "SCHEDULED"})
    assert r.status_code == 200, r.text


# ---- vex agents: model, tools, base_url ----

def test_vex_agent_model_tools_base_url_round_trip(svc):
    c = svc.client()
    a = c.create_agent(role=ROLE, model="echo", tools=["echo", "sleep"], base_url=PUBLIC_URL)
    assert (a["model"], a["tools"], a["base_url"]) == ("echo", ["echo", "sleep"], PUBLIC_URL), a
    row = svc.db_query("SELECT model, tools_json, base_url FROM agents WHERE id = ?", (a["id"],))[0]
    assert row == {"model": "echo", "tools_json": '["echo","sleep"]', "base_url": PUBLIC_URL}, row
    got = c.get("/api/v1/agents/" + a["id"]).json()
    assert (got["model"], got["tools"], got["base_url"]) == ("echo", ["echo", "sleep"], PUBLIC_URL), got
    # PATCH: null clears each; absent keeps it
    r = c.patch("/api/v1/agents/" + a["id"], json={"tools": None})
    assert r.status_code == 200 and r.json()["tools"] is None and r.json()["model"] == "echo", r.text
    r = c.patch("/api/v1/agents/" + a["id"], json={"model": None, "base_url": None, "tools": []})
    p = r.json()
    assert (p["model"], p["tools"], p["base_url"]) == (None, [], None), p
    # defaults: none of them
    d = c.create_agent(role=ROLE)
    assert (d["model"], d["tools"], d["base_url"]) == (None, None, None), d
    # the runner uses the agent's model: "echo" answers without an endpoint
    e = c.create_agent(role=ROLE, model="echo")
    env = c.wait_job(c.execute(e["id"], "hello strict world")["job_id"])
    assert env["final_model"] == "echo" and env["result"]["response"] == "Echo: hello strict world", env


@pytest.mark.parametrize("body,status,field", [
    ({"model": 5}, 400, "model"),
    ({"model": ""}, 422, "model"),
    ({"tools": "echo"}, 400, "tools"),
    ({"tools": ["echo", ""]}, 422, "tools"),
    ({"tools": [1]}, 422, "tools"),
    ({"base_url": 7}, 400, "base_url"),
    ({"base_url": "ftp://example.com"}, 422, "base_url"),
])
def test_vex_agent_new_fields_validated(svc, body, status, field):
    c = svc.client()
    before = snapshot(svc)
    full = {"name": "x", "role": ROLE}
    full.update(body)
    assert_api_error(c.post("/api/v1/agents", json=full), status, "VALIDATION_ERROR", field=field)
    assert snapshot(svc) == before


def test_vex_agent_private_base_url_refused_like_events(svc):
    c = svc.client()
    a = c.create_agent(role=ROLE)
    before = snapshot(svc)
    for u in ("http://127.0.0.1/", "http://169.254.169.254/latest/meta-data", "http://[::ffff:10.0.0.1]/",
              "http://localhost:8080/", "http://2130706433/"):
        err = assert_api_error(c.post("/api/v1/agents", json={"name": "b", "role": ROLE, "base_url": u}), 422,
                               "VALIDATION_ERROR", field="base_url")
        assert err["message"].startswith("base_url: "), err
        assert_api_error(c.patch("/api/v1/agents/" + a["id"], json={"base_url": u}), 422, "VALIDATION_ERROR",
                         field="base_url")
        # the events dialect refuses the same address, as it always did
        r = c.post("/v1/agents", json={"name": "b", "mode": "SCHEDULED", "content": ROLE, "baseUrl": u})
        assert_api_error(r, 400, "VALIDATION_ERROR", field="baseUrl")
    assert snapshot(svc) == before
    assert svc.db_query("SELECT base_url FROM agents WHERE id = ?", (a["id"],))[0]["base_url"] is None


# ---- Idempotency-Key: another request under the same key is refused; the same one replays ----

def keyed(c, path, body, key):
    return c.post(path, json=body, headers={"Idempotency-Key": key})


def test_idempotency_key_other_body_refused(svc):
    c = svc.client()
    a = c.create_agent(role=ROLE)
    key = "strict-" + uuid.uuid4().hex
    path = "/api/v1/agents/%s/execute" % a["id"]
    r1 = keyed(c, path, {"prompt": "transfer 10"}, key)
    assert r1.status_code == 200, r1.text
    r = keyed(c, path, {"prompt": "transfer 1000"}, key)
    err = assert_api_error(r, 422, "IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    assert "another request" in err["message"], err
    assert r.headers.get("Location") is None
    r = keyed(c, path, {"prompt": "transfer 10", "context_id": "c"}, key)
    assert_api_error(r, 422, "IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    assert [x["id"] for x in svc.jobs_with_key(key)] == [r1.json()["job_id"]]
    assert json.loads(svc.jobs_with_key(key)[0]["input_json"])["prompt"] == "transfer 10"
    # the same request, even spelled differently (whitespace, key order), replays
    raw = b'{ "prompt" :   "transfer 10" }'
    r = c.post(path, data=raw, headers={"Idempotency-Key": key, "Content-Type": "application/json"})
    assert r.status_code == 200 and r.json()["job_id"] == r1.json()["job_id"], r.text
    assert r.headers.get("Idempotent-Replayed") == "true"


def test_idempotency_key_other_agent_refused(svc):
    """The issue's case: the same key for another agent answered the first agent's job."""
    c = svc.client()
    a, b = c.create_agent(role=ROLE), c.create_agent(role=ROLE)
    key = "strict-" + uuid.uuid4().hex
    r1 = keyed(c, "/api/v1/agents/%s/execute" % a["id"], {"prompt": "p"}, key)
    assert r1.status_code == 200, r1.text
    before = svc.count("jobs")
    r = keyed(c, "/api/v1/agents/%s/execute" % b["id"], {"prompt": "p"}, key)
    assert_api_error(r, 422, "IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    # another path of the same kind of job: a tool, and the events dialect's execute of the same agent
    assert_api_error(keyed(c, "/api/v1/tools/echo/execute", {"arguments": {"prompt": "p"}}, key), 422,
                     "IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    assert_api_error(keyed(c, "/v1/agents/%s/execute" % a["id"], {"prompt": "p"}, key), 422,
                     "IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    assert svc.count("jobs") == before
    assert [(x["id"], x["owner"], x["agent_id"]) for x in svc.jobs_with_key(key)] == [(r1.json()["job_id"], c.sub,
                                                                                     a["id"])]
    # still replays for the first agent; another owner's same key is theirs
    r = keyed(c, "/api/v1/agents/%s/execute" % a["id"], {"prompt": "p"}, key)
    assert r.status_code == 200 and r.json()["job_id"] == r1.json()["job_id"]
    other = svc.client()
    ob = other.create_agent(role=ROLE)
    r = keyed(other, "/api/v1/agents/%s/execute" % ob["id"], {"prompt": "p"}, key)
    assert r.status_code == 200 and r.json()["job_id"] != r1.json()["job_id"], r.text


def test_idempotency_key_reused_corex_and_events_shapes(svc):
    kc = KeyClient(svc, plan="enterprise")
    key = "strict-" + uuid.uuid4().hex
    r1 = keyed(kc, "/jobs/submit", {"tool": "echo", "arguments": {"amount": 10}}, key)
    assert r1.status_code == 200, r1.text
    r = keyed(kc, "/jobs/submit", {"tool": "echo", "arguments": {"amount": 1000}}, key)
    corex_error(r, 422, "IDEMPOTENCY_KEY_REUSED", "Idempotency-Key")
    r = keyed(kc, "/jobs/submit", {"arguments": {"amount": 10}, "tool": "echo"}, key)
    assert r.status_code == 200 and r.json()["job_id"] == r1.json()["job_id"], r.text
    assert len(svc.jobs_with_key(key)) == 1

    ev = kc.post("/v1/agents", json={"name": "ev", "mode": "SCHEDULED", "content": ROLE}).json()["data"]
    ev2 = kc.post("/v1/agents", json={"name": "ev2", "mode": "SCHEDULED", "content": ROLE}).json()["data"]
    key = "strict-" + uuid.uuid4().hex
    r1 = kc.request("POST", "/v1/agents/%s/execute" % ev["id"], headers={"Idempotency-Key": key})
    assert r1.status_code == 202, r1.text
    # no body and {} are the same request
    r = keyed(kc, "/v1/agents/%s/execute" % ev["id"], {}, key)
    assert r.status_code == 202 and r.json()["data"]["requestId"] == r1.json()["data"]["requestId"], r.text
    r = kc.request("POST", "/v1/agents/%s/execute" % ev2["id"], headers={"Idempotency-Key": key})
    assert_api_error(r, 422, "IDEMPOTENCY_KEY_REUSED", field="Idempotency-Key")
    assert len(svc.jobs_with_key(key)) == 1
