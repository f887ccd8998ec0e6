# test_mcp_tools.py - MCP servers from mcp.json driven for real: the project's fixture (stdio and Streamable HTTP) and
# the reference server @modelcontextprotocol/server-everything (stdio and streamableHttp, installed by tools/install-deps):
# discovery into the catalog, calls through every dialect, progress, cancellation, a stuck server recycled, a crash
# mid-call, isError, list_changed, schema validation, oversized results, runner restarts.
import json
import os
import subprocess

import pytest

import vexit
from vexit import (BUILD, REPO, SLOW, TERMINAL, KeyClient, assert_api_error, assert_json, free_port, pid_running,
                   wait_for)

FIXTURE = os.path.join(REPO, "tests", "fixtures", "mcp_fixture.py")
EVERYTHING = os.path.join(REPO, ".deps", "node_modules", "@modelcontextprotocol", "server-everything", "dist",
                          "index.js")
FX_TOOLS = ["add", "big", "crash", "env", "fail", "forget", "grow", "noop", "profile", "rpc_error", "slow", "stuck"]
FXH_TOOLS = ["add", "big", "fail", "forget", "grow", "slow"]  # the HTTP fixture shares only these names
PROFILE_SCHEMA_KEYS = {"name", "age", "role", "tags", "address"}

# Without the reference server the service runs the fixture alone, and only the tests that talk to the
# reference server skip.
HAVE_EVERYTHING = os.path.exists(EVERYTHING)
needs_everything = pytest.mark.skipif(not HAVE_EVERYTHING,
                                      reason="server-everything is not installed (tools/install-deps installs it)")


def read_log(path):
    try:
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def starts(path):
    return [e["pid"] for e in read_log(path) if e.get("event") == "start"]


def write_mcp_json(path, servers):
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"mcpServers": servers}, f)


class Env:
    """The service, its mcp.json, and the fixture's logs."""

    def __init__(self, svc, d, ports):
        self.svc, self.dir, self.ports = svc, d, ports
        self.log = os.path.join(d, "out", "fx.log")
        self.hlog = os.path.join(d, "out", "fxh.log")
        self.mcp_json = os.path.join(d, "mcp.json")

    def tools(self):
        return {r["name"]: r for r in self.svc.db_query("SELECT * FROM tools")}


USERS = {"vex": {"grant": {"roles": ["user"]}}}  # the test's servers are granted to every user


def servers(d, ports):
    all_ = {
        # stdio: the fixture by path, with an env of its own
        "fx": {"command": FIXTURE, "env": {"MCP_FIXTURE_LOG": os.path.join(d, "out", "fx.log"),
                                           "FIXTURE_GREETING": "hello from mcp.json", "MCP_FIXTURE_PATTERNS": "1"}},
        # stdio: the reference server, "node" found on PATH
        "everything": {"command": "node", "args": [EVERYTHING, "stdio"]},
        # Streamable HTTP: the fixture and the reference server, started by the test
        "fxh": {"url": "http://127.0.0.1:%d/mcp" % ports["fxh"], "headers": {"X-Vex-Test": "yes"}},
        "evh": {"type": "http", "url": "http://127.0.0.1:%d/mcp" % ports["evh"]},
    }
    if not HAVE_EVERYTHING:
        del all_["everything"], all_["evh"]
    return {k: dict(v, **USERS) for k, v in all_.items()}


@pytest.fixture(scope="module")
def env(request, tls):
    d, out = vexit.tools_tmpdir(request, "vex-it-mcp-")
    ports = {"fxh": free_port(), "evh": free_port()}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    fxh = vexit.Proc("fxh", [FIXTURE, "--http", str(ports["fxh"])],
                     dict(base_env, MCP_FIXTURE_LOG=os.path.join(out, "fxh.log"), MCP_FIXTURE_TOOLS=",".join(FXH_TOOLS)),
                     os.path.join(d, "fxh.out"))
    request.addfinalizer(fxh.stop)
    listening = ["fxh"]
    want = ["fx.add", "fx.stuck", "fxh.add"]
    if HAVE_EVERYTHING:
        evh = vexit.Proc("evh", ["node", EVERYTHING, "streamableHttp"], dict(base_env, PORT=str(ports["evh"])),
                         os.path.join(d, "evh.out"))
        request.addfinalizer(evh.stop)
        listening.append("evh")
        want += ["everything.echo", "evh.echo", "everything.trigger-long-running-operation"]
    wait_for(lambda: all(vexit.tcp_answers(ports[n]) for n in listening), 20, what="the HTTP MCP servers listening")
    e = Env(None, d, ports)
    write_mcp_json(e.mcp_json, servers(d, ports))
    svc = vexit.Service(tls, runner_env={"VEX_TOOLS_MCP_FILE": e.mcp_json, "VEX_TOOLS_KILL_GRACE_MS": "1000",
                                         "VEX_RUNNER_CONCURRENCY": "8"})
    request.addfinalizer(svc.stop)
    svc.start()
    e.svc = svc
    wait_for(lambda: all(n in e.tools() for n in want), 30 * SLOW, what="MCP tools in the catalog")
    return e


