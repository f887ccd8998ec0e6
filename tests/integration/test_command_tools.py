# test_command_tools.py - operator command tools end to end: catalog, execution in each dialect, progress, failures, timeouts, cancel, cleanup.
import json
import os
import shutil
import signal
import subprocess
import tempfile
import uuid

import pytest

import vexit
from vexit import wait_for

FIXTURES = os.path.join(vexit.REPO, "tests", "fixtures", "commands")
OUTPUT_MAX = 100000
MARK = "vex-t2-" + uuid.uuid4().hex[:10]  # in every tool's argv: /proc tells which processes are ours


def marker(name):
    return "%s-%s" % (MARK, name)


def tools_file(directory):
    """tools.json with one tool per fixture; each argv carries a marker naming the tool."""
    def tool(script, description, **extra):
        t = {"description": description, "argv": [os.path.join(FIXTURES, script), marker(script)]}
        t.update(extra)
        t.setdefault("grant", {"roles": ["user"]})
        return t

    tools = {
        "t2echo": tool("echo.py", "Returns the arguments it was given.",
                       inputSchema={"type": "object", "properties": {"text": {"type": "string", "maxLength": 50}},
                                    "required": ["text"], "additionalProperties": False}),
        "t2cat": {"description": "cat: the smallest no-op tool", "argv": ["/bin/cat"], "grant": {"roles": ["user"]}},
        "t2sleeper": tool("sleeper.py", "Sleeps for s seconds."),
        "t2slow": tool("sleeper.py", "Sleeps, but its own timeout is short.", timeout_ms=800),
        "t2forker": tool("forker.py", "Forks children and grandchildren."),
        "t2garbage": tool("garbage.py", "Prints something that is not JSON."),
        "t2flood": tool("flood.py", "Floods stdout."),
        "t2progress": tool("progress.py", "Reports progress on fd 3."),
        "t2fails": tool("fails.py", "Exits 3 with an explanation on stderr."),
        "t2env": tool("envcheck.py", "Reports its environment and working directory.",
                      env=["PATH", "VEX_T2_ALLOWED"], env_set={"T2_FIXED": "fixed value"}),
    }
    path = os.path.join(directory, "tools.json")
    with open(path, "w") as f:
        json.dump({"tools": tools}, f, indent=2)
    return path


def ours_alive(name=None):
    """Live (non-zombie) processes whose command line carries our marker (or one tool's). Reads /proc only."""
    want = marker(name) if name else MARK
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
            with open("/proc/%s/stat" % pid) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if want in cmd and state != "Z":
            found.append(int(pid))
    return found


def none_left(name=None):
    wait_for(lambda: not ours_alive(name), 10, what="no process of %s left" % (name or "any command tool"))


def work_entries(svc):
    return os.listdir(svc.work_dir) if os.path.isdir(svc.work_dir) else []


def start_service(tls, extra_env=None):
    d = tempfile.mkdtemp(prefix="vex-it-cmd-")
    os.chmod(d, 0o711)  # the tools user ([tools] run_as) reaches work/ inside, and nothing else
    env = {"VEX_TOOLS_RUN_AS": "vex-tools","VEX_TOOLS_COMMANDS_FILE": tools_file(d), "VEX_TOOLS_WORK_DIR": os.path.join(d, "work"),
           "VEX_TOOLS_OUTPUT_MAX_BYTES": str(OUTPUT_MAX), "VEX_TOOLS_KILL_GRACE_MS": "500",
           "VEX_T2_ALLOWED": "allowed", "VEX_T2_SECRET": "must not reach a tool"}
    env.update(extra_env or {})
    svc = vexit.Service(tls, runner_env=env)
    svc.work_dir = env["VEX_TOOLS_WORK_DIR"]
    svc.tools_dir = d
    return svc


