# test_cache_trust.py - a local process that writes to memcached cannot change what an owner reads,
# and the tools user cannot reach memcached at all (issue 10, item 4).
import hashlib
import hmac
import json
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
import time

import pytest
import requests

import vexit
import vexspec
from vexit import assert_api_error, assert_error, wait_for

MAC_LABEL = b"vex cache mac v1"
TOOLS_USER = "vex-tools"


# ---- memcached as any process that reaches its socket sees it (text protocol) ----

def _recv_until(s, done):
    buf = b""
    while not done(buf):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf


def mc_get(svc, key):
    """The raw value stored under "key", or None."""
    with svc.memcached_connect() as s:
        s.sendall(b"get " + key.encode() + b"\r\n")

        def done(b):
            if b.startswith(b"END\r\n"):
                return True
            if b"\r\n" not in b:
                return False
            n = int(b.split(b"\r\n", 1)[0].split()[3])
            return len(b.split(b"\r\n", 1)[1]) >= n + len(b"\r\nEND\r\n")

        buf = _recv_until(s, done)
    if buf.startswith(b"END"):
        return None
    head, rest = buf.split(b"\r\n", 1)
    return rest[:int(head.split()[3])]


def mc_set(svc, key, value, exptime=0):
    with svc.memcached_connect() as s:
        s.sendall(b"set %s 0 %d %d\r\n%s\r\n" % (key.encode(), exptime, len(value), value))
        assert _recv_until(s, lambda b: b.endswith(b"\r\n")) == b"STORED\r\n"


def mc_delete(svc, key):
    with svc.memcached_connect() as s:
        s.sendall(b"delete " + key.encode() + b"\r\n")
        _recv_until(s, lambda b: b.endswith(b"\r\n"))


# ---- the value format (docs/storage.md), written independently of core/jobs/cache.c ----

def seal(secret, key, doc_bytes, exp=None):
    k = hmac.new(secret.encode(), MAC_LABEL, hashlib.sha256).digest()
    eh = b"%016x" % (int(time.time()) + 3600 if exp is None else exp)
    mac = hmac.new(k, key.encode() + b"\0" + eh + doc_bytes, hashlib.sha256).hexdigest().encode()
    return b"vex1:" + eh + b":" + mac + b"\n" + doc_bytes


def unseal(secret, key, value):
    """The JSON of an authentic value (dict), or None."""
    if value is None or len(value) < 87 or not value.startswith(b"vex1:"):
        return None
    eh, doc = value[5:21], value[87:]
    if value[21:22] != b":" or value[86:87] != b"\n":
        return None
    if seal(secret, key, doc, int(eh, 16)) != value:
        return None
    return json.loads(doc.split(b"\n", 1)[0])  # the JSON; the views kept by polls follow it


def job_key(job_id):
    return "vex:job:" + job_id


def cached_doc(svc, client, job_id):
    """The authentic cached copy of a job (a poll refills the cache first)."""
    def get():
        client.get("/api/v1/jobs/" + job_id)
        return unseal(svc.secret, job_key(job_id), mc_get(svc, job_key(job_id)))
    return wait_for(get, 10, what="authentic cache entry of " + job_id)


def dump(doc):
    return json.dumps(doc, separators=(",", ":")).encode()


def rejected(client):
    r = client.get("/health/detailed")
    assert r.status_code == 200, r.text
    return r.json()["components"]["cache"]["rejected"]


def rejection_lines(svc, job_id):
    out = []
    with open(svc.log("vex-api"), encoding="utf-8", errors="replace") as f:
        for line in f:
            if '"cache value rejected' in line:
                rec = json.loads(line)
                if rec.get("key") == job_key(job_id):
                    out.append(rec)
    return out


@pytest.fixture(scope="module")
def one(request, tls):
    """A service with one vex-api worker: the rejection counter /health/detailed shows is that worker's."""
    svc = vexit.Service(tls, workers=1)
    request.addfinalizer(svc.stop)
    svc.start()
    return svc


def test_value_format_is_authenticated(one):
    """What vex writes verifies with the documented MAC under the server's secret, and only under it."""
    c = one.client()
    j = c.tool("echo", {"format": 1})
    c.wait_job(j)
    doc = cached_doc(one, c, j)
    assert doc["id"] == j and doc["owner"] == c.sub and doc["status"] == "completed", doc
    raw = mc_get(one, job_key(j))
    assert unseal("another secret of the same length, 48 bytes long", job_key(j), raw) is None
    assert unseal(one.secret, job_key("0" * 8 + j[8:]), raw) is None


