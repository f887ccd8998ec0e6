# test_traceparent.py - W3C trace context: a submit's traceparent is kept with the job (both dialects), logged by
# the runner at claim and finish, sent to a real MCP server in _meta and to a webhook receiver as a header; invalid
# ones are ignored (not stored, the submit succeeds) and none can smuggle a header or JSON anywhere.
import json
import os
import socket
import ssl

import pytest

import vexit
from test_webhook_delivery import Receiver
from vexit import REPO, SLOW, TERMINAL, KeyClient, wait_for

FIXTURE = os.path.join(REPO, "tests", "fixtures", "mcp_fixture.py")
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
TP = "00-%s-00f067aa0ba902b7-01" % TRACE
INVALID = [
    TP + "0",                                                   # 56 characters for version 00
    TP[:-1],                                                    # 54
    TP.upper(),                                                 # upper case
    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace-id
    "00-%s-0000000000000000-01" % TRACE,                        # all-zero parent-id
    "ff-%s-00f067aa0ba902b7-01" % TRACE,                        # version ff
    "0x-%s-00f067aa0ba902b7-01" % TRACE,
    "00-%s-00f067aa0ba902b7-01-" % TRACE,
    "01-%s-00f067aa0ba902b7-01x" % TRACE,                       # a future version's 56th character must be "-"
    "01-%s-00f067aa0ba902b7-01-" % TRACE + "a" * 500,          # oversized
    TP[:-2] + '"}',                                             # JSON injection attempts
    TP + '","x":"1',
    '00-%s-00f067aa0ba902b7-01"},"_meta":{"a":"' % TRACE,
    "",
]


