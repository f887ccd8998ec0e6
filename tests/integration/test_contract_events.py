# test_contract_events.py - the events dialect (seed 002) through nginx over HTTPS with real API keys.
import datetime
import json
import os
import subprocess
import time

import pytest

import vexit
from vexit import KeyClient, UUID7_RE, assert_api_error, assert_json, parse_rfc3339, wait_for

CONTENT = "You are a scheduled test agent"
SCHEDULE = {"tasksPerDay": 1, "times": ["09:00"]}
AGENT_FIELDS = {"id", "name", "baseUrl", "mode", "content", "schedule", "status", "userId", "createdAt",
                "updatedAt"}
EVENT_FIELDS = {"id", "agentId", "userId", "status", "startedAt", "completedAt", "error", "finalModel",
                "browserStepCount", "browserSessionSeconds", "createdAt", "updatedAt"}
MS_Z = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
POLL = os.path.join(vexit.REPO, "tests", "fixtures", "events_poll.sh")


def is_ms_z(s):
    import re
    return isinstance(s, str) and re.match(MS_Z, s) is not None and vexit.is_rfc3339(s)


def key_client(svc, header="X-Api-Key", sub=None):
    return KeyClient(svc, sub=sub, header=header)


def create(c, **over):
    body = {"name": "events agent", "baseUrl": "https://example.com", "mode": "SCHEDULED",
            "content": CONTENT, "schedule": SCHEDULE}
    body.update(over)
    r = c.post("/v1/agents", json=body)
    assert r.status_code == 201, r.text
    return assert_json(r)["data"]


def execute(c, agent_id, **kw):
    r = c.post("/v1/agents/%s/execute" % agent_id, **kw)
    assert r.status_code == 202, r.text
    return r.json()["data"]["requestId"]


def event(c, event_id):
    r = c.get("/v1/events/" + event_id)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def wait_event(c, event_id, statuses=("COMPLETED",)):
    def done():
        e = event(c, event_id)
        return e if e["status"] in statuses else None
    return wait_for(done, 60, interval=0.1, what="event %s %s" % (event_id, statuses))


def walk(c, path, limit):
    """Every page of a listing: (items, pages)."""
    items, pages, token = [], 0, None
    sep = "&" if "?" in path else "?"
    while True:
        url = "%s%slimit=%d" % (path, sep, limit) + ("&nextToken=" + token if token else "")
        r = c.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"data", "nextToken"}, body
        assert len(body["data"]) <= limit
        items += body["data"]
        pages += 1
        token = body["nextToken"]
        if token is None:
            return items, pages
        assert isinstance(token, str) and token


def jobs_count(svc):
    return svc.count("jobs")


# ---- agents ----

def test_create_agent_shape(svc):
    c = key_client(svc)
    before = svc.counts()
    r = c.post("/v1/agents", json={"name": "daily digest", "baseUrl": "https://example.com/start",
                                   "mode": "SCHEDULED", "content": CONTENT, "schedule": SCHEDULE})
    assert r.status_code == 201, r.text
    body = assert_json(r)
    assert set(body) == {"data"}
    a = body["data"]
    assert set(a) == AGENT_FIELDS, a
    assert UUID7_RE.match(a["id"])
    assert a["name"] == "daily digest"
    assert a["baseUrl"] == "https://example.com/start"
    assert a["mode"] == "SCHEDULED"
    assert a["content"] == CONTENT
    assert isinstance(a["schedule"], str) and json.loads(a["schedule"]) == SCHEDULE
    assert a["schedule"] == '{"tasksPerDay":1,"times":["09:00"]}'
    assert a["status"] == "ACTIVE"
    assert a["userId"] == c.sub
    assert is_ms_z(a["createdAt"]) and is_ms_z(a["updatedAt"])
    assert svc.counts() == {"agents": before["agents"] + 1, "jobs": before["jobs"]}
    row = svc.db_query("SELECT owner, name, role, base_url, schedule_json, status FROM agents WHERE id = ?",
                       (a["id"],))[0]
    assert row["owner"] == c.sub and row["role"] == CONTENT and row["base_url"] == "https://example.com/start"
    assert json.loads(row["schedule_json"]) == SCHEDULE
    # The schedule may also arrive as a JSON string; baseUrl is optional.
    b = create(c, schedule=json.dumps({"tasksPerDay": 2, "times": ["08:00", "20:30"]}), baseUrl=None)
    assert json.loads(b["schedule"]) == {"tasksPerDay": 2, "times": ["08:00", "20:30"]}
    assert b["baseUrl"] is None
    assert c.get("/v1/agents/" + b["id"]).json() == {"data": b}