def test_forged_values_are_misses_in_every_dialect(one):
    """Forged, wrongly keyed, replayed and tampered entries: every poll answers SQLite's truth, the
    rejections are logged (rate-limited) and counted, and the refill replaces each forgery."""
    c = one.client()
    a = c.create_agent()
    j = c.execute(a["id"], "the truth")["job_id"]
    other = c.execute(a["id"], "another job")["job_id"]
    c.wait_job(j)
    c.wait_job(other)
    key = job_key(j)
    doc = cached_doc(one, c, j)
    assert doc["status"] == "completed" and doc["result"]["response"] == "Echo: the truth", doc
    cached_doc(one, c, other)
    lie = dict(doc, status="failed", rev=doc["rev"] + 100, result=None,
               error={"code": "FORGED", "message": "forged by a local process"})
    forgeries = {
        "plain json, higher rev": dump(lie),
        "sealed with a wrong secret": seal("w" * 48, key, dump(lie)),
        "another job's authentic value": mc_get(one, job_key(other)),
        "authentic header, changed json": mc_get(one, key)[:87] + dump(lie),
    }
    assert unseal(one.secret, job_key(other), forgeries["another job's authentic value"]) is not None

    def vex_truth():
        r = c.get("/api/v1/jobs/" + j)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] == "completed" and body["error"] is None, body
        assert body["result"]["response"] == "Echo: the truth", body

    def corex_truth():
        r = c.get("/jobs/" + j)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["job_id"] == j and body["status"] == "completed" and "error" not in body, body

    def events_truth():
        r = c.get("/v1/events/" + j)
        assert r.status_code == 200, r.text
        ev = r.json()["data"]
        assert ev["id"] == j and ev["status"] == "COMPLETED" and ev["error"] is None, ev

    before = rejected(c)
    polls = 0
    for name, value in forgeries.items():
        for check in (vex_truth, corex_truth, events_truth):
            mc_set(one, key, value)
            check()
            polls += 1
            # The poll refilled the cache from SQLite over the forgery (its claimed rev not respected).
            back = unseal(one.secret, key, mc_get(one, key))
            assert back is not None and back["status"] == "completed" and back["rev"] == doc["rev"], (name, back)
    # Each forged read is counted (the refill's own look at it too).
    assert rejected(c) - before >= polls
    lines = wait_for(lambda: rejection_lines(one, j), 5, what="a logged rejection")
    assert lines[0]["level"] == "warn" and lines[0]["reason"] in ("malformed", "bad mac"), lines[0]
    # Rate-limited: far fewer warnings than rejections.
    assert len(lines) < polls, lines

    # Control: the same lie sealed with the server's secret IS served, so the refusals above are the
    # MAC's doing, not a format the reader would have refused anyway.
    mc_set(one, key, seal(one.secret, key, dump(lie)))
    assert c.get("/api/v1/jobs/" + j).json()["status"] == "failed"
    mc_delete(one, key)
    vex_truth()


def test_real_writer_replaces_forged_higher_rev(one):
    """A forged entry with a far higher rev (claiming failure) while the job runs: polls answer the
    truth, and the runner's writes replace it; the finished job reads completed in every dialect."""
    c = one.client(plan="enterprise")
    j = c.tool("sleep", {"ms": 3000, "steps": 3})
    c.wait_job(j, ("running",))
    key = job_key(j)
    doc = cached_doc(one, c, j)
    assert doc["status"] == "running", doc
    lie = dump(dict(doc, status="failed", rev=doc["rev"] + 1000, result=None,
                    error={"code": "FORGED", "message": "forged"}))
    mc_set(one, key, lie)
    assert c.job(j)["status"] == "running"
    # No poll from here on: only the runner writes the key until the job is done in SQLite.
    mc_set(one, key, lie)
    wait_for(lambda: one.db_job(j)["status"] == "completed", 30, what="job completed in SQLite")
    final = unseal(one.secret, key, mc_get(one, key))
    assert final is not None and final["status"] == "completed", final
    assert final["result"] == {"slept_ms": 3000, "steps": 3} and final["rev"] < doc["rev"] + 1000, final
    env = c.job(j)
    assert env["status"] == "completed" and env["result"] == {"slept_ms": 3000, "steps": 3}, env
    body = c.get("/jobs/" + j).json()
    assert body["status"] == "completed" and body["result"] == {"slept_ms": 3000, "steps": 3}, body