class Env:
    def __init__(self, svc, fx_log, recv):
        self.svc, self.fx_log, self.recv = svc, fx_log, recv
        self.user = KeyClient(svc, plan="enterprise")
        recv.hook(self.user, "t", base="/api/v1/webhooks")

    def deliveries(self, job_id, final=True):
        """The job's deliveries (signatures checked), once its terminal one is in when "final"."""
        def check():
            got = self.recv.got(job_id=job_id)
            done = any(g["event"] == "job.completed" for g in got)
            return got if got and (done or not final) else None
        got = wait_for(check, 30 * SLOW, what="deliveries of %s" % job_id)
        assert all(g["corex_ok"] and g["standard_ok"] for g in got)
        return got

    def mcp_calls(self):
        try:
            with open(self.fx_log, encoding="utf-8") as f:
                msgs = [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []
        return [m for m in msgs if m.get("method") == "tools/call"]

    def runner_log(self):
        with open(self.svc.log("vex-runner"), encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.startswith("{")]


@pytest.fixture(scope="module")
def env(request, tls):
    d, out = vexit.tools_tmpdir(request, "vex-it-trace-")
    fx_log = os.path.join(out, "fx.log")
    mcp_json = os.path.join(d, "mcp.json")
    with open(mcp_json, "w", encoding="utf-8") as f:
        json.dump({"mcpServers": {"fx": {"command": FIXTURE, "env": {"MCP_FIXTURE_LOG": fx_log},
                                         "vex": {"grant": {"roles": ["user"]}}}}}, f)
    recv = Receiver().start()
    request.addfinalizer(recv.stop)
    svc = vexit.Service(tls, runner_env={"VEX_TOOLS_MCP_FILE": mcp_json})
    request.addfinalizer(svc.stop)
    svc.start()
    wait_for(lambda: svc.db_query("SELECT name FROM tools WHERE name = 'fx.add'"), 30 * SLOW,
             what="fx.add in the catalog")
    return Env(svc, fx_log, recv)


def wait_done(c, job_id):
    def check():
        j = c.job(job_id)
        return j if j["status"] in TERMINAL else None
    return wait_for(check, 30 * SLOW, interval=0.05, what="job %s to finish" % job_id)


def traceparents(delivery):
    return [v for k, v in delivery["header_lines"] if k.lower() == "traceparent"]


def stored(svc, job_id):
    return svc.db_job(job_id)["traceparent"]


def test_a_tool_submit_shows_it_in_both_dialects(env):
    c = env.user
    r = c.post("/api/v1/tools/echo/execute", json={"arguments": {"x": 1}}, headers={"traceparent": TP})
    assert r.status_code == 200, r.text
    assert r.json()["traceparent"] == TP
    job = r.json()["job_id"]
    assert stored(env.svc, job) == TP
    wait_done(c, job)
    for _ in range(2):  # the second read comes from the view kept in memcached
        assert c.job(job)["traceparent"] == TP
        r = c.get("/jobs/" + job)
        assert r.status_code == 200 and r.json()["traceparent"] == TP, r.text
    items = [j for j in c.get("/api/v1/jobs?limit=50").json()["jobs"] if j["job_id"] == job]
    assert items and items[0]["traceparent"] == TP
    items = [j for j in c.get("/jobs?limit=50").json()["jobs"] if j["job_id"] == job]
    assert items and items[0]["traceparent"] == TP
    # a job submitted without one has no such field anywhere
    plain = c.tool("echo", {"x": 2})
    wait_done(c, plain)
    assert "traceparent" not in c.job(plain)
    assert "traceparent" not in c.get("/jobs/" + plain).json()


def test_every_submit_path_keeps_it(env):
    c, svc = env.user, env.svc
    h = {"traceparent": TP}
    r = c.post("/jobs/submit", json={"tool": "echo", "arguments": {}}, headers=h)
    assert r.status_code == 200, r.text
    assert stored(svc, r.json()["job_id"]) == TP
    agent = c.create_agent()
    job = c.execute(agent["id"], "hi", headers=h)["job_id"]
    assert stored(svc, job) == TP
    r = c.post("/v1/agents", json={"name": "ev", "baseUrl": "https://example.com", "mode": "SCHEDULED",
                                   "content": "check the page", "schedule": {"tasksPerDay": 1, "times": ["09:00"]}})
    assert r.status_code == 201, r.text
    r = c.post("/v1/agents/%s/execute" % r.json()["data"]["id"], json={}, headers=h)
    assert r.status_code == 202, r.text
    assert stored(svc, r.json()["data"]["requestId"]) == TP
    admin = KeyClient(svc, role="admin", plan="enterprise")
    r = admin.post("/execute_tool", json={"tool": "echo", "arguments": {"a": 1}, "mode": "sync"}, headers=h)
    assert r.status_code == 200, r.text
    rows = svc.db_query("SELECT traceparent FROM jobs WHERE owner = ? ORDER BY id DESC LIMIT 1", (admin.sub,))
    assert rows[0]["traceparent"] == TP
    # an idempotent replay answers the first job, with the first job's trace context
    key = {"Idempotency-Key": "trace-replay"}
    first = c.tool("echo", {"r": 1}, headers=dict(key, traceparent=TP))
    again = c.post("/api/v1/tools/echo/execute", json={"arguments": {"r": 1}},
                   headers=dict(key, traceparent="00-%s-1111111111111111-00" % TRACE))
    assert again.json()["job_id"] == first and again.json()["traceparent"] == TP


def test_a_future_version_is_kept_as_version_00(env):
    c = env.user
    job = c.tool("echo", {}, headers={"traceparent": "cc" + TP[2:] + "-future-field"})
    assert stored(env.svc, job) == TP
    assert c.job(job)["traceparent"] == TP


def test_the_runner_logs_it_at_claim_and_finish(env):
    c = env.user
    job = c.tool("echo", {"log": 1}, headers={"traceparent": TP})
    wait_done(c, job)

    def lines():
        got = {e["msg"]: e for e in env.runner_log() if e.get("job_id") == job and e["msg"] in ("claim", "finish")}
        return got if len(got) == 2 else None
    got = wait_for(lines, 10 * SLOW, what="claim and finish lines of %s" % job)
    assert got["claim"]["traceparent"] == TP and got["finish"]["traceparent"] == TP
    plain = c.tool("echo", {"log": 2})
    wait_done(c, plain)
    got = wait_for(lambda: [e for e in env.runner_log() if e.get("job_id") == plain and e["msg"] == "finish"],
                   10 * SLOW, what="finish line")
    assert "traceparent" not in got[0]


def test_an_mcp_server_receives_it_in_meta(env):
    c = env.user
    job = c.tool("fx.add", {"a": 2, "b": 3}, headers={"traceparent": TP})
    assert wait_done(c, job)["status"] == "completed"
    plain = c.tool("fx.add", {"a": 4, "b": 5})
    assert wait_done(c, plain)["status"] == "completed"
    calls = {m["params"]["arguments"]["a"]: m["params"] for m in env.mcp_calls()}
    meta = calls[2]["_meta"]
    assert meta["traceparent"] == TP and meta["progressToken"].startswith(job), meta
    assert set(calls[2]) == {"name", "arguments", "_meta"} and calls[2]["arguments"] == {"a": 2, "b": 3}
    assert "traceparent" not in calls[4]["_meta"]


def test_a_webhook_receives_the_header_on_each_delivery(env):
    c = env.user
    job = c.tool("echo", {"hook": 1}, headers={"traceparent": TP})
    wait_done(c, job)
    got = env.deliveries(job)
    assert {g["event"] for g in got} >= {"job.queued", "job.completed"}
    for g in got:
        assert traceparents(g) == [TP]
        assert g["doc"]["job"]["traceparent"] == TP
    plain = c.tool("echo", {"hook": 2})
    wait_done(c, plain)
    got = env.deliveries(plain, final=False)
    assert all(traceparents(g) == [] and "traceparent" not in g["doc"]["job"] for g in got)


@pytest.mark.parametrize("value", INVALID)
def test_invalid_ones_are_ignored_and_the_submit_succeeds(env, value):
    c = env.user
    r = c.post("/api/v1/tools/echo/execute", json={"arguments": {"v": value}}, headers={"traceparent": value})
    assert r.status_code == 200, r.text
    assert "traceparent" not in r.json()
    job = r.json()["job_id"]
    assert stored(env.svc, job) is None
    assert "traceparent" not in c.job(job)
    r = c.post("/jobs/submit", json={"tool": "echo", "arguments": {}}, headers={"traceparent": value})
    assert r.status_code == 200 and stored(env.svc, r.json()["job_id"]) is None, r.text


def raw_submit(svc, token, header_block):
    """POST /api/v1/tools/echo/execute over a raw TLS socket with "header_block" (raw bytes) among the headers."""
    body = b'{"arguments":{"raw":1}}'
    req = (b"POST /api/v1/tools/echo/execute HTTP/1.0\r\nHost: localhost\r\nAuthorization: Bearer " + token.encode() +
           b"\r\nContent-Type: application/json\r\nContent-Length: " + str(len(body)).encode() + b"\r\n" +
           header_block + b"\r\n" + body)
    ctx = ssl.create_default_context(cafile=svc.cert)
    with socket.create_connection(("127.0.0.1", svc.https_port), timeout=10) as s:
        with ctx.wrap_socket(s, server_hostname="localhost") as t:
            t.sendall(req)
            data = b""
            while True:
                chunk = t.recv(65536)
                if not chunk:
                    break
                data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), rest


