# test_tool_secrets.py - a hostile command tool and MCP stdio server, run by a plain user, reach no secret:
# allow-listed environment, [tools] run_as (no root, no capability), vex-api/vex-runner scrubbed and non-dumpable.
import json
import os
import pwd
import shutil
import subprocess
import tempfile
import urllib.parse

import pytest

import vexit

SNOOP = os.path.join(vexit.REPO, "tests", "fixtures", "commands", "snoop.py")
MODEL_KEY = "sk-model-key-that-must-not-leak-0123456789"
TOOLS_USER = "vex-tools"


def tools_user():
    try:
        return pwd.getpwnam(TOOLS_USER)
    except KeyError:
        pytest.skip("the %s user is missing (tools/install-deps creates it)" % TOOLS_USER)


def hostile_tools(prefix):
    """(dir, runner env): a temporary directory (0711) with tools.json and mcp.json (0644: a runner
    that is not root reads them) naming the snoop fixture as a command tool and an MCP stdio server,
    both granted to users, and the runner's environment that loads them, runs them as the tools
    user and holds the model key."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o711)
    grant = {"roles": ["user"]}
    files = {"tools.json": {"tools": {"snoopcmd": {"description": "a hostile command tool", "argv": [SNOOP],
                                                   "grant": grant}}},
             "mcp.json": {"mcpServers": {"snoopmcp": {"command": SNOOP, "args": ["--mcp"], "vex": {"grant": grant}}}}}
    for name, doc in files.items():
        with open(os.path.join(d, name), "w") as f:
            json.dump(doc, f)
        os.chmod(os.path.join(d, name), 0o644)
    env = {"VEX_TOOLS_COMMANDS_FILE": os.path.join(d, "tools.json"), "VEX_TOOLS_MCP_FILE": os.path.join(d, "mcp.json"),
           "VEX_TOOLS_RUN_AS": TOOLS_USER, "VEX_MODEL_API_KEY": MODEL_KEY}
    return d, env


@pytest.fixture(scope="module")
def svc(request, tls):
    tools_user()
    d, env = hostile_tools("vex-it-sec-")
    s = vexit.Service(tls, runner_env=env, api_env={"VEX_MODEL_API_KEY": MODEL_KEY})
    s.tools_dir = d

    def stop():
        try:
            s.stop()
        finally:
            shutil.rmtree(d, ignore_errors=True)
    request.addfinalizer(stop)
    s.start()
    return s


def pg_socket(svc):
    """The unix socket of the service's PostgreSQL store (None on SQLite)."""
    if not (svc.store_url or "").startswith("postgres"):
        return None
    host = urllib.parse.parse_qs(urllib.parse.urlsplit(svc.store_url).query)["host"][0]
    return os.path.join(host, ".s.PGSQL.5432")


def snoop(svc, tool):
    c = svc.client()  # a plain user
    sock = pg_socket(svc)
    jid = c.tool(tool, {"socket": sock} if sock else {"db": svc.db_path})
    env = c.wait_job(jid)
    res = env["result"]
    if isinstance(res, dict) and "content" in res:
        res = json.loads(res["content"][0]["text"])
    raw = json.dumps(env)
    return res, raw


def assert_contained(svc, rep, raw):
    u = tools_user()
    # nothing secret in anything the user got back
    assert svc.secret not in raw
    assert MODEL_KEY not in raw
    assert not [k for k in rep["env"] if k.startswith("VEX_")], rep["env"]
    assert set(rep["env"]) - {"LC_CTYPE"} <= {"PATH", "HOME", "TMPDIR", "LANG", "TZ"}, rep["env"]
    # the tools user, not root, not vex's user, with no capability at all
    assert rep["uid"] == rep["euid"] == u.pw_uid
    assert rep["gid"] == u.pw_gid
    assert 0 not in rep["groups"]
    for k in ("CapEff", "CapPrm", "CapAmb", "CapInh"):
        assert int(rep["status"][k], 16) == 0, (k, rep["status"])
    assert rep["status"]["NoNewPrivs"] == "1"
    # every read of vex's processes and of the database failed
    if pg_socket(svc):
        # PostgreSQL: its socket's directory is the server's own (0700): the tools user cannot connect
        assert rep["reads"]["socket"]["ok"] is False, rep["reads"]["socket"]
    else:
        # the database: private (0600), unreadable by the tools user
        assert not os.stat(svc.db_path).st_mode & 0o077
        assert rep["reads"]["db"]["ok"] is False, rep["reads"]["db"]
    assert any(k.startswith("vex-runner_") for k in rep["reads"]), rep["reads"].keys()
    for what, r in rep["reads"].items():
        if what == "parent_cmdline":
            continue
        assert r["ok"] is False, (what, r)


def test_command_tool_reaches_no_secret(svc):
    rep, raw = snoop(svc, "snoopcmd")
    assert_contained(svc, rep, raw)
    assert rep["ppid"] == svc.runner.pid


def test_mcp_stdio_server_reaches_no_secret(svc):
    rep, raw = snoop(svc, "snoopmcp.snoop")
    assert_contained(svc, rep, raw)
    assert rep["env"]["HOME"].startswith(os.path.join(svc.home, "work", "mcp-snoopmcp"))