def test_forged_owner_is_404(one):
    """bob forges alice's job's entry naming himself owner: still 404 for him in every dialect, 200 for alice."""
    alice, bob = one.client(), one.client()
    a = alice.create_agent()
    j = alice.execute(a["id"], "alice's")["job_id"]
    alice.wait_job(j)
    key = job_key(j)
    doc = cached_doc(one, alice, j)
    theirs = dict(doc, owner=bob.sub, rev=doc["rev"] + 1)
    for value in (dump(theirs), seal("b" * 48, key, dump(theirs))):
        mc_set(one, key, value)
        assert_api_error(bob.get("/api/v1/jobs/" + j), 404, "NOT_FOUND")
        mc_set(one, key, value)
        assert_error(bob.get("/jobs/" + j), 404, "JOB_NOT_FOUND")
        mc_set(one, key, value)
        assert_api_error(bob.get("/v1/events/" + j), 404, "NOT_FOUND")
        mc_set(one, key, value)
        assert alice.job(j)["status"] == "completed"


def kept_views(value):
    """{tag: (owner, body)} of the views polls kept after a value's JSON (docs/storage.md), read independently."""
    doc = value[87:]
    rest = doc[doc.index(b"\n"):] if b"\n" in doc else b""
    out = {}
    while rest:
        head, rest = rest[1:].split(b"\n", 1)
        tag, olen, blen = head.split(b" ")
        olen, blen = int(olen), int(blen)
        out[tag.decode()] = (rest[:olen].decode(), rest[olen:olen + blen])
        rest = rest[olen + blen:]
    return out


def test_kept_views(one):
    """Each dialect's poll keeps its body beside the cached job (MAC'd with it) and later polls answer those
    bytes; another owner still gets 404 from a kept body; an altered view is a miss answered from SQLite."""
    alice, bob = one.client(), one.client()
    a = alice.create_agent()
    j = alice.execute(a["id"], "keep me")["job_id"]
    alice.wait_job(j)
    key = job_key(j)
    paths = {"v": "/api/v1/jobs/" + j, "c": "/jobs/" + j, "e": "/v1/events/" + j}
    first = {t: alice.get(p) for t, p in paths.items()}
    assert all(r.status_code == 200 for r in first.values()), first
    views = wait_for(lambda: (lambda v: v if set(v) == set(paths) else None)(kept_views(mc_get(one, key))), 10,
                     what="a view kept for every dialect")
    assert unseal(one.secret, key, mc_get(one, key))["status"] == "completed"
    for t, p in paths.items():
        assert views[t] == (alice.sub, first[t].content), (t, views[t])
        again = alice.get(p)
        assert again.status_code == 200 and again.content == first[t].content, (t, again.text)
    assert_api_error(bob.get(paths["v"]), 404, "NOT_FOUND")
    assert_error(bob.get(paths["c"]), 404, "JOB_NOT_FOUND")
    assert_api_error(bob.get(paths["e"]), 404, "NOT_FOUND")

    # The kept vex body altered (a lie of the same length) without the secret: a miss, the truth from SQLite.
    raw = mc_get(one, key)
    lie = raw.replace(b'"status":"completed"', b'"status":"failed"   ')
    assert lie != raw and len(lie) == len(raw)
    before = rejected(alice)
    mc_set(one, key, lie)
    r = alice.get(paths["v"])
    assert r.status_code == 200 and r.json()["status"] == "completed", r.text
    assert rejected(alice) > before
    # Control: the same lie sealed with the server's secret is served, so the kept bytes are what polls send.
    doc = lie[87:]
    mc_set(one, key, seal(one.secret, key, doc))
    assert alice.get(paths["v"]).json()["status"] == "failed"
    mc_delete(one, key)
    assert alice.get(paths["v"]).content == first["v"].content


# ---- who can reach the socket ----

def ensure_user(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
                       check=True)
    return pwd.getpwnam(name)


PROBE = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    s.connect(sys.argv[1])
    s.sendall(b"get x\r\n")
    print("connected", s.recv(64))
except OSError as e:
    print("errno", e.errno)
