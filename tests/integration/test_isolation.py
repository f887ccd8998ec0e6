# test_isolation.py - owners see only their own agents and jobs (404, not 403); admins may read everyone's.
from vexit import assert_api_error

ROLE = "You are a test agent"


def test_owner_isolation(svc):
    a, b = svc.client(), svc.client()
    agent = a.create_agent(name="private", role=ROLE)
    job = a.execute(agent["id"], "secret prompt")["job_id"]
    a.wait_job(job)
    sleeper = a.tool("sleep", {"ms": 60000, "steps": 2})

    before = svc.counts()
    assert_api_error(b.get("/api/v1/agents/" + agent["id"]), 404, "NOT_FOUND", message="agent not found")
    assert_api_error(b.patch("/api/v1/agents/" + agent["id"], json={"name": "mine"}), 404, "NOT_FOUND",
                     message="agent not found")
    assert_api_error(b.delete("/api/v1/agents/" + agent["id"]), 404, "NOT_FOUND", message="agent not found")
    assert_api_error(b.post("/api/v1/agents/%s/execute" % agent["id"], json={"prompt": "x"}), 404, "NOT_FOUND",
                     message="agent not found")
    assert_api_error(b.get("/api/v1/jobs/" + job), 404, "NOT_FOUND", message="job not found")
    assert_api_error(b.post("/api/v1/jobs/%s/cancel" % job), 404, "NOT_FOUND", message="job not found")
    assert_api_error(b.post("/api/v1/jobs/%s/cancel" % sleeper), 404, "NOT_FOUND", message="job not found")
    assert b.get("/api/v1/agents").json()["agents"] == []
    assert b.get("/api/v1/jobs").json()["jobs"] == []
    assert svc.counts() == before
    assert a.get("/api/v1/agents/" + agent["id"]).json()["name"] == "private"
    assert a.job(sleeper)["status"] in ("pending", "running")

    admin = svc.client(role="admin")
    r = admin.get("/api/v1/agents/" + agent["id"])
    assert r.status_code == 200 and r.json()["id"] == agent["id"], r.text
    r = admin.get("/api/v1/jobs/" + job)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "completed" and r.json()["result"]["prompt"] == "secret prompt"
    # The job's cache entry and the SQLite fallback agree for the admin too.
    assert r.json() == a.job(job)
    a.post("/api/v1/jobs/%s/cancel" % sleeper)