@pytest.mark.parametrize("over,field", [
    ({"mode": "MANUAL"}, "mode"),
    ({"mode": None}, "mode"),
    ({"mode": 3}, "mode"),
    ({"content": "ab"}, "content"),
    ({"content": "x" * 501}, "content"),
    ({"content": 5}, "content"),
    ({"name": ""}, "name"),
    ({"baseUrl": "ftp://example.com"}, "baseUrl"),
    ({"schedule": {"tasksPerDay": 0}}, "schedule.tasksPerDay"),
    ({"schedule": {"tasksPerDay": 1, "times": ["25:00"]}}, "schedule.times"),
    ({"schedule": "not json"}, "schedule"),
    ({"schedule": [1]}, "schedule"),
    ({"status": "DELETED"}, "status"),
])
def test_create_validation(svc, over, field):
    c = key_client(svc)
    body = {"name": "bad", "mode": "SCHEDULED", "content": CONTENT, "schedule": SCHEDULE}
    body.update(over)
    if over.get("mode", "") is None:
        del body["mode"]
    before = svc.counts()
    err = assert_api_error(c.post("/v1/agents", json=body), 400, "VALIDATION_ERROR", field=field)
    assert set(err) >= {"code", "message"}
    assert svc.counts() == before, "nothing stored for a rejected request"


def test_create_malformed_json(svc):
    c = key_client(svc)
    before = svc.counts()
    r = c.post("/v1/agents", data=b"{nope", headers={"Content-Type": "application/json"})
    assert_api_error(r, 400, "INVALID_JSON")
    assert_api_error(c.post("/v1/agents", json=[1]), 400, "VALIDATION_ERROR")
    assert svc.counts() == before


def test_agents_lifecycle(svc):
    c = key_client(svc, header="Authorization")
    a = create(c)
    r = c.patch("/v1/agents/" + a["id"], json={"name": "renamed", "content": "A new standing instruction",
                                               "schedule": {"tasksPerDay": 2, "times": ["01:00", "02:00"]}})
    assert r.status_code == 200, r.text
    p = r.json()["data"]
    assert p["name"] == "renamed" and p["content"] == "A new standing instruction"
    assert json.loads(p["schedule"]) == {"tasksPerDay": 2, "times": ["01:00", "02:00"]}
    assert p["createdAt"] == a["createdAt"] and parse_rfc3339(p["updatedAt"]) >= parse_rfc3339(a["updatedAt"])
    assert c.get("/v1/agents/" + a["id"]).json() == {"data": p}
    # PATCH validates like create and stores nothing on failure.
    assert_api_error(c.patch("/v1/agents/" + a["id"], json={"mode": "MANUAL"}), 400, "VALIDATION_ERROR", field="mode")
    assert_api_error(c.patch("/v1/agents/" + a["id"], json={"content": "x"}), 400, "VALIDATION_ERROR",
                     field="content")
    assert_api_error(c.patch("/v1/agents/" + a["id"], json={"status": "NOPE"}), 400, "VALIDATION_ERROR",
                     field="status")
    assert c.get("/v1/agents/" + a["id"]).json() == {"data": p}
    # pause, then resume two ways.
    r = c.post("/v1/agents/%s/pause" % a["id"])
    assert r.status_code == 200, r.text
    assert r.json()["data"]["status"] == "PAUSED"
    assert svc.db_query("SELECT status FROM agents WHERE id = ?", (a["id"],))[0]["status"] in ("PAUSED", 1)
    assert c.post("/v1/agents/%s/pause" % a["id"]).json()["data"]["status"] == "PAUSED"
    assert c.post("/v1/agents/%s/resume" % a["id"]).json()["data"]["status"] == "ACTIVE"
    assert c.patch("/v1/agents/" + a["id"], json={"status": "PAUSED"}).json()["data"]["status"] == "PAUSED"
    assert c.patch("/v1/agents/" + a["id"], json={"status": "ACTIVE"}).json()["data"]["status"] == "ACTIVE"
    # soft delete: afterwards 404 everywhere, the row is kept.
    r = c.delete("/v1/agents/" + a["id"])
    assert r.status_code == 204, r.text
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/execute"),
                         ("GET", "/events")):
        kw = {"json": {"name": "x"}} if method == "PATCH" else {}
        assert_api_error(c.request(method, "/v1/agents/%s%s" % (a["id"], path), **kw), 404, "NOT_FOUND",
                         message="agent not found")
    assert len(svc.db_query("SELECT id FROM agents WHERE id = ?", (a["id"],))) == 1
    assert a["id"] not in [x["id"] for x in walk(c, "/v1/agents", 200)[0]]


