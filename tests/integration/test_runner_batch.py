# test_runner_batch.py - the runner's batched claims and group-committed finishes, as a client and the store see them.
import concurrent.futures
import re

from vexit import wait_for


def test_burst_each_job_runs_once(svc):
    """A burst of jobs of several owners, claimed and finished many to a transaction: every job ends
    completed with its own result, claimed once, and its event log holds each transition once."""
    clients = [svc.client(plan="enterprise") for _ in range(3)]

    def submit(i):
        c = clients[i % len(clients)]
        return c, i, c.tool("echo", {"i": i})

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        jobs = list(ex.map(submit, range(120)))
    for c, i, jid in jobs:
        env = c.wait_job(jid, timeout=60)
        assert env["status"] == "completed", env
        assert env["result"] == {"i": i}, env
        assert env["attempts"] == 1, env
    ids = [jid for _, _, jid in jobs]
    marks = ",".join("?" * len(ids))
    rows = svc.db_query("SELECT job_id, type FROM job_events WHERE job_id IN (%s) ORDER BY seq" % marks, ids)
    seen = {}
    for r in rows:
        seen.setdefault(r["job_id"], []).append(r["type"])
    assert len(seen) == len(ids)
    for jid, types in seen.items():
        assert types == ["queued", "started", "completed"], (jid, types)
    stored = svc.db_query("SELECT status, lease_owner FROM jobs WHERE id IN (%s)" % marks, ids)
    assert all(r["status"] == "completed" and r["lease_owner"] is None for r in stored)


def test_slots_hold_distinct_lease_owners(svc):
    """Jobs claimed together, in one transaction, each run under the lease owner of their own worker slot."""
    c = svc.client(plan="enterprise")
    ids = [c.tool("sleep", {"ms": 1500, "steps": 1}) for _ in range(8)]
    marks = ",".join("?" * len(ids))

    def running():
        rows = svc.db_query("SELECT lease_owner FROM jobs WHERE status = 'running' AND id IN (%s)" % marks, ids)
        return rows if len(rows) == 8 else None

    rows = wait_for(running, 30, what="8 jobs running")
    owners = [r["lease_owner"] for r in rows]
    assert len(set(owners)) == 8, owners
    assert all(re.fullmatch(r"it-runner-\d+/w[0-7]", o) for o in owners), owners
    for jid in ids:
        env = c.wait_job(jid, timeout=60)
        assert env["result"] == {"slept_ms": 1500, "steps": 1}, env