def admin(svc):
    return KeyClient(svc, role="admin", plan="enterprise")


def user(svc):
    return KeyClient(svc, plan="enterprise")


def submit(c, tool, arguments, **extra):
    body = {"tool": tool, "arguments": arguments}
    body.update(extra)
    r = c.post("/jobs/submit", json=body)
    assert r.status_code == 200, r.text
    return assert_json(r)


def corex_job(c, job_id):
    r = c.get("/jobs/" + job_id)
    assert r.status_code == 200, r.text
    return r.json()


def wait_corex(c, job_id, statuses, timeout=30):
    def check():
        j = corex_job(c, job_id)
        if j["status"] in statuses:
            return j
        assert j["status"] not in TERMINAL, j
        return None
    return wait_for(check, timeout * SLOW, interval=0.05, what="job %s in %s" % (job_id, statuses))


def run(c, tool, arguments, statuses=("completed",), timeout=30):
    return wait_corex(c, submit(c, tool, arguments)["job_id"], statuses, timeout)


def cancel(c, job_id):
    r = c.post("/api/v1/jobs/%s/cancel" % job_id)
    assert r.status_code in (200, 202), r.text
    return r.json()


# ---- discovery ----

def test_discovery_lists_every_tool_of_every_server(env):
    rows = env.tools()
    for t in FX_TOOLS:  # three tools/list pages of the fixture
        r = rows["fx." + t]
        assert (r["short_name"], r["server"], r["source"]) == (t, "fx", "mcp"), r
    assert rows["fx.add"]["description"] == "Adds two integers."
    schema = json.loads(rows["fx.profile"]["input_schema"])
    assert set(schema["properties"]) == PROFILE_SCHEMA_KEYS and schema["additionalProperties"] is False
    assert json.loads(rows["fx.crash"]["input_schema"]) == {"type": "object"}
    assert sorted(n[4:] for n in rows if n.startswith("fxh.")) == FXH_TOOLS

    c = user(env.svc)
    r = c.get("/api/v1/tools")
    assert r.status_code == 200, r.text
    listed = {t["name"]: t for t in assert_json(r)["tools"]}
    t = listed["fx.add"]
    assert t["source"] == "mcp" and t["server"] == "fx" and t["description"] == "Adds two integers."
    assert t["inputSchema"]["required"] == ["a", "b"]
    assert listed["echo"]["source"] == "builtin"  # builtins keep their names


@needs_everything
def test_discovery_of_the_reference_servers(env):
    rows = env.tools()
    for name in ("echo", "get-sum", "get-structured-content", "trigger-long-running-operation"):
        assert rows["everything." + name]["server"] == "everything", name
        assert rows["evh." + name]["server"] == "evh", name
    r = user(env.svc).get("/api/v1/tools")
    assert r.status_code == 200, r.text
    listed = {t["name"]: t for t in assert_json(r)["tools"]}
    assert listed["everything.get-sum"]["inputSchema"]["properties"]["a"]["type"] == "number"


def test_server_requests_are_answered(env):
    """The fixture pings vex and asks for roots after initialized: ping answered, roots/list refused."""
    def replies():
        got = {e.get("id"): e for e in read_log(env.log) if e.get("id") in ("srv-ping", "srv-roots")
               and "method" not in e}
        return got if len(got) == 2 else None
    got = wait_for(replies, 10, what="vex's answers to the fixture's requests")
    assert got["srv-ping"]["result"] == {}
    assert got["srv-roots"]["error"]["code"] == -32601
    init = [e for e in read_log(env.log) if e.get("method") == "initialize"][0]
    assert init["params"]["clientInfo"]["name"] == "vex" and init["params"]["protocolVersion"]
    assert init["params"]["capabilities"] == {}