def test_agents_list_pages(svc):
    c = key_client(svc)
    created = [create(c, name="list-%02d" % i)["id"] for i in range(7)]
    r = c.get("/v1/agents")
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"data", "nextToken"} and body["nextToken"] is None
    assert [a["id"] for a in body["data"]] == list(reversed(created))
    assert all(set(a) == AGENT_FIELDS for a in body["data"])
    items, pages = walk(c, "/v1/agents", 3)
    assert [a["id"] for a in items] == list(reversed(created)) and pages == 3
    assert_api_error(c.get("/v1/agents?limit=0"), 400, "VALIDATION_ERROR", field="limit")
    assert_api_error(c.get("/v1/agents?limit=x"), 400, "VALIDATION_ERROR", field="limit")
    assert len(c.get("/v1/agents?limit=500").json()["data"]) == 7  # clamped to 200


# ---- execute and events ----

def test_execute_and_event_fields(svc):
    c = key_client(svc, header="Authorization")
    a = create(c)
    before = jobs_count(svc)
    r = c.post("/v1/agents/%s/execute" % a["id"])  # no body, as the document's curl sends it
    assert r.status_code == 202, r.text
    body = assert_json(r)
    assert set(body) == {"data"} and set(body["data"]) == {"message", "requestId", "agentId"}
    assert body["data"]["message"] == "Execution started. Poll events for status."
    assert body["data"]["agentId"] == a["id"]
    rid = body["data"]["requestId"]
    assert UUID7_RE.match(rid)
    assert jobs_count(svc) == before + 1
    job = svc.db_job(rid)
    assert job["kind"] in ("agent", 0) and job["agent_id"] == a["id"] and job["owner"] == c.sub
    assert json.loads(job["input_json"])["prompt"] == CONTENT  # no body: the agent's content
    e = wait_event(c, rid)
    assert set(e) == EVENT_FIELDS, e
    assert e["id"] == rid and e["agentId"] == a["id"] and e["userId"] == c.sub
    assert e["status"] == "COMPLETED" and e["error"] is None
    assert e["finalModel"] == "echo"
    assert e["browserStepCount"] == 0 and e["browserSessionSeconds"] == 0
    for k in ("startedAt", "completedAt", "createdAt", "updatedAt"):
        assert is_ms_z(e[k]), (k, e)
    assert parse_rfc3339(e["createdAt"]) <= parse_rfc3339(e["startedAt"]) <= parse_rfc3339(e["completedAt"])
    r = c.get("/v1/agents/%s/events" % a["id"])
    assert r.status_code == 200
    assert r.json() == {"data": [e], "nextToken": None}
    r = c.get("/v1/events?agentId=" + a["id"])
    assert r.json() == {"data": [e], "nextToken": None}
    assert e in c.get("/v1/events").json()["data"]
    # A prompt in the body is used as is; Idempotency-Key replays the same run.
    rid2 = execute(c, a["id"], json={"prompt": "Summarise today"}, headers={"Idempotency-Key": "evt-1"})
    assert json.loads(svc.db_job(rid2)["input_json"])["prompt"] == "Summarise today"
    assert execute(c, a["id"], json={"prompt": "Summarise today"}, headers={"Idempotency-Key": "evt-1"}) == rid2
    assert_api_error(c.post("/v1/agents/%s/execute" % a["id"], json={"prompt": 5}), 400, "VALIDATION_ERROR",
                     field="prompt")
    assert_api_error(c.post("/v1/agents/%s/execute" % a["id"], json={"prompt": ""}), 400, "VALIDATION_ERROR",
                     field="prompt")
    wait_event(c, rid2)


