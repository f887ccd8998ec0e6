# test_webhook_delivery.py - the runner delivers job events to a real HTTP receiver that checks both signatures.
import base64
import hashlib
import hmac
import http.server
import json
import os
import subprocess
import threading
import time

import pytest

import vexit

TERMINAL_EVENTS = {"job.completed", "job.failed", "job.canceled", "job.timeout"}
EVENT_STATUS = {"job.queued": "queued", "job.started": "running", "job.completed": "completed",
                "job.failed": "failed", "job.canceled": "canceled", "job.timeout": "timeout"}


# ---- an independent receiver: Standard Webhooks and corex signatures checked with Python's hmac ----

def corex_signature(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signatures(secret, msg_id, ts, body):
    assert secret.startswith("whsec_"), secret
    key = base64.b64decode(secret[len("whsec_"):])
    mac = hmac.new(key, ("%s.%s." % (msg_id, ts)).encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


class Receiver:
    """An HTTP server on a free loopback port, in threads. Each hook gets its own path (/h/<name>) with
    its secret and a behaviour: behave(name, nth_for_id, nth_for_path, rec) -> (status, headers, body,
    delay_s). Every request is kept in .attempts; those answered 2xx, in arrival order, in .arrivals."""

    def __init__(self):
        self.port = vexit.free_port()
        self.lock = threading.Lock()
        self.secrets = {}
        self.behaviours = {}
        self.attempts = []
        self.arrivals = []
        self.server = None
        self.thread = None

    def url(self, name):
        return "http://127.0.0.1:%d/h/%s" % (self.port, name)

    def hook(self, client, name, events=None, behave=None, base="/webhooks"):
        """Register a hook for "name" (all events by default) and remember its secret."""
        body = {"url": self.url(name)}
        if events is not None:
            body["events"] = events
        r = client.post(base, json=body)
        assert r.status_code == 201, r.text
        h = r.json()
        assert h["id"].startswith("hook_") and h["secret"].startswith("whsec_"), h
        with self.lock:
            self.secrets[name] = h["secret"]
            if behave is not None:
                self.behaviours[name] = behave
        return h

    def start(self):
        recv = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                status, headers, answer, delay = recv._handle(self.path, self.headers, body)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(answer)))
                    self.end_headers()
                    self.wfile.write(answer)
                except OSError:
                    pass  # the runner gave up waiting

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def _handle(self, path, headers, body):
        name = path.rsplit("/", 1)[-1]
        with self.lock:
            secret = self.secrets.get(name)
            msg_id = headers.get("webhook-id", "")
            ts = headers.get("webhook-timestamp", "")
            rec = {"name": name, "id": msg_id, "ts": ts, "headers": dict(headers), "body": body,
                   "header_lines": headers.items(), "at": time.time()}  # header_lines: repeats kept
            rec["corex_ok"] = secret is not None and hmac.compare_digest(
                headers.get("X-Agent-CoreX-Signature", ""), corex_signature(secret, body))
            offered = headers.get("webhook-signature", "").split(" ")
            rec["standard_ok"] = secret is not None and ts.isdigit() and any(
                hmac.compare_digest(s, standard_signatures(secret, msg_id, ts, body)) for s in offered)
            try:
                doc = json.loads(body)
                rec["doc"] = doc
                rec["event"] = doc.get("event")
                rec["job_id"] = doc.get("job", {}).get("job_id")
                rec["status"] = doc.get("job", {}).get("status")
            except (ValueError, AttributeError):
                rec["doc"] = rec["event"] = rec["job_id"] = rec["status"] = None
            nth_id = sum(1 for a in self.attempts if a["id"] == msg_id and a["name"] == name) + 1
            nth_path = sum(1 for a in self.attempts if a["name"] == name) + 1
            self.attempts.append(rec)
            behave = self.behaviours.get(name)
            status, hdrs, answer, delay = behave(nth_id, nth_path, rec) if behave else (204, {}, b"", 0)
            rec["answer"] = status if not delay else None  # a delayed answer may find nobody waiting
            if 200 <= status < 300 and not delay:
                self.arrivals.append(rec)
        return status, hdrs, answer, delay

    def got(self, name=None, job_id=None):
        """2xx arrivals (of hook "name", of job "job_id") in arrival order."""
        with self.lock:
            return [a for a in self.arrivals if (name is None or a["name"] == name) and
                    (job_id is None or a["job_id"] == job_id)]

    def tries(self, name=None):
        with self.lock:
            return [a for a in self.attempts if name is None or a["name"] == name]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def fail_first(n, status=500):
    """The first "n" attempts of each delivery fail with "status"."""
    return lambda nth_id, nth_path, rec: (status, {}, b"not now", 0) if nth_id <= n else (200, {}, b"ok", 0)


