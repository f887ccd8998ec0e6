# test_tool_grants.py - operator tools are admin-only unless granted (tools.json "grant", mcp.json "vex"): a plain
# user probing an ungranted command or MCP tool through every entry point gets the unknown-tool answer, nothing is
# stored and nothing runs; grants by role, plan and owner; an agent's model is offered only its owner's tools.
import json
import os
import subprocess

import pytest

import vexit
from vexit import assert_json, wait_for


ECHO = os.path.join(vexit.REPO, "tests", "fixtures", "commands", "echo.py")
FIXTURE = os.path.join(vexit.REPO, "tests", "fixtures", "mcp_fixture.py")
ALICE = "it-grants-alice"
USERS = {"roles": ["user"]}

# Ungranted, as a plain user sees them: command tools, MCP tools by full name, and bare names only they carry.
UNGRANTED = ["gsecret", "gpro", "galice", "gfx.env", "hid.add", "hid.env", "env"]
MISSING = "gnothere"


@pytest.fixture(scope="module")
def svc(request, tls, fake):
    d, out = vexit.tools_tmpdir(request, "vex-it-grants-")
    ran = os.path.join(out, "ran")
    tools = {
        # records every run (a file) and answers its arguments: admin-only
        "gsecret": {"description": "A secret operator tool.",
                    "argv": ["/bin/sh", "-c", "echo run >> '%s'; cat" % ran]},
        "gusers": {"description": "Granted to every user.", "argv": [ECHO], "grant": USERS},
        "gpro": {"description": "Granted to pro and enterprise plans.", "argv": [ECHO],
                 "grant": {"plans": ["pro", "enterprise"]}},
        "galice": {"description": "Granted to one owner.", "argv": [ECHO], "grant": {"owners": [ALICE]}},
    }
    with open(os.path.join(d, "tools.json"), "w") as f:
        json.dump({"tools": tools}, f)
    mcp = {
        # granted per server, one tool taken back by its own grant (the tool's grant wins)
        "gfx": {"command": FIXTURE, "env": {"MCP_FIXTURE_LOG": os.path.join(out, "gfx.log"), "MCP_FIXTURE_TOOLS": "add,env,noop"},
                "vex": {"grant": USERS, "tools": {"env": {"grant": {"owners": ["it-grants-nobody"]}}}}},
        # a block pasted from another MCP client: no "vex" key, admins only
        "hid": {"command": FIXTURE, "env": {"MCP_FIXTURE_LOG": os.path.join(out, "hid.log"), "MCP_FIXTURE_TOOLS": "add,env"}},
    }
    with open(os.path.join(d, "mcp.json"), "w") as f:
        json.dump({"mcpServers": mcp}, f)
    s = vexit.Service(tls, runner_env={
        "VEX_TOOLS_COMMANDS_FILE": os.path.join(d, "tools.json"), "VEX_TOOLS_MCP_FILE": os.path.join(d, "mcp.json"),
        "VEX_TOOLS_WORK_DIR": os.path.join(d, "work"),
        "VEX_MODEL_BASE_URL": fake.base_url, "VEX_MODEL_MODEL": "test-model", "VEX_MODEL_TIMEOUT_MS": "5000",
        "VEX_MODEL_RETRIES": "1"})
    request.addfinalizer(s.stop)
    s.start()
    s.ran = ran
    s.tdir = d
    wait_for(lambda: {r["server"] for r in s.db_query("SELECT server FROM tools WHERE source = 'mcp'")} == {"gfx", "hid"},
             30, what="both MCP servers published")
    return s


def runs(svc):
    if not os.path.exists(svc.ran):
        return 0
    with open(svc.ran) as f:
        return len(f.read().splitlines())


def shape(r, name):
    """What a caller can compare: status, content type and body, the name and the request id taken out."""
    body = r.text.replace(name, "NAME")
    try:
        j = json.loads(body)
        if isinstance(j, dict) and isinstance(j.get("error"), dict):
            j["error"].pop("request_id", None)
        body = json.dumps(j, sort_keys=True)
    except ValueError:
        pass
    return r.status_code, r.headers.get("Content-Type"), body


