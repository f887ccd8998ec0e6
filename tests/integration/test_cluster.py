# test_cluster.py - two hosts on one PostgreSQL (vexcluster.py): a host killed whole loses no acknowledged job and
# completes none twice; polls stay right without one memcached; both memcached servers admit only vex (SASL);
# schedules fire once per slot; a stream follows a job run on the other host.
import concurrent.futures
import datetime
import http.client
import os
import signal
import ssl
import threading
import time

import pytest
import requests

import vexcluster
import vexit
import vexspec
from test_cache_sasl import AUTH_ERROR, GET, SET, mc_stats
from test_streams import Stream
from vexit import SLOW, TERMINAL, mc_binary, new_sub, wait_for

WHY = vexcluster.unavailable()
pytestmark = pytest.mark.skipif(WHY is not None, reason="two-host cluster: %s" % WHY)

LEASE_S = 3.0  # vexit.Service's VEX_RUNNER_LEASE_MS
# The poll dialect's names of the store's statuses.
VEX_STATUS = {"queued": "pending", "running": "running", "completed": "completed", "failed": "failed",
              "timeout": "timeout", "canceled": "canceled"}


@pytest.fixture(scope="module")
def cluster(request):
    cl = vexcluster.Cluster()
    request.addfinalizer(cl.stop)  # before start: a half-made cluster is torn down too
    return cl.start()


@pytest.fixture(scope="module")
def jobs_run(cluster):
    """A job submitted through B runs to completion before the tests that need jobs begin."""
    c = cluster.b.client(plan="enterprise")
    job = c.tool("echo", {"probe": 1})
    c.wait_job(job, timeout=15)


def submit(host, token, ms):
    """One sleep job through "host": its id once acknowledged (200), else None (the host is down)."""
    try:
        r = host.request("POST", "/api/v1/tools/sleep/execute", headers={"Authorization": "Bearer " + token},
                         json={"arguments": {"ms": ms, "steps": 1}}, timeout=10)
    except requests.RequestException:
        return None
    if r.status_code != 200:
        return ("refused", r.status_code, r.text)
    return r.json()["job_id"]


def jobs_rows(cl, ids):
    rows = cl.db_query("SELECT id, status, attempts, completed_at, result_json FROM jobs WHERE id = ANY(?)",
                       (list(ids),))
    return {r["id"]: r for r in rows}


def completed_events(cl, ids):
    rows = cl.db_query("SELECT job_id, count(*) AS n FROM job_events WHERE type = 'completed' AND job_id = ANY(?)"
                       " GROUP BY job_id", (list(ids),))
    return {r["job_id"]: r["n"] for r in rows}


