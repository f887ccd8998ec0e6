# test_owner_caps.py - per-owner caps (agents, schedules, queued jobs, webhooks, streams) per plan, in every dialect
# that creates the thing: refused 409 with the code naming the cap, nothing stored, other owners and admins unaffected,
# concurrent creates through nginx never pass a cap, a scheduled run at the cap recorded as failed.
import concurrent.futures
import datetime

import pytest

import vexit
from vexit import assert_api_error, assert_json, wait_for
from test_streams import Stream, check_stream_head

# Small caps for the free plan, larger for pro (every other cap and the rates raised, as in every test Service:
# vexlimits.py); the runner reads them too (scheduled runs).
CAPS = {
    "VEX_LIMITS_MAX_AGENTS_FREE": "3", "VEX_LIMITS_MAX_AGENTS_PRO": "5",
    "VEX_LIMITS_MAX_SCHEDULES_FREE": "1",
    "VEX_LIMITS_MAX_QUEUED_JOBS_FREE": "2", "VEX_LIMITS_MAX_QUEUED_JOBS_PRO": "4",
    "VEX_LIMITS_MAX_WEBHOOKS_FREE": "2",
    "VEX_LIMITS_MAX_STREAMS_FREE": "2",
}
ROLE = "You are a capped test agent"


@pytest.fixture(scope="module")
def capped(request, tls):
    s = vexit.Service(tls, workers=3, api_env=dict(CAPS), runner_env=dict(CAPS))
    request.addfinalizer(s.stop)
    s.start()
    return s


def utc_hhmm():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M")


def live_agents(svc, owner):
    return svc.db_query("SELECT count(*) AS n FROM agents WHERE owner = ? AND status <> 'DELETED'", (owner,))[0]["n"]


def queued(svc, owner):
    return svc.db_query("SELECT count(*) AS n FROM jobs WHERE owner = ? AND status = 'queued'", (owner,))[0]["n"]


def jobs_of(svc, owner):
    return svc.db_query("SELECT count(*) AS n FROM jobs WHERE owner = ?", (owner,))[0]["n"]


def cap_error(r, code, limit, plan="free"):
    """409 in the vex / events shape, naming the cap, its number and the plan."""
    err = assert_api_error(r, 409, code)
    assert "at most %d " % limit in err["message"] and "on the %s plan" % plan in err["message"], err
    assert "field" not in err, err
    return err


def corex_cap_error(r, code, limit):
    """409 in the corex shape {"error":{"code","message"}}."""
    assert r.status_code == 409, r.text
    err = assert_json(r)["error"]
    assert set(err) == {"code", "message"} and err["code"] == code, err
    assert "at most %d " % limit in err["message"], err
    return err


def events_agent(c, schedule=True, name="events capped"):
    body = {"name": name, "mode": "SCHEDULED", "content": ROLE}
    if schedule:
        body["schedule"] = {"tasksPerDay": 1, "times": ["03:17"]}
    return c.post("/v1/agents", json=body)


def blocker(c):
    """A long job of the owner that holds its one running place (free plan: concurrency 1), so that
    what it submits next stays queued."""
    job = c.tool("sleep", {"ms": 120000})
    c.wait_job(job, statuses=("running",))
    return job


# ---- agents: vex and events dialects ----

@pytest.mark.parametrize("dialect", ["vex", "events"])
def test_agent_cap(capped, dialect):
    c, other = capped.client(), capped.client()

    def create(who, name):
        if dialect == "vex":
            return who.post("/api/v1/agents", json={"name": name, "role": ROLE})
        return events_agent(who, schedule=False, name=name)

    made = []
    for i in range(3):
        r = create(c, "a%d" % i)
        assert r.status_code in (200, 201), r.text
        made.append(r.json()["id"] if dialect == "vex" else r.json()["data"]["id"])
    cap_error(create(c, "one too many"), "AGENT_LIMIT_REACHED", 3)
    assert live_agents(capped, c.sub) == 3  # nothing stored
    # another owner has its own allowance; a pro owner a larger one
    assert create(other, "other").status_code in (200, 201)
    pro = capped.client(plan="pro")
    for i in range(5):
        assert create(pro, "p%d" % i).status_code in (200, 201)
    cap_error(create(pro, "p5"), "AGENT_LIMIT_REACHED", 5, plan="pro")
    # deleting one frees a place
    path = "/api/v1/agents/" if dialect == "vex" else "/v1/agents/"
    assert c.delete(path + made[0]).status_code in (200, 204)
    assert create(c, "again").status_code in (200, 201)
    cap_error(create(c, "and again"), "AGENT_LIMIT_REACHED", 3)


