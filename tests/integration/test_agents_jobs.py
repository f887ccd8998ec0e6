# test_agents_jobs.py - agents CRUD and cursor lists, job lists and filters, cancel, tools and builtin tool jobs.
import pytest

from vexit import UUID7_RE, assert_api_error, assert_json, is_rfc3339, parse_rfc3339

ROLE = "You are a test agent"


# ---- agents ----

def test_agent_crud(svc):
    c = svc.client()
    a = c.create_agent(name="crud", role=ROLE, max_depth=2)

    r = c.get("/api/v1/agents/" + a["id"])
    assert r.status_code == 200
    assert assert_json(r) == a

    r = c.patch("/api/v1/agents/" + a["id"], json={"name": "crud-renamed", "max_depth": 7, "spawn_shadow": True})
    assert r.status_code == 200, r.text
    p = assert_json(r)
    assert p["id"] == a["id"] and p["name"] == "crud-renamed" and p["max_depth"] == 7 and p["spawn_shadow"] is True
    assert p["role"] == ROLE and p["created_at"] == a["created_at"]
    assert is_rfc3339(p["updated_at"]) and parse_rfc3339(p["updated_at"]) >= parse_rfc3339(a["updated_at"])
    assert c.get("/api/v1/agents/" + a["id"]).json() == p
    row = svc.db_query("SELECT name, max_depth FROM agents WHERE id = ?", (a["id"],))[0]
    assert row["name"] == "crud-renamed" and row["max_depth"] == 7

    # PATCH validates like create; nothing changes on a rejected patch.
    r = c.patch("/api/v1/agents/" + a["id"], json={"max_depth": 11})
    assert_api_error(r, 422, "VALIDATION_ERROR", "max_depth", "max_depth exceeds safety limit of 10")
    r = c.patch("/api/v1/agents/" + a["id"], json={"name": ""})
    assert r.status_code in (400, 422) and r.json()["error"]["field"] == "name", r.text
    r = c.patch("/api/v1/agents/" + a["id"], json={"role": 5})
    assert_api_error(r, 400, "VALIDATION_ERROR", "role")
    assert c.get("/api/v1/agents/" + a["id"]).json() == p

    r = c.delete("/api/v1/agents/" + a["id"])
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_api_error(c.get("/api/v1/agents/" + a["id"]), 404, "NOT_FOUND", message="agent not found")
    assert_api_error(c.delete("/api/v1/agents/" + a["id"]), 404, "NOT_FOUND", message="agent not found")
    assert_api_error(c.patch("/api/v1/agents/" + a["id"], json={"name": "x"}), 404, "NOT_FOUND")
    r = c.post("/api/v1/agents/%s/execute" % a["id"], json={"prompt": "hi"})
    assert_api_error(r, 404, "NOT_FOUND", message="agent not found")
    # Soft delete: the row is kept.
    assert len(svc.db_query("SELECT id FROM agents WHERE id = ?", (a["id"],))) == 1
    ids = [x["id"] for x in c.get("/api/v1/agents?limit=100").json()["agents"]]
    assert a["id"] not in ids


@pytest.mark.parametrize("aid", ["not-a-uuid", "00000000-0000-7000-8000-000000000000", "x" * 300],
                         ids=["not-uuid", "unknown-uuid", "300-chars"])
def test_agent_malformed_and_unknown_ids(svc, aid):
    c = svc.client()
    assert_api_error(c.get("/api/v1/agents/" + aid), 404, "NOT_FOUND", message="agent not found")


