# test_store_outage.py - the PostgreSQL store's server stopped under a running service (a private cluster of this
# test's own, whatever VEX_TEST_STORE says): every request that needs it answers 503 with a JSON error and
# Retry-After, nothing half-written; /health stays up; when the server
# is back the service is too, without a restart, and the jobs acknowledged before run.
import os
import shutil
import subprocess
import tempfile

import pytest

import vexit
from vexit import assert_api_error, new_sub, wait_for

PG_CLUSTER = os.path.join(vexit.REPO, "tools", "pg-cluster")


def cluster(cmd, d):
    r = subprocess.run([PG_CLUSTER, cmd, d], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, "pg-cluster %s: %s" % (cmd, r.stderr)
    return r.stdout.strip()


@pytest.fixture
def outage(request, tls):
    d = tempfile.mkdtemp(prefix="vex-it-outage-")
    url = cluster("start", d)

    def stop():
        subprocess.run([PG_CLUSTER, "stop", d], capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)
    request.addfinalizer(stop)
    svc = vexit.Service(tls, store_url=url)
    request.addfinalizer(svc.stop)
    svc.start()
    return svc, d


def test_store_down_answers_503_and_comes_back(outage):
    svc, d = outage
    c = svc.client(sub=new_sub(), plan="enterprise")
    before = c.tool("echo", {"n": 1})
    c.wait_job(before)
    agent = c.create_agent(name="before the outage")
    assert svc.request("GET", "/health").json()["db_type"] == "postgresql"

    cluster("stop", d)
    # A submit, a listing, an agent write: 503, a JSON error, Retry-After, and nothing stored.
    r = c.post("/api/v1/tools/echo/execute", json={"arguments": {"n": 2}}, headers={"Idempotency-Key": "outage-1"})
    assert_api_error(r, 503, "SERVICE_UNAVAILABLE")
    assert r.headers.get("Retry-After") == "1"
    assert_api_error(c.get("/api/v1/jobs"), 503, "SERVICE_UNAVAILABLE")
    assert_api_error(c.post("/api/v1/agents", json={"name": "during", "role": "r"}), 503, "SERVICE_UNAVAILABLE")
    assert_api_error(c.get("/api/v1/agents/" + agent["id"]), 503, "SERVICE_UNAVAILABLE")
    # Liveness needs no store. The detailed health needs a token, whose revocation check needs the store: it
    # fails closed, 503 like the rest (an operator reads the database's state in the logs: "store unreachable").
    assert svc.request("GET", "/health").status_code == 200
    assert_api_error(c.get("/health/detailed"), 503, "SERVICE_UNAVAILABLE")

    cluster("start", d)
    # Back within the store's reconnect backoff (at most 5 s), with no restart of any program.
    r = wait_for(lambda: (lambda r: r if r.status_code == 200 else None)(
        c.post("/api/v1/tools/echo/execute", json={"arguments": {"n": 3}}, headers={"Idempotency-Key": "outage-1"})),
        timeout=30, what="a submit after the store came back")
    after = r.json()["job_id"]
    c.wait_job(after)
    rows = svc.db_query("SELECT id, idempotency_key, status FROM jobs WHERE owner = ? ORDER BY id", (c.sub,))
    assert [row["id"] for row in rows] == sorted([before, after])
    assert all(row["status"] == "completed" for row in rows), rows
    assert [row["name"] for row in svc.db_query("SELECT name FROM agents WHERE owner = ?", (c.sub,))] == \
        ["before the outage"]
    assert c.get("/api/v1/agents/" + agent["id"]).status_code == 200