# ---- schedules: the events dialect (the one that takes a schedule) ----

def test_schedule_cap(capped):
    c = capped.client()
    r = events_agent(c)
    assert r.status_code == 201, r.text
    scheduled = r.json()["data"]["id"]
    cap_error(events_agent(c), "SCHEDULE_LIMIT_REACHED", 1)
    assert live_agents(capped, c.sub) == 1
    # an agent without a schedule is still welcome; giving it one is refused, and nothing changes
    r = events_agent(c, schedule=False)
    assert r.status_code == 201, r.text
    plain = r.json()["data"]["id"]
    r = c.patch("/v1/agents/" + plain, json={"schedule": {"tasksPerDay": 1, "times": ["04:00"]}})
    cap_error(r, "SCHEDULE_LIMIT_REACHED", 1)
    assert capped.db_query("SELECT schedule_json FROM agents WHERE id = ?", (plain,))[0]["schedule_json"] is None
    # pausing and editing the scheduled one is fine; clearing its schedule frees the place
    assert c.post("/v1/agents/%s/pause" % scheduled).status_code == 200
    assert c.patch("/v1/agents/" + scheduled, json={"name": "renamed"}).status_code == 200
    assert c.patch("/v1/agents/" + scheduled, json={"schedule": None}).status_code == 200
    r = c.patch("/v1/agents/" + plain, json={"schedule": {"tasksPerDay": 1, "times": ["04:00"]}})
    assert r.status_code == 200, r.text


# ---- queued jobs: every path that queues one ----

def job_id_of_body(body):
    return body["data"]["requestId"] if "data" in body else body["job_id"]


def job_id_of(r):
    return job_id_of_body(r.json())


def submit_vex_tool(c, key=None):
    return c.post("/api/v1/tools/sleep/execute", json={"arguments": {"ms": 120000}},
                  headers={"Idempotency-Key": key} if key else None)


def submit_corex(c, key=None):
    return c.post("/jobs/submit", json={"tool": "sleep", "arguments": {"ms": 120000}},
                  headers={"Idempotency-Key": key} if key else None)


def submit_vex_agent(c, agent, key=None):
    return c.post("/api/v1/agents/%s/execute" % agent, json={"prompt": "hi"},
                  headers={"Idempotency-Key": key} if key else None)


def submit_events(c, agent, key=None):
    return c.post("/v1/agents/%s/execute" % agent, json={"prompt": "hi"},
                  headers={"Idempotency-Key": key} if key else None)