def test_crlf_cannot_smuggle_a_header_into_webhooks_or_json_into_mcp(env):
    c, svc = env.user, env.svc
    before = svc.count("jobs")
    # A bare CR inside the value: nginx refuses the request itself; nothing is stored.
    status, _ = raw_submit(svc, c.token, b"traceparent: " + TP.encode() + b"\rX-Evil: 1\r\n")
    assert status == 400
    assert svc.count("jobs") == before
    # CRLF ends the header: the valid part is kept, the rest is another header vex never forwards.
    status, body = raw_submit(svc, c.token, b"traceparent: " + TP.encode() + b"\r\nX-Evil: injected\r\n")
    assert status == 200, body
    job = json.loads(body)["job_id"]
    assert stored(svc, job) == TP
    wait_done(c, job)
    for g in env.deliveries(job):
        assert traceparents(g) == [TP]
        assert not [k for k, _ in g["header_lines"] if k.lower() == "x-evil"]
    # A future version may carry more after its 55 characters: only those 55 go anywhere.
    sneaky = "01" + TP[2:] + '-"},"_meta":{"x":"1"}\r'
    job = c.tool("fx.add", {"a": 7, "b": 1}, headers={"traceparent": sneaky.rstrip("\r")})
    assert stored(svc, job) == TP
    assert wait_done(c, job)["status"] == "completed"
    calls = {m["params"]["arguments"]["a"]: m["params"] for m in env.mcp_calls()}
    assert calls[7]["_meta"] == {"progressToken": calls[7]["_meta"]["progressToken"], "traceparent": TP}