def test_a_host_killed_whole_loses_no_job(cluster, jobs_run):
    cl = cluster
    sub = new_sub()
    token = cl.token(sub, plan="enterprise")
    acked, lost_acks, refused = [], [], []
    lock = threading.Lock()
    killed = threading.Event()

    def one(i):
        host = cl.hosts[i % 2]
        got = submit(host, token, 400)
        with lock:
            if isinstance(got, str):
                acked.append((i, host.name, got))
            elif got is None:
                lost_acks.append((i, host.name))
            else:
                refused.append(got)

    t_kill = t_back = None
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futs = [pool.submit(one, i) for i in range(200)]
        # Kill A whole once a third is in and some of A's runner's jobs are running.
        wait_for(lambda: len(acked) >= 60, 30, what="60 acknowledged jobs")
        wait_for(lambda: cl.db_query("SELECT count(*) AS n FROM jobs WHERE status = 'running' AND lease_owner"
                                     " LIKE 'host-a-%'")[0]["n"] > 0, 20, interval=0.02, what="a job running on A")
        cl.a.kill_whole()
        t_kill = time.time()
        killed.set()
        time.sleep(2)
        cl.a.restart()
        t_back = time.time()
        for f in futs:
            f.result()

    assert not refused, refused[:3]
    assert len(acked) + len(lost_acks) == 200
    assert len(acked) >= 100, "B kept acknowledging while A was down: %d acknowledged" % len(acked)
    ids = [j for _, _, j in acked]
    assert len(set(ids)) == len(ids)

    # Every acknowledged job is in the store and ends completed, at the latest a lease plus a few seconds after
    # the last one was submitted (those A held when it died: after the lease ran out, on another runner).
    def all_terminal():
        rows = jobs_rows(cl, ids)
        return rows if len(rows) == len(ids) and all(r["status"] in TERMINAL for r in rows.values()) else None

    rows = wait_for(all_terminal, 60, interval=0.2, what="every acknowledged job terminal")
    done_by = time.time()
    assert sorted(rows) == sorted(ids), "acknowledged jobs missing from the store"
    bad = {j: r["status"] for j, r in rows.items() if r["status"] != "completed"}
    assert not bad, bad
    rescued = [r for r in rows.values() if r["attempts"] > 1]
    assert rescued, "no job was running on A when it was killed"
    for r in rescued:
        assert r["completed_at"] / 1e6 <= max(t_kill + LEASE_S, t_back) + 10 * SLOW, r
    assert done_by < t_back + LEASE_S + 30 * SLOW

    # None completed twice: one 'completed' event per job.
    counts = completed_events(cl, ids)
    assert {j: counts.get(j, 0) for j in ids} == {j: 1 for j in ids}

    # What a caller sees, through either host.
    c = cl.b.client(sub=sub, plan="enterprise")
    for j in ids[:: max(1, len(ids) // 20)]:
        env = c.get("/api/v1/jobs/" + j).json()
        assert env["status"] == "completed" and env["result"] == {"slept_ms": 400, "steps": 1}, env


def test_polls_through_b_stay_right_without_a_memcached(cluster, jobs_run):
    cl = cluster
    c = cl.b.client(plan="enterprise")
    before = [c.tool("sleep", {"ms": 10, "steps": 1}) for _ in range(6)]
    for j in before:
        c.wait_job(j, timeout=30)
    cl.a.memcached.kill()
    try:
        during = [c.tool("sleep", {"ms": 300, "steps": 1}) for _ in range(6)]
        polled = {j: [] for j in during}
        end = time.monotonic() + 30 * SLOW
        while time.monotonic() < end:
            for j in during:
                polled[j].append(c.job(j)["status"])
            if all(p[-1] in TERMINAL for p in polled.values()):
                break
            time.sleep(0.05)
        order = ["pending", "running", "completed"]
        for j, seen in polled.items():
            assert seen[-1] == "completed", (j, seen)
            idx = [order.index(s) for s in seen]
            assert idx == sorted(idx), "status went back: %s %r" % (j, seen)
        rows = jobs_rows(cl, before + during)
        for j in before + during:
            for _ in range(3):
                assert c.job(j)["status"] == VEX_STATUS[rows[j]["status"]] == "completed"
    finally:
        cl.a.start_memcached()
    # Back with an empty memcached: still the store's answer.
    rows = jobs_rows(cl, before + during)
    for j in before + during:
        assert c.job(j)["status"] == VEX_STATUS[rows[j]["status"]]


def test_memcached_across_hosts_admits_only_vex(cluster, jobs_run):
    """Both memcached servers run with SASL (-S): a client on the private network without the password gets
    nothing and writes nothing; vex on both hosts logs in to both, and job copies land on both servers
    (consistent hashing), served again to polls through either host."""
    cl = cluster
    for h in (cl.a, cl.b):
        with h.memcached_connect() as s:
            assert mc_binary(s, GET, key=b"anything")[0] == AUTH_ERROR
        with h.memcached_connect() as s:
            assert mc_binary(s, SET, key=b"forged", value=b"x", extras=bytes(8))[0] == AUTH_ERROR
    c = cl.a.client(plan="enterprise")
    jobs = [c.tool("echo", {"i": i}) for i in range(24)]
    for j in jobs:
        c.wait_job(j, timeout=30)
    cb = cl.b.client(sub=c.sub, plan="enterprise")
    for j in jobs:
        assert cb.job(j)["status"] == "completed"
    stats = {h.name: mc_stats(h) for h in (cl.a, cl.b)}
    for name, st in stats.items():
        assert int(st["cmd_set"]) > 0 and int(st["auth_cmds"]) > 0, (name, st)
    assert sum(int(st["get_hits"]) for st in stats.values()) > 0, stats
    for h in (cl.a, cl.b):
        r = h.client().get("/health/detailed")
        assert r.status_code == 200 and r.json()["components"]["cache"]["status"] == "up", r.text


def test_schedules_fire_once_per_slot_across_hosts(cluster):
    """Agents made through both hosts, each due this minute and the next: both runners tick over them; each
    slot gets one schedule_fires row and one job (a slot before an agent existed is never due: the second
    slot costs up to a minute of waiting)."""
    cl = cluster
    now = datetime.datetime.now(datetime.timezone.utc)
    times = [(now + datetime.timedelta(minutes=m)).strftime("%H:%M") for m in (0, 1)]
    agents, owners = [], []
    for i in range(6):
        c = cl.hosts[i % 2].client(plan="enterprise")
        owners.append(c.sub)
        r = c.post("/v1/agents", json={"name": "sched-%d" % i, "mode": "SCHEDULED", "content": "Summarise.",
                                       "schedule": {"tasksPerDay": len(times), "times": times}})
        assert r.status_code == 201, r.text
        agents.append(r.json()["data"]["id"])

    def fires():
        return cl.db_query("SELECT agent_id, slot, job_id FROM schedule_fires WHERE agent_id = ANY(?)", (agents,))

    wait_for(lambda: len(fires()) >= len(times) * len(agents), 90, interval=0.2, what="every slot fired")
    time.sleep(3 * SLOW)  # both schedulers ticked again meanwhile
    rows = fires()
    for a in agents:
        slots = [r["slot"] for r in rows if r["agent_id"] == a]
        assert len(slots) == len(times) == len(set(slots)), (a, slots)
    jobs = cl.db_query("SELECT id, agent_id FROM jobs WHERE agent_id = ANY(?)", (agents,))
    assert sorted(j["id"] for j in jobs) == sorted(r["job_id"] for r in rows), "one job per slot, no other"
    # What the owner sees: one event per slot.
    for i, a in enumerate(agents):
        other = cl.hosts[(i + 1) % 2].client(sub=owners[i], plan="enterprise")
        r = other.get("/v1/agents/%s/events" % a)
        assert r.status_code == 200, r.text
        assert len(r.json()["data"]) == len(times), r.text


class HostStream(Stream):
    """test_streams.Stream to a host's address instead of localhost."""

    def __init__(self, host, path, headers):
        ctx = ssl.create_default_context(cafile=host.cert)
        self.conn = http.client.HTTPSConnection(host.addr, host.https_port, context=ctx, timeout=20 * SLOW)
        h = {"Accept": "text/event-stream"}
        h.update(headers)
        self.conn.request("GET", path, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.url = "%s%s" % (host.base, path)
        if self.status == 200:
            vexspec.spec().check("GET", self.url, self.status, self.headers.get("Content-Type"), streamed=True)
        self.buf = b""
        self.eof = False
        self.retry = None
        self.comments = []


def test_stream_on_a_follows_a_job_run_on_b(cluster, jobs_run):
    cl = cluster
    sub = new_sub()
    a = cl.a.client(sub=sub, plan="enterprise")
    b = cl.b.client(sub=sub, plan="enterprise")
    os.kill(cl.a.runner.pid, signal.SIGSTOP)
    try:
        job = b.tool("sleep", {"ms": 1500, "steps": 3})
        st = HostStream(cl.a, "/api/v1/jobs/%s/stream" % job, a.headers())
        assert st.status == 200
        running = wait_for(lambda: cl.db_query("SELECT lease_owner FROM jobs WHERE id = ? AND status = 'running'",
                                               (job,)), 20, interval=0.05, what="the job running")
        assert running[0]["lease_owner"].startswith("host-b-"), running
        events = st.until(lambda ev: ev["data"]["status"] in TERMINAL)
        st.close()
    finally:
        os.kill(cl.a.runner.pid, signal.SIGCONT)
    names = [e["event"] for e in events]
    assert names[-1] == "completed", names
    assert "progress" in names, names
    assert events[-1]["data"]["job_id"] == job
    assert events[-1]["data"]["result"] == {"slept_ms": 1500, "steps": 3}
    revs = [int(e["id"]) for e in events]
    assert revs == sorted(set(revs)), revs
    assert revs[-1] == cl.db_query("SELECT rev FROM jobs WHERE id = ?", (job,))[0]["rev"]
