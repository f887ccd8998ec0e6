# test_store_migrate.py - a service's SQLite store moved to PostgreSQL with `vexctl store migrate`, then the same
# service on PostgreSQL: its jobs, agents, API keys, webhooks and deliveries answer as before, new jobs run and
# are delivered once, nothing old is delivered again; a second copy into the now full database is refused.
import os
import shutil
import subprocess
import tempfile

import pytest

import vexit
from test_webhook_delivery import Receiver
from vexit import BUILD, KeyClient, wait_for

PG_CLUSTER = os.path.join(vexit.REPO, "tools", "pg-cluster")


@pytest.fixture
def pg(request):
    d = tempfile.mkdtemp(prefix="vex-it-migrate-")
    r = subprocess.run([PG_CLUSTER, "start", d], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr

    def stop():
        subprocess.run([PG_CLUSTER, "stop", d], capture_output=True, timeout=120)
        shutil.rmtree(d, ignore_errors=True)
    request.addfinalizer(stop)
    return r.stdout.strip()


@pytest.fixture
def receiver(request):
    r = Receiver().start()
    request.addfinalizer(r.stop)
    return r


def migrate(svc, url, *extra):
    env = svc.env({"VEX_STORE_URL": url})
    return subprocess.run([os.path.join(BUILD, "vexctl"), "store", "migrate", "--from", svc.db_path] + list(extra),
                          env=env, capture_output=True, text=True, timeout=120)


def test_sqlite_store_moves_to_postgresql(request, tls, pg, receiver):
    svc = vexit.Service(tls, store_url="sqlite:vex.db")  # SQLite whatever VEX_TEST_STORE says
    request.addfinalizer(svc.stop)
    svc.start()
    assert svc.request("GET", "/health").json()["db_type"] == "sqlite"
    c = KeyClient(svc, plan="enterprise")
    hook = receiver.hook(c, "done", events=["job.completed"])
    agent = c.create_agent(name="moved agent")
    old = c.tool("echo", {"moved": "ünïcode ✓"})
    c.wait_job(old)
    wait_for(lambda: receiver.got("done", old), 30, what="the old job's delivery")
    before = {"job": c.job(old), "agent": c.get("/api/v1/agents/" + agent["id"]).json(),
              "deliveries": c.get("/api/v1/jobs/%s/deliveries" % old).json(),
              "hook": c.get("/webhooks/" + hook["id"]).json()}

    svc.runner.stop()
    svc.api.stop()
    r = migrate(svc, pg)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[-1].startswith("done"), r.stdout
    counts = dict(line.split("\t") for line in lines[:-1])
    assert counts["jobs"] == "1" and counts["agents"] == "1" and counts["api_keys"] == "1", counts
    assert counts["webhooks"] == "1" and int(counts["webhook_deliveries"]) >= 1, counts
    assert int(counts["job_events"]) >= 3, counts  # queued, started, completed

    # The same service on PostgreSQL (a fresh memcached: nothing served from before).
    svc.store_url = pg
    svc.stop_memcached()
    svc.start_memcached()
    svc.start_api()
    svc.start_runner()
    assert svc.request("GET", "/health").json()["db_type"] == "postgresql"
    assert c.job(old) == before["job"]  # the API key still authenticates, the job reads back the same
    assert c.get("/api/v1/agents/" + agent["id"]).json() == before["agent"]
    assert c.get("/api/v1/jobs/%s/deliveries" % old).json() == before["deliveries"]
    assert c.get("/webhooks/" + hook["id"]).json() == before["hook"]

    # New work runs and is delivered; the old job's delivery is not sent again.
    new = c.tool("echo", {"after": True})
    c.wait_job(new)
    wait_for(lambda: receiver.got("done", new), 30, what="the new job's delivery")
    assert len(receiver.got("done", old)) == 1
    assert len(receiver.got("done", new)) == 1
    rows = svc.db_query("SELECT job_id, type FROM job_events WHERE job_id = ? ORDER BY seq", (new,))
    assert [row["type"] for row in rows] == ["queued", "started", "completed"], rows

    # A second copy into the now used database: refused, nothing written.
    r = migrate(svc, pg)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "not empty" in r.stderr and "nothing was written" in r.stderr, r.stderr
    assert svc.db_query("SELECT count(*) AS n FROM jobs")[0]["n"] == 2