# ---- calls ----

def test_call_through_every_dialect(env):
    a = admin(env.svc)
    want = {"content": [{"type": "text", "text": "2 + 3 = 5"}], "structuredContent": {"sum": 5}}
    # corex: /jobs/submit and poll
    j = run(a, "fx.add", {"a": 2, "b": 3})
    assert j["result"] == want and j["tool"] == "fx.add"
    # vex: /api/v1/tools/{name}/execute
    job_id = a.tool("fx.add", {"a": 2, "b": 3})
    env_ = a.wait_job(job_id)
    assert env_["status"] == "completed"
    assert json.loads(env.svc.db_job(job_id)["result_json"]) == want
    # corex: synchronous /execute_tool (admin)
    r = a.post("/execute_tool", json={"tool": "fx.add", "arguments": {"a": 20, "b": 22}})
    assert r.status_code == 200, r.text
    body = assert_json(r)
    assert body["status"] == "success" and body["tool"] == "fx.add"
    assert body["result"]["structuredContent"] == {"sum": 42}


def test_bare_names_resolve_when_unambiguous(env):
    a = admin(env.svc)
    args = {"name": "ann", "role": "admin", "tags": ["a"], "address": {"city": "Oslo"}}
    s = submit(a, "profile", args)  # only fx has it
    assert s["tool"] == "fx.profile"
    j = wait_corex(a, s["job_id"], ("completed",))
    assert j["tool"] == "fx.profile" and j["result"]["structuredContent"] == args
    job_id = a.tool("env", {"name": "FIXTURE_GREETING"})
    assert env.svc.db_job(job_id)["tool"] == "fx.env"
    # both fixtures have add
    assert_ambiguous(a, "add", "fx.add, fxh.add")


def assert_ambiguous(a, bare, names):
    r = a.post("/jobs/submit", json={"tool": bare, "arguments": {"a": 1, "b": 2}})
    assert r.status_code == 400 and r.json()["error"]["code"] == "AMBIGUOUS_TOOL", r.text
    assert names in r.json()["error"]["message"]


@needs_everything
def test_reference_server_results(env):
    a = admin(env.svc)
    # both reference servers have get-sum
    assert_ambiguous(a, "get-sum", "everything.get-sum, evh.get-sum")
    # a builtin keeps its name although server-everything has an echo too
    j = run(a, "echo", {"message": "hi"})
    assert j["tool"] == "echo" and j["result"] == {"message": "hi"}
    j = run(a, "everything.echo", {"message": "hi"})
    assert j["result"]["content"] == [{"type": "text", "text": "Echo: hi"}]
    j = run(a, "everything.get-sum", {"a": 1.5, "b": 2})
    assert "3.5" in j["result"]["content"][0]["text"]
    j = run(a, "everything.get-structured-content", {"location": "Chicago"})
    assert set(j["result"]["structuredContent"]) >= {"temperature", "conditions", "humidity"}
    assert j["result"]["content"][0]["type"] == "text"


def test_server_env_reaches_the_process(env):
    j = run(admin(env.svc), "fx.env", {"name": "FIXTURE_GREETING"})
    assert j["result"]["content"][0]["text"] == "hello from mcp.json"


def test_arguments_validated_against_the_server_schema(env):
    a = admin(env.svc)
    before = env.svc.count("jobs")
    bad = [({"name": "ann"}, "arguments.role"),
           ({"name": "ann", "role": "boss"}, "arguments.role"),
           ({"name": "ann", "role": "user", "age": 200}, "arguments.age"),
           ({"name": "ann", "role": "user", "address": {"city": "Oslo", "zip": "12"}}, "arguments.address.zip"),
           ({"name": "ann", "role": "user", "tags": ["a", 1]}, "arguments.tags[1]"),
           ({"name": "ann", "role": "user", "extra": 1}, "arguments.extra")]
    for args, field in bad:
        r = a.post("/api/v1/tools/fx.profile/execute", json={"arguments": args})
        err = assert_api_error(r, 400, "INVALID_ARGUMENTS")
        assert err["field"] == field, (args, err)
        r = a.post("/jobs/submit", json={"tool": "fx.profile", "arguments": args})
        assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_ARGUMENTS", r.text
    assert env.svc.count("jobs") == before  # nothing stored


