# test_vexctl.py - vexctl drives the real service over HTTPS: jobs, tools, agents, webhooks, tables and
# --json, exit statuses, credentials, the CA, the config file and the watch progress bar (pty and piped).
import json
import os
import stat
import subprocess

import pytest

import vexit
from vexctl_cli import columns, env_for, run, run_pty, service_env
from vexit import wait_for
from test_webhook_delivery import Receiver


@pytest.fixture(scope="module")
def user(svc):
    """One user for the module: (client, env of vexctl with that user's token)."""
    c = svc.client()
    return c, service_env(svc, token=c.token)


def test_version_is_the_service_version(svc):
    r = run(env_for(svc.base, svc.cert), "--version")
    assert r.rc == 0, r
    assert r.out == "vexctl %s\n" % svc.get("/health").json()["version"]


def test_submit_get_list_with_tables_and_json(svc, user):
    c, env = user
    r = run(env, "jobs", "submit", "--tool", "echo", "--args", '{"hello":"world"}', "--json")
    assert r.rc == 0, r
    answer = r.json()
    job = answer["job_id"]
    assert answer["tool"] == "echo" and answer["status"] == "pending"
    done = c.wait_job(job)

    # get: --json is the server's answer, the table shows every field
    r = run(env, "jobs", "get", job, "--json")
    assert r.rc == 0, r
    assert r.json() == c.job(job) == done
    r = run(env, "jobs", "get", job)
    assert r.rc == 0, r
    rows = dict(line.split(None, 1) for line in r.out.splitlines())
    assert rows["job_id"] == job and rows["status"] == "completed" and rows["tool"] == "echo"
    assert json.loads(rows["result"]) == {"hello": "world"}

    # submit as a table: the job id and its status
    r = run(env, "jobs", "submit", "--tool", "echo", "--args", "{}")
    assert r.rc == 0, r
    head, row = r.out.splitlines()
    assert head.split() == ["JOB", "STATUS"]
    second = row.split()[0]
    assert vexit.UUID7_RE.match(second) and row.split()[1] == "pending"
    c.wait_job(second)

    # list: --json is the API's list, the table has the same jobs, aligned under the header
    r = run(env, "jobs", "list", "--status", "completed", "--json")
    assert r.rc == 0, r
    api = c.get("/api/v1/jobs?status=completed").json()
    assert r.json() == api
    assert {j["job_id"] for j in api["jobs"]} == {job, second}
    r = run(env, "jobs", "list")
    assert r.rc == 0, r
    lines = r.out.splitlines()
    assert lines[0].split() == ["JOB", "STATUS", "KIND", "TOOL/AGENT", "QUEUED", "ERROR"]
    offs = columns(lines[0])
    assert len(offs) == 6
    for line in lines[1:]:
        for o in offs[1:]:
            assert line[o - 2:o] == "  " and line[o] != " ", (lines, o)
    assert [line.split()[0] for line in lines[1:]] == [second, job]


def test_cancel_then_cancel_again_is_the_servers_409(svc, user):
    c, env = user
    job = c.tool("sleep", {"ms": 60000})
    r = run(env, "jobs", "cancel", job)
    assert r.rc == 0, r
    assert r.out.splitlines()[1].split()[0] == job
    c.wait_job(job, ("canceled",))
    r = run(env, "jobs", "cancel", job)
    assert r.rc == 3, r
    api = c.post("/api/v1/jobs/%s/cancel" % job)
    assert api.status_code == 409
    assert "HTTP 409 JOB_NOT_CANCELABLE: %s" % api.json()["error"]["message"] in r.err
    assert r.out == ""


def test_another_owners_job_and_a_path_in_the_id(svc, user):
    c, env = user
    other = svc.client()
    job = other.tool("echo", {})
    r = run(env, "jobs", "get", job)
    assert r.rc == 3 and "HTTP 404 NOT_FOUND: job not found" in r.err, r
    # an id is one path segment: nginx decodes %2F and resolves "..", so "../keys" would reach
    # /api/v1/keys; vexctl refuses such an id before any request
    for bad in ("../keys", "..", ".", "a/b"):
        r = run(env, "jobs", "get", bad)
        assert r.rc == 2 and "bad job id" in r.err, r