@pytest.mark.parametrize("path", ["vex_tool", "vex_agent", "corex", "events"])
def test_queued_job_cap(capped, path):
    c = capped.client()
    agent = c.create_agent(role=ROLE)["id"]

    def submit(key=None):
        if path == "vex_tool":
            return submit_vex_tool(c, key)
        if path == "corex":
            return submit_corex(c, key)
        if path == "vex_agent":
            return submit_vex_agent(c, agent, key)
        return submit_events(c, agent, key)

    running = blocker(c)
    for i in range(2):
        r = submit("k%d" % i)
        assert r.status_code in (200, 202), r.text
    first = r.json()  # k1's answer
    before = jobs_of(capped, c.sub)
    r = submit("k-refused")
    if path == "corex":
        corex_cap_error(r, "QUEUED_JOB_LIMIT_REACHED", 2)
    else:
        cap_error(r, "QUEUED_JOB_LIMIT_REACHED", 2)
    assert jobs_of(capped, c.sub) == before and queued(capped, c.sub) == 2  # nothing stored
    # a replay of an accepted request is no new job: it answers at the cap
    r = submit("k1")
    assert r.status_code in (200, 202), r.text
    assert job_id_of(r) == job_id_of_body(first)
    # another owner is not held back
    assert submit_vex_tool(capped.client()).status_code == 200
    # when the running job ends, the runner starts a queued one: a place frees up
    assert c.post("/api/v1/jobs/%s/cancel" % running).status_code in (200, 202)
    wait_for(lambda: queued(capped, c.sub) < 2, 30, what="a queued job to start")
    assert submit().status_code in (200, 202)
    for j in capped.db_query("SELECT id FROM jobs WHERE owner = ? AND status IN ('queued','running')", (c.sub,)):
        c.post("/api/v1/jobs/%s/cancel" % j["id"])


# ---- webhooks: vex and corex dialects ----

@pytest.mark.parametrize("dialect", ["vex", "corex"])
def test_webhook_cap(capped, dialect):
    prefix = "/api/v1/webhooks" if dialect == "vex" else "/webhooks"
    c, other = capped.client(), capped.client()
    for i in range(2):
        r = c.post(prefix, json={"url": "https://example.com/h%d" % i})
        assert r.status_code == 201, r.text
    r = c.post(prefix, json={"url": "https://example.com/h2"})
    if dialect == "vex":
        cap_error(r, "WEBHOOK_LIMIT_REACHED", 2)
    else:
        corex_cap_error(r, "WEBHOOK_LIMIT_REACHED", 2)
    hooks = capped.db_query("SELECT count(*) AS n FROM webhooks WHERE owner = ? AND status <> 'deleted'", (c.sub,))
    assert hooks[0]["n"] == 2
    assert other.post(prefix, json={"url": "https://example.com/o"}).status_code == 201


# ---- streams: vex and corex stream paths ----

def test_stream_cap(capped):
    c, other = capped.client(), capped.client()
    job = c.tool("sleep", {"ms": 120000})
    opened = []
    try:
        for path in ("/api/v1/jobs/%s/stream", "/jobs/%s/stream"):
            st = Stream(capped, path % job, c.headers())
            check_stream_head(st)
            assert st.next() is not None
            opened.append(st)
        st = Stream(capped, "/api/v1/jobs/%s/stream" % job, c.headers())
        err = st.json()["error"]
        assert st.status == 409 and err["code"] == "STREAM_LIMIT_REACHED" and "at most 2 " in err["message"], err
        assert err["request_id"], err
        st = Stream(capped, "/jobs/%s/stream" % job, c.headers())
        assert st.status == 409
        assert st.json()["error"]["code"] == "STREAM_LIMIT_REACHED"
        # a stream_token stream is the minter's, on the minter's plan
        r = c.post("/api/v1/jobs/%s/stream_token" % job)
        assert r.status_code == 200, r.text
        st = Stream(capped, r.json()["stream_url"])
        assert st.status == 409 and st.json()["error"]["code"] == "STREAM_LIMIT_REACHED"
        # another owner's streams are its own
        job_b = other.tool("sleep", {"ms": 120000})
        st = Stream(capped, "/api/v1/jobs/%s/stream" % job_b, other.headers())
        check_stream_head(st)
        opened.append(st)
        # closing one frees a place
        opened.pop(0).close()

        def reopened():
            s = Stream(capped, "/api/v1/jobs/%s/stream" % job, c.headers())
            if s.status == 200:
                return s
            s.close()
            return None

        opened.append(wait_for(reopened, 10, what="the stream place to be free"))
    finally:
        for st in opened:
            st.close()
        c.post("/api/v1/jobs/%s/cancel" % job)


# ---- admins: no caps ----

