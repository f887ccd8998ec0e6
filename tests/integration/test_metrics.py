# test_metrics.py - GET /metrics: who may scrape, what the counters say after real jobs and webhook deliveries,
# promtool's verdict, counters of every worker and of the runner adding up, bounded labels.
import http.client
import http.server
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import threading
import uuid

import pytest

import vexit

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ALLOWED = "127.0.0.1"   # the tests' own address: scrapes from it need no credential
OUTSIDE = "127.0.0.2"   # another loopback address, outside [metrics] allow_networks

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@pytest.fixture(scope="module")
def svc(request, tls):
    s = vexit.Service(tls, workers=3, api_env={"VEX_METRICS_ALLOW_NETWORKS": ALLOWED + "/32, ::1"})
    request.addfinalizer(s.stop)
    s.start()
    return s


def parse(text):
    """{(name, frozenset(labels)): value} of every sample; TYPE lines as {family: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ", 3)
            types[fam] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "not a sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        key = (m.group(1), labels)
        assert key not in samples, "duplicate series %r" % line
        samples[key] = float(m.group(4))
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def series(samples, name):
    return [dict(k[1]) for k in samples if k[0] == name]


def scrape(svc):
    r = svc.request("GET", "/metrics")  # from ALLOWED, without a credential
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == CONTENT_TYPE
    return r.text


def scraped(svc):
    return parse(scrape(svc))[0]


def from_outside(svc, headers=None):
    """GET /metrics over a connection from OUTSIDE (nginx sees that peer address)."""
    ctx = ssl.create_default_context(cafile=svc.cert)
    ctx.check_hostname = False  # the certificate names localhost; the peer is checked against the CA
    conn = http.client.HTTPSConnection("127.0.0.1", svc.https_port, context=ctx, timeout=30,
                                       source_address=(OUTSIDE, 0))
    try:
        conn.request("GET", "/metrics", headers=headers or {})
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read().decode()
    finally:
        conn.close()


# ---- who may scrape ----

def test_outside_without_a_credential_is_401(svc):
    status, headers, body = from_outside(svc)
    assert status == 401, body
    assert json.loads(body)["error"]["code"] == "UNAUTHORIZED"
    assert headers.get("WWW-Authenticate") == "Bearer"


def test_a_forged_forwarded_for_does_not_help(svc):
    # nginx passes its own peer address as REMOTE_ADDR; headers a client sends are never read for it
    for h in ({"X-Forwarded-For": ALLOWED}, {"X-Real-IP": ALLOWED}, {"Forwarded": "for=" + ALLOWED},
              {"Remote-Addr": ALLOWED}):
        status, _, body = from_outside(svc, h)
        assert status == 401, (h, body)


def test_outside_a_user_token_is_403(svc):
    user = svc.client(role="user")
    status, _, body = from_outside(svc, {"Authorization": "Bearer " + user.token})
    assert status == 403, body
    err = json.loads(body)["error"]
    assert err["code"] == "FORBIDDEN" and err["message"] == "admin role required"
    key = vexit.api_key(svc, role="user")
    status, _, body = from_outside(svc, {"X-API-Key": key})
    assert status == 403, body


def test_outside_an_admin_token_scrapes(svc):
    admin = svc.client(role="admin")
    status, headers, body = from_outside(svc, {"Authorization": "Bearer " + admin.token})
    assert status == 200, body
    assert headers["Content-Type"] == CONTENT_TYPE
    assert "# TYPE vex_jobs gauge" in body


def test_an_allowed_network_needs_no_credential(svc):
    r = svc.request("GET", "/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == CONTENT_TYPE
    assert "vex_http_requests_total" in r.text
    # other methods are refused as everywhere
    assert svc.request("POST", "/metrics").status_code == 405


# ---- what the counters say ----

def test_jobs_by_tool_and_status(svc):
    user = svc.client()
    before = scraped(svc)
    ok = [user.tool("echo", {"i": i}) for i in range(3)]
    bad = user.tool("fail", {})
    for j in ok:
        user.wait_job(j)
    user.wait_job(bad, statuses=("failed",))

    def settled():
        s = scraped(svc)
        return s if value(s, "vex_job_completions_total", kind="tool", tool="echo") - \
            value(before, "vex_job_completions_total", kind="tool", tool="echo") >= 3 and \
            value(s, "vex_job_failures_total", kind="tool", tool="fail", status="failed") - \
            value(before, "vex_job_failures_total", kind="tool", tool="fail", status="failed") >= 1 else None

    after = vexit.wait_for(settled, what="the runner's finishes in /metrics")

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("vex_job_submits_total", kind="tool", tool="echo") == 3
    assert delta("vex_job_submits_total", kind="tool", tool="fail") == 1
    assert delta("vex_job_completions_total", kind="tool", tool="echo") == 3
    assert delta("vex_job_completions_total", kind="tool", tool="fail") == 0
    assert delta("vex_job_failures_total", kind="tool", tool="fail", status="failed") == 1
    assert delta("vex_job_failures_total", kind="tool", tool="echo", status="failed") == 0
    assert delta("vex_job_queue_wait_seconds_count", kind="tool", tool="echo") == 3
    assert delta("vex_job_run_seconds_count", kind="tool", tool="echo") == 3
    assert delta("vex_job_queue_wait_seconds_bucket", kind="tool", tool="echo", le="+Inf") == 3
    assert delta("vex_dispatch_latency_seconds_count") == 4
    # the gauge of jobs by kind and status is what the store holds
    for status in ("queued", "running", "completed", "failed", "timeout", "canceled"):
        n = svc.db_query("SELECT COUNT(*) AS n FROM jobs WHERE kind = 'tool' AND status = ?", (status,))[0]["n"]
        assert value(after, "vex_jobs", kind="tool", status=status) == n, status
    assert value(after, "vex_jobs", kind="tool", status="completed") >= 3
    # the runner's slots
    runners = series(after, "vex_runner_slots")
    assert len(runners) == 1, runners
    assert value(after, "vex_runner_slots", **runners[0]) == 8  # [runner] concurrency, the default
    assert ("vex_runner_slots_busy", frozenset(runners[0].items())) in after


class Receiver(http.server.BaseHTTPRequestHandler):
    codes = {}

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(Receiver.codes.get(self.path, 200))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *a):
        pass


@pytest.fixture(scope="module")
def receiver():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", vexit.free_port()), Receiver)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()


def test_webhook_deliveries_by_outcome_and_backlog(svc, receiver):
    user = svc.client()
    Receiver.codes["/down"] = 500
    for path in ("/up", "/down"):
        r = user.post("/api/v1/webhooks", json={"url": receiver + path, "events": ["job.completed"]})
        assert r.status_code == 201, r.text
    before = scraped(svc)
    user.wait_job(user.tool("echo", {"hook": 1}))

    def delivered():
        s = scraped(svc)
        d = value(s, "vex_webhook_deliveries_total", outcome="delivered") - \
            value(before, "vex_webhook_deliveries_total", outcome="delivered")
        f = value(s, "vex_webhook_deliveries_total", outcome="retry") - \
            value(before, "vex_webhook_deliveries_total", outcome="retry")
        return s if d >= 1 and f >= 1 else None

    after = vexit.wait_for(delivered, what="a delivered and a retried attempt in /metrics")
    assert value(after, "vex_webhook_deliveries_total", outcome="delivered") - \
        value(before, "vex_webhook_deliveries_total", outcome="delivered") == 1
    # the backlog is what the store holds pending (the failing hook's delivery waits for its retries)
    Receiver.codes["/down"] = 200

    def drained():
        s = scraped(svc)
        pending = svc.db_query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'")[0]["n"]
        return s if pending == 0 and value(s, "vex_webhook_backlog") == 0 else None

    vexit.wait_for(drained, what="the backlog to drain")


def test_promtool_check_metrics_passes(svc):
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: tools/install-deps installs Debian's prometheus package"
    text = scrape(svc)
    # at least one series of every family the operator's docs name (docs/operations.md)
    _, types = parse(text)
    for fam in ("vex_jobs", "vex_job_submits_total", "vex_job_completions_total", "vex_job_failures_total",
                "vex_job_queue_wait_seconds", "vex_job_run_seconds", "vex_dispatch_latency_seconds",
                "vex_runner_slots", "vex_runner_slots_busy", "vex_mcp_server_up", "vex_webhook_deliveries_total",
                "vex_webhook_backlog", "vex_streams_open", "vex_cache_hits_total", "vex_cache_misses_total",
                "vex_cache_rejected_total", "vex_http_requests_total"):
        assert fam in types, fam
    p = subprocess.run([promtool, "check", "metrics"], input=text.encode(), capture_output=True, timeout=60)
    assert p.returncode == 0, (p.stdout.decode() + p.stderr.decode())[:4000]


def test_requests_over_the_pool_add_up_by_route_pattern(svc):
    user = svc.client()
    job = user.tool("echo", {"poll": 1})
    user.wait_job(job)
    assert len(svc.api_workers()) == 3
    before = scraped(svc)
    n = 60
    errors = []

    def poll(k):
        for _ in range(k):
            r = user.get("/api/v1/jobs/%s" % job)
            if r.status_code != 200:
                errors.append(r.status_code)

    threads = [threading.Thread(target=poll, args=(n // 6,)) for _ in range(6)]  # concurrent: every worker answers
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    after = scraped(svc)
    key = dict(method="GET", route="/api/v1/jobs/{id}", code="200")
    assert value(after, "vex_http_requests_total", **key) - value(before, "vex_http_requests_total", **key) == n
    # the route's pattern, never the raw path: no label carries a job id
    assert job not in scrape(svc)
    hits = value(after, "vex_cache_hits_total") - value(before, "vex_cache_hits_total")
    misses = value(after, "vex_cache_misses_total") - value(before, "vex_cache_misses_total")
    assert hits + misses == n and hits > 0


def test_made_up_tool_names_create_no_series(svc):
    user = svc.client()
    names = lambda s: {tuple(sorted(l.items())) for l in series(s, "vex_job_submits_total")}  # noqa: E731
    before = scraped(svc)
    made_up = ["made-up-%s" % uuid.uuid4().hex for _ in range(20)]
    for name in made_up:
        r = user.post("/api/v1/tools/%s/execute" % name, json={"arguments": {}})
        assert r.status_code == 404, r.text
        r = user.post("/jobs/submit", json={"tool": name, "arguments": {}})
        assert r.status_code == 404, r.text
    text = scrape(svc)
    assert names(parse(text)[0]) == names(before)
    for name in made_up:
        assert name not in text
    # unmatched paths count under one label, whatever the path
    r = svc.request("GET", "/api/v1/no-such-%s" % uuid.uuid4().hex)
    assert r.status_code == 404
    assert "no-such" not in scrape(svc)


def test_counters_survive_a_runner_and_a_worker_restart(svc):
    user = svc.client()
    user.wait_job(user.tool("echo", {"before": 1}))
    before = vexit.wait_for(lambda: (lambda s: s if value(s, "vex_job_completions_total", kind="tool", tool="echo")
                                     > 0 else None)(scraped(svc)), what="a completion counted")
    svc.runner.stop()
    svc.start_runner()
    worker = svc.api_workers()[0]
    os.kill(worker, signal.SIGKILL)
    vexit.wait_for(lambda: worker not in svc.api_workers() and len(svc.api_workers()) == 3,
                   what="the killed worker to be replaced")
    user.wait_job(user.tool("echo", {"after": 1}))

    def counted():
        s = scraped(svc)
        return s if value(s, "vex_job_completions_total", kind="tool", tool="echo") > \
            value(before, "vex_job_completions_total", kind="tool", tool="echo") else None

    after = vexit.wait_for(counted, what="the new runner's completion counted on top")
    for (name, labels), v in before.items():
        if name.endswith("_total"):
            assert after.get((name, labels), 0.0) >= v, (name, dict(labels))


def test_the_docs_and_the_dashboard_name_what_is_scraped(svc):
    """docs/operations.md's metric table names exactly the families a scrape holds, with their types; every
    query of etc/grafana-vex.json names one of them."""
    _, types = parse(scrape(svc))
    doc = open(os.path.join(vexit.REPO, "docs", "operations.md")).read()
    table = dict(re.findall(r"^\| `(vex_[a-z_]+)` \| (counter|gauge|histogram) \|", doc, re.M))
    assert table == types
    dash = json.load(open(os.path.join(vexit.REPO, "etc", "grafana-vex.json")))
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert exprs
    for e in exprs:
        for name in re.findall(r"\bvex_[a-z_]+", e):
            assert re.sub(r"_(bucket|sum|count)$", "", name) in types, (name, e)


def test_streams_from_the_stream_server_are_counted(svc):
    """The stream server (a process of its own) counts its answers under the stream routes, and the streams."""
    user = svc.client()
    job = user.tool("echo", {"stream": 1})
    user.wait_job(job)
    before = scraped(svc)
    # a finished job's stream: its state, then the end
    r = user.get("/api/v1/jobs/%s/stream" % job, headers={"Accept": "text/event-stream"}, stream=True)
    assert r.status_code == 200
    body = r.raw.read().decode()
    assert "data:" in body
    r = svc.client().get("/jobs/%s/stream" % job, headers={"Accept": "text/event-stream"})  # another owner's
    assert r.status_code == 404
    after = scraped(svc)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("vex_http_requests_total", method="GET", route="/api/v1/jobs/{id}/stream", code="200") == 1
    assert delta("vex_http_requests_total", method="GET", route="/jobs/{id}/stream", code="404") == 1
    assert delta("vex_streams_opened_total") == 1
    assert value(after, "vex_streams_open") == 0


def test_mcp_servers_up_and_down(request, tls):
    """A stdio MCP server that starts is up; an HTTP one nobody listens on is down; both by runner and name."""
    d, out = vexit.tools_tmpdir(request, "vex-it-metrics-mcp-")
    fixture = os.path.join(vexit.REPO, "tests", "fixtures", "mcp_fixture.py")
    mcp_json = os.path.join(d, "mcp.json")
    with open(mcp_json, "w") as f:
        json.dump({"mcpServers": {
            "fx": {"command": fixture, "env": {"MCP_FIXTURE_LOG": os.path.join(out, "fx.log")}},
            "gone": {"url": "http://127.0.0.1:%d/mcp" % vexit.free_port()},
        }}, f)
    s = vexit.Service(tls, workers=1, runner_env={"VEX_TOOLS_MCP_FILE": mcp_json},
                      api_env={"VEX_METRICS_ALLOW_NETWORKS": ALLOWED})
    request.addfinalizer(s.stop)
    s.start()

    def both():
        got = {l["server"]: value(sm, "vex_mcp_server_up", **l) for sm in [scraped(s)]
               for l in series(sm, "vex_mcp_server_up")}
        return got if got.get("fx") == 1 and "gone" in got else None

    got = vexit.wait_for(both, 30, what="the fixture up in /metrics")
    assert got == {"fx": 1, "gone": 0}
    assert {l["runner"] for l in series(scraped(s), "vex_mcp_server_up")} == {"it-runner-1"}