def probes(c, name):
    """Every entry point a caller could try a tool name on."""
    return [
        c.post("/api/v1/tools/%s/execute" % name, json={"arguments": {}}),
        c.post("/api/v1/tools/%s/execute" % name, json={"arguments": {"a": 1, "b": 2}}),
        c.get("/api/v1/tools/%s" % name),
        c.post("/jobs/submit", json={"tool": name, "arguments": {}}),
        c.post("/execute_tool", json={"tool": name, "arguments": {}}),
    ]


def names_vex(c):
    r = c.get("/api/v1/tools")
    assert r.status_code == 200, r.text
    return [t["name"] for t in assert_json(r)["tools"]]


def names_corex(c):
    r = c.get("/tools")
    assert r.status_code == 200, r.text
    body = assert_json(r)
    items = body["tools"] if isinstance(body, dict) else body
    return [t["name"] for t in items]


def retrieved(c, query):
    r = c.get("/retrieve_tools", params={"query": query, "top_k": 50})
    assert r.status_code == 200, r.text
    body = assert_json(r)
    items = body["tools"] if isinstance(body, dict) and "tools" in body else body
    return [t["name"] if "name" in t else t.get("tool", {}).get("name") for t in items]


@pytest.mark.parametrize("name", UNGRANTED)
def test_ungranted_answers_as_unknown_and_stores_nothing(svc, name):
    c = svc.client(plan="free")
    before_jobs, before_runs = svc.count("jobs"), runs(svc)
    got = probes(c, name)
    want = probes(c, MISSING)
    assert [shape(r, name) for r in got] == [shape(r, MISSING) for r in want]
    # and the answers are the unknown-tool ones
    assert got[0].status_code == 404 and assert_json(got[0])["error"]["code"] == "NOT_FOUND", got[0].text
    assert got[2].status_code == 404 and assert_json(got[2])["error"]["code"] == "NOT_FOUND", got[2].text
    assert got[3].status_code == 404 and assert_json(got[3])["error"]["code"] == "TOOL_NOT_FOUND", got[3].text
    assert svc.count("jobs") == before_jobs
    assert runs(svc) == before_runs


def test_listings_show_only_what_the_caller_may_run(svc):
    c = svc.client(plan="free")
    for names in (names_vex(c), names_corex(c)):
        assert names == ["echo", "sleep", "fail", "gfx.add", "gfx.noop", "gusers"], names
    for q in ("secret operator tool", "add", "env", "pro plans", "owner"):
        hits = retrieved(c, q)
        assert not set(hits) & {"gsecret", "gpro", "galice", "gfx.env", "hid.add", "hid.env"}, (q, hits)
    assert "gfx.add" in retrieved(c, "add")


def test_bare_names_do_not_reveal_ungranted_tools(svc):
    c = svc.client(plan="free")
    # "add" is gfx.add and hid.add: the user sees only one, so no ambiguity naming the other
    r = c.post("/jobs/submit", json={"tool": "add", "arguments": {"a": 2, "b": 3}})
    assert r.status_code in (200, 201, 202), r.text
    job_id = assert_json(r)["job_id"]
    env = c.wait_job(job_id)
    assert svc.db_job(job_id)["tool"] == "gfx.add", env
    r = c.get("/api/v1/tools/add")
    assert r.status_code == 200 and assert_json(r)["name"] == "gfx.add", r.text
    # an admin sees both: the same bare name is ambiguous
    a = svc.client(role="admin")
    r = a.post("/jobs/submit", json={"tool": "add", "arguments": {"a": 2, "b": 3}})
    assert r.status_code == 400 and "hid.add" in r.text and "gfx.add" in r.text, r.text


