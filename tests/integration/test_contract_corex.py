# test_contract_corex.py - seed 001 (corex tool jobs API) through nginx over HTTPS with real API keys: every field,
# status code and header the document shows, its backoff poller as a script, stable pagination, timeouts, limits.
import json
import os
import subprocess
import time

import pytest

from vexit import (REPO, SLOW, TERMINAL, UUID7_RE, KeyClient, assert_json, descendants_of, wait_for)

POLLER = os.path.join(REPO, "tests", "fixtures", "corex_poll.mjs")
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def is_int(v):
    return type(v) is int


def user(svc, plan="enterprise", **kw):
    return KeyClient(svc, plan=plan, **kw)


def admin(svc, plan="enterprise", **kw):
    return KeyClient(svc, role="admin", plan=plan, **kw)


def corex_error(r, status, code, message=None):
    """{"error":{"code","message",...}}: the corex error body."""
    assert r.status_code == status, "wanted %d %s, got %d: %s" % (status, code, r.status_code, r.text[:500])
    body = assert_json(r)
    err = body["error"]
    assert err["code"] == code, body
    assert isinstance(err["message"], str) and err["message"], body
    if message is not None:
        assert err["message"] == message, body
    return err


def submit(c, tool, arguments, headers=None):
    r = c.post("/jobs/submit", json={"tool": tool, "arguments": arguments}, headers=headers)
    assert r.status_code == 200, r.text
    return assert_json(r)


def get_job(c, job_id):
    r = c.get("/jobs/" + job_id)
    assert r.status_code == 200, r.text
    return assert_json(r)


def wait_status(c, job_id, statuses, timeout=30):
    def check():
        j = get_job(c, job_id)
        return j if j["status"] in statuses else None
    return wait_for(check, timeout, interval=0.05, what="job %s in %s" % (job_id, statuses))


def check_rate_headers(r, limit):
    for h in RATE_HEADERS:
        assert h in r.headers, (h, dict(r.headers))
    assert int(r.headers["X-RateLimit-Limit"]) == limit
    rem = int(r.headers["X-RateLimit-Remaining"])
    assert 0 <= rem < limit
    reset = int(r.headers["X-RateLimit-Reset"])  # Unix seconds: the allowance is whole again by then
    assert time.time() - 5 < reset <= time.time() + 65, reset
    return rem


def run_poller(svc, key, job_id):
    env = dict(os.environ)
    env.update({"VEX_BASE_URL": svc.base, "VEX_API_KEY": key, "VEX_JOB_ID": job_id,
                "NODE_EXTRA_CA_CERTS": svc.cert, "NO_PROXY": "*", "no_proxy": "*"})
    for k in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        env.pop(k, None)
    p = subprocess.run(["node", POLLER], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=120 * SLOW)
    assert p.returncode == 0, "poller failed: %s %s" % (p.stdout, p.stderr)
    return json.loads(p.stdout)


# ---- POST /jobs/submit, GET /jobs/{id} ----

def test_submit_then_document_poller_sees_completed(svc):
    c = user(svc)
    before = time.time()
    r = c.post("/jobs/submit", json={"tool": "echo", "arguments": {"environment": "production", "version": "1.2.3"}})
    assert r.status_code == 200, r.text
    body = assert_json(r)
    assert set(body) == {"job_id", "status", "tool", "created_at", "estimated_duration_ms"}, body
    assert UUID7_RE.match(body["job_id"]), body
    assert body["status"] == "queued"
    assert body["tool"] == "echo"
    assert is_int(body["created_at"]) and before - 2 <= body["created_at"] <= time.time() + 1, body
    assert is_int(body["estimated_duration_ms"]) and body["estimated_duration_ms"] >= 1, body
    check_rate_headers(r, svc.plan_rate("enterprise"))
    assert r.headers["Location"] == "/jobs/" + body["job_id"]

    # The document's own exponential-backoff poller, run as a script.
    job = run_poller(svc, c.key, body["job_id"])
    assert job["status"] == "completed", job
    assert set(job) == {"job_id", "status", "tool", "created_at", "started_at", "completed_at", "result",
                        "execution_time_ms"}, job
    assert job["job_id"] == body["job_id"] and job["tool"] == "echo"
    assert job["created_at"] == body["created_at"]
    assert all(is_int(job[k]) for k in ("created_at", "started_at", "completed_at", "execution_time_ms")), job
    assert job["created_at"] <= job["started_at"] <= job["completed_at"]
    assert job["result"] == {"environment": "production", "version": "1.2.3"}
    row = svc.db_job(body["job_id"])
    assert row["owner"] == c.sub and row["kind"] == "tool" and row["tool"] == "echo" and row["status"] == "completed"
    assert job["execution_time_ms"] == (row["completed_at"] - row["started_at"]) // 1000