def submit(client, tool, arguments):
    r = client.post("/jobs/submit", json={"tool": tool, "arguments": arguments})
    assert r.status_code == 200, r.text
    return r.json()["job_id"]


def events_of(recv, name, job_id):
    return [a["event"] for a in recv.got(name, job_id)]


def wait_events(recv, name, job_id, expected, timeout=30):
    vexit.wait_for(lambda: len(recv.got(name, job_id)) >= len(expected), timeout,
                   what="%d deliveries of job %s to %s (got %s)" % (len(expected), job_id, name,
                                                                  events_of(recv, name, job_id)))
    assert events_of(recv, name, job_id) == expected


def deliveries(client, hook_id, base="/webhooks"):
    r = client.get("%s/%s/deliveries?limit=100" % (base, hook_id))
    assert r.status_code == 200, r.text
    return r.json()["deliveries"]


def hook_state(client, hook_id):
    r = client.get("/webhooks/" + hook_id)
    assert r.status_code == 200, r.text
    return r.json()


def check_request(rec):
    """What every delivery request carries: both signatures valid, the headers, the body's shape."""
    h = {k.lower(): v for k, v in rec["headers"].items()}
    assert rec["corex_ok"], ("corex signature", h)
    assert rec["standard_ok"], ("standard signature", h)
    assert h["content-type"] == "application/json"
    assert h["user-agent"] == "vex-webhooks/1"
    assert rec["id"].startswith("msg_") and len(rec["id"]) == 36, rec["id"]
    assert abs(int(rec["ts"]) - rec["at"]) < 60, (rec["ts"], rec["at"])
    doc = rec["doc"]
    assert isinstance(doc, dict) and list(doc) == ["event", "timestamp", "job"], doc
    assert doc["event"] in EVENT_STATUS, doc
    assert vexit.is_rfc3339(doc["timestamp"]), doc
    job = doc["job"]
    assert vexit.UUID7_RE.match(job["job_id"]), job
    assert job["status"] == EVENT_STATUS[doc["event"]], doc
    assert isinstance(job["created_at"], int), job
    if job["status"] == "queued":
        assert job["position_in_queue"] >= 1, job
    if job["status"] == "running":
        assert isinstance(job["started_at"], int) and "progress" in job, job
    if job["status"] == "completed":
        assert "result" in job and isinstance(job["execution_time_ms"], int), job
    if job["status"] in ("failed", "canceled", "timeout"):
        assert set(job["error"]) == {"code", "message", "details"}, job


# ---- on the shared service ----

def test_every_event_in_order_signed(svc, receiver):
    c = svc.client()  # free plan: one running job at a time, so a second job can wait queued
    hook = receiver.hook(c, "all")
    blocker = submit(c, "sleep", {"ms": 3000})  # long enough to cancel the next one while it waits
    c.wait_job(blocker, ("running",))
    waiting = submit(c, "echo", {"never": "runs"})
    r = c.delete("/jobs/" + waiting)
    assert r.status_code == 200, r.text
    echo = submit(c, "echo", {"hello": "world"})
    sleeper = submit(c, "sleep", {"ms": 300, "steps": 3})
    failing = submit(c, "fail", {})
    slow = c.tool("sleep", {"ms": 5000}, timeout_ms=200)
    expected = {
        blocker: ["job.queued", "job.started", "job.completed"],
        waiting: ["job.queued", "job.canceled"],
        echo: ["job.queued", "job.started", "job.completed"],
        sleeper: ["job.queued", "job.started", "job.completed"],
        failing: ["job.queued", "job.started", "job.failed"],
        slow: ["job.queued", "job.started", "job.timeout"],
    }
    for job_id, events in expected.items():
        wait_events(receiver, "all", job_id, events, timeout=60)
    got = receiver.got("all")
    assert len(got) == sum(len(v) for v in expected.values())
    for rec in got:
        check_request(rec)
    ids = [rec["id"] for rec in got]
    assert len(set(ids)) == len(ids), ids
    # the job in the terminal event is the job as it ended
    for rec in got:
        if rec["event"] == "job.completed" and rec["job_id"] == echo:
            assert rec["doc"]["job"]["result"] == {"hello": "world"}
        if rec["event"] == "job.timeout":
            assert rec["doc"]["job"]["error"]["code"] == "EXECUTION_TIMEOUT"
        if rec["event"] == "job.canceled":
            assert rec["doc"]["job"]["error"]["code"] == "CANCELED"
    # every delivery is listed as delivered, once
    listed = deliveries(c, hook["id"])
    assert sorted(d["id"] for d in listed) == sorted(ids)
    assert all(d["status"] == "delivered" and d["attempts"] == 1 for d in listed), listed


