# test_api_pool.py - the vex-api prefork pool: a killed worker is respawned; SIGTERM stops master and workers cleanly.
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
    assert svc.get("/health").status_code == 200
    master.signal(signal.SIGTERM)
    rc = master.wait(20)
    assert rc == 0, "vex-api exited %r" % rc
    wait_for(lambda: not any(pid_running(w) for w in workers), 15, what="every worker to exit")
    assert not unix_answers(svc.api_socket)
    r = svc.get("/health")
    assert r.status_code == 502, r.text
    body = assert_json(r)
    assert isinstance(body["error"]["code"], str), body
