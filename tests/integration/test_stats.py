# test_stats.py - GET /api/v1/stats and GET /api/v1/runners: counts and series match what was submitted and how
# it ended, a user sees only their own numbers and running jobs, an admin every owner's or one's.
import datetime
import uuid

import vexit

TERMINAL = ("completed", "failed", "canceled", "timeout")


def sub(tag):
    return "stats-%s-%s" % (tag, uuid.uuid4().hex[:8])


def finish_mix(c):
    """Two echo jobs completed, one fail job failed, one sleep timed out, one sleep canceled while queued or
    running. Returns the jobs' final envelopes by name."""
    done = {}
    done["echo1"] = c.wait_job(c.tool("echo", {"n": 1}))
    done["echo2"] = c.wait_job(c.tool("echo", {"n": 2}))
    done["fail"] = c.wait_job(c.tool("fail", {"code": "BROKEN", "message": "it broke"}), ("failed",))
    done["timeout"] = c.wait_job(c.tool("sleep", {"ms": 5000}, timeout_ms=50), ("timeout",))
    slow = c.tool("sleep", {"ms": 30000})
    r = c.post("/api/v1/jobs/%s/cancel" % slow)
    assert r.status_code in (200, 202), r.text
    done["canceled"] = c.wait_job(slow, ("canceled",))
    return done


def stats(c, query=""):
    r = c.get("/api/v1/stats" + query)
    assert r.status_code == 200, r.text
    return r.json()


def by_name(doc):
    return {(t["kind"], t["name"]): t["last_hour"] for t in doc["tools"]}


def folded(c, submitted=5, ended=4, query=""):
    """The stats once the runner has folded finish_mix's jobs into the per-minute rollup (it does so about once
    a second, off the path of the jobs): "submitted" submits and "ended" completed or failed ones."""
    def done():
        doc = stats(c, query)
        hour = [t["last_hour"] for t in doc["tools"]]
        ok = sum(h["submitted"] for h in hour) == submitted and sum(h["completed"] + h["failed"] for h in hour) == ended
        return doc if ok else None
    return vexit.wait_for(done, 30, what="the stats rollup to fold the jobs")


def test_counts_tools_and_series_match_what_ran(svc):
    c = svc.client(sub("mix"))
    finish_mix(c)
    doc = folded(c)
    assert doc["scope"] == "owner" and doc["owner"] == c.sub
    datetime.datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00"))
    assert doc["jobs"] == {"pending": 0, "running": 0, "completed": 2, "failed": 1, "canceled": 1, "timeout": 1}
    assert doc["oldest_pending"] is None
    tools = by_name(doc)
    assert set(tools) == {("tool", "echo"), ("tool", "fail"), ("tool", "sleep")}, tools
    echo = tools[("tool", "echo")]
    assert (echo["submitted"], echo["completed"], echo["failed"]) == (2, 2, 0)
    assert echo["p50_ms"] is not None and echo["p95_ms"] >= echo["p50_ms"] >= 0
    assert (tools[("tool", "fail")]["submitted"], tools[("tool", "fail")]["failed"]) == (1, 1)
    sleep = tools[("tool", "sleep")]
    # the timed-out one counts as failed; the canceled one as neither
    assert (sleep["submitted"], sleep["completed"], sleep["failed"]) == (2, 0, 1)
    assert sleep["p50_ms"] is None and sleep["p95_ms"] is None
    series = doc["series"]
    assert len(series) == 60
    minutes = [datetime.datetime.fromisoformat(s["minute"].replace("Z", "+00:00")) for s in series]
    assert all(b - a == datetime.timedelta(minutes=1) for a, b in zip(minutes, minutes[1:]))
    assert minutes[-1] <= datetime.datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00"))
    assert sum(s["completed"] for s in series) == 2
    assert sum(s["failed"] for s in series) == 2
    for s in series:
        assert (s["p50_ms"] is None) == (s["completed"] == 0), s
    assert doc["paused"] == {"all": False, "tools": []}
    assert isinstance(doc["runners"], list) and doc["runners"]