def test_hook_only_hears_its_events_and_owner(svc, receiver):
    alice, bob = svc.client(), svc.client()
    receiver.hook(alice, "done", events=["job.completed", "job.failed"])
    receiver.hook(bob, "bob")
    a1 = submit(alice, "echo", {})
    a2 = submit(alice, "fail", {})
    b1 = submit(bob, "echo", {})
    wait_events(receiver, "done", a1, ["job.completed"])
    wait_events(receiver, "done", a2, ["job.failed"])
    wait_events(receiver, "bob", b1, ["job.queued", "job.started", "job.completed"])
    assert {a["job_id"] for a in receiver.got("done")} == {a1, a2}
    assert {a["job_id"] for a in receiver.got("bob")} == {b1}


def test_retried_until_it_arrives(svc, receiver):
    c = svc.client()
    h = receiver.hook(c, "flaky", events=["job.completed"], behave=fail_first(3))
    job = submit(c, "echo", {"n": 1})
    wait_events(receiver, "flaky", job, ["job.completed"])
    tries = receiver.tries("flaky")
    assert len(tries) == 4
    assert len({t["id"] for t in tries}) == 1, "webhook-id is stable across retries"
    assert [t["answer"] for t in tries] == [500, 500, 500, 200]
    for t in tries:
        check_request(t)
    d = vexit.wait_for(lambda: [x for x in deliveries(c, h["id"]) if x["status"] == "delivered"], 10,
                       what="delivery listed as delivered")[0]
    assert d["id"] == tries[0]["id"]
    assert d["attempts"] == 4
    assert d["last_status_code"] == 200
    assert [a["status_code"] for a in d["attempt_log"]] == [500, 500, 500, 200]
    assert [a["n"] for a in d["attempt_log"]] == [1, 2, 3, 4]
    assert [a["error"] for a in d["attempt_log"]][:3] == ["the receiver answered 500"] * 3
    assert d["attempt_log"][3]["error"] is None
    assert d["attempt_log"][0]["response_body"] == "not now"
    # the hook recovered
    st = hook_state(c, h["id"])
    assert st["status"] == "active" and st["failing_since"] is None and st["last_error"] is None, st


def test_order_holds_while_an_earlier_event_is_retried(svc, receiver):
    c = svc.client()

    def queued_fails_twice(nth_id, nth_path, rec):
        if rec["event"] == "job.queued" and nth_id <= 2:
            return 503, {}, b"busy", 0
        return 200, {}, b"", 0

    receiver.hook(c, "order", behave=queued_fails_twice)
    job = submit(c, "echo", {})
    c.wait_job(job)
    wait_events(receiver, "order", job, ["job.queued", "job.started", "job.completed"])
    seen = [(t["event"], t["answer"]) for t in receiver.tries("order")]
    assert seen == [("job.queued", 503), ("job.queued", 503), ("job.queued", 200), ("job.started", 200),
                    ("job.completed", 200)], seen


def test_gone_disables_the_hook(svc, receiver):
    c = svc.client()
    gone = receiver.hook(c, "gone", behave=lambda nth_id, nth_path, rec: (410, {}, b"", 0))
    receiver.hook(c, "witness")
    job = submit(c, "echo", {})
    wait_events(receiver, "witness", job, ["job.queued", "job.started", "job.completed"])
    st = vexit.wait_for(lambda: hook_state(c, gone["id"])["status"] == "disabled" and hook_state(c, gone["id"]),
                        10, what="hook disabled")
    assert st["disabled_reason"] == "the receiver answered 410 Gone", st
    assert len(receiver.tries("gone")) == 1
    listed = deliveries(c, gone["id"])  # newest first: the queued event failed, the later ones (if any yet) canceled
    assert [d["status"] for d in listed] == ["canceled"] * (len(listed) - 1) + ["failed"], listed
    assert listed[-1]["event"] == "job.queued" and listed[-1]["last_status_code"] == 410, listed
    # nothing more: the next job reaches the witness only
    job2 = submit(c, "echo", {})
    wait_events(receiver, "witness", job2, ["job.queued", "job.started", "job.completed"])
    assert len(receiver.tries("gone")) == 1


