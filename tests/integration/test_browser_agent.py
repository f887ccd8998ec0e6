# test_browser_agent.py - an events-dialect agent with a baseUrl browses a page the test serves: Playwright's MCP
# server and Debian's chromium for real, the model scripted by the fake OpenAI server (tests/fixtures/fake_openai.py).
import json
import os
import shutil
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import vexit
from vexit import KeyClient, assert_json, wait_for

sys.path.insert(0, os.path.join(vexit.REPO, "tests", "fixtures"))
from fake_openai import FakeOpenAI  # noqa: E402

PLAYWRIGHT_MCP = os.path.join(vexit.REPO, ".deps", "node_modules", ".bin", "playwright-mcp")
CHROMIUM = "/usr/bin/chromium"
TOKEN = uuid.uuid4().hex[:12]
TITLE = "Vex browser page " + TOKEN
TEXT = "The purple otter %s guards the lighthouse" % TOKEN

pytestmark = pytest.mark.skipif(not (os.access(PLAYWRIGHT_MCP, os.X_OK) and os.access(CHROMIUM, os.X_OK)),
                                reason="@playwright/mcp or chromium is not installed (tools/install-deps installs them)")


class Page(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        body = ("<html><head><title>%s</title></head><body><h1>%s</h1></body></html>" % (TITLE, TEXT)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def site(request):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    request.addfinalizer(lambda: (srv.shutdown(), srv.server_close()))
    return "http://127.0.0.1:%d" % srv.server_address[1]


@pytest.fixture(scope="module")
def fake(request):
    f = FakeOpenAI().start()
    request.addfinalizer(f.stop)
    return f


@pytest.fixture(scope="module")
def svc(request, tls, fake):
    s = vexit.Service(tls, runner_env={"VEX_MODEL_BASE_URL": fake.base_url, "VEX_MODEL_MODEL": "fake-browser-model",
                                       "VEX_BROWSER_MCP_COMMAND": PLAYWRIGHT_MCP, "VEX_BROWSER_CHROMIUM": CHROMIUM})
    request.addfinalizer(s.stop)
    s.start()
    return s


def create_agent(c, base_url):
    r = c.post("/v1/agents", json={"name": "browser agent", "baseUrl": base_url, "mode": "SCHEDULED",
                                   "schedule": {"tasksPerDay": 1, "times": ["09:00"]}, "content": "You read web pages and report what they say."})
    assert r.status_code == 201, r.text
    return assert_json(r)["data"]


def run(c, agent_id):
    r = c.post("/v1/agents/%s/execute" % agent_id)
    assert r.status_code == 202, r.text
    rid = r.json()["data"]["requestId"]

    def done():
        e = c.get("/v1/events/" + rid).json()["data"]
        return e if e["status"] in ("COMPLETED", "FAILED") else None
    return rid, wait_for(done, 90, interval=0.2, what="event " + rid)


def tool_messages(requests):
    """The tool messages the model received, in order."""
    last = requests[-1]["body"]["messages"]
    return [m for m in last if m.get("role") == "tool"]


def session_processes():
    """Pids of processes that belong to some browser session (their environment carries its marker)."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/environ" % p, "rb") as f:
                if b"VEX_BROWSER_SESSION=" in f.read():
                    pids.append(int(p))
        except OSError:
            pass
    return pids


def test_browser_agent_reports_what_it_saw(svc, fake, site):
    c = KeyClient(svc)
    a = create_agent(c, site + "/start")
    fake.set_script([
        {"tool_calls": [{"id": "nav", "name": "browser__navigate", "arguments": {"url": site + "/page.html"}}],
         "content": None},
        {"tool_calls": [{"id": "snap", "name": "browser__snapshot", "arguments": {}}], "content": None},
        {"content": "The page says: " + TEXT, "model": "fake-browser-model-final"},
    ])
    rid, e = run(c, a["id"])
    assert e["status"] == "COMPLETED" and e["error"] is None, e
    assert e["finalModel"] == "fake-browser-model-final"
    assert e["browserStepCount"] >= 2
    assert e["browserSessionSeconds"] > 0

    # the model was offered the browser's tools, and what it read came from the real page
    reqs = fake.requests()
    assert len(reqs) == 3
    offered = {t["function"]["name"] for t in reqs[0]["body"]["tools"]}
    assert {"browser__navigate", "browser__snapshot"} <= offered
    assert "browser__evaluate" not in offered and "browser__run_code_unsafe" not in offered
    tools = tool_messages(reqs)
    assert [m["tool_call_id"] for m in tools] == ["nav", "snap"]
    assert TITLE in tools[0]["content"]
    assert TEXT in tools[1]["content"]
    job = svc.db_job(rid)
    result = json.loads(job["result_json"])
    assert result["success"] is True and TEXT in result["response"]
    assert job["browser_steps"] == 2 and job["browser_seconds"] > 0
    # the session ended with the job: no browser process is left
    wait_for(lambda: not session_processes(), 10, what="browser processes gone")


def test_browser_agent_stays_on_its_origin(svc, fake, site):
    c = KeyClient(svc)
    a = create_agent(c, site + "/")
    other = site.replace("127.0.0.1", "localhost") + "/page.html"
    fake.set_script([
        {"tool_calls": [{"id": "away", "name": "browser__navigate", "arguments": {"url": other}}], "content": None},
        {"content": "I could not go there."},
    ])
    rid, e = run(c, a["id"])
    assert e["status"] == "COMPLETED", e
    tools = tool_messages(fake.requests())
    assert len(tools) == 1
    err = json.loads(tools[0]["content"])["error"]
    assert err["code"] == "EXECUTION_ERROR" and "refused" in err["message"]
    assert TEXT not in tools[0]["content"]
    assert e["browserStepCount"] == 0
    wait_for(lambda: not session_processes(), 10, what="browser processes gone")