def test_tool_run_exit_status_says_whether_the_job_succeeded(svc, user):
    c, env = user
    r = run(env, "tools", "run", "echo", "--args", '{"n":7}')
    assert r.rc == 0, r
    assert r.out.splitlines()[-1] == 'result: {"n":7}'
    r = run(env, "tools", "run", "fail", "--args", '{"message":"it broke"}')
    assert r.rc == 1, r
    assert r.out.splitlines()[-1] == "failed: TOOL_FAILED: it broke"
    r = run(env, "jobs", "submit", "--tool", "fail", "--wait")
    assert r.rc == 1, r
    job = r.out.splitlines()[1].split()[0]
    assert c.job(job)["status"] == "failed"
    r = run(env, "tools", "run", "sleep", "--args", '{"ms":60000}', "--timeout-ms", "200")
    assert r.rc == 1 and r.out.splitlines()[-1].startswith("timeout: EXECUTION_TIMEOUT"), r


def test_watch_piped_prints_one_plain_line_per_event(svc, user):
    c, env = user
    job = c.tool("sleep", {"ms": 2500, "steps": 2})
    r = run(env, "jobs", "watch", job)
    assert r.rc == 0, r
    assert "\r" not in r.out and "\x1b" not in r.out
    lines = r.out.splitlines()
    events = [line.split()[0] for line in lines[:-1]]
    assert events[-1] == "completed" and "progress" in events, lines
    assert any("step 1/2" in line and "50%" in line for line in lines), lines
    assert lines[-1] == 'result: {"slept_ms":2500,"steps":2}'
    # --json: each event's data as the server sent it, one per line
    r = run(env, "jobs", "watch", job, "--json")
    assert r.rc == 0, r
    assert json.loads(r.out.splitlines()[-1]) == c.job(job)


def test_watch_on_a_terminal_redraws_a_progress_bar(svc, user):
    c, env = user
    job = c.tool("sleep", {"ms": 3000, "steps": 3})
    rc, out, err = run_pty(env, "jobs", "watch", job)
    assert rc == 0, (out, err)
    text = out.decode()
    # the bar is redrawn in place: carriage return, erase the line, the bar with step and percentage
    assert "\r\x1b[K[" in text, text
    assert "step 1/3" in text and "33%" in text and "#" in text, text
    last = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    assert last[-1] == 'result: {"slept_ms":3000,"steps":3}', text
    assert last[-2].split("\r\x1b[K")[-1].split()[:2] == ["completed", "completed"], text


def test_watch_of_a_failed_job_exits_1(svc, user):
    c, env = user
    job = c.tool("fail", {"code": "BAD_THING", "message": "no"})
    c.wait_job(job, ("failed",))
    r = run(env, "jobs", "watch", job)
    assert r.rc == 1 and r.out.splitlines()[-1] == "failed: BAD_THING: no", r


def test_bad_credentials_give_the_servers_401_message(svc):
    for extra in ({"token": "not.a.jwt"}, {"api_key": "vex_" + "A" * 43}):
        env = service_env(svc, **extra)
        r = run(env, "jobs", "list")
        assert r.rc == 3, r
        header = {"Authorization": "Bearer " + extra["token"]} if "token" in extra else {"X-API-Key": extra["api_key"]}
        api = svc.get("/api/v1/jobs", headers=header)
        assert api.status_code == 401
        assert r.err == "vexctl: HTTP 401 UNAUTHORIZED: %s\n" % api.json()["error"]["message"]


def test_a_wrong_ca_is_a_tls_error(svc, tmp_path):
    other_cert, _ = vexit.gen_cert(str(tmp_path / "other"))
    r = run(env_for(svc.base, other_cert, token=svc.token()), "jobs", "list")
    assert r.rc == 4 and "TLS failed" in r.err, r
    # no CA at all: the system's do not know the development certificate
    r = run(env_for(svc.base, None, token=svc.token()), "tools", "list")
    assert r.rc == 4 and "TLS failed" in r.err and "VEX_CA" in r.err, r
    # nothing listens: a connection error, also 4
    r = run(env_for("https://localhost:%d" % vexit.free_port(), svc.cert, token=svc.token()), "jobs", "list")
    assert r.rc == 4 and "cannot reach" in r.err, r