def test_submit_idempotency_key(svc):
    c = user(svc)
    a = c.post("/jobs/submit", json={"tool": "echo", "arguments": {}}, headers={"Idempotency-Key": "corex-1"})
    b = c.post("/jobs/submit", json={"tool": "echo", "arguments": {}}, headers={"Idempotency-Key": "corex-1"})
    assert a.status_code == 200 and b.status_code == 200, (a.text, b.text)
    assert a.json()["job_id"] == b.json()["job_id"]
    assert b.headers.get("Idempotent-Replayed") == "true"
    assert len(svc.db_query("SELECT id FROM jobs WHERE owner = ?", (c.sub,))) == 1


def test_estimate_default_and_history(svc):
    c = user(svc)
    # "fail" never completes, so it has no history: the documented default.
    assert submit(c, "fail", {})["estimated_duration_ms"] == 5000
    # sleep: the mean of its last 20 completed runs (as stored), rounded up to whole ms.
    for _ in range(2):
        j = submit(c, "sleep", {"ms": 30})
        wait_status(c, j["job_id"], {"completed"})
    rows = svc.db_query("SELECT started_at, completed_at FROM jobs WHERE tool = 'sleep' AND status = 'completed' "
                        "ORDER BY id DESC LIMIT 20")
    avg_us = sum(r["completed_at"] - r["started_at"] for r in rows) // len(rows)
    expected = max(1, (avg_us + 999) // 1000)
    assert submit(c, "sleep", {"ms": 1})["estimated_duration_ms"] == expected


def test_running_progress_and_cannot_cancel_running(svc):
    c = user(svc)
    j = submit(c, "sleep", {"ms": 4000, "steps": 4})

    def running_with_progress():
        job = get_job(c, j["job_id"])
        return job if job["status"] == "running" and job["progress"]["current_step"] else None

    job = wait_for(running_with_progress, 20, interval=0.05, what="progress")
    assert set(job) == {"job_id", "status", "tool", "created_at", "started_at", "progress"}, job
    assert is_int(job["started_at"]) and job["started_at"] >= job["created_at"]
    p = job["progress"]
    assert set(p) == {"current_step", "total_steps", "percentage"}, p
    assert isinstance(p["current_step"], str) and p["total_steps"] == 4
    assert is_int(p["percentage"]) and 0 <= p["percentage"] <= 100

    r = c.delete("/jobs/" + j["job_id"])
    corex_error(r, 400, "CANNOT_CANCEL_RUNNING", "Cannot cancel a job that is already running")
    done = wait_status(c, j["job_id"], {"completed"})
    assert done["result"] == {"slept_ms": 4000, "steps": 4}
    # Finished: nothing left to cancel (documented 409).
    r = c.delete("/jobs/" + j["job_id"])
    corex_error(r, 409, "JOB_ALREADY_FINISHED")
    assert svc.db_job(j["job_id"])["status"] == "completed"


def test_queued_position_and_cancel(svc):
    # Free plan: one running job at a time, so the next ones wait in the queue.
    c = user(svc, plan="free")
    blocker = submit(c, "sleep", {"ms": 3000})
    wait_status(c, blocker["job_id"], {"running"})
    q1 = submit(c, "echo", {"n": 1})
    q2 = submit(c, "echo", {"n": 2})
    a, b = get_job(c, q1["job_id"]), get_job(c, q2["job_id"])
    for job in (a, b):
        assert set(job) == {"job_id", "status", "tool", "created_at", "position_in_queue"}, job
        assert job["status"] == "queued" and is_int(job["position_in_queue"]) and job["position_in_queue"] >= 1
    # Adjacent in claim order (which one is first depends on their UUIDv7 ids, i.e. creation time).
    first = min(a["position_in_queue"], b["position_in_queue"])
    assert {a["position_in_queue"], b["position_in_queue"]} == {first, first + 1}

    r = c.delete("/jobs/" + q1["job_id"])
    assert r.status_code == 200, r.text
    assert assert_json(r) == {"job_id": q1["job_id"], "status": "canceled", "message": "Job canceled successfully"}
    # With q1 gone, q2 holds the first of the two places.
    assert get_job(c, q2["job_id"])["position_in_queue"] == first
    job = get_job(c, q1["job_id"])
    assert job["status"] == "canceled"
    assert set(job) == {"job_id", "status", "tool", "created_at", "started_at", "completed_at", "error"}, job
    assert job["started_at"] is None and is_int(job["completed_at"])
    assert job["error"]["code"] == "CANCELED" and job["error"]["details"] == {}
    row = svc.db_job(q1["job_id"])
    assert row["status"] == "canceled" and row["started_at"] is None
    wait_status(c, q2["job_id"], {"completed"})


def test_failed_job_error_fields(svc):
    c = user(svc)
    j = submit(c, "fail", {"code": "INSUFFICIENT_PERMISSIONS", "message": "AWS credentials don't have permission"})
    job = run_poller(svc, c.key, j["job_id"])
    assert job["status"] == "failed"
    assert set(job) == {"job_id", "status", "tool", "created_at", "started_at", "completed_at", "error"}, job
    assert job["error"] == {"code": "INSUFFICIENT_PERMISSIONS", "message": "AWS credentials don't have permission",
                            "details": {}}
    assert is_int(job["started_at"]) and is_int(job["completed_at"])


def test_submit_rejections_store_nothing(svc):
    c = user(svc)
    before = svc.count("jobs")
    r = c.post("/jobs/submit", json={"tool": "create_pull_request", "arguments": {"repository": "owner/repo"}})
    corex_error(r, 404, "TOOL_NOT_FOUND")
    r = c.post("/jobs/submit", json={"tool": "sleep", "arguments": {"ms": "x"}})
    err = corex_error(r, 400, "INVALID_ARGUMENTS")
    assert err["argument"] == "ms", err
    r = c.post("/jobs/submit", json={"tool": "sleep"})
    err = corex_error(r, 400, "INVALID_ARGUMENTS", "Missing required argument: arguments")
    assert err["argument"] == "arguments"
    r = c.post("/jobs/submit", json={"arguments": {}})
    assert corex_error(r, 400, "INVALID_ARGUMENTS")["argument"] == "tool"
    r = c.post("/jobs/submit", data="{nope", headers={"Content-Type": "application/json"})
    corex_error(r, 400, "INVALID_JSON")
    assert svc.count("jobs") == before


# ---- owners ----

def test_cross_owner_and_unknown_jobs_are_not_found(svc):
    alice, bob = user(svc), user(svc)
    j = submit(alice, "echo", {})
    for path in ("/jobs/" + j["job_id"], "/jobs/0190a000-0000-7000-8000-000000000000", "/jobs/job_abc123"):
        ident = path.rsplit("/", 1)[1]
        corex_error(bob.get(path), 404, "JOB_NOT_FOUND", "Job %s does not exist" % ident)
        corex_error(bob.delete(path), 404, "JOB_NOT_FOUND", "Job %s does not exist" % ident)
    assert bob.get("/jobs").json()["pagination"]["total"] == 0
    assert svc.db_job(j["job_id"])["status"] != "canceled"
    assert get_job(alice, j["job_id"])["job_id"] == j["job_id"]


# ---- GET /jobs ----

def test_list_shape_filters_and_bad_params(svc):
    c = user(svc)
    ok = submit(c, "echo", {})
    bad = submit(c, "fail", {})
    wait_status(c, ok["job_id"], {"completed"})
    wait_status(c, bad["job_id"], {"failed"})
    r = c.get("/jobs")
    assert r.status_code == 200, r.text
    body = assert_json(r)
    assert set(body) == {"jobs", "pagination"}
    assert body["pagination"]["limit"] == 20 and body["pagination"]["offset"] == 0
    assert body["pagination"]["total"] == 2
    ids = [j["job_id"] for j in body["jobs"]]
    # Newest first: ids are UUIDv7 (time-ordered; two workers in one millisecond may order either way).
    assert set(ids) == {bad["job_id"], ok["job_id"]} and ids == sorted(ids, reverse=True)
    for j in body["jobs"]:
        assert set(j) == {"job_id", "tool", "status", "created_at", "completed_at"}, j
        assert is_int(j["created_at"]) and is_int(j["completed_at"])
    r = c.get("/jobs?status=failed&limit=50")
    body = r.json()
    assert [j["job_id"] for j in body["jobs"]] == [bad["job_id"]] and body["pagination"]["total"] == 1
    assert body["pagination"]["limit"] == 50
    q = submit(user(svc), "echo", {})  # someone else's: never listed
    assert q["job_id"] not in [j["job_id"] for j in c.get("/jobs?limit=100").json()["jobs"]]
    for qs in ("limit=0", "limit=101", "limit=abc", "offset=-1", "offset=x", "status=bogus", "status=pending",
               "as_of=nope"):
        corex_error(c.get("/jobs?" + qs), 400, "INVALID_PARAMETER")


def test_pagination_walk_while_jobs_arrive(svc):
    c = user(svc)
    made = [submit(c, "echo", {"i": i})["job_id"] for i in range(23)]
    # Ids are time-ordered per millisecond: wait for the clock to move past the last one (UUIDv7: its
    # first 48 bits are Unix milliseconds) before the walk, so that every late arrival sorts after the anchor.
    last_ms = int(max(made).replace("-", "")[:12], 16)
    wait_for(lambda: time.time() * 1000 >= last_ms + 1, 5, interval=0.001, what="the millisecond after the last id")
    seen, offset, anchor, limit = [], 0, None, 5
    while True:
        path = "/jobs?limit=%d&offset=%d" % (limit, offset) + ("&as_of=" + anchor if anchor else "")
        r = c.get(path)
        assert r.status_code == 200, r.text
        page = r.json()
        if anchor is None:
            anchor = page["pagination"]["as_of"]
            assert anchor == max(made)
        assert page["pagination"]["total"] == 23 and page["pagination"]["as_of"] == anchor
        seen += [j["job_id"] for j in page["jobs"]]
        # New jobs keep arriving during the walk.
        submit(c, "echo", {"late": offset})
        if len(page["jobs"]) < limit:
            break
        offset += limit
    assert len(seen) == len(set(seen)), "duplicates in the walk"
    assert set(seen) == set(made), "missing or extra jobs"
    assert seen == sorted(seen, reverse=True), "not newest first"
    # Without the anchor the count includes the late arrivals.
    assert c.get("/jobs").json()["pagination"]["total"] == 23 + len(range(0, 25, limit))


# ---- POST /execute_tool ----

def test_execute_tool_success(svc):
    for header in ("Authorization", "X-API-Key"):
        a = admin(svc, header=header)
        r = a.post("/execute_tool", json={"tool": "echo", "arguments": {"repository": "owner/repo"}, "mode": "sync"})
        assert r.status_code == 200, r.text
        body = assert_json(r)
        assert {"tool", "status", "result", "execution_time_ms", "tokens_used"} <= set(body), body
        assert body["tool"] == "echo" and body["status"] == "success"
        assert body["result"] == {"repository": "owner/repo"}
        assert is_int(body["execution_time_ms"]) and body["execution_time_ms"] >= 0
        assert body["tokens_used"] == {"input": 0, "output": 0}
        check_rate_headers(r, svc.plan_rate("enterprise"))
        row = svc.db_job(body["job_id"])  # recorded like any other job
        assert row["owner"] == a.sub and row["status"] == "completed" and row["timeout_ms"] == 30000


def test_execute_tool_errors(svc):
    a = admin(svc)
    before = svc.count("jobs")
    r = a.post("/execute_tool", json={"tool": "sleep", "arguments": {"ms": "x"}})
    assert r.status_code == 400, r.text
    body = assert_json(r)
    assert body["tool"] == "sleep" and body["status"] == "error"
    assert body["error"]["code"] == "INVALID_ARGUMENTS" and body["error"]["argument"] == "ms", body
    assert "ms" in body["error"]["message"]
    r = a.post("/execute_tool", json={"tool": "sleep"})
    assert r.json()["error"] == {"code": "INVALID_ARGUMENTS", "message": "Missing required argument: arguments",
                                 "argument": "arguments"}
    r = a.post("/execute_tool", json={"tool": "echo", "arguments": {}, "timeout_ms": 300001})
    assert r.status_code == 400 and r.json()["error"]["argument"] == "timeout_ms", r.text
    r = a.post("/execute_tool", json={"tool": "echo", "arguments": {}, "mode": "warp"})
    assert r.status_code == 400 and r.json()["error"]["argument"] == "mode", r.text
    # The document's example, as written: no such tool here.
    r = a.post("/execute_tool", json={"tool": "create_pull_request", "arguments": {
        "repository": "owner/repo", "title": "Fix critical bug", "from_branch": "hotfix/bug", "to_branch": "main",
        "body": "This PR fixes issue #123"}})
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["tool"] == "create_pull_request" and body["status"] == "error"
    assert body["error"]["code"] == "TOOL_NOT_FOUND"
    assert svc.count("jobs") == before  # nothing stored for a rejected request

    r = a.post("/execute_tool", json={"tool": "fail", "arguments": {"message": "deploy broke"}})
    assert r.status_code == 500, r.text
    body = assert_json(r)
    assert body["tool"] == "fail" and body["status"] == "error"
    assert body["error"]["code"] == "EXECUTION_ERROR" and body["error"]["message"] == "deploy broke"
    assert svc.db_job(body["job_id"])["status"] == "failed"

    # Users are not admins.
    r = user(svc).post("/execute_tool", json={"tool": "echo", "arguments": {}})
    corex_error(r, 403, "FORBIDDEN")


def test_execute_tool_timeout_really_stops(svc):
    a = admin(svc)
    r = a.post("/execute_tool", json={"tool": "sleep", "arguments": {"ms": 20000, "steps": 20}, "timeout_ms": 700})
    assert r.status_code == 504, r.text
    body = assert_json(r)
    job_id = body.pop("job_id")
    assert job_id == r.headers["X-Job-ID"]
    assert body == {"tool": "sleep", "status": "timeout", "error": {
        "code": "EXECUTION_TIMEOUT", "message": "Tool execution exceeded 700ms timeout"}}, body
    row = svc.db_job(job_id)
    assert row["status"] in ("timeout", "canceled"), row
    assert row["timeout_ms"] == 700 and row["completed_at"] is not None
    # Nothing keeps running: the status is terminal for good and the runner holds no work.
    assert get_job(a, job_id)["status"] in ("timeout", "canceled")
    assert descendants_of(svc.runner.pid) == []
    assert svc.db_query("SELECT count(*) AS n FROM jobs WHERE status = 'running' AND owner = ?", (a.sub,))[0]["n"] == 0