def stop_service(svc):
    try:
        svc.stop()
    finally:
        shutil.rmtree(svc.tools_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def svc(request, tls):
    s = start_service(tls)
    request.addfinalizer(lambda: stop_service(s))
    s.start()
    return s


def error_of(env):
    assert isinstance(env.get("error"), dict), env
    return env["error"]


# ---- the catalog ----

def test_listed_with_schema_and_source(svc):
    c = svc.client()
    r = c.get("/api/v1/tools")
    assert r.status_code == 200, r.text
    tools = {t["name"]: t for t in r.json()["tools"]}
    for name in ("t2echo", "t2cat", "t2sleeper", "t2forker", "t2garbage", "t2flood", "t2progress", "t2fails", "t2env"):
        assert name in tools, sorted(tools)
        assert tools[name]["source"] == "command", tools[name]
    assert tools["t2echo"]["description"] == "Returns the arguments it was given."
    assert tools["t2echo"]["inputSchema"]["required"] == ["text"]
    assert tools["t2cat"]["inputSchema"] == {"type": "object"}
    assert tools["echo"]["source"] == "builtin"
    rows = {r["name"]: r for r in svc.db_query("SELECT * FROM tools WHERE source = 'command'")}
    assert set(rows) == {"t2echo", "t2cat", "t2sleeper", "t2slow", "t2forker", "t2garbage", "t2flood",
                         "t2progress", "t2fails", "t2env"}
    assert rows["t2echo"]["server"] is None and rows["t2echo"]["short_name"] == "t2echo"
    # the corex listing shows them too
    r = c.get("/tools")
    assert r.status_code == 200, r.text
    assert "t2echo" in json.dumps(r.json())


def test_arguments_checked_against_the_schema(svc):
    c = svc.client()
    before = svc.count("jobs")
    r = c.post("/api/v1/tools/t2echo/execute", json={"arguments": {"text": 5}})
    assert r.status_code == 400, r.text
    r = c.post("/jobs/submit", json={"tool": "t2echo", "arguments": {"other": "x"}})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "INVALID_ARGUMENTS", r.text
    assert svc.count("jobs") == before


# ---- results ----

def test_vex_dialect_result(svc):
    c = svc.client()
    jid = c.tool("t2echo", {"text": "hello"})
    env = c.wait_job(jid)
    assert env["result"] == {"args": {"text": "hello"}, "argv": [marker("echo.py")]}, env
    assert env["tool"] == "t2echo"
    assert work_entries(svc) == []


def test_corex_submit_and_poll(svc):
    c = svc.client()
    r = c.post("/jobs/submit", json={"tool": "t2cat", "arguments": {"a": [1, 2, {"b": None}]}})
    assert r.status_code in (200, 201, 202), r.text
    body = r.json()
    assert body["status"] == "queued" and body["tool"] == "t2cat"
    jid = body["job_id"]

    def done():
        j = c.get("/jobs/" + jid).json()
        return j if j["status"] not in ("queued", "running") else None

    j = wait_for(done, 30, interval=0.1, what="corex job to finish")
    assert j["status"] == "completed", j
    assert j["result"] == {"a": [1, 2, {"b": None}]}
    assert isinstance(j["execution_time_ms"], int)


def test_execute_tool_synchronous(svc):
    admin = svc.client(role="admin")
    r = admin.post("/execute_tool", json={"tool": "t2cat", "arguments": {"x": "y"}, "timeout_ms": 20000})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tool"] == "t2cat" and body["status"] == "success", body
    assert body["result"] == {"x": "y"}
    # a failing command tool: 500 EXECUTION_ERROR with the tool's message
    r = admin.post("/execute_tool", json={"tool": "t2fails", "arguments": {}, "timeout_ms": 20000})
    assert r.status_code == 500, r.text
    err = r.json()["error"]
    assert err["code"] == "EXECUTION_ERROR", err
    assert "the input was not acceptable" in err["message"], err
    # past its timeout: 504, and the tool is gone
    r = admin.post("/execute_tool", json={"tool": "t2sleeper", "arguments": {"s": 600}, "timeout_ms": 1000})
    assert r.status_code == 504, r.text
    assert r.json()["error"]["code"] == "EXECUTION_TIMEOUT"
    none_left("sleeper.py")


# ---- progress ----

def test_progress_observed_by_polling(svc):
    c = svc.client()
    jid = c.tool("t2progress", {"steps": 6, "pause": 0.7})
    seen = []

    def progressed():
        env = c.job(jid)
        if env["status"] == "running" and env.get("progress"):
            seen.append(env["progress"])
        return env if env["status"] in vexit.TERMINAL else None

    env = wait_for(progressed, 60, interval=0.1, what="progress job to finish")
    assert env["status"] == "completed", env
    assert env["result"] == {"steps": 6}
    assert seen, "no progress seen while the job ran"
    p = seen[-1]
    assert p["total_steps"] == 6, p
    assert p["message"] == "step %s of 6" % p["current_step"], p
    assert 0 < p["percentage"] <= 100, p
    # the last report reaches the finished job
    assert env["progress"]["current_step"] == "6", env


def test_progress_in_corex_poll(svc):
    c = svc.client()
    r = c.post("/jobs/submit", json={"tool": "t2progress", "arguments": {"steps": 4, "pause": 0.8}})
    assert r.status_code in (200, 201, 202), r.text
    jid = r.json()["job_id"]
    seen = []

    def progressed():
        j = c.get("/jobs/" + jid).json()
        if j["status"] == "running" and j.get("progress", {}).get("current_step"):
            seen.append(j["progress"])
        return j if j["status"] not in ("queued", "running") else None

    j = wait_for(progressed, 60, interval=0.1, what="corex progress job to finish")
    assert j["status"] == "completed", j
    assert seen and seen[-1]["total_steps"] == 4, seen


# ---- failures ----

def test_garbage_is_invalid_output(svc):
    c = svc.client()
    jid = c.tool("t2garbage", {})
    env = c.wait_job(jid, ("failed",))
    err = error_of(env)
    assert err["code"] == "INVALID_OUTPUT", err
    assert err["message"].startswith("the tool printed something that is not JSON: hello, this is not JSON"), err
    assert "\\x01\\xff" in err["message"], err


def test_flood_is_output_too_large(svc):
    c = svc.client()
    jid = c.tool("t2flood", {})
    env = c.wait_job(jid, ("failed",))
    err = error_of(env)
    assert err["code"] == "OUTPUT_TOO_LARGE", err
    assert err["message"] == "the tool wrote more than %d bytes" % OUTPUT_MAX
    none_left("flood.py")
    assert work_entries(svc) == []


def test_exit_status_with_stderr(svc):
    c = svc.client()
    jid = c.tool("t2fails", {})
    env = c.wait_job(jid, ("failed",))
    err = error_of(env)
    assert err["code"] == "EXECUTION_ERROR", err
    assert err["message"].startswith("the tool exited with status 3: "), err
    assert "fails.py: the input was not acceptable" in err["message"], err
    details = err.get("details")
    if details is not None:  # the vex envelope shows details when the dialect carries them
        assert details["exit_code"] == 3, details
    row = svc.db_job(jid)
    assert row["error_code"] == "EXECUTION_ERROR"


# ---- the sandbox ----

def test_environment_scrubbed_and_directory_private(svc):
    c = svc.client()
    jid = c.tool("t2env", {"k": "v"})
    env = c.wait_job(jid)
    res = env["result"]
    seen = res["env"]
    seen.pop("LC_CTYPE", None)  # python may set it on its own
    # the fixed minimum (LANG, TZ when the runner has one) plus what the operator named: PATH is named here
    want = {"PATH": os.environ["PATH"], "VEX_T2_ALLOWED": "allowed", "T2_FIXED": "fixed value",
            "HOME": res["cwd"], "TMPDIR": res["cwd"], "LANG": os.environ.get("LANG") or "C.UTF-8"}
    if os.environ.get("TZ"):
        want["TZ"] = os.environ["TZ"]
    assert seen == want, seen
    assert os.path.dirname(res["cwd"]) == svc.work_dir
    assert os.path.basename(res["cwd"]).startswith("t2env-")
    assert res["cwd_mode"] == 0o700
    assert res["pgid"] == res["pid"], "the tool leads its own process group"
    assert res["fds"][:4] == [0, 1, 2, 3] and len(res["fds"]) <= 5, res["fds"]
    assert res["limits"]["RLIMIT_NOFILE"] == 64 and res["limits"]["RLIMIT_CPU"] == 60
    assert res["limits"]["RLIMIT_AS"] == 1024 * 1024 * 1024 and res["limits"]["RLIMIT_CORE"] == 0
    assert res["args"] == {"k": "v"}
    # the private directory, its read-only subdirectory and its files are gone; /etc is not
    assert not os.path.exists(res["cwd"])
    assert work_entries(svc) == []
    assert os.path.exists("/etc/passwd")


# ---- timeouts and cancel: the whole group goes ----

def test_timeout_kills_the_tool(svc):
    c = svc.client()
    jid = c.tool("t2sleeper", {"s": 600}, timeout_ms=1500)
    env = c.wait_job(jid, ("timeout",))
    assert error_of(env)["code"] == "EXECUTION_TIMEOUT", env
    none_left("sleeper.py")
    assert work_entries(svc) == []


def test_timeout_of_a_tool_that_ignores_sigterm(svc):
    c = svc.client()
    jid = c.tool("t2sleeper", {"s": 600, "ignore_term": True}, timeout_ms=1000)
    env = c.wait_job(jid, ("timeout",))
    assert error_of(env)["code"] == "EXECUTION_TIMEOUT", env
    none_left("sleeper.py")


def test_the_tools_own_timeout(svc):
    c = svc.client()
    jid = c.tool("t2slow", {"s": 600})  # the job's timeout is the default (minutes); the tool's is 800 ms
    env = c.wait_job(jid, ("timeout",))
    assert error_of(env)["code"] == "EXECUTION_TIMEOUT", env
    assert error_of(env)["message"] == "Tool execution exceeded 800ms timeout", env  # the limit that fired
    none_left("sleeper.py")


def test_children_gone_after_completion(svc):
    c = svc.client()
    jid = c.tool("t2forker", {"children": 3, "then": "exit"})
    env = c.wait_job(jid)
    assert len(env["result"]["pids"]) == 6
    none_left("forker.py")


def test_children_gone_after_timeout(svc):
    c = svc.client()
    jid = c.tool("t2forker", {"children": 2, "then": "sleep"}, timeout_ms=2000)
    env = c.wait_job(jid, ("timeout",))
    assert error_of(env)["code"] == "EXECUTION_TIMEOUT"
    none_left("forker.py")


def test_cancel_running_command(svc):
    c = svc.client()
    jid = c.tool("t2forker", {"children": 2, "then": "sleep"})
    c.wait_job(jid, ("running",))
    # the tool and its 2 children and 2 grandchildren are up
    wait_for(lambda: len(ours_alive("forker.py")) >= 5, 20, what="the forker's processes")
    r = c.post("/api/v1/jobs/%s/cancel" % jid)
    assert r.status_code == 202, r.text
    env = c.wait_job(jid, ("canceled",))
    assert error_of(env)["code"] == "CANCELED"
    none_left("forker.py")
    assert work_entries(svc) == []


def test_concurrent_runs(svc):
    c = svc.client(plan="enterprise")
    jids = [c.tool("t2cat", {"i": i}) for i in range(12)]
    for i, jid in enumerate(jids):
        assert c.wait_job(jid)["result"] == {"i": i}
    assert work_entries(svc) == []


# ---- configuration errors and shutdown (a service of their own) ----

def test_check_config_reports_a_bad_tools_file(tmp_path):
    bad = tmp_path / "tools.json"
    bad.write_text(json.dumps({"tools": {"oops": {"argv": ["relative/prog"]}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    env.update({"VEX_HOME": str(tmp_path), "VEX_JWT_SECRET": "x" * 40, "VEX_TOOLS_COMMANDS_FILE": str(bad)})
    r = subprocess.run([os.path.join(vexit.BUILD, "vex-runner"), "--check-config"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode != 0
    err = r.stderr.decode()
    assert str(bad) in err and 'tool "oops"' in err and "argv[0]" in err, err
    bad.write_text(json.dumps({"tools": {"ok": {"argv": ["/bin/cat"], "limits": {"cpu_s": 5}}}}))
    r = subprocess.run([os.path.join(vexit.BUILD, "vex-runner"), "--check-config"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert r.returncode == 0, r.stderr.decode()


def test_check_config_names_a_tool_left_out_for_its_pattern(tmp_path):
    """A pattern that does not compile keeps that tool out (the others stay); --check-config says which and fails."""
    path = tmp_path / "tools.json"
    path.write_text(json.dumps({"tools": {
        "good": {"argv": ["/bin/cat"], "inputSchema": {"properties": {"s": {"pattern": "^[a-z]+$"}}}},
        "bad": {"argv": ["/bin/cat"], "inputSchema": {"properties": {"s": {"pattern": "[z-a]"}}}}}}))
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    env.update({"VEX_HOME": str(tmp_path), "VEX_JWT_SECRET": "x" * 40, "VEX_TOOLS_COMMANDS_FILE": str(path)})
    r = subprocess.run([os.path.join(vexit.BUILD, "vex-runner"), "--check-config"], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    err = r.stderr.decode()
    assert r.returncode == 1, err
    assert 'tool \\"bad\\": inputSchema: properties.s.pattern' in err and "range out of order" in err, err
    assert "1 command tool(s) left out of the catalog" in err and "good" not in err, err


def test_runner_shutdown_leaves_no_tool_behind(tls):
    svc = start_service(tls, {"VEX_RUNNER_SHUTDOWN_GRACE_MS": "1000"})
    try:
        svc.start()
        c = svc.client()
        jid = c.tool("t2forker", {"children": 2, "then": "sleep"})
        c.wait_job(jid, ("running",))
        wait_for(lambda: len(ours_alive("forker.py")) >= 5, 20, what="the forker's processes")
        svc.runner.signal(signal.SIGTERM)
        assert svc.runner.wait(30) == 0
        none_left("forker.py")
        assert work_entries(svc) == []
        row = svc.db_job(jid)
        assert row["status"] == "queued", row  # requeued: another runner may run it
    finally:
        stop_service(svc)
