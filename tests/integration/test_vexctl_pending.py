# test_vexctl_pending.py - vexctl's commands over the endpoints issue 14's other parts add (stats,
# runners, jobs retry, a job's deliveries, webhooks resend), written against the contracts
# (/work/wt/_prompts/contracts14.md). They pass once those endpoints are merged; until then they fail.
import json
import threading
import http.server

import pytest

import vexit
from vexctl_cli import run, service_env


@pytest.fixture(scope="module")
def user(svc):
    c = svc.client()
    return c, service_env(svc, token=c.token)


def test_jobs_retry_links_both_ways_and_refuses_twice(svc, user):
    c, env = user
    failed = c.tool("fail", {"message": "first"})
    c.wait_job(failed, ("failed",))
    r = run(env, "jobs", "retry", failed, "--json")
    assert r.rc == 0, r
    new = r.json()
    assert new["retry_of"] == failed and new["job_id"] != failed
    assert c.job(failed)["retried_by"] == new["job_id"]
    # a second retry: the server's 409 JOB_ALREADY_RETRIED, exit 3
    r = run(env, "jobs", "retry", failed)
    assert r.rc == 3 and "HTTP 409 JOB_ALREADY_RETRIED" in r.err, r
    # a completed job is not retryable
    ok = c.tool("echo", {})
    c.wait_job(ok)
    r = run(env, "jobs", "retry", ok)
    assert r.rc == 3 and "HTTP 409 JOB_NOT_RETRYABLE" in r.err, r
    # --wait follows the new job: fail fails again, exit 1
    timed = c.tool("sleep", {"ms": 60000}, timeout_ms=100)
    c.wait_job(timed, ("timeout",))
    r = run(env, "jobs", "retry", timed, "--wait")
    assert r.rc == 1 and r.out.splitlines()[-1].startswith("timeout: EXECUTION_TIMEOUT"), r
    # another owner's job: 404
    other = svc.client()
    theirs = other.tool("fail", {})
    other.wait_job(theirs, ("failed",))
    r = run(env, "jobs", "retry", theirs)
    assert r.rc == 3 and "HTTP 404" in r.err, r


def test_stats_json_is_the_api_and_the_table_reads(svc, user):
    c, env = user
    job = c.tool("echo", {})
    c.wait_job(job)
    # the per-tool figures come from the rollup the runner folds about once a second: wait for the job in it
    vexit.wait_for(lambda: c.get("/api/v1/stats").json()["tools"], 30, what="the stats rollup to fold the job")
    r = run(env, "stats", "--json")
    assert r.rc == 0, r
    s = r.json()
    assert s["scope"] == "owner" and s["owner"] == c.sub and s["jobs"]["completed"] >= 1
    r = run(env, "stats")
    assert r.rc == 0, r
    assert r.out.startswith("scope owner %s" % c.sub)
    assert "completed %d" % s["jobs"]["completed"] in r.out
    assert "TOOL" in r.out and "echo" in r.out and "RUNNER" in r.out
    # a user cannot ask for another owner
    r = run(env, "stats", "--owner", "someone-else")
    assert r.rc == 3 and "HTTP 403" in r.err, r
    admin = service_env(svc, token=svc.token(role="admin"))
    r = run(admin, "stats", "--owner", c.sub, "--json")
    assert r.rc == 0 and r.json()["owner"] == c.sub, r


def test_runners_lists_slots_and_running_jobs(svc, user):
    c, env = user
    job = c.tool("sleep", {"ms": 60000})
    vexit.wait_for(lambda: c.job(job)["status"] == "running", what="the job to run")
    r = run(env, "runners", "--json")
    assert r.rc == 0, r
    runners = r.json()["runners"]
    assert any(j["job_id"] == job for rn in runners for j in rn["running"])
    r = run(env, "runners")
    assert r.rc == 0 and r.out.split()[:7] == ["RUNNER", "HOST", "PID", "BUSY/SLOTS", "PAUSED", "LAST_SEEN", "STARTED"]
    assert job in r.out and "sleep" in r.out, r
    # another user does not see this job among the running ones
    r = run(service_env(svc), "runners")
    assert r.rc == 0 and job not in r.out, r
    c.post("/api/v1/jobs/%s/cancel" % job)


class Receiver(http.server.BaseHTTPRequestHandler):
    bodies = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        Receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


def test_job_deliveries_and_resend(svc, user):
    c, env = user
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = "http://127.0.0.1:%d/hook" % srv.server_address[1]
        hook = c.post("/api/v1/webhooks", json={"url": url, "events": ["job.completed"]}).json()["id"]
        job = c.tool("echo", {"x": 1})
        c.wait_job(job)
        vexit.wait_for(lambda: len(Receiver.bodies) >= 1, what="the delivery")
        r = run(env, "webhooks", "deliveries", "--job", job, "--json")
        assert r.rc == 0, r
        deliveries = r.json()["deliveries"]
        assert len(deliveries) == 1 and json.loads(deliveries[0]["request"]["body"]) == json.loads(Receiver.bodies[0])
        did = deliveries[0]["id"]
        r = run(env, "webhooks", "deliveries", hook)
        assert r.rc == 0 and did in r.out and "job.completed" in r.out, r
        r = run(env, "webhooks", "resend", hook, did, "--json")
        assert r.rc == 0, r
        assert r.json()["resend_of"] == did
        vexit.wait_for(lambda: len(Receiver.bodies) >= 2, what="the re-sent delivery")
        assert Receiver.bodies[1] == Receiver.bodies[0]
        r = run(env, "webhooks", "resend", hook, did)
        assert r.rc == 0 and r.out.split()[0] == "DELIVERY", r
        # another owner cannot re-send it
        r = run(service_env(svc), "webhooks", "resend", hook, did)
        assert r.rc == 3 and "HTTP 404" in r.err, r
    finally:
        srv.shutdown()
        srv.server_close()