def test_retry_after_is_honoured(svc, receiver):
    c = svc.client()

    def busy_once(nth_id, nth_path, rec):
        if nth_id == 1:
            return 429, {"Retry-After": "1"}, b"slow down", 0
        return 200, {}, b"", 0

    h = receiver.hook(c, "ra", events=["job.completed"], behave=busy_once)
    job = submit(c, "echo", {})
    wait_events(receiver, "ra", job, ["job.completed"])
    # the recorded attempt times (vex dialect: milliseconds) say the second came a second later or more
    d = vexit.wait_for(lambda: [x for x in deliveries(c, h["id"], "/api/v1/webhooks") if x["status"] == "delivered"],
                       10, what="delivered")[0]
    log = d["attempt_log"]
    assert [a["status_code"] for a in log] == [429, 200], log
    t1, t2 = (vexit.parse_rfc3339(a["at"]) for a in log)
    assert (t2 - t1).total_seconds() >= 0.999, (log, "the schedule alone would wait about 0.1 s")


def test_nothing_after_delete(svc, receiver):
    c = svc.client()
    doomed = receiver.hook(c, "doomed")
    receiver.hook(c, "witness")
    job = submit(c, "echo", {})
    wait_events(receiver, "doomed", job, ["job.queued", "job.started", "job.completed"])
    r = c.delete("/webhooks/" + doomed["id"])
    assert r.status_code == 200, r.text
    before = len(receiver.tries("doomed"))
    job2 = submit(c, "echo", {})
    wait_events(receiver, "witness", job2, ["job.queued", "job.started", "job.completed"])
    assert len(receiver.tries("doomed")) == before
    assert all(t["job_id"] != job2 for t in receiver.tries("doomed"))


def test_response_body_capped(svc, receiver):
    c = svc.client()
    big = b"x" * 5000
    h = receiver.hook(c, "big", events=["job.completed"], behave=lambda i, p, rec: (200, {}, big, 0))
    job = submit(c, "echo", {})
    wait_events(receiver, "big", job, ["job.completed"])
    d = vexit.wait_for(lambda: [x for x in deliveries(c, h["id"]) if x["status"] == "delivered"], 10,
                       what="delivered")[0]
    body = d["attempt_log"][0]["response_body"]
    assert 0 < len(body.encode()) <= 1024 and set(body) == {"x"}, len(body)
    size = "octet_length(response_body)" if vexit.STORE == "postgres" else "length(CAST(response_body AS BLOB))"
    rows = svc.db_query("SELECT %s AS n FROM webhook_attempts WHERE delivery_id = ?" % size, (d["id"],))
    assert rows and rows[0]["n"] <= 1024, rows


# ---- services of their own ----

FAILING = {"runner_env": {"VEX_WEBHOOKS_DISABLE_AFTER_S": "2", "VEX_WEBHOOKS_RETRY_S": ",".join(["0.2"] * 30)}}


@pytest.mark.parametrize("fresh_svc", [FAILING], indirect=True)
def test_failing_hook_disabled_after_a_while(fresh_svc, receiver):
    c = fresh_svc.client()
    h = receiver.hook(c, "down", events=["job.completed"],
                      behave=lambda i, p, rec: (500, {}, b"broken", 0))
    receiver.hook(c, "witness", events=["job.completed"])
    submit(c, "echo", {})
    st = vexit.wait_for(lambda: hook_state(c, h["id"])["status"] == "disabled" and hook_state(c, h["id"]), 30,
                        what="hook disabled after failing")
    reason = st["disabled_reason"]
    assert reason.startswith("failing since ") and reason.endswith(": the receiver answered 500"), reason
    since = reason[len("failing since "):-len(": the receiver answered 500")]
    assert vexit.is_rfc3339(since), reason
    assert st["failing_since"] is not None and st["last_error"] == "the receiver answered 500", st
    n = len(receiver.tries("down"))
    assert n >= 2
    d = deliveries(c, h["id"])[0]
    assert d["status"] in ("canceled", "failed"), d
    assert d["attempts"] == n
    # once disabled, nothing more is sent: the next job reaches the witness only
    job = submit(c, "echo", {})
    wait_events(receiver, "witness", job, ["job.completed"])
    assert len(receiver.tries("down")) == n


KILLABLE = {"runner_env": {"VEX_WEBHOOKS_TIMEOUT_MS": "1000", "VEX_WEBHOOKS_RETRY_S": "0.2,0.5,1,2,4,8,16"}}