@needs_everything
def test_arguments_validated_against_the_reference_server_schema(env):
    a = admin(env.svc)
    before = env.svc.count("jobs")
    r = a.post("/jobs/submit", json={"tool": "everything.get-sum", "arguments": {"a": "one", "b": 2}})
    assert r.status_code == 400 and "a" in r.json()["error"]["message"], r.text
    assert env.svc.count("jobs") == before  # nothing stored


def test_catastrophic_pattern_fails_fast_with_400(env):
    """A server's schema whose pattern backtracks catastrophically: the call is refused at the match limit."""
    a = admin(env.svc)
    before = env.svc.count("jobs")
    ok = a.post("/jobs/submit", json={"tool": "fx.regex_slow", "arguments": {"s": "aaaa"}})
    assert ok.status_code == 200, ok.text
    evil = "a" * 64 + "b"
    r = a.post("/api/v1/tools/fx.regex_slow/execute", json={"arguments": {"s": evil}})
    err = assert_api_error(r, 400, "INVALID_ARGUMENTS")
    assert err["field"] == "arguments.s", err
    assert err["message"] == "arguments.s cannot be matched against the pattern ^(a+)+$ within the match limits", err
    r = a.post("/jobs/submit", json={"tool": "fx.regex_slow", "arguments": {"s": evil}})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == {"code": "INVALID_ARGUMENTS", "argument": "s", "message": "Invalid argument: s cannot be "
                                 "matched against the pattern ^(a+)+$ within the match limits"}, r.text
    assert env.svc.count("jobs") == before + 1  # only the good call stored
    wait_corex(a, ok.json()["job_id"], ("completed",))


def test_pattern_that_does_not_compile_keeps_the_tool_out(env):
    """The tool is not in the catalog, the server's other tools are, and the runner says why."""
    rows = env.tools()
    assert "fx.regex_bad" not in rows and "fx.regex_slow" in rows and "fx.add" in rows
    r = admin(env.svc).post("/api/v1/tools/fx.regex_bad/execute", json={"arguments": {"s": "x"}})
    assert_api_error(r, 404, "NOT_FOUND")
    with open(env.svc.log("vex-runner"), encoding="utf-8") as f:
        logged = [json.loads(line) for line in f if line.startswith("{")]
    assert any(e.get("msg", "").startswith("mcp tool left out of the catalog") and e.get("level") == "warn" and
               e.get("server") == "fx" and e.get("tool") == "regex_bad" and
               "missing closing parenthesis" in e.get("error", "") for e in logged), logged
    assert any(e.get("msg") == "mcp tools published" and e.get("server") == "fx" and int(e["skipped"]) >= 1
               for e in logged)


def test_concurrent_calls_share_the_server(env):
    a = admin(env.svc)
    ids = [submit(a, "fx.slow", {"seconds": 1, "steps": 2})["job_id"] for _ in range(5)]
    ids += [submit(a, "fx.add", {"a": i, "b": i})["job_id"] for i in range(5)]
    done = [wait_corex(a, i, ("completed",)) for i in ids]
    assert [d["result"]["structuredContent"]["sum"] for d in done[5:]] == [0, 2, 4, 6, 8]
    starts_ = [e for e in read_log(env.log) if e.get("method") == "tools/call" and e["params"]["name"] == "slow"]
    tokens = [e["params"]["_meta"]["progressToken"] for e in starts_]
    assert len(set(tokens)) == len(tokens)  # one progress token per call


# ---- progress ----

@needs_everything
def test_progress_of_the_reference_server_is_seen_through_polls(env):
    a = admin(env.svc)
    job_id = submit(a, "everything.trigger-long-running-operation", {"duration": 4, "steps": 4})["job_id"]

    def with_progress():
        j = corex_job(a, job_id)
        assert j["status"] not in TERMINAL or j["status"] == "completed", j
        p = j.get("progress")
        return j if j["status"] == "running" and p and p.get("current_step") else None
    j = wait_for(with_progress, 20 * SLOW, interval=0.05, what="progress while running")
    p = j["progress"]
    assert p["total_steps"] == 4 and p["current_step"] in ("1", "2", "3", "4")
    assert p["percentage"] == int(p["current_step"]) * 25
    j = wait_corex(a, job_id, ("completed",))
    assert "Long running operation completed" in j["result"]["content"][0]["text"]


