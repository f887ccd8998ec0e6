# test_cache_sasl.py - memcached -S across hosts (issue 16): vex authenticates with [cache] sasl_user and
# sasl_password_file; a wrong password costs speed only (answers from the store, one warning per process, no
# password in any log); a client without credentials gets nothing from that memcached.
import glob
import json
import os

import pytest

import vexit
from vexit import mc_binary, wait_for

GET, SET, STAT, SASL_AUTH = 0x00, 0x01, 0x10, 0x21
AUTH_ERROR = 0x20  # memcached's "authentication required or failed"
REFUSED = "memcached refused authentication: the cache is skipped, answers come from the store"


@pytest.fixture
def sasl_svc(request, tls):
    """A service whose memcached runs with -S; request.param "wrong": vex is given a wrong password."""
    svc = vexit.Service(tls, sasl=True)
    if getattr(request, "param", None) == "wrong":
        svc.sasl_client_password = "not-" + svc.sasl_password
    request.addfinalizer(svc.stop)
    return svc.start()


def authenticated(svc, sock, password=None):
    """SASL PLAIN on a raw connection, as libmemcached does it: the status memcached answers."""
    secret = (svc.sasl_password if password is None else password).encode()
    return mc_binary(sock, SASL_AUTH, key=b"PLAIN", value=b"\0" + svc.sasl_user.encode() + b"\0" + secret)[0]


def mc_stats(svc):
    """memcached's own general statistics, read over an authenticated connection."""
    stats = {}
    with svc.memcached_connect() as s:
        assert authenticated(svc, s) == 0
        s.sendall(bytes([0x80, STAT]) + bytes(22))
        while True:
            head = b""
            while len(head) < 24:
                head += s.recv(24 - len(head))
            size, klen = int.from_bytes(head[8:12], "big"), int.from_bytes(head[2:4], "big")
            body = b""
            while len(body) < size:
                body += s.recv(size - len(body))
            if klen == 0:  # the empty key ends the list
                return stats
            stats[body[:klen].decode()] = body[klen:].decode()


def mc_raw_get(svc, key, password=None):
    """(status, value) of a binary get of "key": authenticated first when "password" is given."""
    with svc.memcached_connect() as s:
        if password is not None:
            assert authenticated(svc, s, password) == 0
        return mc_binary(s, GET, key=key.encode())


def metric(svc, name):
    r = svc.client(role="admin").get("/metrics")
    assert r.status_code == 200, r.text
    for line in r.text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError("no %s in /metrics" % name)


def all_logs(svc):
    text = ""
    for path in glob.glob(os.path.join(svc.logs, "*.log")) + glob.glob(os.path.join(svc.dir, "nginx", "logs", "*")):
        with open(path, encoding="utf-8", errors="replace") as f:
            text += f.read()
    return text


def refusals(svc):
    """The refusal warnings vex-api and vex-runner logged, as parsed lines."""
    found = []
    for name in ("vex-api", "vex-runner"):
        with open(svc.log(name), encoding="utf-8", errors="replace") as f:
            for line in f:
                if REFUSED in line:
                    found.append(json.loads(line))
    return found


def run_work(c):
    """An agent run and a tool job, each polled to the end and then polled again: (job ids, envelopes)."""
    a = c.create_agent(role="You are a test agent")
    j1 = c.execute(a["id"], "through the cache")["job_id"]
    j2 = c.tool("echo", {"n": 1})
    e1, e2 = c.wait_job(j1), c.wait_job(j2)
    for _ in range(5):
        assert c.job(j1) == e1 and c.job(j2) == e2
    assert e1["status"] == "completed" and e1["result"]["response"] == "Echo: through the cache", e1
    assert e2["status"] == "completed" and e2["result"] == {"n": 1}, e2
    return (j1, j2), (e1, e2)


