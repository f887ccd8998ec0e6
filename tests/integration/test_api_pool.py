# test_api_pool.py - the vex-api prefork pool: killed workers and committer are respawned; SIGTERM stops them all cleanly.
import concurrent.futures
import os
import signal

from vexit import assert_json, pid_running, unix_answers, wait_for


def test_worker_kill9_respawned(fresh_svc):
    svc = fresh_svc
    master = svc.api
    workers = svc.api_workers()
    assert len(workers) == svc.workers, workers
    victim = workers[0]
    os.kill(victim, signal.SIGKILL)
    now = wait_for(lambda: (lambda w: w if victim not in w and len(w) == svc.workers else None)(svc.api_workers()),
                   20, what="the master to respawn a worker")
    assert master.alive()
    assert set(workers[1:]) <= set(now), "the other workers were left alone"

    c = svc.client(plan="enterprise")

    def one(i):
        if i % 2:
            return svc.get("/health").status_code
        return c.post("/api/v1/agents", json={"name": "burst-%d" % i, "role": "You are a test agent"}).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        codes = list(ex.map(one, range(60)))
    assert codes == [200] * 60, codes
    assert svc.db_query("SELECT count(*) AS n FROM agents WHERE owner = ?", (c.sub,)) == [{"n": 30}]
    assert len(svc.api_workers()) == svc.workers


def test_api_sigterm_clean_exit(fresh_svc):
    svc = fresh_svc
    master = svc.api
    workers = svc.api_workers()
    assert len(workers) == svc.workers
    committer = svc.api_committer()
    assert committer is not None, "vex-api runs a group committer"
    assert svc.get("/health").status_code == 200
    master.signal(signal.SIGTERM)
    rc = master.wait(20)
    assert rc == 0, "vex-api exited %r" % rc
    wait_for(lambda: not any(pid_running(w) for w in workers + [committer]), 15,
             what="every worker and the committer to exit")
    assert not unix_answers(svc.api_socket)
    r = svc.get("/health")
    assert r.status_code == 502, r.text
    body = assert_json(r)
    assert isinstance(body["error"]["code"], str), body


def test_committer_kill9_nothing_lost(fresh_svc):
    """Submits keep succeeding while the group committer is killed and respawned: every
    acknowledged job is stored exactly once (workers fall back to writing directly)."""
    svc = fresh_svc
    svc.runner.stop()  # with a runner, new jobs go to its intake (test_intake.py), not the committer
    c = svc.client(plan="enterprise")
    r = c.post("/api/v1/agents", json={"name": "committer-test", "role": "You are a test agent"})
    assert r.status_code == 200, r.text
    agent = r.json()["id"]
    victim = svc.api_committer()
    assert victim is not None

    def submit(i):
        if i == 60:
            os.kill(victim, signal.SIGKILL)  # while the other threads' submits are in flight
        r = c.post("/api/v1/agents/%s/execute" % agent, json={"prompt": "job %d" % i},
                   headers={"Idempotency-Key": "k-%d" % i})
        return r.status_code, (r.json().get("job_id") if r.status_code == 200 else r.text)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(submit, range(200)))
    assert [st for st, _ in results] == [200] * 200, [r for r in results if r[0] != 200][:5]
    ids = [job for _, job in results]
    assert len(set(ids)) == 200
    rows = svc.db_query("SELECT id, idempotency_key FROM jobs WHERE owner = ?", (c.sub,))
    assert len(rows) == 200
    assert {r["id"] for r in rows} == set(ids)
    assert {r["idempotency_key"] for r in rows} == {"k-%d" % i for i in range(200)}

    now = wait_for(lambda: (lambda p: p if p and p != victim else None)(svc.api_committer()), 20,
                   what="the master to respawn the committer")
    assert now != victim
    # Replays after the respawn still find the same jobs.
    assert submit(7) == (200, ids[7])
    assert submit(150) == (200, ids[150])
    assert len(svc.db_query("SELECT id FROM jobs WHERE owner = ?", (c.sub,))) == 200
