# test_intake.py - the runner's intake: vex-api's workers hand new jobs to the runner's writer, which
# stores them with its own round (one transaction with its claims and finishes); killed or stopped,
# the workers go through vex-api's committer instead, and nothing acknowledged is lost or doubled.
import concurrent.futures
import os
import re
import signal
import socket
import struct

from vexit import pid_running, wait_for


def metric(svc, name):
    text = svc.get("/metrics", headers={"Authorization": "Bearer " + svc.token(role="admin")}).text
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def test_new_jobs_go_through_the_runner_and_run(svc):
    c = svc.client()
    before = metric(svc, "vex_intake_jobs_total")
    ids = [c.tool("echo", {"n": i}) for i in range(5)]
    for i, j in enumerate(ids):
        assert c.wait_job(j)["result"] == {"n": i}
    assert metric(svc, "vex_intake_jobs_total") - before == 5
    # What a client sees is unchanged: the job's own record, created before it started.
    row = svc.db_job(ids[0])
    assert row["status"] == "completed" and row["created_at"] <= row["started_at"] <= row["completed_at"]


def test_runner_kill9_under_submits_nothing_lost(fresh_svc):
    """Submits from 8 threads while the runner is killed with SIGKILL (its intake goes with it) and
    started again: every submit is answered 200, every acknowledged job is stored once, and all of
    them run."""
    svc = fresh_svc
    c = svc.client(plan="enterprise")
    victim = svc.runner.pid

    def submit(i):
        if i == 60:
            os.kill(victim, signal.SIGKILL)  # while the other threads' submits are in flight
        r = c.post("/api/v1/tools/echo/execute", json={"arguments": {"i": i}}, headers={"Idempotency-Key": "k-%d" % i})
        return r.status_code, (r.json().get("job_id") if r.status_code == 200 else r.text)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(submit, range(200)))
    assert [st for st, _ in results] == [200] * 200, [r for r in results if r[0] != 200][:5]
    ids = [job for _, job in results]
    assert len(set(ids)) == 200
    wait_for(lambda: not pid_running(victim), 10, what="the killed runner to be gone")
    rows = svc.db_query("SELECT id, idempotency_key FROM jobs WHERE owner = ?", (c.sub,))
    assert {r["id"] for r in rows} == set(ids) and len(rows) == 200
    assert {r["idempotency_key"] for r in rows} == {"k-%d" % i for i in range(200)}
    # Replays while no runner runs go through vex-api's committer and find the same jobs.
    assert submit(7) == (200, ids[7])
    svc.start_runner()
    for i, j in enumerate(ids):
        assert c.wait_job(j)["result"] == {"i": i}
    assert submit(150) == (200, ids[150])
    assert len(svc.db_query("SELECT id FROM jobs WHERE owner = ?", (c.sub,))) == 200


def test_a_stopped_runner_leaves_submits_to_the_committer(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    intake = os.path.join(svc.home, "run", "intake.sock")
    wait_for(lambda: os.path.exists(intake), 10, what="the runner's intake socket")
    svc.runner.stop()
    assert not os.path.exists(intake)  # removed on a clean exit
    before = metric(svc, "vex_commit_jobs_total")
    j = c.tool("echo", {"x": 1})
    assert svc.db_job(j)["status"] == "queued"
    assert metric(svc, "vex_commit_jobs_total") - before == 1
    svc.start_runner()
    assert c.wait_job(j)["result"] == {"x": 1}
    # The workers went to the committer while the runner was away; they come back to the intake
    # (each tries it again a second after it failed there).
    base = metric(svc, "vex_intake_jobs_total")
    wait_for(lambda: c.tool("echo", {"x": 2}) and metric(svc, "vex_intake_jobs_total") > base, 15, interval=0.2,
             what="new jobs through the restarted runner's intake")


def test_garbage_on_the_intake_socket_changes_nothing(fresh_svc):
    """Another process of vex's user writing nonsense to the intake (only that user can connect:
    test_file_modes.py): a bad frame, an oversized length, a half frame left hanging. The runner
    drops those connections and goes on storing and running the workers' jobs."""
    svc = fresh_svc
    c = svc.client()
    path = os.path.join(svc.home, "run", "intake.sock")
    wait_for(lambda: os.path.exists(path), 10, what="the runner's intake socket")
    before = svc.count("jobs")
    socks = []
    for payload in (struct.pack(">I", 5) + b"nope!", struct.pack(">I", 0xFFFFFFF0) + b"x" * 64,
                    struct.pack(">I", 12) + b'{"job":', b'{"job":{}}'):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.sendall(payload)
        socks.append(s)
    for s in socks[:2]:  # refused: the runner closed them without an answer
        s.settimeout(10)
        assert s.recv(64) == b""
    assert svc.count("jobs") == before
    j = c.tool("echo", {"after": "garbage"})
    assert c.wait_job(j)["result"] == {"after": "garbage"}
    assert metric(svc, "vex_intake_jobs_total") >= 1
    assert svc.runner.alive()
    for s in socks:
        s.close()