"""


def connect_as(user, path):
    """Connect to "path" as "user" (setpriv, no supplementary groups); the probe's report."""
    pw = pwd.getpwnam(user)
    r = subprocess.run(["setpriv", "--reuid", str(pw.pw_uid), "--regid", str(pw.pw_gid), "--clear-groups",
                        "/usr/bin/python3", "-c", PROBE, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                       timeout=30, cwd="/")
    return r.stdout.strip()


def proc_uids(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line for %d" % pid)


def check_memcached_layout(sock, mc_pid):
    """Directory memcache:<our gid> 2750, socket memcache 0660, memcached not root; the tools user,
    nginx's user and others get EACCES connecting."""
    memcache = pwd.getpwnam("memcache")
    d = os.stat(os.path.dirname(sock))
    assert stat.S_ISDIR(d.st_mode) and d.st_uid == memcache.pw_uid and d.st_gid == os.getgid(), d
    assert stat.S_IMODE(d.st_mode) == 0o2750, oct(d.st_mode)
    st = os.stat(sock)
    assert stat.S_ISSOCK(st.st_mode) and st.st_uid == memcache.pw_uid and st.st_gid == os.getgid(), st
    assert stat.S_IMODE(st.st_mode) == 0o660, oct(st.st_mode)
    uids = proc_uids(mc_pid)
    assert 0 not in uids and set(uids) == {memcache.pw_uid}, uids
    ensure_user(TOOLS_USER)
    # The tools user, nginx's workers' user, any other user.
    for user in (TOOLS_USER, "www-data", "nobody"):
        assert connect_as(user, sock) == "errno 13", user


@pytest.mark.skipif(os.getuid() != 0, reason="needs root: memcached drops to memcache, probes run as the tools user")
def test_tools_user_cannot_reach_memcached(one):
    check_memcached_layout(one.mc_socket, one.memcached.pid)
    # ... while vex's own processes (this user) can.
    assert one.memcached_version()
    # memcached has no TCP listener at all.
    inodes = set()
    for table in ("tcp", "tcp6"):
        with open("/proc/%d/net/%s" % (one.memcached.pid, table)) as f:
            inodes |= {ln.split()[9] for ln in f.read().splitlines()[1:] if ln.split()[3] == "0A"}
    fds = os.listdir("/proc/%d/fd" % one.memcached.pid)
    socks = {os.readlink("/proc/%d/fd/%s" % (one.memcached.pid, fd)) for fd in fds}
    assert not {"socket:[%s]" % i for i in inodes} & socks, "memcached listens on TCP"


@pytest.mark.skipif(os.getuid() != 0, reason="needs root: memcached drops to memcache")
def test_vex_start_memcached_socket(tls):
    """make run's launcher: memcached on a socket in VEX_HOME/memcached, the service answers, vex-stop stops it."""
    top = tempfile.mkdtemp(prefix="vex-it-start-")
    os.chmod(top, 0o711)  # as a checkout under /work is: memcache may pass through
    home = os.path.join(top, "home")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    https_port, http_port = vexit.free_port(), vexit.free_port()
    env.update({"VEX_HOME": home, "VEX_BUILD": vexit.BUILD, "VEX_HTTPS_PORT": str(https_port),
                "VEX_HTTP_PORT": str(http_port)})
    tools = os.path.join(vexit.REPO, "tools")
    mc_pid = None
    try:
        started = subprocess.run([os.path.join(tools, "vex-start")], env=env, cwd=top, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, universal_newlines=True, timeout=120 * vexit.SLOW)
        assert started.returncode == 0, started.stdout
        sock = os.path.join(home, "memcached", "memcached.sock")
        with open(os.path.join(home, "vex.conf")) as f:
            assert "servers = %s\n" % sock in f.read()
        with open(os.path.join(home, "run", "memcached.pid")) as f:
            mc_pid = int(f.read().strip())
        check_memcached_layout(sock, mc_pid)
        cert = os.path.join(home, "tls", "cert.pem")
        base = "https://localhost:%d" % https_port
        with requests.Session() as http:
            http.trust_env = False
            r = http.get(base + "/health", verify=cert, timeout=vexit.HTTP_TIMEOUT)
            vexspec.check_response(r)
            assert r.status_code == 200 and r.json()["status"] == "healthy", r.text
            with open(os.path.join(home, "jwt.secret")) as f:
                secret = f.read()
            tok = vexit.mint(secret, vexit.claims_for("it-start", "admin"))
            r = http.get(base + "/health/detailed", verify=cert, timeout=vexit.HTTP_TIMEOUT,
                         headers={"Authorization": "Bearer " + tok})
            vexspec.check_response(r)
            cache = r.json()["components"]["cache"]
            assert cache["status"] == "up" and cache["rejected"] == 0, r.text
    finally:
        stopped = subprocess.run([os.path.join(tools, "vex-stop")], env=env, cwd=top, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, universal_newlines=True, timeout=120)
    assert stopped.returncode == 0 and "stopped memcached" in stopped.stdout, stopped.stdout
    assert mc_pid is not None and not vexit.pid_running(mc_pid)
    shutil.rmtree(top, ignore_errors=True)
