# test_job_filters.py - the job listings' filters (status sets, kind, tool, agent_id, created_after,
# created_before) in both job dialects, combined with paging; bad values 400 naming the parameter.
import datetime
import urllib.parse
import uuid

import pytest


def iso_ms(ts):
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))


@pytest.fixture(scope="module")
def world(svc):
    """alice: echo x2 (completed), fail (failed), sleep (completed), one agent job; bob: echo (completed)."""
    alice = svc.client("filters-alice-%s" % uuid.uuid4().hex[:8])
    bob = svc.client("filters-bob-%s" % uuid.uuid4().hex[:8])
    jobs = []
    for name, args, status in (("echo", {"n": 1}, "completed"), ("fail", {}, "failed"),
                               ("sleep", {"ms": 1}, "completed"), ("echo", {"n": 2}, "completed")):
        jid = alice.tool(name, args)
        env = alice.wait_job(jid, (status,))
        jobs.append({"id": jid, "tool": name, "kind": "tool", "status": status, "at": iso_ms(env["queued_at"])})
    agent = alice.create_agent()
    out = alice.execute(agent["id"])
    env = alice.wait_job(out["job_id"], ("completed", "failed", "canceled", "timeout"))
    jobs.append({"id": out["job_id"], "tool": None, "kind": "agent", "agent_id": agent["id"],
                 "status": env["status"], "at": iso_ms(env["queued_at"])})
    other = bob.tool("echo", {"n": 3})
    bob.wait_job(other)
    return {"alice": alice, "bob": bob, "jobs": jobs, "agent": agent["id"], "bob_job": other}


def ids(c, path, query, key="jobs", id_key="job_id"):
    r = c.get(path + "?" + urllib.parse.urlencode(query))
    assert r.status_code == 200, r.text
    return [j[id_key] for j in r.json()[key]]


def vex_ids(c, **query):
    query.setdefault("limit", 100)
    return ids(c, "/api/v1/jobs", query)


def expect(world, pred):
    """alice's jobs matching "pred", newest first (as the listings answer)."""
    return [j["id"] for j in reversed(world["jobs"]) if pred(j)]


def test_vex_filters_combine(world):
    a = world["alice"]
    tool_jobs = [j for j in world["jobs"] if j["kind"] == "tool"]
    assert vex_ids(a, tool="echo") == expect(world, lambda j: j["tool"] == "echo")
    assert vex_ids(a, status="completed,failed", kind="tool") == expect(
        world, lambda j: j["kind"] == "tool" and j["status"] in ("completed", "failed"))
    assert vex_ids(a, status="failed") == expect(world, lambda j: j["status"] == "failed")
    assert vex_ids(a, tool="echo", status="failed") == []
    assert vex_ids(a, kind="agent") == expect(world, lambda j: j["kind"] == "agent")
    assert vex_ids(a, agent_id=world["agent"]) == expect(world, lambda j: j["kind"] == "agent")
    assert vex_ids(a, kind="tool", agent_id=world["agent"]) == []
    assert vex_ids(a, tool="no-such-tool") == []
    # a created window: after is inclusive, before exclusive (queued_at is created_at to the millisecond)
    mid = tool_jobs[2]["at"]
    stamp = mid.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert vex_ids(a, created_after=stamp) == expect(world, lambda j: j["at"] >= mid)
    assert vex_ids(a, created_before=stamp) == expect(world, lambda j: j["at"] < mid)
    assert vex_ids(a, created_before=stamp, tool="echo") == expect(
        world, lambda j: j["at"] < mid and j["tool"] == "echo")
    # an offset written with %2B works as well
    plus = (mid + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+02:00"
    assert vex_ids(a, created_after=plus) == expect(world, lambda j: j["at"] >= mid)
    # paging through a filter with the cursor yields the same list
    want = expect(world, lambda j: j["status"] in ("completed", "failed"))
    got, cursor = [], None
    while True:
        q = {"status": "completed,failed", "limit": 1}
        if cursor:
            q["cursor"] = cursor
        r = a.get("/api/v1/jobs?" + urllib.parse.urlencode(q))
        assert r.status_code == 200, r.text
        got += [j["job_id"] for j in r.json()["jobs"]]
        cursor = r.json().get("next_cursor")
        if not cursor:
            break
    assert got == want


def test_filters_never_cross_owners(svc, world):
    bob = world["bob"]
    assert vex_ids(bob, tool="echo") == [world["bob_job"]]
    assert vex_ids(bob, agent_id=world["agent"]) == []
    assert ids(bob, "/jobs", {"tool": "echo"}) == [world["bob_job"]]
    # a user's owner= is ignored: still only their own
    assert vex_ids(bob, tool="echo", owner=world["alice"].sub) == [world["bob_job"]]
    admin = svc.client("filters-admin", role="admin")
    both = vex_ids(admin, tool="echo", owner="*")
    assert world["bob_job"] in both and set(expect(world, lambda j: j["tool"] == "echo")) <= set(both)
    assert vex_ids(admin, tool="echo", owner=world["alice"].sub) == expect(world, lambda j: j["tool"] == "echo")


def test_corex_filters(world):
    a = world["alice"]
    assert ids(a, "/jobs", {"tool": "echo"}) == expect(world, lambda j: j["tool"] == "echo")
    assert ids(a, "/jobs", {}) == expect(world, lambda j: j["kind"] == "tool")  # tool jobs, as before
    assert ids(a, "/jobs", {"status": "completed,failed", "tool": "fail"}) == expect(
        world, lambda j: j["tool"] == "fail")
    assert ids(a, "/jobs", {"kind": "agent"}) == expect(world, lambda j: j["kind"] == "agent")
    assert ids(a, "/jobs", {"agent_id": world["agent"]}) == expect(world, lambda j: j["kind"] == "agent")
    mid = world["jobs"][2]["at"]
    stamp = mid.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert ids(a, "/jobs", {"created_after": stamp}) == expect(world, lambda j: j["kind"] == "tool" and j["at"] >= mid)
    r = a.get("/jobs?" + urllib.parse.urlencode({"tool": "echo", "limit": 1}))
    assert r.status_code == 200
    assert r.json()["pagination"]["total"] == 2 and len(r.json()["jobs"]) == 1
    # pending is the vex name; corex says queued
    assert ids(a, "/jobs", {"status": "queued"}) == []


BAD = [
    ({"status": "bogus"}, "status"),
    ({"status": "completed,"}, "status"),
    ({"kind": "robot"}, "kind"),
    ({"agent_id": "not-a-uuid"}, "agent_id"),
    ({"created_after": "yesterday"}, "created_after"),
    ({"created_before": "2026-13-01T00:00:00Z"}, "created_before"),
    ({"created_after": "2026-01-02T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"}, "created_before"),
    ({"tool": "a\x01b"}, "tool"),
    ({"tool": "t" * 300}, "tool"),
]


@pytest.mark.parametrize("query,param", BAD + [({"status": "queued"}, "status"), ({"status": ""}, "status")])
def test_vex_bad_filters_are_400(world, query, param):
    r = world["alice"].get("/api/v1/jobs?" + urllib.parse.urlencode(query))
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "VALIDATION_ERROR" and err["field"] == param, err


@pytest.mark.parametrize("query,param", BAD + [({"status": "pending"}, "status")])
def test_corex_bad_filters_are_400(world, query, param):
    r = world["alice"].get("/jobs?" + urllib.parse.urlencode(query))
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert err["code"] == "INVALID_PARAMETER" and err["argument"] == param, err
