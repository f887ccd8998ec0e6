# test_runner_shutdown.py - runner SIGTERM: short work finishes within the grace period, long work is requeued, exit 0.
import signal

import pytest

from vexit import descendants_of, pid_running, wait_for

GRACE = {"runner_env": {"VEX_RUNNER_SHUTDOWN_GRACE_MS": "4000"}}


@pytest.mark.parametrize("fresh_svc", [GRACE], indirect=True)
def test_sigterm_short_job_completes(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    jid = c.tool("sleep", {"ms": 1500, "steps": 3})
    c.wait_job(jid, ("running",))
    runner = svc.runner
    kids = descendants_of(runner.pid)
    runner.signal(signal.SIGTERM)
    rc = runner.wait(30)
    assert rc == 0, "vex-runner exited %r" % rc
    assert not [p for p in kids if pid_running(p)], "children left behind"
    env = c.job(jid)
    assert env["status"] == "completed", env
    assert env["result"] == {"slept_ms": 1500, "steps": 3} and env["attempts"] == 1
    assert svc.db_job(jid)["status"] == "completed"


@pytest.mark.parametrize("fresh_svc", [GRACE], indirect=True)
def test_sigterm_long_job_requeued(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    jid = c.tool("sleep", {"ms": 12000, "steps": 4})
    c.wait_job(jid, ("running",))
    runner = svc.runner
    kids = descendants_of(runner.pid)
    runner.signal(signal.SIGTERM)
    rc = runner.wait(40)
    assert rc == 0, "vex-runner exited %r" % rc
    wait_for(lambda: not [p for p in kids if pid_running(p)], 5, what="the runner's children to be gone")

    env = c.job(jid)
    assert env["status"] == "pending", env
    assert env["completed_at"] is None and env["result"] is None
    row = svc.db_job(jid)
    assert row["status"] == "queued", row
    # The attempt that was cut short by shutdown is refunded (0) or counted (1); never more.
    assert row["attempts"] in (0, 1), row
    assert env["attempts"] == row["attempts"]
    assert not row.get("lease_owner"), row

    svc.start_runner()
    env = c.wait_job(jid, timeout=90)
    assert env["result"] == {"slept_ms": 12000, "steps": 4}
    assert env["attempts"] == row["attempts"] + 1
    assert svc.db_job(jid)["status"] == "completed"


@pytest.mark.parametrize("fresh_svc", [GRACE], indirect=True)
def test_sigterm_idle_runner(fresh_svc):
    svc = fresh_svc
    svc.runner.signal(signal.SIGTERM)
    assert svc.runner.wait(15) == 0