def test_vex_processes_hold_no_secret_in_their_environment(svc):
    pids = [svc.runner.pid, svc.api.pid] + vexit.children_of(svc.api.pid)
    for pid in pids:
        with open("/proc/%d/environ" % pid, "rb") as f:
            block = f.read()
        assert svc.secret.encode() not in block, pid
        assert MODEL_KEY.encode() not in block, pid
        assert b"VEX_HOME=" in block  # the rest of the environment stays
        # non-dumpable: no core file, and /proc/PID/{mem,environ} only for root (owner root, mode kept)
        with open("/proc/%d/status" % pid) as f:
            assert "TracerPid:\t0" in f.read()
    # a process of another user (the tools user) cannot read them
    u = tools_user()
    for pid in pids:
        r = subprocess.run(["setpriv", "--reuid=%d" % u.pw_uid, "--regid=%d" % u.pw_gid, "--clear-groups",
                            "cat", "/proc/%d/environ" % pid], capture_output=True)
        assert r.returncode != 0 and r.stdout == b"", pid


def test_missing_run_as_user_stops_the_runner(svc):
    env = svc.env(dict(svc.runner_env, VEX_TOOLS_RUN_AS="vex-no-such-user-x9"))
    r = subprocess.run([os.path.join(vexit.BUILD, "vex-runner"), "--check-config"], env=env, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 1
    assert "[tools] run_as: no such user \"vex-no-such-user-x9\"" in r.stderr, r.stderr
    assert "config ok" not in r.stdout
    r = subprocess.run([os.path.join(vexit.BUILD, "vex-runner"), "--id", "it-missing-user"], env=env,
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1
    assert "no such user" in r.stderr, r.stderr
    r = subprocess.run([os.path.join(vexit.BUILD, "vex-runner"), "--check-config"],
                       env=svc.env(dict(svc.runner_env, VEX_TOOLS_RUN_AS="root")), capture_output=True, text=True,
                       timeout=30)
    assert r.returncode == 1 and "tools never run as root" in r.stderr, r.stderr


# ---- the production case: the runner as a non-root user holding only CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_KILL ----

RUNNER_USER = "vex-it-runner"


@pytest.fixture(scope="module")
def nonroot(request, tls):
    tools_user()
    if vexit.STORE == "postgres":
        # The run's private cluster admits its owner and root only (a 0700 socket); a runner of another user
        # reaches PostgreSQL over TCP with a password, as test_cluster.py's hosts do. What this checks of the
        # runner's own privileges does not depend on the store: the SQLite pass covers it.
        pytest.skip("a non-root runner cannot reach the test cluster's socket (root and its owner only)")
    made = subprocess.run(["getent", "passwd", RUNNER_USER], capture_output=True).returncode != 0
    if made:
        subprocess.run(["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
                        "--shell", "/usr/sbin/nologin", RUNNER_USER], check=True)
    u = pwd.getpwnam(RUNNER_USER)
    d, env = hostile_tools("vex-it-sec2-")
    s = vexit.Service(tls, runner_env=env)
    s.tools_dir = d
    # as etc/systemd/vex-runner.service starts it: these capabilities only, and NoNewPrivileges=yes
    s.runner_prefix = ["setpriv", "--reuid=%d" % u.pw_uid, "--regid=%d" % u.pw_gid, "--init-groups",
                       "--inh-caps=-all,+setuid,+setgid,+kill,+chown", "--ambient-caps=-all,+setuid,+setgid,+kill,+chown",
                       "--bounding-set=-all,+setuid,+setgid,+kill,+chown", "--no-new-privs"]

    def stop():
        try:
            s.stop()
        finally:
            shutil.rmtree(d, ignore_errors=True)
            if made:
                subprocess.run(["userdel", RUNNER_USER], capture_output=True)
    request.addfinalizer(stop)
    vexit.ACTIVE.append(s)
    s.start_memcached()
    s.start_api()
    # the runner's user owns vex's home (the database, its socket, work_dir), as vex does in production
    for root, dirs, files in os.walk(s.home):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), u.pw_uid, u.pw_gid)
    os.chown(s.home, u.pw_uid, u.pw_gid)
    s.start_runner()
    s.start_nginx()
    s.runner_user = u
    return s


def test_nonroot_runner_holds_only_the_needed_capabilities(nonroot):
    with open("/proc/%d/status" % nonroot.runner.pid) as f:
        st = dict(line.split(":", 1) for line in f.read().splitlines() if ":" in line)
    assert int(st["Uid"].split()[0]) == nonroot.runner_user.pw_uid
    want = (1 << 0) | (1 << 5) | (1 << 6) | (1 << 7)  # CAP_CHOWN, CAP_KILL, CAP_SETGID, CAP_SETUID
    assert int(st["CapEff"], 16) == want, st["CapEff"]
    # under no_new_privs (the unit's NoNewPrivileges=yes), which the switch to the tools user survives:
    # test_nonroot_runner_command_tool_reaches_no_secret's tool runs as vex-tools
    assert st["NoNewPrivs"].strip() == "1"
    # non-dumpable: /proc/<runner>/environ and mem belong to root although the runner is not root
    assert os.stat("/proc/%d/environ" % nonroot.runner.pid).st_uid == 0
    assert os.stat("/proc/%d/mem" % nonroot.runner.pid).st_uid == 0
    with open("/proc/%d/environ" % nonroot.runner.pid, "rb") as f:
        block = f.read()
    assert nonroot.secret.encode() not in block and MODEL_KEY.encode() not in block


def test_nonroot_runner_command_tool_reaches_no_secret(nonroot):
    rep, raw = snoop(nonroot, "snoopcmd")
    assert_contained(nonroot, rep, raw)
    # the private directory went, although the tool (another user) owned it and what it held
    assert os.listdir(os.path.join(nonroot.home, "work")) == [] or \
        all(n.startswith("mcp-") for n in os.listdir(os.path.join(nonroot.home, "work")))


def test_nonroot_runner_mcp_server_reaches_no_secret(nonroot):
    rep, raw = snoop(nonroot, "snoopmcp.snoop")
    assert_contained(nonroot, rep, raw)