def test_paused_agent_manual_run(svc):
    c = key_client(svc)
    a = create(c)
    c.post("/v1/agents/%s/pause" % a["id"])
    rid = execute(c, a["id"])
    assert wait_event(c, rid)["status"] == "COMPLETED"


def test_document_polling_loop(svc):
    """The bash curl | jq loop of the document, run unchanged against vex with a real key."""
    c = key_client(svc, header="Authorization")
    a = create(c)
    env = dict(os.environ)
    env.update({"API_KEY": c.key, "EXTERNAL_API_ENDPOINT": svc.base, "AGENT_ID": a["id"],
                "CURL_CA_BUNDLE": svc.cert})
    for k in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        env.pop(k, None)
    p = subprocess.run(["bash", POLL], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=120 * vexit.SLOW)
    out = p.stdout.decode()
    assert p.returncode == 0, out
    lines = out.strip().splitlines()
    status_lines = [ln for ln in lines if ln.startswith("Status: ")]
    assert status_lines and status_lines[-1] == "Status: COMPLETED", out
    rid = lines[-1].split(": ", 1)[1]
    assert UUID7_RE.match(rid), out
    assert event(c, rid)["status"] == "COMPLETED"


def test_failed_event_and_status_filter(svc):
    c = key_client(svc)
    good = create(c)
    bad = create(c, model="no-such-model")
    ok_id = execute(c, good["id"])
    bad_id = execute(c, bad["id"])
    wait_event(c, ok_id)
    e = wait_event(c, bad_id, ("COMPLETED", "FAILED"))
    assert e["status"] == "FAILED"
    assert isinstance(e["error"], str) and e["error"].startswith("failed: ") and "no-such-model" in e["error"]
    assert is_ms_z(e["completedAt"])
    ids = lambda q: [x["id"] for x in c.get("/v1/events" + q).json()["data"]]
    assert ids("?status=FAILED") == [bad_id]
    assert ids("?status=COMPLETED") == [ok_id]
    assert ids("?status=PENDING") == [] and ids("?status=RUNNING") == []
    assert ids("?agentId=%s&status=FAILED" % good["id"]) == []
    assert ids("?agentId=%s&status=FAILED" % bad["id"]) == [bad_id]
    assert [x["id"] for x in c.get("/v1/agents/%s/events?status=FAILED" % bad["id"]).json()["data"]] == [bad_id]
    assert c.get("/v1/agents/%s/events?status=FAILED" % good["id"]).json()["data"] == []
    for q in ("status=failed", "status=CANCELED", "status="):
        if q == "status=":
            assert c.get("/v1/events?" + q).status_code == 200  # empty means no filter
            continue
        assert_api_error(c.get("/v1/events?" + q), 400, "VALIDATION_ERROR", field="status")


