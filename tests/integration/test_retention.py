# test_retention.py - [store] job_retention_s: finished jobs past it disappear (404 in every dialect, deliveries and
# attempts gone, cached copies too); newer finished jobs and unfinished ones stay (docs/retention.md).
import pytest

import vexit
from vexit import KeyClient, wait_for

RETENTION_S = 600
HOUR_US = 3600 * 1000000


@pytest.fixture(scope="module")
def rsvc(request, tls):
    svc = vexit.Service(tls, runner_env={"VEX_STORE_JOB_RETENTION_S": str(RETENTION_S)})
    request.addfinalizer(svc.stop)
    svc.start()
    return svc


def rows(svc, sql, *params):
    """The one number "sql" (SELECT COUNT(*) AS n ...) answers."""
    return svc.db_query(sql, params)[0]["n"]


def deliveries_of(svc, job):
    return rows(svc, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE job_id = ?", job)


def attempts_of(svc, job):
    return rows(svc, "SELECT COUNT(*) AS n FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id"
                     " WHERE d.job_id = ?", job)


def backdate(svc, job, us):
    """What an hour passing does to a finished job, as the prune sees it: its completed_at moves back."""
    svc.db_exec([("UPDATE jobs SET created_at = created_at - ?, started_at = started_at - ?,"
                  " completed_at = completed_at - ? WHERE id = ?", (us, us, us, job))])


def test_finished_jobs_past_retention_disappear(rsvc):
    owner = vexit.new_sub()
    c = rsvc.client(sub=owner, plan="enterprise")
    k = KeyClient(rsvc, sub=owner, plan="enterprise", header="X-Api-Key")
    # every delivery fails (nothing listens there) and is retried: deliveries and attempts pile up
    r = c.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:%d/hook" % vexit.free_port()})
    assert r.status_code == 201, r.text

    old_vex = c.tool("echo", {"n": 1})
    r = k.post("/jobs/submit", json={"tool": "echo", "arguments": {"n": 2}})
    assert r.status_code == 200, r.text
    old_corex = r.json()["job_id"]
    r = k.post("/v1/agents", json={"name": "retention agent", "baseUrl": "https://example.com",
                                   "mode": "SCHEDULED", "content": "You are a retention test agent",
                                   "schedule": {"tasksPerDay": 1, "times": ["09:00"]}})
    assert r.status_code == 201, r.text
    r = k.post("/v1/agents/%s/execute" % r.json()["data"]["id"])
    assert r.status_code == 202, r.text
    old_events = r.json()["data"]["requestId"]
    old = [old_vex, old_corex, old_events]
    for job in old:
        c.wait_job(job, statuses=vexit.TERMINAL)
    young = c.tool("echo", {"n": 3})
    c.wait_job(young)
    running = c.tool("sleep", {"ms": 60000})
    c.wait_job(running, statuses=("running",))
    for job in old + [young]:
        wait_for(lambda: attempts_of(rsvc, job) > 0, 30, what="a delivery attempt of job %s" % job)
    # polled once each: memcached holds a copy of every one
    assert c.get("/api/v1/jobs/" + old_vex).status_code == 200
    assert k.get("/jobs/" + old_corex).status_code == 200
    assert k.get("/v1/events/" + old_events).status_code == 200

    for job in old:
        backdate(rsvc, job, HOUR_US)
    backdate(rsvc, running, HOUR_US)  # unfinished: however old, it stays

    wait_for(lambda: rows(rsvc, "SELECT COUNT(*) AS n FROM jobs WHERE id IN (?, ?, ?)", *old) == 0, 30,
             what="the prune of the jobs past retention")
    r = c.get("/api/v1/jobs/" + old_vex)
    assert r.status_code == 404, r.text
    r = k.get("/jobs/" + old_corex)
    assert r.status_code == 404 and r.json()["error"]["code"] == "JOB_NOT_FOUND", r.text
    r = k.get("/v1/events/" + old_events)
    assert r.status_code == 404, r.text
    for job in old:
        assert deliveries_of(rsvc, job) == 0 and attempts_of(rsvc, job) == 0, job
        assert c.get("/api/v1/jobs/" + job).status_code == 404  # the cached copy went too
    listed = [j["job_id"] for j in c.get("/api/v1/jobs?limit=100").json()["jobs"]]
    assert young in listed and running in listed and not set(old) & set(listed), listed

    assert c.job(young)["status"] == "completed"
    assert deliveries_of(rsvc, young) > 0
    assert c.job(running)["status"] == "running"
    assert c.post("/api/v1/jobs/%s/cancel" % running).status_code in (200, 202)
    c.wait_job(running, statuses=("canceled",))
