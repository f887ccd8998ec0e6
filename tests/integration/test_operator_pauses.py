# test_operator_pauses.py - paused claiming (POST /api/v1/tools/{name}/pause|resume, /api/v1/runners/pause|resume,
# GET /api/v1/pauses) and cancel by filter (POST /api/v1/jobs/cancel), admin only (docs/api-vex.md).
import datetime

import pytest

import vexit

EMPTY = {"all": False, "tools": []}


@pytest.fixture(scope="module")
def svc(request, tls, fake):
    s = vexit.Service(tls, runner_env={"VEX_MODEL_BASE_URL": fake.base_url, "VEX_MODEL_MODEL": "test-model",
                                       "VEX_MODEL_API_KEY_ENV": "FAKE_MODEL_KEY", "FAKE_MODEL_KEY": "sk-test-0"})
    request.addfinalizer(s.stop)
    s.start()
    return s


def rfc3339(us):
    return datetime.datetime.fromtimestamp(us / 1e6, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.fixture
def admin(svc):
    return svc.client(role="admin")


@pytest.fixture(autouse=True)
def nothing_paused(svc):
    """Every test starts and ends with claiming running for every tool."""
    a = svc.client(role="admin")
    yield
    for name in [t["name"] for t in a.get("/api/v1/pauses").json()["tools"]]:
        assert a.post("/api/v1/tools/%s/resume" % name).status_code == 200
    assert a.post("/api/v1/runners/resume").json() == EMPTY


def status(svc, job_id):
    return svc.db_job(job_id)["status"]


def test_paused_tool_waits_while_other_tools_run(svc, admin):
    c = svc.client()
    r = admin.post("/api/v1/tools/sleep/pause")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["all"] is False and [t["name"] for t in body["tools"]] == ["sleep"], body
    assert body["tools"][0]["by"] == admin.sub and vexit.is_rfc3339(body["tools"][0]["paused_at"]), body
    assert admin.get("/api/v1/pauses").json() == body
    # The tool listings say so (users see it too); other tools do not carry the field.
    listed = {t["name"]: t for t in c.get("/api/v1/tools").json()["tools"]}
    assert listed["sleep"]["paused"] is True and "paused" not in listed["echo"], listed
    assert c.get("/api/v1/tools/sleep").json()["paused"] is True
    assert "paused" not in c.get("/api/v1/tools/echo").json()
    # Pausing again keeps the first pause.
    assert admin.post("/api/v1/tools/sleep/pause").json() == body
    held = [c.tool("sleep", {"ms": 1}) for _ in range(3)]
    # Submitted after the paused jobs and claimed past them: the runner looked and skipped them.
    ran = c.tool("echo", {"n": 1})
    c.wait_job(ran)
    assert [status(svc, j) for j in held] == ["queued"] * 3
    assert c.job(held[0])["status"] == "pending"
    r = admin.post("/api/v1/tools/sleep/resume")
    assert r.status_code == 200 and r.json() == EMPTY, r.text
    assert "paused" not in c.get("/api/v1/tools/sleep").json()
    for j in held:
        c.wait_job(j)


def test_global_pause_stops_agent_and_tool_jobs(svc, admin, fake):
    c = svc.client()
    fake.set_script([{"content": "ok"}])
    agent = c.create_agent(name="paused", role="You are a paused agent")
    # A job that runs when claiming stops: its cancel makes the runner's writer commit a round (a finish,
    # with claims for its idle slots) while the pause holds.
    long = c.tool("sleep", {"ms": 60000}, timeout_ms=120000)
    c.wait_job(long, ("running",))
    r = admin.post("/api/v1/runners/pause")
    assert r.status_code == 200 and r.json() == {"all": True, "tools": []}, r.text
    tool_job = c.tool("echo", {})
    agent_job = c.execute(agent["id"])["job_id"]
    assert c.post("/api/v1/jobs/%s/cancel" % long).status_code == 202
    c.wait_job(long, ("canceled",))
    assert status(svc, tool_job) == "queued" and status(svc, agent_job) == "queued"
    assert admin.post("/api/v1/runners/resume").json() == EMPTY
    c.wait_job(tool_job)
    c.wait_job(agent_job)


def test_pauses_are_admin_only_and_name_real_tools(svc, admin):
    user = svc.client()
    for method, path in (("POST", "/api/v1/tools/echo/pause"), ("POST", "/api/v1/tools/echo/resume"),
                         ("POST", "/api/v1/runners/pause"), ("POST", "/api/v1/runners/resume"),
                         ("GET", "/api/v1/pauses"), ("POST", "/api/v1/jobs/cancel")):
        r = user.request(method, path, json={"tool": "echo"} if path.endswith("/cancel") else None)
        assert r.status_code == 403 and r.json()["error"]["code"] == "FORBIDDEN", (path, r.text)
        r = svc.request(method, path)
        assert r.status_code == 401, (path, r.text)
    assert admin.get("/api/v1/pauses").json() == EMPTY
    for name in ("no-such-tool", "x" * 300, "%01"):
        r = admin.post("/api/v1/tools/%s/pause" % name)
        assert r.status_code == 404, r.text
        assert admin.post("/api/v1/tools/%s/resume" % name).status_code == 404
    r = admin.post("/api/v1/runners/pause", json={"tool": "echo"})
    assert r.status_code == 400, r.text
    assert admin.get("/api/v1/pauses").json() == EMPTY


def test_stats_and_runners_show_the_pauses(svc, admin):
    """GET /api/v1/stats and /api/v1/runners say what is paused, to users and admins alike."""
    user = svc.client()
    assert user.get("/api/v1/stats").json()["paused"] == EMPTY
    assert admin.post("/api/v1/tools/echo/pause").status_code == 200
    for c in (user, admin):
        st = c.get("/api/v1/stats").json()
        assert st["paused"] == {"all": False, "tools": ["echo"]}, st["paused"]
        assert all(not r["paused"] for r in st["runners"]), st["runners"]
    assert admin.post("/api/v1/runners/pause").status_code == 200
    st = user.get("/api/v1/stats").json()
    assert st["paused"] == {"all": True, "tools": ["echo"]}, st["paused"]
    runners = user.get("/api/v1/runners").json()["runners"]
    assert runners and all(r["paused"] for r in runners), runners
    assert admin.post("/api/v1/runners/resume").status_code == 200
    assert all(not r["paused"] for r in user.get("/api/v1/runners").json()["runners"])


def test_pause_survives_a_runner_restart(fresh_svc):
    svc = fresh_svc
    admin, c = svc.client(role="admin"), svc.client()
    assert admin.post("/api/v1/tools/sleep/pause").status_code == 200
    held = c.tool("sleep", {"ms": 1})
    svc.runner.stop()
    svc.start_runner()
    ran = c.tool("echo", {})
    c.wait_job(ran)
    assert status(svc, held) == "queued"
    assert [t["name"] for t in admin.get("/api/v1/pauses").json()["tools"]] == ["sleep"]
    assert admin.post("/api/v1/tools/sleep/resume").status_code == 200
    c.wait_job(held)


# ---- cancel by filter ----

def cancel(admin, body, expect=200):
    r = admin.post("/api/v1/jobs/cancel", json=body)
    assert r.status_code == expect, r.text
    return r.json()


def test_cancel_by_filter_cancels_exactly_the_matching_jobs(svc, admin):
    a, b = svc.client(), svc.client()
    assert admin.post("/api/v1/tools/sleep/pause").status_code == 200
    assert admin.post("/api/v1/tools/echo/pause").status_code == 200
    mine = [a.tool("sleep", {"ms": 1}) for _ in range(4)]
    mine_echo = a.tool("echo", {})
    theirs = b.tool("sleep", {"ms": 1})
    got = cancel(admin, {"owner": a.sub, "tool": "sleep", "status": "pending"})
    assert got == {"canceled": 4, "cancel_requested": 0}, got
    for j in mine:
        row = svc.db_job(j)
        assert row["status"] == "canceled" and row["error_code"] == "CANCELED", row
        assert a.job(j)["status"] == "canceled"  # the cached copy too
    assert status(svc, mine_echo) == "queued" and status(svc, theirs) == "queued"
    # Nothing more matches.
    assert cancel(admin, {"owner": a.sub, "tool": "sleep"}) == {"canceled": 0, "cancel_requested": 0}
    # Time bounds: created_before the first job matches nothing; a list of statuses is accepted.
    first = svc.db_job(theirs)["created_at"]
    before = rfc3339(first - 1000000)
    assert cancel(admin, {"owner": b.sub, "created_before": before, "status": ["pending", "running"]})["canceled"] == 0
    assert cancel(admin, {"owner": b.sub, "created_after": "2000-01-01T00:00:00Z"})["canceled"] == 1
    assert status(svc, theirs) == "canceled" and status(svc, mine_echo) == "queued"
    assert admin.post("/api/v1/tools/echo/resume").status_code == 200
    a.wait_job(mine_echo)


def test_cancel_by_filter_asks_running_jobs_to_stop(svc, admin):
    a, b = svc.client(), svc.client()
    mine = a.tool("sleep", {"ms": 60000}, timeout_ms=120000)
    theirs = b.tool("sleep", {"ms": 60000}, timeout_ms=120000)
    a.wait_job(mine, ("running",))
    b.wait_job(theirs, ("running",))
    got = cancel(admin, {"owner": a.sub, "status": "running"})
    assert got == {"canceled": 0, "cancel_requested": 1}, got
    a.wait_job(mine, ("canceled",))
    assert svc.db_job(theirs)["cancel_requested"] == 0 and status(svc, theirs) == "running"
    assert b.post("/api/v1/jobs/%s/cancel" % theirs).status_code == 202
    b.wait_job(theirs, ("canceled",))


@pytest.mark.parametrize("body,field,code", [
    ({}, "", 400),
    ({"tool": "sleep", "state": "pending"}, "state", 400),
    ({"status": "completed"}, "status", 400),
    ({"status": []}, "status", 400),
    ({"status": ["pending", 3]}, "status", 400),
    ({"tool": ""}, "tool", 422),
    ({"tool": 7}, "tool", 400),
    ({"tool": None}, "tool", 400),
    ({"owner": None}, "owner", 400),
    ({"status": None}, "status", 400),
    ({"created_after": None}, "created_after", 400),
    ({"owner": "x" * 300}, "owner", 422),
    ({"agent_id": "not-a-uuid"}, "agent_id", 400),
    ({"created_after": "yesterday"}, "created_after", 400),
    ({"created_before": 12}, "created_before", 400),
])
def test_cancel_by_filter_refuses_bad_filters(svc, admin, body, field, code):
    before = svc.db_query("SELECT COUNT(*) AS n FROM jobs WHERE status = 'canceled'")[0]["n"]
    err = cancel(admin, body, code)["error"]
    assert err["code"] == "VALIDATION_ERROR" and err.get("field", "") == field, err
    assert svc.db_query("SELECT COUNT(*) AS n FROM jobs WHERE status = 'canceled'")[0]["n"] == before


def test_cancel_by_filter_refuses_a_body_that_is_not_an_object(svc, admin):
    r = admin.post("/api/v1/jobs/cancel", data="[1]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    r = admin.post("/api/v1/jobs/cancel")
    assert r.status_code == 400, r.text