def test_progress_messages_of_the_fixture(env):
    a = admin(env.svc)
    job_id = a.tool("fx.slow", {"seconds": 3, "steps": 3})
    seen = wait_for(lambda: (lambda p: p if p and p.get("message") else None)(a.job(job_id).get("progress")),
                    20 * SLOW, interval=0.05, what="a progress message in the vex envelope")
    assert seen["message"].startswith("step ") and seen["total_steps"] == 3
    a.wait_job(job_id)


# ---- failures ----

def test_is_error_fails_the_job_with_the_text(env):
    a = admin(env.svc)
    j = run(a, "fx.fail", {"message": "deploy broke"}, ("failed",))
    assert j["error"]["code"] == "EXECUTION_ERROR" and j["error"]["message"] == "deploy broke"
    r = a.post("/execute_tool", json={"tool": "fx.fail", "arguments": {"message": "nope"}})
    assert r.status_code == 500, r.text
    assert r.json()["error"]["code"] == "EXECUTION_ERROR" and r.json()["error"]["message"] == "nope", r.text


def test_json_rpc_error_fails_with_its_message_and_code(env):
    a = admin(env.svc)
    j = run(a, "fx.rpc_error", {"message": "quota exceeded"}, ("failed",))
    assert j["error"]["code"] == "EXECUTION_ERROR" and j["error"]["message"] == "quota exceeded", j
    row = env.svc.db_job(j["job_id"])
    assert json.loads(row["error_details_json"]) == {"code": -32050, "data": {"hint": "from the fixture"}}


def test_oversized_results_fail_cleanly(env):
    a = admin(env.svc)
    j = run(a, "fx.big", {"bytes": 1100000}, ("failed",))
    assert j["error"]["code"] == "OUTPUT_TOO_LARGE", j
    j = run(a, "fx.big", {"bytes": 6000000}, ("failed",))  # over the line cap: dropped unread, still its job's
    assert j["error"]["code"] == "OUTPUT_TOO_LARGE", j
    j = run(a, "fx.add", {"a": 1, "b": 1})
    assert j["result"]["structuredContent"] == {"sum": 2}


def test_crash_mid_call_fails_cleanly_and_the_next_call_works(env):
    a = admin(env.svc)
    before = starts(env.log)
    j = run(a, "fx.crash", {}, ("failed",))
    assert j["error"]["code"] == "EXECUTION_ERROR"
    assert j["error"]["message"] == "MCP server fx exited (status 3) during the call", j
    assert not pid_running(before[-1])
    j = run(a, "fx.add", {"a": 5, "b": 6})
    assert j["result"]["structuredContent"] == {"sum": 11}
    assert len(starts(env.log)) == len(before) + 1


# ---- cancellation and timeouts ----

def wait_running(c, job_id):
    return wait_for(lambda: c.job(job_id)["status"] == "running" or None, 20 * SLOW, interval=0.05,
                    what="job running")


def test_cancel_sends_notifications_cancelled_and_keeps_the_server(env):
    a = admin(env.svc)
    run(a, "fx.add", {"a": 0, "b": 0})
    before = starts(env.log)
    job_id = a.tool("fx.slow", {"seconds": 60, "steps": 60})
    wait_running(a, job_id)
    call = wait_for(lambda: [e for e in read_log(env.log) if e.get("method") == "tools/call"
                             and e["params"]["name"] == "slow" and e["params"]["arguments"]["seconds"] == 60],
                    10, what="the call at the server")[-1]
    cancel(a, job_id)
    env_ = a.wait_job(job_id, ("canceled",))
    assert env_["error"]["code"] == "CANCELED" if env_.get("error") else True
    log = read_log(env.log)
    canc = [e for e in log if e.get("method") == "notifications/cancelled"]
    assert any(e["params"]["requestId"] == call["id"] and e["params"]["reason"] == "the job was canceled"
               for e in canc), canc
    wait_for(lambda: any(e.get("event") == "stopped" and e["id"] == call["id"] for e in read_log(env.log)), 10,
             what="the fixture stopping the call")
    # the server answered the ping that followed: it stays warm (a recycled one would start again here)
    assert run(a, "fx.add", {"a": 1, "b": 2})["result"]["structuredContent"] == {"sum": 3}
    assert starts(env.log) == before


