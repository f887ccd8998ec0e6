# test_file_modes.py - what another local user reaches (issue 10 item 5): modes and groups of the database,
# sockets, run directory and key file; nobody connects to a socket or reads the database; nginx's workers (the
# socket group) still serve; webhook secrets are sealed at rest, survive a key rotation and a plaintext database.
import grp
import json
import os
import pathlib
import pwd
import shutil
import sqlite3
import stat
import subprocess
import tempfile

import pytest
import requests

import vexit
import vexspec
from test_webhook_delivery import Receiver, check_request, submit

ROOT = os.getuid() == 0
EACCES = 13

pytestmark = pytest.mark.skipif(
    vexit.STORE == "postgres",
    reason="the database files' modes and a copy of vex.db are SQLite's "
           "(the sockets, key and umask do not depend on the store: the SQLite pass checks them)")

# Run as another user: connect to each socket, read each file; prints {path: "ok" | errno}.
PROBE = r'''
import json, socket, sys
out = {}
for path in sys.argv[1:]:
    try:
        if path.endswith(".sock"):
            kind = socket.SOCK_DGRAM if path.endswith("runner.sock") else socket.SOCK_STREAM
            s = socket.socket(socket.AF_UNIX, kind)
            s.settimeout(2)
            s.connect(path)
            s.close()
        else:
            open(path, "rb").read(16)
        out[path] = "ok"
    except OSError as e:
        out[path] = e.errno
print(json.dumps(out))
'''