def test_admin_has_no_caps(capped):
    root = capped.client(role="admin")
    for i in range(4):
        root.create_agent(name="admin %d" % i, role=ROLE)
    assert live_agents(capped, root.sub) == 4
    running = blocker(root)
    jobs = [root.tool("sleep", {"ms": 120000}) for _ in range(4)]
    wait_for(lambda: queued(capped, root.sub) >= 3, 10, what="the admin's jobs to be queued")
    for i in range(3):
        assert root.post("/api/v1/webhooks", json={"url": "https://example.com/a%d" % i}).status_code == 201
    streams = [Stream(capped, "/api/v1/jobs/%s/stream" % running, root.headers()) for _ in range(3)]
    try:
        for st in streams:
            check_stream_head(st)
    finally:
        for st in streams:
            st.close()
    for j in [running] + jobs:
        root.post("/api/v1/jobs/%s/cancel" % j)


# ---- scheduled runs at the cap ----

def test_scheduled_run_at_cap_is_recorded_failed(capped):
    c = capped.client()
    running = blocker(c)
    for _ in range(2):
        submit_vex_tool(c)
    assert queued(capped, c.sub) == 2
    r = c.post("/v1/agents", json={"name": "due", "mode": "SCHEDULED", "content": ROLE,
                                   "schedule": {"tasksPerDay": 1, "times": [utc_hhmm()]}})
    assert r.status_code == 201, r.text
    agent = r.json()["data"]["id"]
    rows = wait_for(lambda: capped.db_query("SELECT * FROM jobs WHERE agent_id = ?", (agent,)), 30,
                    what="the scheduled run")
    assert len(rows) == 1 and rows[0]["status"] == "failed", rows
    assert rows[0]["error_code"] == "QUEUED_JOB_LIMIT_REACHED" and "at most 2 queued jobs" in rows[0]["error_message"]
    assert queued(capped, c.sub) == 2
    assert len(capped.db_query("SELECT * FROM schedule_fires WHERE agent_id = ?", (agent,))) == 1
    # the owner sees it as a failed event
    ev = c.get("/v1/agents/%s/events" % agent).json()["data"]
    assert [e["status"] for e in ev] == ["FAILED"] and "queued-job limit reached" in ev[0]["error"], ev
    c.post("/api/v1/jobs/%s/cancel" % running)
    for j in capped.db_query("SELECT id FROM jobs WHERE owner = ? AND status = 'queued'", (c.sub,)):
        c.post("/api/v1/jobs/%s/cancel" % j["id"])


# ---- the race: many concurrent creates from several workers never pass a cap ----

def hammer(fn, n=24, threads=12):
    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as ex:
        return [r.status_code for r in ex.map(lambda i: fn(i), range(n))]


def test_concurrent_creates_never_pass_a_cap(capped):
    c = capped.client()
    codes = hammer(lambda i: c.post("/api/v1/agents", json={"name": "race %d" % i, "role": ROLE}))
    assert sorted(codes) == [200] * 3 + [409] * 21, codes
    assert live_agents(capped, c.sub) == 3

    codes = hammer(lambda i: c.post("/webhooks", json={"url": "https://example.com/r%d" % i}))
    assert sorted(codes) == [201] * 2 + [409] * 22, codes
    assert capped.db_query("SELECT count(*) AS n FROM webhooks WHERE owner = ?", (c.sub,))[0]["n"] == 2

    s = capped.client()
    codes = hammer(lambda i: events_agent(s, name="race %d" % i))
    assert sorted(codes) == [201] + [409] * 23, codes
    assert capped.db_query("SELECT count(*) AS n FROM agents WHERE owner = ? AND schedule_json IS NOT NULL",
                           (s.sub,))[0]["n"] == 1

    running = blocker(c)
    codes = hammer(lambda i: submit_corex(c))
    assert sorted(codes) == [200] * 2 + [409] * 22, codes
    assert queued(capped, c.sub) == 2 and jobs_of(capped, c.sub) == 3
    for j in capped.db_query("SELECT id FROM jobs WHERE owner = ? AND status = 'queued'", (c.sub,)) + [{"id": running}]:
        c.post("/api/v1/jobs/%s/cancel" % j["id"])