def test_admin_sees_and_runs_everything(svc):
    a = svc.client(role="admin")
    names = names_vex(a)
    for n in ("gsecret", "gusers", "gpro", "galice", "gfx.add", "gfx.env", "gfx.noop", "hid.add", "hid.env"):
        assert n in names, names
    assert names_corex(a) == names
    before = runs(svc)
    env = a.wait_job(a.tool("gsecret", {"k": "v"}))
    assert env["status"] == "completed", env
    assert runs(svc) == before + 1
    env = a.wait_job(a.tool("hid.add", {"a": 1, "b": 2}))
    assert env["status"] == "completed", env


@pytest.mark.parametrize("tool,callers", [
    ("gusers", {("user", "free", None): True}),
    ("gpro", {("user", "free", None): False, ("user", "standard", None): False, ("user", "pro", None): True,
              ("user", "enterprise", None): True}),
    ("galice", {("user", "free", None): False, ("user", "enterprise", ALICE): True, ("user", "free", ALICE): True}),
    ("gfx.noop", {("user", "free", None): True}),
    ("gfx.env", {("user", "enterprise", ALICE): False}),
])
def test_grant_by_role_plan_owner(svc, tool, callers):
    for (role, plan, sub), allowed in callers.items():
        c = svc.client(sub=sub, role=role, plan=plan)
        r = c.post("/api/v1/tools/%s/execute" % tool, json={"arguments": {}})
        if allowed:
            assert r.status_code == 200, (role, plan, sub, r.text)
            assert c.wait_job(r.json()["job_id"])["status"] == "completed"
            assert tool in names_vex(c) and tool in names_corex(c)
        else:
            assert shape(r, tool) == shape(c.post("/api/v1/tools/%s/execute" % MISSING, json={"arguments": {}}),
                                           MISSING), (role, plan, sub)
            assert tool not in names_vex(c)


def test_agent_offered_only_granted_tools_and_refused_the_rest(svc, fake):
    c = svc.client(plan="free")
    fake.set_script([
        {"tool_calls": [{"id": "s1", "name": "gsecret", "arguments": {"x": 1}},
                        {"id": "u1", "name": "gusers", "arguments": {"y": 2}}], "content": None},
        {"content": "done"},
    ])
    before = runs(svc)
    a = c.create_agent(name="grants", role="You are a test agent", max_depth=3)
    env = c.wait_job(c.execute(a["id"], "use the tools")["job_id"])
    assert env["status"] == "completed", env
    reqs = fake.requests()
    offered = {t["function"]["name"] for t in reqs[0]["body"].get("tools", [])}
    # an agent is offered every tool its owner may run, and only those
    assert offered == {"echo", "sleep", "fail", "gusers", "gfx__add", "gfx__noop"}, offered
    tool_msgs = {m["tool_call_id"]: json.loads(m["content"]) for m in reqs[1]["body"]["messages"] if m["role"] == "tool"}
    assert tool_msgs["s1"]["error"]["code"] == "TOOL_NOT_FOUND", tool_msgs
    assert tool_msgs["u1"].get("args") == {"y": 2}, tool_msgs
    assert runs(svc) == before


def test_admin_agent_is_offered_operator_tools(svc, fake):
    a = svc.client(role="admin")
    fake.set_script([{"tool_calls": [{"id": "s1", "name": "gsecret", "arguments": {"x": 1}}], "content": None},
                     {"content": "done"}])
    before = runs(svc)
    ag = a.create_agent(name="grants-admin", role="You are a test agent", max_depth=3)
    env = a.wait_job(a.execute(ag["id"], "use it")["job_id"])
    assert env["status"] == "completed", env
    offered = {t["function"]["name"] for t in fake.requests()[0]["body"].get("tools", [])}
    assert {"gsecret", "gpro", "galice", "gfx__env", "hid__add", "hid__env"} <= offered, offered
    assert runs(svc) == before + 1