def probe(user, paths):
    """What "user" (no other groups than its own) can do with "paths", as a process of its own."""
    g = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    r = subprocess.run(["setpriv", "--reuid", user, "--regid", g, "--init-groups", "/usr/bin/python3", "-c", PROBE]
                       + paths, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
    assert r.returncode == 0, r.stderr.decode()
    return json.loads(r.stdout)


def mode_of(path):
    st = os.stat(path)
    return stat.S_IMODE(st.st_mode), grp.getgrgid(st.st_gid).gr_name, st.st_uid


def sealed_secrets(svc):
    return {r["id"]: r["secret"] for r in svc.db_query("SELECT id, secret FROM webhooks")}


def deliver(svc, recv, client, name):
    """Run a job; the hook "name" gets its events, both signatures checked with the secret shown at create."""
    job = submit(client, "echo", {"x": 1})
    vexit.wait_for(lambda: any(a["event"] == "job.completed" for a in recv.got(name, job)), 30,
                   what="job.completed delivered to " + name)
    for rec in recv.got(name, job):
        check_request(rec)


@pytest.fixture
def modes_svc(request, tls):
    """A service whose directory other users may traverse (0711), nginx's workers as www-data, and a
    database file and run directory left too open by an earlier version (fixed at start)."""
    svc = vexit.Service(tls)
    request.addfinalizer(svc.stop)
    os.chmod(svc.dir, 0o711)
    if ROOT:
        svc.nginx_env["VEX_NGINX_USER"] = "www-data"
    os.chmod(os.path.join(svc.home, "run"), 0o755)
    with open(svc.db_path, "wb"):
        pass
    os.chmod(svc.db_path, 0o644)
    svc.start()
    return svc


def test_modes_groups_and_who_connects(modes_svc):
    svc = modes_svc
    recv = Receiver().start()
    try:
        c = svc.client()
        recv.hook(c, "modes")
        deliver(svc, recv, c, "modes")  # writes: -wal and -shm exist
    finally:
        recv.stop()
    run = os.path.join(svc.home, "run")
    key = os.path.join(svc.home, "webhook.key")
    sock_group = "www-data" if ROOT else grp.getgrgid(os.getegid()).gr_name
    own = grp.getgrgid(os.getegid()).gr_name
    me = os.geteuid()
    # The database: 0600, fixed at start from 0644; the WAL, shared memory and writer lock too.
    for suffix in ("", "-wal", "-shm", "-wlock"):
        assert mode_of(svc.db_path + suffix) == (0o600, own, me), suffix
    assert mode_of(run) == (0o750, sock_group, me)
    assert mode_of(svc.api_socket) == (0o660, sock_group, me)
    assert mode_of(svc.stream_socket) == (0o660, sock_group, me)
    assert mode_of(svc.runner_socket) == (0o600, own, me)
    assert mode_of(os.path.join(run, "commit.sock")) == (0o600, own, me)
    vexit.wait_for(lambda: os.path.exists(os.path.join(run, "intake.sock")), 10, what="the runner's intake socket")
    assert mode_of(os.path.join(run, "intake.sock")) == (0o600, own, me)
    assert mode_of(key) == (0o600, own, me)
    with open(key) as f:
        assert len(f.read().strip()) == 64
    # Every process of vex runs with umask 027.
    for pid in [svc.api.pid, svc.runner.pid] + svc.api_workers():
        with open("/proc/%d/status" % pid) as f:
            assert "Umask:\t0027" in f.read(), pid
    if not ROOT:
        pytest.skip("switching users needs root: modes checked, access not tried")
    # nginx's workers run as www-data (not root) and still reach both sockets: the group works.
    workers = vexit.children_of(svc.nginx.pid)
    assert workers
    for pid in workers:
        assert os.stat("/proc/%d" % pid).st_uid == pwd.getpwnam("www-data").pw_uid
    assert svc.get("/health").status_code == 200
    c = svc.client()
    job = c.tool("echo", {"a": 1})
    c.wait_job(job)
    r = svc.get("/api/v1/jobs/%s/stream" % job, headers=c.headers(), stream=True)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream"), r.text
    assert "completed" in r.text
    secret_files = [svc.db_path, svc.db_path + "-wal", svc.db_path + "-shm", key]
    sockets = [svc.api_socket, svc.stream_socket, svc.runner_socket, os.path.join(run, "commit.sock"),
               os.path.join(run, "intake.sock")]
    # Another local user: no socket (raw FastCGI to api.sock would skip nginx), no database, no key.
    got = probe("nobody", sockets + secret_files)
    assert got == {p: EACCES for p in sockets + secret_files}, got
    # nginx's user: the two sockets nginx needs, nothing vex-internal, no database, no key.
    got = probe("www-data", sockets + secret_files)
    assert got == dict({svc.api_socket: "ok", svc.stream_socket: "ok"},
                       **{p: EACCES for p in sockets[2:] + secret_files}), got


def test_socket_group_without_nginx_is_502(request, tls):
    """The group is what lets nginx in: sockets in a group nginx's workers are not in answer 502."""
    if not ROOT:
        pytest.skip("needs root: nginx's workers as www-data")
    svc = vexit.Service(tls, api_env={"VEX_SERVER_SOCKET_GROUP": "nogroup"},
                        runner_env={"VEX_SERVER_SOCKET_GROUP": "nogroup"})
    request.addfinalizer(svc.stop)
    os.chmod(svc.dir, 0o711)
    svc.nginx_env["VEX_NGINX_USER"] = "www-data"
    vexit.ACTIVE.append(svc)
    svc.start_memcached()
    svc.start_api()
    svc.start_runner()
    svc.nginx = svc._start_nginx("nginx", svc.https_port, svc.http_port, svc.rate, svc.burst)
    assert mode_of(svc.api_socket)[:2] == (0o660, "nogroup")
    r = svc.get("/health")
    assert r.status_code == 502 and r.json()["error"]["code"] == "BAD_GATEWAY", r.text
    with open(os.path.join(svc.dir, "nginx", "logs", "error.log")) as f:
        assert "(13: Permission denied)" in f.read()


def test_backup_group_gets_0640(request, tls):
    """[store] group: the database files 0640 with that group (e.g. for a backup user)."""
    svc = vexit.Service(tls, api_env={"VEX_STORE_GROUP": "nogroup"},
                        runner_env={"VEX_STORE_GROUP": "nogroup"})
    request.addfinalizer(svc.stop)
    svc.start()
    c = svc.client()
    c.wait_job(c.tool("echo", {"a": 1}))
    for suffix in ("", "-wal", "-shm"):
        assert mode_of(svc.db_path + suffix)[:2] == (0o640, "nogroup"), suffix
    r = subprocess.run([os.path.join(vexit.BUILD, "vex-api"), "--check-config"], env=svc.env({
        "VEX_STORE_GROUP": "no-such-group-here"}), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert r.returncode == 1 and b'[store] group: no group "no-such-group-here"' in r.stdout, r.stdout
    # --check-config reads the key files too: a malformed key, a missing previous key.
    bad = os.path.join(svc.dir, "bad.key")
    with open(bad, "w") as f:
        f.write("not a key\n")
    for prog, extra, says in (("vex-api", {"VEX_WEBHOOKS_SECRET_KEY_FILE": bad}, b"must hold 64 hex digits"),
                              ("vex-runner", {"VEX_WEBHOOKS_SECRET_KEY_FILE_PREVIOUS": bad + ".gone"},
                               b"cannot read the key file")):
        r = subprocess.run([os.path.join(vexit.BUILD, prog), "--check-config"], env=svc.env(extra),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert r.returncode == 1 and says in r.stdout, (prog, r.stdout)


def test_webhook_secrets_sealed_rotated_and_migrated(fresh_svc, tmp_path):
    svc = fresh_svc
    recv = Receiver().start()
    try:
        c = svc.client()
        h = recv.hook(c, "rot")
        secret = h["secret"]
        deliver(svc, recv, c, "rot")
        # What a copy of vex.db holds: no secret, in no form (the key file stays behind).
        stored = sealed_secrets(svc)[h["id"]]
        assert stored.startswith("vxs1:") and secret not in stored
        copy = tmp_path / "copy.db"
        src = sqlite3.connect(svc.db_path)
        dst = sqlite3.connect(str(copy))
        src.backup(dst)
        src.close()
        dst.close()
        raw = copy.read_bytes()
        assert secret.encode() not in raw and secret[6:].encode() not in raw
        assert sqlite3.connect(str(copy)).execute("SELECT secret FROM webhooks").fetchone()[0] == stored
        old_id = stored.split(":")[1]

        # Rotation: the key moves to webhook.key.old, named as the previous key; a new key is made at
        # start and every secret is sealed under it; deliveries still verify with the same secret.
        key = os.path.join(svc.home, "webhook.key")
        svc.runner.stop()
        svc.api.stop()
        shutil.move(key, key + ".old")
        prev = {"VEX_WEBHOOKS_SECRET_KEY_FILE_PREVIOUS": key + ".old"}
        svc.api_env.update(prev)
        svc.runner_env.update(prev)
        svc.start_api()
        svc.start_runner()
        assert mode_of(key)[0] == 0o600
        stored2 = sealed_secrets(svc)[h["id"]]
        new_id = stored2.split(":")[1]
        assert stored2.startswith("vxs1:") and new_id != old_id
        deliver(svc, recv, c, "rot")
        # The previous key is dropped: everything is under the new one.
        svc.runner.stop()
        svc.api.stop()
        os.unlink(key + ".old")
        for env in (svc.api_env, svc.runner_env):
            del env["VEX_WEBHOOKS_SECRET_KEY_FILE_PREVIOUS"]
        svc.start_api()
        svc.start_runner()
        deliver(svc, recv, c, "rot")

        # A database from before sealing: its plaintext secret is sealed at start and still signs.
        h2 = recv.hook(c, "plain")
        plain = recv.secrets["plain"]
        svc.runner.stop()
        svc.api.stop()
        con = sqlite3.connect(svc.db_path)
        con.execute("UPDATE webhooks SET secret = ? WHERE id = ?", (plain, h2["id"]))
        con.commit()
        con.close()
        svc.start_api()
        svc.start_runner()
        stored3 = sealed_secrets(svc)[h2["id"]]
        assert stored3.startswith("vxs1:%s:" % new_id) and plain not in stored3
        deliver(svc, recv, c, "plain")

        # Without the key that sealed them, secrets give nothing: a fresh key cannot open them, the
        # delivery fails (nothing is signed with a wrong secret) and the log says why.
        svc.runner.stop()
        svc.api.stop()
        os.unlink(key)
        svc.start_api()
        svc.start_runner()
        assert sealed_secrets(svc)[h2["id"]] == stored3
        job = submit(c, "echo", {"x": 2})
        vexit.wait_for(lambda: "cannot sign" in c.get("/webhooks/%s/deliveries?limit=100" % h2["id"]).text +
                       c.get("/webhooks/" + h2["id"]).text, 30, what="the delivery under a lost key to fail")
        assert not recv.got("plain", job)
        with open(svc.log("vex-runner")) as f:
            assert "webhook secrets under an unknown key" in f.read()
    finally:
        recv.stop()


def test_make_run_files(request):
    """tools/vex-start (make run) in a temporary VEX_HOME on free ports: every file and socket it leaves
    has its intended mode and group, nginx's workers serve through the group, another user reaches nothing."""
    tmp_path = pathlib.Path(tempfile.mkdtemp(prefix="vex-it-start-"))
    request.addfinalizer(lambda: shutil.rmtree(str(tmp_path), ignore_errors=True))
    os.chmod(str(tmp_path), 0o755)  # so that www-data can reach run/ (render-nginx then picks it)
    home = str(tmp_path / "var")
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    env.update({"VEX_HOME": home, "VEX_BUILD": vexit.BUILD, "VEX_HTTPS_PORT": str(vexit.free_port()),
                "VEX_HTTP_PORT": str(vexit.free_port()), "VEX_MEMCACHED_PORT": str(vexit.free_port())})
    tools = os.path.join(vexit.REPO, "tools")
    r = subprocess.run([os.path.join(tools, "vex-start")], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    try:
        assert r.returncode == 0, r.stdout.decode(errors="replace")
        run = os.path.join(home, "run")
        sock_group = "www-data" if ROOT else grp.getgrgid(os.getegid()).gr_name
        own = grp.getgrgid(os.getegid()).gr_name
        me = os.geteuid()
        for name in ("vex.db", "vex.db-wal", "vex.db-shm", "vex.db-wlock", "jwt.secret", "webhook.key"):
            assert mode_of(os.path.join(home, name)) == (0o600, own, me), name
        assert mode_of(run) == (0o750, sock_group, me)
        assert mode_of(os.path.join(home, "log")) == (0o750, own, me)
        assert mode_of(os.path.join(home, "nginx", "logs")) == (0o750, own, me)
        assert mode_of(os.path.join(home, "tls", "key.pem"))[0] == 0o600
        for name in ("api.sock", "stream.sock"):
            assert mode_of(os.path.join(run, name)) == (0o660, sock_group, me), name
        vexit.wait_for(lambda: os.path.exists(os.path.join(run, "intake.sock")), 10, what="the runner's intake")
        for name in ("runner.sock", "commit.sock", "intake.sock"):
            assert mode_of(os.path.join(run, name)) == (0o600, own, me), name
        https = "https://localhost:%s/health" % env["VEX_HTTPS_PORT"]
        r = requests.get(https, verify=os.path.join(home, "tls", "cert.pem"), timeout=10)
        vexspec.check_response(r)
        assert r.status_code == 200
        if ROOT:
            with open(os.path.join(home, "nginx", "nginx.pid")) as f:
                master = int(f.read())
            workers = vexit.children_of(master)
            assert workers and all(os.stat("/proc/%d" % p).st_uid == pwd.getpwnam("www-data").pw_uid
                                   for p in workers)
            paths = [os.path.join(run, n) for n in ("api.sock", "stream.sock", "runner.sock", "commit.sock",
                                                    "intake.sock")] + \
                [os.path.join(home, n) for n in ("vex.db", "jwt.secret", "webhook.key")]
            got = probe("nobody", paths)
            assert got == {p: EACCES for p in paths}, got
    finally:
        subprocess.run([os.path.join(tools, "vex-stop")], env=env, cwd=str(tmp_path), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