def test_cancel_of_a_stuck_call_recycles_the_server(env):
    a = admin(env.svc)
    run(a, "fx.add", {"a": 0, "b": 0})
    before = starts(env.log)
    job_id = a.tool("fx.stuck", {"seconds": 3600})
    wait_running(a, job_id)
    wait_for(lambda: any(e.get("method") == "tools/call" and e["params"]["name"] == "stuck"
                         for e in read_log(env.log)), 10, what="the stuck call at the server")
    cancel(a, job_id)
    a.wait_job(job_id, ("canceled",))
    wait_for(lambda: not pid_running(before[-1]) or None, 10, what="the stuck server killed")
    j = run(a, "fx.add", {"a": 2, "b": 2})
    assert j["result"]["structuredContent"] == {"sum": 4}
    assert len(starts(env.log)) == len(before) + 1


def test_timeout_cancels_the_call(env):
    a = admin(env.svc)
    r = a.post("/execute_tool", json={"tool": "fx.slow", "arguments": {"seconds": 60, "steps": 6}, "timeout_ms": 800})
    assert r.status_code == 504, r.text
    wait_for(lambda: any(e.get("method") == "notifications/cancelled" and e["params"]["reason"] == "the job timed out"
                         for e in read_log(env.log)), 10, what="notifications/cancelled for the timeout")


@needs_everything
def test_cancel_of_the_reference_server_long_call(env):
    a = admin(env.svc)
    job_id = a.tool("everything.trigger-long-running-operation", {"duration": 30, "steps": 30})
    wait_running(a, job_id)
    # The server is inside the call: it has reported a step.
    wait_for(lambda: (a.job(job_id).get("progress") or {}).get("current_step"), 20 * SLOW, interval=0.05,
             what="the reference server's first progress step")
    cancel(a, job_id)
    a.wait_job(job_id, ("canceled",))
    j = run(a, "everything.echo", {"message": "still here"})
    assert j["result"]["content"][0]["text"] == "Echo: still here"
    # it stopped answering the cancelled call (as MCP says) but answered the ping: not recycled
    with open(env.svc.log("vex-runner"), encoding="utf-8") as f:
        recycled = [ln for ln in f if "did not stop a cancelled call" in ln and '"everything"' in ln]
    assert recycled == []


# ---- list_changed ----

def test_list_changed_adds_the_new_tool(env):
    a = admin(env.svc)
    run(a, "fx.grow", {})
    wait_for(lambda: "fx.extra" in env.tools() or None, 10 * SLOW, what="fx.extra in the catalog")
    j = run(a, "fx.extra", {})
    assert j["result"]["structuredContent"] == {"extra": True}
    r = user(env.svc).get("/api/v1/tools/fx.extra")
    assert r.status_code == 200 and r.json()["server"] == "fx", r.text


# ---- Streamable HTTP ----

def test_http_call_progress_and_headers(env):
    a = admin(env.svc)
    j = run(a, "fxh.add", {"a": 4, "b": 5})
    assert j["result"] == {"content": [{"type": "text", "text": "4 + 5 = 9"}], "structuredContent": {"sum": 9}}
    log = read_log(env.hlog)
    init = [e for e in log if e.get("method") == "initialize"][0]
    assert init["_session"] is None and "text/event-stream" in init["_accept"]
    call = [e for e in log if e.get("method") == "tools/call"][-1]
    assert call["_session"] and call["_protocol"] == init["params"]["protocolVersion"]
    job_id = a.tool("fxh.slow", {"seconds": 3, "steps": 3})
    p = wait_for(lambda: (lambda p: p if p and p.get("current_step") else None)(a.job(job_id).get("progress")),
                 20 * SLOW, interval=0.05, what="progress over HTTP")
    assert p["total_steps"] == 3
    a.wait_job(job_id)


@needs_everything
def test_http_reference_server(env):
    a = admin(env.svc)
    j = run(a, "evh.get-sum", {"a": 2, "b": 3})
    assert "5" in j["result"]["content"][0]["text"]
    job_id = submit(a, "evh.trigger-long-running-operation", {"duration": 2, "steps": 2})["job_id"]
    assert "completed" in wait_corex(a, job_id, ("completed",))["result"]["content"][0]["text"]