def test_flags_win_over_the_environment(svc, user):
    c, env = user
    bad = dict(env, VEX_TOKEN="garbage", VEX_URL="https://localhost:1")
    r = run(bad, "--url", svc.base, "jobs", "list", "--token", c.token, "--json")
    assert r.rc == 0, r
    assert r.json() == c.get("/api/v1/jobs").json()
    r = run(dict(env, VEX_API_KEY="vex_x"), "jobs", "list")
    assert r.rc == 2 and "VEX_TOKEN and VEX_API_KEY are both set" in r.err, r


def test_config_file_holding_a_credential_must_be_private(svc, user, tmp_path):
    c, _ = user
    home = str(tmp_path)
    os.makedirs(os.path.join(home, ".config", "vex"))
    path = os.path.join(home, ".config", "vex", "config")
    with open(path, "w") as f:
        f.write("# vexctl\nurl = %s\ncacert = %s\ntoken = %s\n" % (svc.base, svc.cert, c.token))
    os.chmod(path, 0o644)
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX")}
    env["HOME"] = home
    r = run(env, "jobs", "list")
    assert r.rc == 2 and "holds a credential" in r.err and "chmod 600 %s" % path in r.err, r
    os.chmod(path, 0o600)
    r = run(env, "jobs", "list", "--json")
    assert r.rc == 0 and r.json() == c.get("/api/v1/jobs").json(), r
    # VEXCTL_CONFIG names another file; without a credential its mode does not matter
    other = os.path.join(home, "other")
    with open(other, "w") as f:
        f.write("url = %s\ncacert = %s\n" % (svc.base, svc.cert))
    os.chmod(other, 0o644)
    r = run(dict(env, VEXCTL_CONFIG=other, VEX_TOKEN=c.token), "jobs", "list", "--json")
    assert r.rc == 0, r
    with open(other, "a") as f:
        f.write("password = x\n")
    r = run(dict(env, VEXCTL_CONFIG=other, VEX_TOKEN=c.token), "jobs", "list")
    assert r.rc == 2 and "%s:3: unknown key 'password'" % other in r.err, r
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_usage_errors_exit_2(svc, user):
    _, env = user
    for args in (["jobs"], ["jobs", "submit"], ["jobs", "submit", "--tool", "echo", "--args", "[1]"],
                 ["jobs", "submit", "--tool", "echo", "--prompt", "x"], ["jobs", "get"], ["jobs", "get", "a", "b"],
                 ["jobs", "frobnicate"], ["tools", "run"], ["nope"], ["jobs", "list", "--bogus"], ["-", "jobs"],
                 ["--url"], ["--json"]):
        r = run(env, *args)
        assert r.rc == 2 and r.err.startswith("vexctl: "), (args, r)
    r = run(env_for("http://localhost:1", None, token="t"), "jobs", "list")
    assert r.rc == 2 and "https://" in r.err, r


def test_tools_and_agents(svc, user):
    c, env = user
    r = run(env, "tools", "list", "--json")
    assert r.rc == 0 and r.json() == c.get("/api/v1/tools").json(), r
    r = run(env, "tools", "list")
    names = [line.split()[0] for line in r.out.splitlines()[1:]]
    assert r.out.split()[:3] == ["NAME", "SOURCE", "DESCRIPTION"] and {"echo", "sleep", "fail"} <= set(names), r
    r = run(env, "agents", "create", "--name", "echoer", "--role", "You repeat things.", "--model", "echo", "--json")
    assert r.rc == 0, r
    agent = r.json()
    assert c.get("/api/v1/agents/" + agent["id"]).json() == agent
    r = run(env, "agents", "list")
    assert r.rc == 0 and agent["id"] in r.out and "echoer" in r.out, r
    r = run(env, "agents", "run", agent["id"], "--prompt", "hello there")
    assert r.rc == 0, r
    job = r.out.splitlines()[1].split()[0]
    assert c.job(job)["status"] == "completed" and c.job(job)["agent_id"] == agent["id"]
    r = run(env, "jobs", "submit", "--agent", agent["id"], "--prompt", "again", "--json")
    assert r.rc == 0 and r.json()["agent_id"] == agent["id"], r