def test_started_filters(svc):
    c = key_client(svc)
    a = create(c)
    first = execute(c, a["id"])
    e1 = wait_event(c, first)
    # The second run is queued once the clock is 2 ms past the first start (the pause below).
    after_first = parse_rfc3339(e1["startedAt"]).timestamp() + 0.002
    wait_for(lambda: time.time() >= after_first, 5, interval=0.001, what="2 ms past the first start")
    second = execute(c, a["id"])
    e2 = wait_event(c, second)
    path = "/v1/agents/%s/events" % a["id"]
    ids = lambda q: [x["id"] for x in c.get(path + q).json()["data"]]
    assert ids("") == [second, first]
    # Times are shown in milliseconds: one past the first start lies between the two runs (the
    # second was queued after the first completed and the clock passed the first start by 2 ms).
    mid = (parse_rfc3339(e1["startedAt"]) + datetime.timedelta(milliseconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert parse_rfc3339(mid + "Z") < parse_rfc3339(e2["completedAt"])
    assert ids("?startedAfter=" + mid + "Z") == [second]
    assert ids("?startedBefore=" + mid + "Z") == [first]
    assert ids("?startedAfter=%sZ&startedBefore=%sZ" % (mid, mid)) == []
    assert ids("?startedAfter=2000-01-01T00:00:00Z") == [second, first]
    assert ids("?startedAfter=2000-01-01T00:00:00.000%2B02:00&startedBefore=2999-01-01") == [second, first]
    assert ids("?startedBefore=2000-01-01T00:00:00Z") == []
    assert ids("?startedAfter=2999-01-01T00:00:00Z") == []
    for key in ("startedAfter", "startedBefore"):
        for bad in ("yesterday", "2025-13-01T00:00:00Z", "1700000000"):
            assert_api_error(c.get("/v1/events?%s=%s" % (key, bad)), 400, "VALIDATION_ERROR", field=key)


def test_limits_and_bad_params(svc):
    c = key_client(svc)
    for q in ("limit=0", "limit=-1", "limit=abc", "limit=1.5"):
        assert_api_error(c.get("/v1/events?" + q), 400, "VALIDATION_ERROR", field="limit")
    assert c.get("/v1/events?limit=1000").status_code == 200  # clamped to 200
    assert_api_error(c.get("/v1/events?agentId=nope"), 400, "VALIDATION_ERROR", field="agentId")


def test_events_pagination_while_runs_arrive(svc):
    c = key_client(svc)
    a = create(c)
    snapshot = [execute(c, a["id"]) for _ in range(23)]
    for rid in snapshot:
        wait_event(c, rid, ("COMPLETED", "FAILED"))
    path = "/v1/agents/%s/events" % a["id"]
    seen, token, pages = [], None, 0
    arrivals = []
    while True:
        r = c.get(path + "?limit=5" + ("&nextToken=" + token if token else ""))
        assert r.status_code == 200, r.text
        body = r.json()
        seen += [x["id"] for x in body["data"]]
        pages += 1
        arrivals.append(execute(c, a["id"]))  # a new run between every two pages
        token = body["nextToken"]
        if token is None:
            break
    assert pages == 5
    assert len(seen) == len(set(seen)), "no duplicates"
    assert seen == list(reversed(snapshot)), "every event present when the walk began, newest first, once"
    assert not set(arrivals) & set(seen)
    # The same walk over /v1/events?agentId sees everything now present.
    items, _ = walk(c, "/v1/events?agentId=" + a["id"], 7)
    assert [x["id"] for x in items] == sorted(snapshot + arrivals, reverse=True)
    for rid in arrivals:
        wait_event(c, rid, ("COMPLETED", "FAILED"))


def test_tampered_and_foreign_tokens(svc):
    c = key_client(svc)
    other = key_client(svc)
    a = create(c)
    for _ in range(3):
        wait_event(c, execute(c, a["id"]))
    tok = c.get("/v1/events?limit=1").json()["nextToken"]
    assert isinstance(tok, str)
    assert c.get("/v1/events?limit=1&nextToken=" + tok).status_code == 200
    flipped = tok[:10] + ("A" if tok[10] != "A" else "B") + tok[11:]
    for bad in (flipped, tok[:-1], tok + "A", "garbage", "e30.e30", tok.split(".")[0]):
        assert_api_error(c.get("/v1/events?limit=1&nextToken=" + bad), 400, "INVALID_NEXT_TOKEN",
                         field="nextToken")
    # Another owner, another listing or other filters: refused, not reinterpreted.
    assert_api_error(other.get("/v1/events?limit=1&nextToken=" + tok), 400, "INVALID_NEXT_TOKEN")
    assert_api_error(c.get("/v1/events?status=COMPLETED&limit=1&nextToken=" + tok), 400, "INVALID_NEXT_TOKEN")
    assert_api_error(c.get("/v1/agents/%s/events?limit=1&nextToken=%s" % (a["id"], tok)), 400,
                     "INVALID_NEXT_TOKEN")
    assert_api_error(c.get("/v1/agents?nextToken=" + tok), 400, "INVALID_NEXT_TOKEN")
    for _ in range(2):
        create(c)
    atok = c.get("/v1/agents?limit=1").json()["nextToken"]
    assert_api_error(other.get("/v1/agents?limit=1&nextToken=" + atok), 400, "INVALID_NEXT_TOKEN")


def test_cross_owner_404(svc):
    owner = key_client(svc)
    intruder = key_client(svc, header="Authorization")
    a = create(owner)
    rid = execute(owner, a["id"])
    wait_event(owner, rid)
    before = svc.counts()
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/pause"), ("POST", "/resume"),
                         ("POST", "/execute"), ("GET", "/events")):
        kw = {"json": {"name": "stolen"}} if method == "PATCH" else {}
        assert_api_error(intruder.request(method, "/v1/agents/%s%s" % (a["id"], path), **kw), 404, "NOT_FOUND")
    assert_api_error(intruder.get("/v1/events/" + rid), 404, "NOT_FOUND")
    assert intruder.get("/v1/events?agentId=" + a["id"]).json() == {"data": [], "nextToken": None}
    assert intruder.get("/v1/events").json()["data"] == []
    assert intruder.get("/v1/agents").json() == {"data": [], "nextToken": None}
    assert svc.counts() == before
    assert owner.get("/v1/agents/" + a["id"]).json()["data"]["name"] == a["name"]


def test_reads_never_create_events(svc):
    c = key_client(svc)
    a = create(c)
    wait_event(c, execute(c, a["id"]))
    before = svc.counts()
    for path in ("/v1/agents", "/v1/agents/" + a["id"], "/v1/agents/%s/events" % a["id"], "/v1/events",
                 "/v1/events?agentId=" + a["id"], "/v1/events?status=PENDING&limit=1"):
        for _ in range(3):
            assert c.get(path).status_code == 200
    assert svc.counts() == before


def test_unauthenticated(svc):
    r = svc.get("/v1/agents")
    assert_api_error(r, 401, "UNAUTHORIZED")
    r = svc.get("/v1/events", headers={"X-Api-Key": "vex_" + "A" * 43})
    assert r.status_code == 401 and "error" in r.json()


@pytest.mark.parametrize("fresh_svc", [{"workers": 2}], indirect=True)
def test_pending_and_canceled(fresh_svc):
    svc = fresh_svc
    svc.runner.stop()  # nothing runs: the event stays PENDING
    c = key_client(svc)
    a = create(c)
    rid = execute(c, a["id"])
    e = event(c, rid)
    assert e["status"] == "PENDING" and e["startedAt"] is None and e["completedAt"] is None
    assert e["error"] is None and e["finalModel"] is None and is_ms_z(e["createdAt"])
    assert [x["id"] for x in c.get("/v1/events?status=PENDING").json()["data"]] == [rid]
    # PENDING events have not started: a startedAfter/startedBefore bound leaves them out.
    assert c.get("/v1/events?startedAfter=2000-01-01T00:00:00Z").json()["data"] == []
    # Canceled (through the vex dialect) shows as FAILED, saying so.
    r = c.post("/api/v1/jobs/%s/cancel" % rid)
    assert r.status_code == 200, r.text
    e = event(c, rid)
    assert e["status"] == "FAILED" and e["error"].startswith("canceled: "), e
    assert [x["id"] for x in c.get("/v1/events?status=FAILED").json()["data"]] == [rid]
