# test_job_input.py - GET /api/v1/jobs/{id}/input: what a job was given, to its owner (and admins) only.
import uuid

import vexit


def test_tool_job_input_is_its_arguments_as_sent(svc):
    c = svc.client("input-%s" % uuid.uuid4().hex[:8])
    args = {"text": "caf\u00e9 \u2603 <script>alert(1)</script>", "n": [1, 2.5, None, True], "deep": {"a": {"b": "c"}}}
    job = c.tool("echo", args)
    r = c.get("/api/v1/jobs/%s/input" % job)
    assert r.status_code == 200, r.text
    assert r.json() == {"job_id": job, "kind": "tool", "tool": "echo", "input": args}
    assert r.headers["Content-Type"].startswith("application/json")
    c.wait_job(job)
    # unchanged once the job ran, and the job itself still carries no input
    assert c.get("/api/v1/jobs/%s/input" % job).json()["input"] == args
    assert "input" not in c.job(job)


def test_agent_job_input_is_its_prompt(svc):
    c = svc.client("input-agent-%s" % uuid.uuid4().hex[:8])
    agent = c.create_agent()["id"]
    job = c.execute(agent, prompt="say \"hi\"\nto me", context_id="ctx-1")["job_id"]
    r = c.get("/api/v1/jobs/%s/input" % job)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["kind"] == "agent" and doc["agent_id"] == agent and "tool" not in doc
    assert doc["input"]["prompt"] == "say \"hi\"\nto me" and doc["input"]["context_id"] == "ctx-1"


def test_another_owner_and_bad_ids_are_not_found(svc):
    alice, mallory = svc.client("input-a-%s" % uuid.uuid4().hex[:8]), svc.client("input-m-%s" % uuid.uuid4().hex[:8])
    job = alice.tool("echo", {"secret": "alice's"})
    for who in (mallory,):
        r = who.get("/api/v1/jobs/%s/input" % job)
        assert r.status_code == 404 and r.json()["error"]["code"] == "NOT_FOUND", r.text
        assert "alice" not in r.text
    for bad in (str(uuid.uuid4()), "not-a-uuid", "x" * 300, ".."):
        r = alice.get("/api/v1/jobs/%s/input" % bad)
        assert r.status_code == 404, (bad, r.text)
    admin = svc.client("input-admin-%s" % uuid.uuid4().hex[:8], role="admin")
    r = admin.get("/api/v1/jobs/%s/input" % job)
    assert r.status_code == 200 and r.json()["input"] == {"secret": "alice's"}, r.text
    # no credential: 401; a write method: 405
    assert svc.get("/api/v1/jobs/%s/input" % job).status_code == 401
    assert alice.post("/api/v1/jobs/%s/input" % job, json={}).status_code == 405