def test_webhooks_list_and_deliveries(svc):
    # A user of its own, whose one job is delivered once to a local receiver: nothing changes
    # between vexctl's read and the API's (a hook that failed would be retried meanwhile).
    c = svc.client()
    env = service_env(svc, token=c.token)
    receiver = Receiver().start()
    try:
        hook = c.post("/api/v1/webhooks", json={"url": receiver.url("vexctl"), "events": ["job.completed"]})
        assert hook.status_code == 201, hook.text
        hid = hook.json()["id"]
        r = run(env, "webhooks", "list")
        assert r.rc == 0 and hid in r.out and receiver.url("vexctl") in r.out, r
        r = run(env, "webhooks", "list", "--json")
        assert r.json() == c.get("/api/v1/webhooks").json()
        job = c.tool("echo", {"to": "vexctl"})
        c.wait_job(job)
        path = "/api/v1/webhooks/%s/deliveries" % hid
        wait_for(lambda: [d["status"] for d in c.get(path).json()["deliveries"]] == ["delivered"], 20,
                 what="the job's delivery recorded as delivered")
        r = run(env, "webhooks", "deliveries", hid, "--json")
        assert r.rc == 0 and r.json() == c.get(path).json(), r
        assert [d["job_id"] for d in r.json()["deliveries"]] == [job]
        did = r.json()["deliveries"][0]["id"]
        r = run(env, "webhooks", "deliveries", hid)  # the table a person reads
        assert r.rc == 0 and did in r.out and "delivered" in r.out, r
        r = run(env, "webhooks", "deliveries", "hook_" + "0" * 32)
        assert r.rc == 3 and "HTTP 404" in r.err, r
    finally:
        receiver.stop()


def test_local_commands_still_work(svc):
    key = vexit.vexctl(svc, "key", "create", "--owner", "carol").stdout.split()[0]
    r = run(service_env(svc, api_key=key), "jobs", "list", "--json")
    assert r.rc == 0 and r.json() == {"jobs": [], "next_cursor": None}, r
    token = vexit.vexctl(svc, "token", "--sub", "carol").stdout.strip()
    r = run(service_env(svc, token=token), "jobs", "list", "--json")
    assert r.rc == 0 and r.json() == {"jobs": [], "next_cursor": None}, r


def test_help_lists_every_command():
    r = run(env_for("https://localhost:1", None), "help")
    assert r.rc == 0
    for cmd in ("jobs", "tools", "agents", "stats", "runners", "webhooks", "token", "key", "--version"):
        assert cmd in r.out
    r = run(env_for("https://localhost:1", None), "jobs", "--help")
    assert r.rc == 0 and "jobs submit" in r.out and "jobs watch JOB" in r.out


def complete(*words):
    """What etc/bash-completion/vexctl offers after "vexctl WORDS..." (the last word being typed)."""
    script = ('source "$1"; shift; COMP_WORDS=(vexctl "$@"); COMP_CWORD=$#; _vexctl; '
              'printf "%s\\n" "${COMPREPLY[@]}"')
    path = os.path.join(vexit.REPO, "etc", "bash-completion", "vexctl")
    p = subprocess.run(["bash", "-c", script, "bash", path] + list(words), stdout=subprocess.PIPE,
                       universal_newlines=True, check=True)
    return set(p.stdout.split())


def test_bash_completion_knows_every_command_and_action():
    r = run(env_for("https://localhost:1", None), "help")
    listed = {line.split()[0] for line in r.out.split("\ncommands:\n")[1].split("\n\n")[0].splitlines()
              if line.startswith("  ") and not line.startswith("      ")}
    assert listed - {"help"} <= complete("") and "--version" in complete("")
    assert complete("jobs", "") >= {"submit", "get", "list", "cancel", "retry", "watch", "--json", "--url"}
    assert complete("jobs", "submit", "--") >= {"--tool", "--args", "--agent", "--prompt", "--wait", "--cacert"}
    assert complete("jobs", "list", "--status", "fa") == {"failed"}
    assert complete("--url", "https://x", "webhooks", "") >= {"list", "deliveries", "resend"}
    assert complete("tools", "run", "echo", "--") >= {"--args", "--no-wait"}