def test_right_credentials_serve_polls_from_memcached(sasl_svc):
    svc = sasl_svc
    c = svc.client(plan="enterprise")
    hits_before = metric(svc, "vex_cache_hits_total")
    gets_before = int(mc_stats(svc)["get_hits"])
    (j1, j2), _ = run_work(c)

    # vex's own counters and memcached's agree: polls were answered from memcached.
    assert metric(svc, "vex_cache_hits_total") - hits_before >= 5
    stats = mc_stats(svc)
    assert int(stats["get_hits"]) - gets_before >= 5
    assert int(stats["auth_errors"]) == 0 and int(stats["auth_cmds"]) > 0, stats
    # What vex wrote is there, for a client that authenticates.
    status, value = mc_raw_get(svc, "vex:job:" + j1, password=svc.sasl_password)
    assert status == 0 and value.startswith(b"vex1:"), (status, value[:40])
    # /health/detailed sees the cache up.
    body = c.get("/health/detailed").json()
    assert body["components"]["cache"]["status"] == "up", body

    # A restarted memcached: once the skip after the broken connections is over (about a second), the new
    # connections authenticate again and polls refill and hit again.
    svc.stop_memcached()
    svc.start_memcached()
    (j3, _), (e3, _) = run_work(c)
    wait_for(lambda: c.job(j3) == e3 and mc_raw_get(svc, "vex:job:" + j3, password=svc.sasl_password)[0] == 0,
             10, interval=0.2, what="vex writing to the restarted memcached")
    hits = int(mc_stats(svc)["get_hits"])  # every worker pays one failure on its broken connection, then hits
    wait_for(lambda: c.job(j3) == e3 and int(mc_stats(svc)["get_hits"]) > hits + 1, 10, interval=0.2,
             what="polls hitting the restarted memcached")
    assert refusals(svc) == []
    assert svc.sasl_password not in all_logs(svc)


def test_a_client_without_credentials_is_refused(sasl_svc):
    svc = sasl_svc
    c = svc.client(plan="enterprise")
    (j1, _), _ = run_work(c)
    key = "vex:job:" + j1
    assert mc_raw_get(svc, key, password=svc.sasl_password)[0] == 0  # it is there

    # No credentials: the get, and a set, are refused; so is a wrong password.
    status, value = mc_raw_get(svc, key)
    assert status == AUTH_ERROR and not value.startswith(b"vex1:"), (status, value)
    with svc.memcached_connect() as s:
        assert mc_binary(s, SET, key=key.encode(), value=b"forged", extras=bytes(8))[0] == AUTH_ERROR
    with svc.memcached_connect() as s:
        assert authenticated(svc, s, password="guess") == AUTH_ERROR
        assert mc_binary(s, GET, key=key.encode())[0] == AUTH_ERROR
    # The value is unchanged and the owner still reads the job.
    assert mc_raw_get(svc, key, password=svc.sasl_password)[1].startswith(b"vex1:")
    assert c.job(j1)["status"] == "completed"


@pytest.mark.parametrize("sasl_svc", ["wrong"], indirect=True)
def test_wrong_password_answers_from_the_store(sasl_svc):
    svc = sasl_svc
    c = svc.client(plan="enterprise")
    hits_before = metric(svc, "vex_cache_hits_total")
    misses_before = metric(svc, "vex_cache_misses_total")
    (j1, j2), (e1, e2) = run_work(c)
    # Every request answered right, from the store: listings too, and a second owner sees nothing of them.
    listed = [j["job_id"] for j in c.get("/api/v1/jobs?status=completed").json()["jobs"]]
    assert j1 in listed and j2 in listed
    assert svc.client().get("/api/v1/jobs/" + j1).status_code == 404
    assert metric(svc, "vex_cache_hits_total") == hits_before
    assert metric(svc, "vex_cache_misses_total") - misses_before >= 10
    # memcached saw the refusals and holds nothing of vex's.
    stats = mc_stats(svc)
    assert int(stats["auth_errors"]) > 0, stats
    assert mc_raw_get(svc, "vex:job:" + j1, password=svc.sasl_password)[0] != 0
    # /health/detailed tells the operator the cache is not usable.
    body = c.get("/health/detailed").json()
    assert body["components"]["cache"]["status"] == "down" and body["status"] == "degraded", body

    # The log says so, once per process (not once per request), naming the user and server, never a password.
    found = wait_for(lambda: refusals(svc) or None, 10, what="the refusal in the log")
    pids = [line["pid"] for line in found]
    assert len(pids) == len(set(pids)), found
    assert len(found) <= svc.workers + 1, found
    for line in found:
        assert line["level"] == "warn" and line["user"] == svc.sasl_user, line
        assert line["server"] == "127.0.0.1:%d" % svc.mc_port, line
    logs = all_logs(svc)
    assert svc.sasl_password not in logs and svc.sasl_client_password not in logs
    assert svc.runner.alive() and svc.api.alive()