@pytest.mark.parametrize("fresh_svc", [KILLABLE], indirect=True)
def test_deliveries_survive_a_killed_runner(fresh_svc):
    svc = fresh_svc
    recv = Receiver()  # its port is reserved but nothing listens yet: the receiver is down
    c = svc.client()
    h = recv.hook(c, "later")
    jobs = [submit(c, "echo", {"i": i}) for i in range(2)]
    for j in jobs:
        c.wait_job(j)
    # six deliveries; the first of each job tried (the others wait behind it, in order)
    listed = vexit.wait_for(lambda: (lambda ds: len(ds) == 6 and all(
        d["attempts"] >= 1 for d in ds if d["event"] == "job.queued") and ds)(deliveries(c, h["id"])), 20,
        what="six deliveries, the first of each job tried")
    assert all(d["status"] == "pending" for d in listed), listed
    for d in listed:
        if d["event"] == "job.queued":
            assert d["last_status_code"] is None and "connect" in d["last_error"].lower(), d
        else:
            assert d["attempts"] == 0, d
    svc.runner.kill()
    recv.start()
    try:
        svc.start_runner()
        for j in jobs:
            wait_events(recv, "later", j, ["job.queued", "job.started", "job.completed"], timeout=40)
        assert {a["id"] for a in recv.got("later")} == {d["id"] for d in listed}
        for rec in recv.got("later"):
            check_request(rec)
    finally:
        recv.stop()


@pytest.mark.parametrize("fresh_svc", [KILLABLE], indirect=True)
def test_hanging_receiver_times_out(fresh_svc, receiver):
    c = fresh_svc.client()
    h = receiver.hook(c, "hang", events=["job.completed"],
                      behave=lambda i, p, rec: (200, {}, b"late", 3) if i == 1 else (200, {}, b"ok", 0))
    job = submit(c, "echo", {})
    wait_events(receiver, "hang", job, ["job.completed"])
    d = vexit.wait_for(lambda: [x for x in deliveries(c, h["id"]) if x["status"] == "delivered"], 10,
                       what="delivered")[0]
    log = d["attempt_log"]
    assert log[0]["status_code"] is None and log[0]["error"] == "no answer within 1000 ms", log
    assert log[-1]["status_code"] == 200, log
    assert len({t["id"] for t in receiver.tries("hang")}) == 1


PRIVATE_REFUSED = {"runner_env": {"VEX_WEBHOOKS_ALLOW_PRIVATE": "false"}}


@pytest.mark.parametrize("fresh_svc", [PRIVATE_REFUSED], indirect=True)
def test_private_target_refused_by_the_runner(fresh_svc, receiver):
    c = fresh_svc.client()  # vex-api allows loopback URLs here; the runner does not
    h = receiver.hook(c, "private", events=["job.completed"])
    submit(c, "echo", {})
    d = vexit.wait_for(lambda: [x for x in deliveries(c, h["id"]) if x["attempts"] >= 2], 20,
                       what="two refused attempts")[0]
    for a in d["attempt_log"]:
        assert a["status_code"] is None and a["error"] == "target address 127.0.0.1 is not allowed", a
    st = hook_state(c, h["id"])
    assert st["last_error"] == "target address 127.0.0.1 is not allowed", st
    assert receiver.tries() == []


def test_the_documented_shell_lines_verify_a_delivery(svc, receiver, tmp_path):
    """docs/api-webhooks.md's three lines of shell, run as written on a delivery received for real."""
    doc = open(os.path.join(vexit.REPO, "docs", "api-webhooks.md"), encoding="utf-8").read()
    section = doc.split("### Verifying a delivery in three lines of shell", 1)[1]
    # the page's first block sets an example SECRET, ID, TS and body.json (run by test_docs.py); the second
    # block is the three lines that verify, plus comment lines showing what they print for that example
    blocks = [b.split("```", 1)[0] for b in section.split("```sh\n")[1:3]]
    lines = [ln for ln in blocks[1].strip().splitlines() if not ln.startswith("#")]
    assert len(lines) == 3, lines
    c = svc.client()
    receiver.hook(c, "shell", events=["job.completed"])
    job = submit(c, "echo", {"said": "ünïcode ✓", "n": 1})
    wait_events(receiver, "shell", job, ["job.completed"])
    rec = receiver.got("shell", job)[0]
    (tmp_path / "body.json").write_bytes(rec["body"])
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "SECRET": receiver.secrets["shell"],
           "ID": rec["id"], "TS": rec["ts"]}
    out = subprocess.run(["bash", "-c", "\n".join(lines)], cwd=str(tmp_path), env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True).stdout.decode().split()
    h = {k.lower(): v for k, v in rec["headers"].items()}
    assert out == [h["x-agent-corex-signature"], h["webhook-signature"]], (out, h)
