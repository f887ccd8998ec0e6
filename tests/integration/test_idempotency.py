# test_idempotency.py - Idempotency-Key: same owner + key -> the same job and one row; other owners are separate.
import uuid

from vexit import assert_api_error

ROLE = "You are a test agent"


def _rows_with_key(svc, key):
    return [{"id": r["id"], "owner": r["owner"]} for r in svc.jobs_with_key(key)]


def test_same_key_same_job(svc):
    c = svc.client()
    a = c.create_agent(role=ROLE)
    key = "idem-" + uuid.uuid4().hex
    path = "/api/v1/agents/%s/execute" % a["id"]
    r1 = c.post(path, json={"prompt": "once"}, headers={"Idempotency-Key": key})
    assert r1.status_code == 200, r1.text
    j1 = r1.json()["job_id"]
    assert r1.headers.get("Idempotent-Replayed") in (None, "false")
    r2 = c.post(path, json={"prompt": "once"}, headers={"Idempotency-Key": key})
    assert r2.status_code == 200, r2.text
    assert r2.json()["job_id"] == j1
    assert r2.json()["response"] == "Job queued: " + j1
    assert r2.headers.get("Idempotent-Replayed") == "true"
    assert r2.headers.get("Location") == "/api/v1/jobs/" + j1
    assert _rows_with_key(svc, key) == [{"id": j1, "owner": c.sub}]
    c.wait_job(j1)
    # Still the same job after it completed.
    r3 = c.post(path, json={"prompt": "once"}, headers={"Idempotency-Key": key})
    assert r3.status_code == 200 and r3.json()["job_id"] == j1
    assert len(_rows_with_key(svc, key)) == 1
    # Without a key every request is a new job.
    j4 = c.execute(a["id"], "once")["job_id"]
    j5 = c.execute(a["id"], "once")["job_id"]
    assert len({j1, j4, j5}) == 3


def test_same_key_other_owner_other_job(svc):
    key = "shared-" + uuid.uuid4().hex
    ids = []
    for _ in range(2):
        c = svc.client()
        a = c.create_agent(role=ROLE)
        r = c.post("/api/v1/agents/%s/execute" % a["id"], json={"prompt": "p"}, headers={"Idempotency-Key": key})
        assert r.status_code == 200, r.text
        ids.append(r.json()["job_id"])
    assert ids[0] != ids[1]
    assert sorted(r["id"] for r in _rows_with_key(svc, key)) == sorted(ids)


def test_tool_job_idempotency(svc):
    c = svc.client()
    key = "tool-" + uuid.uuid4().hex
    j1 = c.tool("echo", {"a": 1}, headers={"Idempotency-Key": key})
    r = c.post("/api/v1/tools/echo/execute", json={"arguments": {"a": 1}}, headers={"Idempotency-Key": key})
    assert r.status_code == 200 and r.json()["job_id"] == j1
    assert r.headers.get("Idempotent-Replayed") == "true"
    assert len(_rows_with_key(svc, key)) == 1


def test_bad_idempotency_key(svc):
    c = svc.client()
    a = c.create_agent(role=ROLE)
    before = svc.counts()
    for key in (b"x" * 256, b"has\ttab", b"caf\xe9"):
        r = c.post("/api/v1/agents/%s/execute" % a["id"], json={"prompt": "p"}, headers={"Idempotency-Key": key})
        assert r.status_code in (400, 422), (key, r.status_code, r.text)
        err = assert_api_error(r, r.status_code, "VALIDATION_ERROR")
        assert err.get("field") in (None, "Idempotency-Key", "idempotency_key"), err
    assert svc.counts() == before