@pytest.mark.parametrize("where,text,message", [
    ("tools.json", {"tools": {"t": {"argv": ["/bin/cat"], "grant": {"roles": ["root"]}}}}, "grant.roles"),
    ("tools.json", {"tools": {"t": {"argv": ["/bin/cat"], "grant": {"plan": ["pro"]}}}}, "unknown key"),
    ("tools.json", {"tools": {"t": {"argv": ["/bin/cat"], "grant": {"plans": ["gold"]}}}}, "grant.plans"),
    ("tools.json", {"tools": {"t": {"argv": ["/bin/cat"], "grant": ["user"]}}}, "grant"),
    ("tools.json", {"tools": {"t": {"argv": ["/bin/cat"], "grant": {}}}}, "grant"),
    ("mcp.json", {"mcpServers": {"s": {"command": "x", "vex": {"grant": {"owners": [""]}}}}}, "vex.grant.owners"),
    ("mcp.json", {"mcpServers": {"s": {"command": "x", "vex": {"grnt": {}}}}}, "unknown key"),
    ("mcp.json", {"mcpServers": {"s": {"command": "x", "vex": {"tools": {"add": {"grant": {"roles": "user"}}}}}}},
     "vex.tools.add.grant.roles"),
    ("mcp.json", {"mcpServers": {"s": {"command": "x", "vex": {"tools": {"add": {}}}}}}, "needs a grant"),
])
def test_check_config_refuses_a_bad_grant(tmp_path, where, text, message):
    path = tmp_path / where
    path.write_text(json.dumps(text))
    var = "VEX_TOOLS_COMMANDS_FILE" if where == "tools.json" else "VEX_TOOLS_MCP_FILE"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    env.update({"VEX_HOME": str(tmp_path), "VEX_JWT_SECRET": "x" * 40, var: str(path)})
    r = subprocess.run([os.path.join(vexit.BUILD, "vex-runner"), "--check-config"], env=env,
                       capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert str(path) in out and message in out, out
    assert ('"t"' in out) if where == "tools.json" else ('"s"' in out), out


@pytest.mark.parametrize("role,plan,granted", [
    ("user", "free", {"gusers", "gfx__add", "gfx__noop"}),
    ("user", "pro", {"gusers", "gpro", "gfx__add", "gfx__noop"}),
    ("admin", "free", {"gusers", "gpro", "galice", "gsecret", "gfx__add", "gfx__env", "gfx__noop", "hid__add",
                       "hid__env"}),
])
def test_events_agent_offered_its_owners_tools(svc, fake, role, plan, granted):
    """The events dialect's agents (API key callers) decide by the owner's role and plan as of the submit."""
    c = vexit.KeyClient(svc, role=role, plan=plan, header="X-Api-Key")
    fake.set_script([{"tool_calls": [{"id": "s1", "name": "gsecret", "arguments": {}}], "content": None},
                     {"content": "done"}])
    before = runs(svc)
    r = c.post("/v1/agents", json={"name": "events grants", "mode": "SCHEDULED", "content": "You are a test agent",
                                   "schedule": {"tasksPerDay": 1, "times": ["09:00"]}})
    assert r.status_code == 201, r.text
    r = c.post("/v1/agents/%s/execute" % assert_json(r)["data"]["id"], json={})
    assert r.status_code == 202, r.text
    rid = r.json()["data"]["requestId"]

    def done():
        e = c.get("/v1/events/" + rid).json()["data"]
        return e if e["status"] in ("COMPLETED", "FAILED") else None
    e = wait_for(done, 60, interval=0.1, what="event")
    assert e["status"] == "COMPLETED", e
    reqs = fake.requests()
    offered = {t["function"]["name"] for t in reqs[0]["body"].get("tools", [])}
    assert offered - {"echo", "sleep", "fail"} == granted, offered
    reply = [json.loads(m["content"]) for m in reqs[1]["body"]["messages"] if m["role"] == "tool"][0]
    if "gsecret" in granted:
        assert runs(svc) == before + 1 and "error" not in reply, reply
    else:
        assert reply["error"]["code"] == "TOOL_NOT_FOUND" and runs(svc) == before, reply