def test_http_cancel(env):
    a = admin(env.svc)
    job_id = a.tool("fxh.slow", {"seconds": 60, "steps": 60})
    wait_running(a, job_id)
    wait_for(lambda: any(e.get("method") == "tools/call" and e["params"]["name"] == "slow"
                         and e["params"]["arguments"]["seconds"] == 60 for e in read_log(env.hlog)), 10,
             what="the call at the HTTP server")
    cancel(a, job_id)
    a.wait_job(job_id, ("canceled",))
    wait_for(lambda: any(e.get("method") == "notifications/cancelled" for e in read_log(env.hlog)), 10,
             what="notifications/cancelled over HTTP")
    assert run(a, "fxh.add", {"a": 1, "b": 1})["result"]["structuredContent"] == {"sum": 2}


def test_http_session_ended_by_the_server_is_initialized_again(env):
    a = admin(env.svc)
    inits = len([e for e in read_log(env.hlog) if e.get("method") == "initialize"])
    run(a, "fxh.forget", {})
    j = run(a, "fxh.add", {"a": 3, "b": 3})  # 404 for the old session: initialize, then the call again
    assert j["result"]["structuredContent"] == {"sum": 6}
    log = read_log(env.hlog)
    assert len([e for e in log if e.get("method") == "initialize"]) == inits + 1
    calls = [e for e in log if e.get("method") == "tools/call" and e["params"]["name"] == "add"]
    assert calls[-1]["_session"] != calls[-2]["_session"]


# ---- the runner restarts ----

def test_runner_restart_keeps_working_and_forgets_removed_servers(env):
    svc = env.svc
    a = admin(svc)
    old = starts(env.log)[-1]
    svc.runner.stop()
    assert not pid_running(old)  # the runner's servers end with it
    cfg = servers(env.dir, env.ports)
    del cfg["fxh"]
    write_mcp_json(env.mcp_json, cfg)
    svc.start_runner()
    wait_for(lambda: not any(n.startswith("fxh.") for n in env.tools()) or None, 20 * SLOW,
             what="fxh's tools gone from the catalog")
    assert run(a, "fx.add", {"a": 7, "b": 8})["result"]["structuredContent"] == {"sum": 15}
    r = a.post("/jobs/submit", json={"tool": "fxh.add", "arguments": {"a": 1, "b": 1}})
    assert r.status_code == 404, r.text
    if HAVE_EVERYTHING:  # the reference server, kept in mcp.json, answers the new runner too
        assert "everything.echo" in env.tools() and "evh.echo" in env.tools()
        assert run(a, "everything.echo", {"message": "again"})["result"]["content"][0]["text"] == "Echo: again"


# ---- configuration ----

@pytest.mark.parametrize("servers_,message", [
    ({"bad.name": {"command": "x"}}, "server name \"bad.name\""),
    ({"s": {"command": "x", "url": "http://a"}}, "has both command and url"),
    ({"s": {}}, "needs a command"),
    ({"s": {"command": "x", "args": "-v"}}, "args: must be an array"),
    ({"s": {"url": "ftp://a"}}, "url: must be an http"),
    ({"s": {"url": "http://a", "type": "sse"}}, "legacy HTTP+SSE"),
    ({"s": {"command": "x", "env": {"K": "${VEX_IT_SURELY_UNSET}"}}}, "is not set"),
])
def test_check_config_refuses_a_bad_mcp_json(tmp_path, servers_, message):
    path = str(tmp_path / "mcp.json")
    write_mcp_json(path, servers_)
    e = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    e.update({"VEX_HOME": str(tmp_path), "VEX_JWT_SECRET": "x" * 48, "VEX_TOOLS_MCP_FILE": path})
    r = subprocess.run([os.path.join(BUILD, "vex-runner"), "--check-config"], env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert message in r.stderr and path in r.stderr, r.stderr


def test_check_config_accepts_a_pasted_block(tmp_path):
    path = str(tmp_path / "mcp.json")
    with open(path, "w") as f:
        json.dump({"mcpServers": {"everything": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"],
                                                 "autoApprove": []},
                                  "remote": {"type": "streamable-http", "url": "https://example.com/mcp",
                                             "headers": {"Authorization": "Bearer ${VEX_IT_TOKEN:-none}"}},
                                  "off": {"command": "x", "disabled": True}},
                   "globalShortcut": ""}, f)
    e = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    e.update({"VEX_HOME": str(tmp_path), "VEX_JWT_SECRET": "x" * 48, "VEX_TOOLS_MCP_FILE": path})
    r = subprocess.run([os.path.join(BUILD, "vex-runner"), "--check-config"], env=e, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=30)
    assert r.returncode == 0 and "config ok" in r.stdout, (r.stdout, r.stderr)