def test_oldest_pending(svc):
    """A free-plan owner runs one job at a time: with a long sleep running, the next job stays queued and is
    the oldest pending one, in that owner's stats and the admin's."""
    c = svc.client(sub("queue"), plan="free")
    admin = svc.client(sub("queue-admin"), role="admin")
    busy = c.tool("sleep", {"ms": 30000})
    c.wait_job(busy, ("running",))
    waiting = c.tool("echo", {"waiting": True})
    queued_at = c.job(waiting)["queued_at"]
    assert c.job(waiting)["status"] == "pending"
    doc = stats(c)
    assert doc["jobs"]["pending"] == 1 and doc["jobs"]["running"] == 1
    assert doc["oldest_pending"]["job_id"] == waiting
    assert doc["oldest_pending"]["queued_at"] == queued_at
    assert doc["oldest_pending"]["age_s"] >= 0
    assert stats(admin, "?owner=" + c.sub)["oldest_pending"]["job_id"] == waiting
    assert stats(admin)["oldest_pending"] is not None
    for j in (waiting, busy):
        r = c.post("/api/v1/jobs/%s/cancel" % j)
        assert r.status_code in (200, 202), r.text
        c.wait_job(j, ("canceled",))
    doc = stats(c)
    assert doc["oldest_pending"] is None and doc["jobs"]["canceled"] == 2


def test_scope(svc):
    """Users see only their own numbers; an admin everyone's, or one owner's."""
    alice, bob = svc.client(sub("alice")), svc.client(sub("bob"))
    admin = svc.client(sub("admin"), role="admin")
    alice_jobs = finish_mix(alice)
    folded(alice)
    doc = stats(bob)
    assert doc["owner"] == bob.sub
    assert doc["jobs"] == {"pending": 0, "running": 0, "completed": 0, "failed": 0, "canceled": 0, "timeout": 0}
    assert doc["tools"] == [] and sum(s["completed"] + s["failed"] for s in doc["series"]) == 0
    # a user naming someone else: 403 in the vex shape; naming themselves: their own
    r = bob.get("/api/v1/stats?owner=" + alice.sub)
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "FORBIDDEN"
    assert stats(bob, "?owner=" + bob.sub)["jobs"] == doc["jobs"]
    # admin: everyone (at least alice's), or alice's exactly
    everyone = stats(admin)
    assert everyone["scope"] == "all" and everyone["owner"] is None
    for k, v in stats(alice)["jobs"].items():
        assert everyone["jobs"][k] >= v
    assert by_name(everyone)[("tool", "echo")]["completed"] >= 2
    narrowed = stats(admin, "?owner=" + alice.sub)
    assert narrowed["scope"] == "owner" and narrowed["owner"] == alice.sub
    assert narrowed["jobs"] == stats(alice)["jobs"]
    assert len(alice_jobs) == 5
    r = admin.get("/api/v1/stats?owner=" + "x" * 300)
    assert r.status_code == 400 and r.json()["error"]["field"] == "owner", r.text


def test_runners_show_slots_and_only_visible_running_jobs(svc):
    alice, bob = svc.client(sub("run-a")), svc.client(sub("run-b"))
    admin = svc.client(sub("run-admin"), role="admin")
    job = alice.tool("sleep", {"ms": 30000})
    alice.wait_job(job, ("running",))

    def runner_with(c, job_id):
        r = c.get("/api/v1/runners")
        assert r.status_code == 200, r.text
        for run in r.json()["runners"]:
            if any(j["job_id"] == job_id for j in run["running"]):
                return run
        return None

    run = vexit.wait_for(lambda: (lambda x: x if x and x["busy"] >= 1 else None)(runner_with(alice, job)), 15,
                         what="the runner to list the running job with a busy slot")
    assert run["pid"] == svc.runner.pid
    assert run["host"] and run["slots"] >= run["busy"] >= 1 and run["paused"] is False
    for k in ("started_at", "last_seen"):
        datetime.datetime.fromisoformat(run[k].replace("Z", "+00:00"))
    mine = [j for j in run["running"] if j["job_id"] == job][0]
    assert mine["kind"] == "tool" and mine["tool"] == "sleep" and mine["started_at"]
    assert "agent_id" not in mine
    # bob sees the runner, not alice's job; the admin sees it; stats of alice list it too
    r = bob.get("/api/v1/runners")
    assert r.status_code == 200
    assert r.json()["runners"] and all(j["job_id"] != job for run_ in r.json()["runners"] for j in run_["running"])
    assert all(j["job_id"] != job for run_ in stats(bob)["runners"] for j in run_["running"])
    assert runner_with(admin, job) is not None
    assert any(j["job_id"] == job for run_ in stats(alice)["runners"] for j in run_["running"])
    assert stats(alice)["jobs"]["running"] == 1
    r = alice.post("/api/v1/jobs/%s/cancel" % job)
    assert r.status_code in (200, 202), r.text
    alice.wait_job(job, ("canceled",))
    assert svc.get("/api/v1/runners").status_code == 401


def test_stats_need_a_credential(svc):
    r = svc.get("/api/v1/stats")
    assert r.status_code == 401, r.text