def test_agents_cursor_walk(svc):
    c = svc.client()
    created = [c.create_agent(name="list-%02d" % i, role=ROLE)["id"] for i in range(23)]
    seen, cursor, pages = [], None, 0
    while True:
        path = "/api/v1/agents?limit=5" + ("&cursor=" + cursor if cursor else "")
        r = c.get(path)
        assert r.status_code == 200, r.text
        body = assert_json(r)
        assert set(body) >= {"agents", "next_cursor"}
        assert len(body["agents"]) <= 5
        seen += [a["id"] for a in body["agents"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
        assert pages < 20, "cursor never ends"
    assert len(seen) == len(set(seen)), "duplicates across pages"
    assert seen == list(reversed(created)), "newest first, every agent once"
    # Default limit 20.
    body = c.get("/api/v1/agents").json()
    assert len(body["agents"]) == 20 and body["next_cursor"]
    for a in body["agents"]:
        assert set(a) >= {"id", "name", "role", "max_depth", "spawn_shadow", "generation", "fitness", "status",
                          "created_at", "updated_at"}


def test_agents_list_bad_parameters(svc):
    c = svc.client()
    for q in ("limit=0", "limit=101", "limit=abc", "limit=", "limit=-1", "limit=5x", "cursor=zzz",
              "cursor=" + "f" * 500):
        r = c.get("/api/v1/agents?" + q)
        assert_api_error(r, 400, "VALIDATION_ERROR")


# ---- tools ----

def test_tools_list(svc):
    c = svc.client()
    r = c.get("/api/v1/tools")
    assert r.status_code == 200
    tools = {t["name"]: t for t in assert_json(r)["tools"]}
    assert {"echo", "sleep", "fail"} <= set(tools)
    for name in ("echo", "sleep", "fail"):
        t = tools[name]
        assert t["source"] == "builtin"
        assert isinstance(t["description"], str) and t["description"]
        assert isinstance(t["input_schema"], dict) and t["input_schema"].get("type") == "object", t


def test_tool_echo_job(svc):
    c = svc.client()
    args = {"text": "hi", "n": 3, "nested": {"a": [1, 2, None]}, "ok": True}
    r = c.post("/api/v1/tools/echo/execute", json={"arguments": args})
    assert r.status_code == 200, r.text
    ack = assert_json(r)
    assert UUID7_RE.match(ack["job_id"])
    assert ack["tool"] == "echo" and ack["status"] == "pending"
    assert ack["response"] == "Job queued: " + ack["job_id"]
    assert r.headers.get("Location") == "/api/v1/jobs/" + ack["job_id"]
    env = c.wait_job(ack["job_id"])
    assert env["kind"] == "tool" and env["tool"] == "echo"
    assert env["result"] == args
    assert env["error"] is None and env["attempts"] == 1


def test_tool_sleep_progress(svc):
    c = svc.client()
    jid = c.tool("sleep", {"ms": 900, "steps": 3})
    env = c.wait_job(jid)
    assert env["result"] == {"slept_ms": 900, "steps": 3}
    p = env["progress"]
    assert isinstance(p, dict), env
    assert p["current_step"] == "3" and p["total_steps"] == 3 and p["percentage"] == 100, p
    assert set(p) >= {"current_step", "total_steps", "percentage", "message"}


def test_tool_fail_job(svc):
    c = svc.client()
    env = c.wait_job(c.tool("fail", {}), ("failed",))
    assert env["error"]["code"] == "TOOL_FAILED"
    assert env["error"]["message"] == "the fail tool always fails"
    env = c.wait_job(c.tool("fail", {"code": "MY_CODE", "message": "custom"}), ("failed",))
    assert env["error"]["code"] == "MY_CODE" and env["error"]["message"] == "custom"
    assert is_rfc3339(env["completed_at"])


def test_tool_timeout(svc):
    c = svc.client()
    env = c.wait_job(c.tool("sleep", {"ms": 20000, "steps": 2}, timeout_ms=300), ("timeout",))
    assert env["error"]["code"] == "EXECUTION_TIMEOUT"


def test_tool_unknown(svc):
    c = svc.client()
    before = svc.counts()
    assert_api_error(c.post("/api/v1/tools/nope/execute", json={"arguments": {}}), 404, "NOT_FOUND",
                     message="tool not found")
    assert svc.counts() == before


@pytest.mark.parametrize("bad", [[1], "x", 3, None], ids=["array", "string", "number", "null"])
def test_tool_arguments_not_object(svc, bad):
    c = svc.client()
    before = svc.counts()
    r = c.post("/api/v1/tools/echo/execute", json={"arguments": bad})
    assert_api_error(r, 400, "VALIDATION_ERROR", "arguments")
    assert svc.counts() == before


@pytest.mark.parametrize("t", [0, 86400001, "100", 1.5])
def test_tool_bad_timeout(svc, t):
    c = svc.client()
    before = svc.counts()
    r = c.post("/api/v1/tools/echo/execute", json={"arguments": {}, "timeout_ms": t})
    assert r.status_code in (400, 422), (t, r.text)
    assert_api_error(r, r.status_code, "VALIDATION_ERROR", "timeout_ms")
    assert svc.counts() == before


# ---- jobs ----

def test_jobs_list_filters_and_cursor(svc):
    c = svc.client(plan="enterprise")
    a1 = c.create_agent(name="a1", role=ROLE)
    a2 = c.create_agent(name="a2", role=ROLE)
    done = [c.execute(a1["id"], "one")["job_id"], c.execute(a1["id"], "two")["job_id"],
            c.execute(a2["id"], "three")["job_id"]]
    failed = c.tool("fail", {})
    for j in done:
        c.wait_job(j)
    c.wait_job(failed, ("failed",))
    every = done + [failed]

    r = c.get("/api/v1/jobs?status=completed")
    assert r.status_code == 200, r.text
    body = assert_json(r)
    assert [j["job_id"] for j in body["jobs"]] == list(reversed(done))
    assert all(j["status"] == "completed" for j in body["jobs"])
    assert body["next_cursor"] is None
    assert [j["job_id"] for j in c.get("/api/v1/jobs?status=failed").json()["jobs"]] == [failed]
    assert c.get("/api/v1/jobs?status=pending").json()["jobs"] == []
    assert c.get("/api/v1/jobs?status=canceled").json()["jobs"] == []

    ids = [j["job_id"] for j in c.get("/api/v1/jobs?agent_id=" + a1["id"]).json()["jobs"]]
    assert ids == [done[1], done[0]]

    seen, cursor = [], None
    for _ in range(10):
        body = c.get("/api/v1/jobs?limit=1" + ("&cursor=" + cursor if cursor else "")).json()
        seen += [j["job_id"] for j in body["jobs"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(every))
    # Envelopes in the list carry the same fields as a single GET.
    one = c.get("/api/v1/jobs?limit=1").json()["jobs"][0]
    assert one == c.job(one["job_id"])


@pytest.mark.parametrize("q", ["status=bogus", "status=queued_x", "status=", "status=COMPLETED"])
def test_jobs_list_bad_status(svc, q):
    assert_api_error(svc.client().get("/api/v1/jobs?" + q), 400, "VALIDATION_ERROR", "status")


@pytest.mark.parametrize("q", ["limit=0", "limit=101", "limit=x", "cursor=zzz", "agent_id=nope"])
def test_jobs_list_bad_parameters(svc, q):
    assert_api_error(svc.client().get("/api/v1/jobs?" + q), 400, "VALIDATION_ERROR")


def test_job_unknown_and_malformed(svc):
    c = svc.client()
    for jid in ("nope", "00000000-0000-7000-8000-000000000000", "1" * 200):
        assert_api_error(c.get("/api/v1/jobs/" + jid), 404, "NOT_FOUND", message="job not found")
        assert_api_error(c.post("/api/v1/jobs/%s/cancel" % jid), 404, "NOT_FOUND", message="job not found")


def test_cancel_queued_running_and_terminal(svc):
    # A free-plan owner runs one job at a time: the sleep job holds the slot, the next one stays queued.
    c = svc.client()
    sleeper = c.tool("sleep", {"ms": 60000, "steps": 60})
    c.wait_job(sleeper, ("running",))
    queued = c.tool("echo", {"x": 1})
    env = c.job(queued)
    assert env["status"] == "pending", env

    r = c.post("/api/v1/jobs/%s/cancel" % queued)
    assert r.status_code == 200, r.text
    env = assert_json(r)
    assert env["job_id"] == queued and env["status"] == "canceled"
    assert c.job(queued)["status"] == "canceled"
    assert svc.db_job(queued)["status"] == "canceled"

    r = c.post("/api/v1/jobs/%s/cancel" % sleeper)
    assert r.status_code == 202, r.text
    env = assert_json(r)
    assert env["job_id"] == sleeper and env["status"] == "running" and env["cancel_requested"] is True
    env = c.wait_job(sleeper, ("canceled",), timeout=30)
    assert env["error"]["code"] == "CANCELED"
    assert is_rfc3339(env["completed_at"])

    for jid in (queued, sleeper):
        assert_api_error(c.post("/api/v1/jobs/%s/cancel" % jid), 409, "JOB_NOT_CANCELABLE",
                         message="job is already canceled")
    done = c.tool("echo", {})
    c.wait_job(done)
    assert_api_error(c.post("/api/v1/jobs/%s/cancel" % done), 409, "JOB_NOT_CANCELABLE",
                     message="job is already completed")
    # The canceled queued job never ran.
    row = svc.db_job(queued)
    assert row["attempts"] == 0 and row["status"] == "canceled", row


def test_method_not_allowed(svc):
    c = svc.client()
    r = c.request("PUT", "/api/v1/agents", json={})
    err = assert_api_error(r, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in r.headers.get("Allow", "") and "POST" in r.headers.get("Allow", ""), (err, dict(r.headers))
    r = c.delete("/api/v1/jobs")
    assert_api_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers.get("Allow")

