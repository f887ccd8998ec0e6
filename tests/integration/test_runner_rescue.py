# test_runner_rescue.py - kill -9 of the runner mid-job: the lease expires, a new runner rescues and completes it once.
import os
import signal

from vexit import descendants_of, pid_running


def test_runner_kill9_job_rescued(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    jid = c.tool("sleep", {"ms": 3000, "steps": 3})
    c.wait_job(jid, ("running",))
    old = svc.runner
    kids = descendants_of(old.pid)
    assert old.kill() == -signal.SIGKILL
    leftovers = [p for p in kids if pid_running(p)]
    for p in leftovers:  # started by us indirectly: never leave them behind
        try:
            os.kill(p, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert not leftovers, "the killed runner left child processes running: %s" % leftovers
    row = svc.db_job(jid)
    assert row["status"] == "running" and row["attempts"] == 1, row

    svc.start_runner()
    env = c.wait_job(jid, timeout=60)
    assert env["attempts"] == 2, env
    assert env["result"] == {"slept_ms": 3000, "steps": 3}, env
    assert env["error"] is None
    row = svc.db_job(jid)
    assert row["status"] == "completed" and row["attempts"] == 2, row
    assert svc.db_query("SELECT count(*) AS n FROM jobs WHERE owner = ?", (c.sub,)) == [{"n": 1}]
    # It stays completed: no second execution finishes it again.
    rev = row.get("rev")
    assert c.job(jid) == env
    if rev is not None:
        assert svc.db_job(jid)["rev"] == rev


def test_rescued_agent_job(fresh_svc):
    # An agent job whose runner died before it finished is rescued too (queued jobs survive a dead runner).
    svc = fresh_svc
    c = svc.client()
    svc.runner.kill()
    a = c.create_agent(role="You are a test agent")
    jid = c.execute(a["id"], "while no runner lives")["job_id"]
    assert c.job(jid)["status"] == "pending"
    svc.start_runner()
    env = c.wait_job(jid)
    assert env["result"]["response"] == "Echo: while no runner lives" and env["attempts"] == 1
