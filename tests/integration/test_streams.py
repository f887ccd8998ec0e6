# test_streams.py - Server-Sent Events through nginx: both dialects, resume with Last-Event-ID, stream_token,
# limits, pings, 200 open streams under a poll load, and the stream server's respawn.
import base64
import concurrent.futures
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import ssl
import time

import pytest

import vexspec

from vexit import (SLOW, TERMINAL, KeyClient, assert_api_error, assert_json, is_rfc3339, parse_rfc3339,
                   wait_for)

VEX_EVENTS = {"queued", "started", "progress", "cancel_requested", "requeued", "completed", "failed", "timeout",
              "canceled"}
READ_TIMEOUT = 20 * SLOW


# ---- an EventSource-style client (independent of the C code) ----

class Stream:
    """One GET of an event stream over its own HTTPS connection (HTTP/1.1, chunked), parsed as the
    EventSource processing model does: fields per line, an event dispatched at a blank line,
    comment lines (":") reported separately."""

    def __init__(self, svc, path, headers=None, timeout=READ_TIMEOUT):
        ctx = ssl.create_default_context(cafile=svc.cert)
        self.conn = http.client.HTTPSConnection("localhost", svc.https_port, context=ctx, timeout=timeout)
        h = {"Accept": "text/event-stream"}
        h.update(headers or {})
        self.conn.request("GET", path, headers=h)
        self.resp = self.conn.getresponse()
        self.status = self.resp.status
        self.headers = self.resp.headers
        self.url = "https://localhost:%d%s" % (svc.https_port, path)
        if self.status == 200:  # the stream itself: its status and content type (vexspec.py)
            vexspec.spec().check("GET", self.url, self.status, self.headers.get("Content-Type"), streamed=True)
        self.buf = b""
        self.eof = False
        self.retry = None
        self.comments = []

    def body(self):
        """The whole body of a non-stream answer (errors, 204)."""
        data = self.resp.read()
        self.close()
        if self.status != 200:
            vexspec.spec().check("GET", self.url, self.status, self.headers.get("Content-Type"), data)
        return data

    def json(self):
        assert self.headers.get("Content-Type", "").split(";")[0] == "application/json", dict(self.headers)
        return json.loads(self.body())

    def _line(self):
        while b"\n" not in self.buf:
            if self.eof:
                return None
            chunk = self.resp.read1(65536)
            if not chunk:
                self.eof = True
                if not self.buf:
                    return None
                continue
            self.buf += chunk
        line, _, self.buf = self.buf.partition(b"\n")
        return line.decode("utf-8")

    def next(self, comments=False):
        """The next event {"id","event","data"} (data parsed as JSON); None at the end of the stream.
        With "comments", a comment line comes back as {"comment": text} as soon as it is read."""
        ev = {"id": None, "event": None, "data": []}
        while True:
            line = self._line()
            if line is None:
                return None
            if line == "":
                if ev["data"]:
                    ev["data"] = json.loads("\n".join(ev["data"]))
                    vexspec.spec().check_event(self.url, ev["data"])
                    return ev
                ev = {"id": None, "event": None, "data": []}  # nothing to dispatch (e.g. after "retry:")
                continue
            if line.startswith(":"):
                self.comments.append(line)
                if comments:
                    return {"comment": line}
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "data":
                ev["data"].append(value)
            elif field == "id":
                ev["id"] = value
            elif field == "event":
                ev["event"] = value
            elif field == "retry":
                self.retry = int(value)

    def events(self):
        """Every event until the server ends the stream."""
        out = []
        while True:
            ev = self.next()
            if ev is None:
                return out
            out.append(ev)

    def until(self, pred):
        """Events up to and including the first one "pred" accepts; AssertionError at the end of the stream."""
        out = []
        while True:
            ev = self.next()
            assert ev is not None, "stream ended before the wanted event; got %r" % out
            out.append(ev)
            if pred(ev):
                return out

    def close(self):
        """Drop the connection at once (as a browser tab that goes away)."""
        try:
            if self.conn.sock is not None:
                self.conn.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()


def ids(events):
    return [int(e["id"]) for e in events]


def log_revs(svc, job_id):
    """The job's events as the job_events table holds them: [(rev, type, status, progress_step)]."""
    rows = svc.db_query("SELECT rev, type, status, progress_step FROM job_events WHERE job_id = ? ORDER BY rev",
                        (job_id,))
    return [(r["rev"], r["type"], r["status"], r["progress_step"]) for r in rows]


def check_stream_head(st):
    assert st.status == 200, st.body()
    assert st.headers["Content-Type"] == "text/event-stream"
    assert st.headers["Cache-Control"] == "no-cache"
    assert st.headers.get("X-Request-ID"), dict(st.headers)


def vex_state_name(env):
    """The event name a job envelope's state stands for (a stream's first event)."""
    if env["status"] == "pending":
        return "queued"
    if env["status"] == "running":
        return "progress" if env["progress"] else "started"
    return env["status"]


# ---- a home-made stream_token (fcgi-app/streamtoken.c, re-implemented) ----

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def craft_token(secret, job_id, sub, role="user", exp=None):
    payload = json.dumps({"v": 1, "job": job_id, "sub": sub, "role": role,
                          "exp": int(time.time()) + 300 if exp is None else exp}, separators=(",", ":")).encode()
    key = hmac.new(secret.encode(), b"vex stream_token v1", hashlib.sha256).digest()
    mac = hmac.new(key, payload, hashlib.sha256).digest()
    return b64url(payload) + "." + b64url(mac)


# ---- the vex dialect ----

def test_vex_stream_of_a_sleep_job(svc):
    c = svc.client(plan="enterprise")
    job = c.tool("sleep", {"ms": 2500, "steps": 3})
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, c.headers({"X-Request-ID": "sse-trace-1"}))
    check_stream_head(st)
    assert st.headers["X-Request-ID"] == "sse-trace-1"
    first = st.next()
    events = [first] + st.events()
    assert st.eof, "the server closes the stream after the terminal event"
    assert st.retry == 2000

    seen = ids(events)
    assert seen == sorted(set(seen)), "ids strictly increasing: %r" % seen
    for ev in events:
        assert ev["event"] in VEX_EVENTS, ev
        assert ev["data"]["job_id"] == job
    # The first event is the job's state when the stream opened, named for it.
    assert first["event"] == vex_state_name(first["data"]), first
    # Progress arrived on the way; the terminal event is last.
    assert "progress" in [e["event"] for e in events], [e["event"] for e in events]
    last = events[-1]
    assert last["event"] == "completed" and last["data"]["status"] == "completed", last
    assert last["data"]["result"] == {"slept_ms": 2500, "steps": 3}
    assert is_rfc3339(last["data"]["completed_at"])
    for ev in events[:-1]:
        assert ev["data"]["status"] in ("pending", "running"), ev

    # After the first, every change of the job reached the stream, under its logged type, once.
    log = log_revs(svc, job)
    after_first = [r for r in log if r[0] > seen[0]]
    assert seen[1:] == [r[0] for r in after_first], (seen, log)
    assert [e["event"] for e in events[1:]] == [r[1] for r in after_first]
    for ev, row in zip(events[1:], after_first):
        if row[3] is not None:
            assert ev["data"]["progress"]["current_step"] == row[3], (ev, row)
    assert seen[-1] == log[-1][0] == svc.db_job(job)["rev"]


def test_vex_stream_of_a_finished_job_and_errors(svc):
    c = svc.client()
    job = c.tool("echo", {"x": 1})
    c.wait_job(job)
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, c.headers())
    check_stream_head(st)
    events = st.events()
    assert len(events) == 1, events
    assert events[0]["event"] == "completed" and events[0]["data"]["result"] == {"x": 1}
    assert int(events[0]["id"]) == svc.db_job(job)["rev"]

    # Resuming a finished stream that saw everything: 204, which tells EventSource to stop.
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, c.headers({"Last-Event-ID": events[0]["id"]}))
    assert st.status == 204, st.body()
    assert st.body() == b""

    # Errors are JSON with the request id.
    other = svc.client()
    for path, who, status, code in (
            ("/api/v1/jobs/%s/stream" % job, other, 404, "NOT_FOUND"),     # another owner's job
            ("/api/v1/jobs/%s/stream" % ("0" * 36), c, 404, "NOT_FOUND"),  # not a job id
            ("/api/v1/jobs/01890a5d-ac96-774b-bcce-b302099a8057/stream", c, 404, "NOT_FOUND")):
        st = Stream(svc, path, who.headers({"X-Request-ID": "err-trace"}))
        assert st.status == status, (path, st.body())
        body = st.json()
        assert body["error"]["code"] == code and body["error"]["request_id"] == "err-trace", body
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, c.headers({"Last-Event-ID": "soon"}))
    assert st.status == 400
    assert st.json()["error"]["field"] == "Last-Event-ID"
    # Admins see every owner's streams.
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, svc.client(role="admin").headers())
    check_stream_head(st)
    assert [e["event"] for e in st.events()] == ["completed"]
    # Only GET.
    r = c.post("/api/v1/jobs/%s/stream" % job, json={})
    err = assert_api_error(r, 405, "METHOD_NOT_ALLOWED")
    assert r.headers["Allow"] == "GET", err


# ---- the corex dialect ----

def test_corex_stream_unnamed_events(svc):
    k = KeyClient(svc, plan="enterprise")
    r = k.post("/jobs/submit", json={"tool": "sleep", "arguments": {"ms": 2200, "steps": 2}})
    assert r.status_code == 200, r.text
    job = r.json()["job_id"]
    st = Stream(svc, "/jobs/%s/stream" % job, {"X-API-Key": k.key})
    check_stream_head(st)
    events = st.events()
    assert st.eof
    assert events, "at least the terminal event"
    seen = ids(events)
    assert seen == sorted(set(seen))
    for ev in events:
        # No "event:" line: EventSource's onmessage (the seed document's client) sees every one.
        assert ev["event"] is None, ev
        j = ev["data"]
        assert j["job_id"] == job and j["tool"] == "sleep" and isinstance(j["created_at"], int), j
        if j["status"] == "queued":
            assert isinstance(j["position_in_queue"], int) and j["position_in_queue"] >= 1, j
        elif j["status"] == "running":
            assert isinstance(j["started_at"], int), j
            assert set(j["progress"]) == {"current_step", "total_steps", "percentage"}, j
    last = events[-1]["data"]
    assert last["status"] == "completed", last
    assert last["result"] == {"slept_ms": 2200, "steps": 2}
    assert isinstance(last["completed_at"], int) and isinstance(last["execution_time_ms"], int), last
    assert "progress" not in last and "position_in_queue" not in last
    assert seen[1:] == [r[0] for r in log_revs(svc, job) if r[0] > seen[0]]

    # ?events=named: the same events, named.
    st = Stream(svc, "/jobs/%s/stream?events=named" % job, {"Authorization": "Bearer " + k.key})
    check_stream_head(st)
    assert [e["event"] for e in st.events()] == ["completed"]
    st = Stream(svc, "/jobs/%s/stream?events=loud" % job, {"X-API-Key": k.key})
    assert st.status == 400 and st.json()["error"]["field"] == "events"

    # corex errors: 404 JOB_NOT_FOUND for another owner's job; 401 as everywhere.
    other = KeyClient(svc)
    st = Stream(svc, "/jobs/%s/stream" % job, {"X-API-Key": other.key})
    assert st.status == 404
    assert st.json()["error"] == {"code": "JOB_NOT_FOUND", "message": "Job %s does not exist" % job}
    st = Stream(svc, "/jobs/%s/stream" % job)
    assert st.status == 401
    body = st.json()
    assert body["error"]["code"] == "UNAUTHORIZED" and body["error"]["message"] == "missing bearer token"
    assert st.headers["WWW-Authenticate"] == "Bearer"
    assert body["error"]["request_id"] == st.headers["X-Request-ID"]


# ---- resume ----

def resume_case(svc, c, job, reconnect_headers, reconnect_query=""):
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, c.headers())
    check_stream_head(st)
    before = [st.next(), st.next()]
    assert None not in before
    last = int(before[-1]["id"])
    st.close()  # forced disconnect
    # Changes happen while nobody listens.
    wait_for(lambda: svc.db_job(job)["rev"] >= last + 2, 30, what="the job to change twice more")
    headers = c.headers(reconnect_headers(last))
    st = Stream(svc, "/api/v1/jobs/%s/stream%s" % (job, reconnect_query.format(last=last)), headers)
    check_stream_head(st)
    after = st.events()
    assert after and after[-1]["event"] in TERMINAL, after
    got = ids(before) + ids(after)
    assert len(got) == len(set(got)), "no event twice: %r" % got
    log = [r[0] for r in log_revs(svc, job)]
    assert got == [rev for rev in log if rev >= got[0]], "no gap: got %r, log %r" % (got, log)
    # The replayed events show the job as it was at each one.
    rows = {r[0]: r for r in log_revs(svc, job)}
    for ev in after:
        rev, typ, status, step = rows[int(ev["id"])]
        assert ev["event"] == typ, (ev, rows[int(ev["id"])])
        assert ev["data"]["status"] == {"queued": "pending"}.get(status, status)
        if step is not None and status == "running":
            assert ev["data"]["progress"]["current_step"] == step


def test_resume_with_last_event_id(svc):
    c = svc.client(plan="enterprise")
    job = c.tool("sleep", {"ms": 4500, "steps": 9})
    resume_case(svc, c, job, lambda last: {"Last-Event-ID": str(last)})


def test_resume_with_query_parameter(svc):
    c = svc.client(plan="enterprise")
    job = c.tool("sleep", {"ms": 4500, "steps": 9})
    resume_case(svc, c, job, lambda last: {}, "?lastEventId={last}")


def test_resume_after_the_log_was_pruned(svc):
    """Changes no longer in the log: the current state stands in for them, then the stream follows."""
    c = svc.client(plan="enterprise")
    job = c.tool("sleep", {"ms": 3000, "steps": 3})
    wait_for(lambda: svc.db_job(job)["rev"] >= 3, 30, what="the job to start and progress")
    # what the runner's pruning does, for this job
    svc.db_exec([("DELETE FROM job_events WHERE job_id = ? AND rev <= 3", (job,))])
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, c.headers({"Last-Event-ID": "1"}))
    check_stream_head(st)
    events = st.events()
    first = events[0]
    assert int(first["id"]) >= 3 and first["event"] == vex_state_name(first["data"]), first
    seen = ids(events)
    assert seen == sorted(set(seen))
    assert events[-1]["event"] == "completed"
    assert seen[1:] == [r[0] for r in log_revs(svc, job) if r[0] > seen[0]]


# ---- stream_token ----

def test_stream_token_both_dialects(svc):
    c = svc.client(plan="enterprise")
    job = c.tool("sleep", {"ms": 800, "steps": 2})
    t0 = time.time()
    r = c.post("/api/v1/jobs/%s/stream_token" % job)  # no body at all
    body = assert_json(r)
    assert r.status_code == 200, body
    tok = body["stream_token"]
    assert body["stream_url"] == "/api/v1/jobs/%s/stream?stream_token=%s" % (job, tok)
    exp = parse_rfc3339(body["expires_at"]).timestamp()
    assert t0 + 290 <= exp <= time.time() + 310, body
    # EventSource: no headers at all.
    st = Stream(svc, body["stream_url"])
    check_stream_head(st)
    events = st.events()
    assert events[-1]["event"] == "completed" and events[-1]["data"]["job_id"] == job
    # A JSON body is accepted too.
    r = c.post("/api/v1/jobs/%s/stream_token" % job, json={})
    assert r.status_code == 200, r.text

    k = KeyClient(svc, plan="enterprise")
    r = k.post("/jobs/submit", json={"tool": "echo", "arguments": {"a": 1}})
    cjob = r.json()["job_id"]
    r = k.post("/jobs/%s/stream_token" % cjob)
    body = assert_json(r)
    assert r.status_code == 200, body
    assert isinstance(body["expires_at"], int) and t0 + 290 <= body["expires_at"] <= time.time() + 310, body
    assert body["stream_url"] == "/jobs/%s/stream?stream_token=%s" % (cjob, body["stream_token"])
    st = Stream(svc, body["stream_url"])
    check_stream_head(st)
    events = st.events()
    assert events[-1]["event"] is None and events[-1]["data"]["status"] == "completed", events

    # Minting for another owner's job: 404 in each dialect's words.
    assert_api_error(svc.client().post("/api/v1/jobs/%s/stream_token" % job), 404, "NOT_FOUND")
    r = KeyClient(svc).post("/jobs/%s/stream_token" % cjob)
    assert r.status_code == 404 and r.json()["error"]["code"] == "JOB_NOT_FOUND", r.text
    assert_api_error(svc.request("POST", "/api/v1/jobs/%s/stream_token" % job), 401, "UNAUTHORIZED")


def test_stream_token_refused(svc):
    c = svc.client(plan="enterprise")
    job = c.tool("echo", {})
    job2 = c.tool("echo", {})
    c.wait_job(job)
    # The independent implementation agrees with the server's: a crafted token works.
    st = Stream(svc, "/api/v1/jobs/%s/stream?stream_token=%s" % (job, craft_token(svc.secret, job, c.sub)))
    check_stream_head(st)
    assert [e["event"] for e in st.events()] == ["completed"]

    def refused(path, message):
        st = Stream(svc, path)
        assert st.status == 401, (path, st.body())
        err = st.json()["error"]
        assert err["code"] == "UNAUTHORIZED" and err["message"] == message, err
        assert err["request_id"] == st.headers["X-Request-ID"]

    expired = craft_token(svc.secret, job, c.sub, exp=int(time.time()) - 5)
    refused("/api/v1/jobs/%s/stream?stream_token=%s" % (job, expired), "stream_token expired")
    good = c.post("/api/v1/jobs/%s/stream_token" % job).json()["stream_token"]
    refused("/api/v1/jobs/%s/stream?stream_token=%s" % (job2, good), "stream_token is for another job")
    refused("/jobs/%s/stream?stream_token=%s" % (job2, good), "stream_token is for another job")
    payload, mac = good.split(".")
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + mac
    refused("/api/v1/jobs/%s/stream?stream_token=%s" % (job, tampered), "stream_token is not valid")
    refused("/api/v1/jobs/%s/stream?stream_token=%s" % (job, craft_token("x" * 48, job, c.sub)),
            "stream_token is not valid")
    refused("/api/v1/jobs/%s/stream?stream_token=" % job, "stream_token is not valid")
    # A JWT is not a stream token.
    refused("/api/v1/jobs/%s/stream?stream_token=%s" % (job, c.token), "stream_token is not valid")
    refused("/api/v1/jobs/%s/stream" % job, "missing bearer token")
    # A valid token of one owner on another owner's job: that job does not exist for it.
    other = svc.client()
    st = Stream(svc, "/api/v1/jobs/%s/stream?stream_token=%s" % (job, craft_token(svc.secret, job, other.sub)))
    assert st.status == 404 and st.json()["error"]["code"] == "NOT_FOUND"
    # An admin's token reaches any owner's job.
    st = Stream(svc, "/api/v1/jobs/%s/stream?stream_token=%s" % (job, craft_token(svc.secret, job, "root", "admin")))
    check_stream_head(st)
    st.close()


# ---- limits and pings (a service of their own) ----

TIGHT = {"VEX_LIMITS_MAX_STREAMS_ENTERPRISE": "3", "VEX_STREAMS_MAX": "5", "VEX_STREAMS_PING_S": "1"}


@pytest.mark.parametrize("fresh_svc", [{"api_env": TIGHT}], indirect=True)
def test_limits_and_pings(fresh_svc):
    svc = fresh_svc
    a = svc.client(plan="enterprise")
    b = svc.client(plan="enterprise")
    job_a = a.tool("sleep", {"ms": 60000})
    job_b = b.tool("sleep", {"ms": 60000})
    path_a = "/api/v1/jobs/%s/stream" % job_a
    open_a = []
    for _ in range(3):
        st = Stream(svc, path_a, a.headers())
        check_stream_head(st)
        assert st.next() is not None
        open_a.append(st)
    # The owner's fourth: 409 STREAM_LIMIT_REACHED (the plan's cap) in the stream's dialect.
    st = Stream(svc, path_a, a.headers())
    assert st.status == 409
    err = st.json()["error"]
    assert err["code"] == "STREAM_LIMIT_REACHED" and "at most 3 " in err["message"] and err["request_id"], err
    st = Stream(svc, "/jobs/%s/stream" % job_a, a.headers())
    assert st.status == 409
    assert set(st.json()["error"]) == {"code", "message"}
    # Another owner still may, until the server's maximum (5).
    open_b = []
    for _ in range(2):
        st = Stream(svc, "/api/v1/jobs/%s/stream" % job_b, b.headers())
        check_stream_head(st)
        open_b.append(st)
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job_b, b.headers())
    assert st.status == 503
    assert st.json()["error"]["code"] == "STREAMS_FULL"
    assert st.headers["Retry-After"]

    # Pings keep a quiet stream alive: a comment when nothing was sent for ping_s.
    ev = open_a[0].next(comments=True)
    while "comment" not in ev:  # the job may have started meanwhile
        ev = open_a[0].next(comments=True)
    assert ev == {"comment": ": ping"}, ev

    # A client that goes away frees its slot at once.
    open_a.pop().close()

    def reopened():
        st = Stream(svc, path_a, a.headers())
        if st.status == 200:
            return st
        assert st.status in (409, 503), st.body()
        st.close()
        return None

    st = wait_for(reopened, 10, interval=0.05, what="the slot to be free again")
    assert st.next() is not None
    open_a.append(st)

    # Canceling the job ends every stream of it with the terminal event.
    assert a.post("/api/v1/jobs/%s/cancel" % job_a).status_code in (200, 202)
    for st in open_a:
        evs = st.events()
        assert evs[-1]["event"] == "canceled", evs
    for st in open_b:
        st.close()
    b.post("/api/v1/jobs/%s/cancel" % job_b)


# ---- many streams while polls run ----

def test_200_streams_during_a_poll_load(svc):
    owners = [svc.client(plan="enterprise") for _ in range(4)]
    jobs = []
    for o in owners:
        for _ in range(5):
            jobs.append((o, o.tool("sleep", {"ms": 120000})))
    streams = []
    try:
        for i in range(200):
            o, job = jobs[i % len(jobs)]
            st = Stream(svc, "/api/v1/jobs/%s/stream" % job, o.headers())
            assert st.status == 200, st.body()
            streams.append((st, o, job))
        for st, _, job in streams:
            first = st.next()
            assert first is not None and first["data"]["job_id"] == job

        def poll(i):
            o, job = jobs[i % len(jobs)]
            r = o.get("/api/v1/jobs/" + job)
            return r.status_code

        with concurrent.futures.ThreadPoolExecutor(max_workers=4) as ex:
            codes = list(ex.map(poll, range(2000)))
        assert codes == [200] * 2000, [c for c in codes if c != 200][:5]
        assert svc.db_query("SELECT count(*) AS n FROM jobs WHERE status IN ('completed','failed','canceled','timeout')"
                            " AND id IN (%s)" % ",".join("?" * len(jobs)), [j for _, j in jobs]) == [{"n": 0}]

        for o, job in jobs:
            r = o.post("/api/v1/jobs/%s/cancel" % job)
            assert r.status_code in (200, 202), r.text
        for st, _, job in streams:
            evs = st.events()
            assert evs and evs[-1]["event"] == "canceled" and evs[-1]["data"]["status"] == "canceled", (job, evs)
            assert st.eof
    finally:
        for st, _, _ in streams:
            st.close()


# ---- the stream server process ----

def test_stream_server_kill9_respawned(fresh_svc):
    svc = fresh_svc
    workers = svc.api_workers()
    victim = svc.api_stream_server()
    assert victim is not None, "vex-api runs a stream server"
    c = svc.client(plan="enterprise")
    job = c.tool("sleep", {"ms": 5000, "steps": 10})
    st = Stream(svc, "/api/v1/jobs/%s/stream" % job, c.headers())
    check_stream_head(st)
    seen = [st.next()]
    os.kill(victim, signal.SIGKILL)
    # The stream ends with the process (the client would reconnect).
    while True:
        try:
            ev = st.next()
        except (OSError, http.client.HTTPException):
            break
        if ev is None:
            break
        seen.append(ev)
    st.close()
    now = wait_for(lambda: (lambda p: p if p and p != victim else None)(svc.api_stream_server()), 20,
                   what="the master to respawn the stream server")
    assert now != victim and svc.api.alive()
    assert svc.api_workers() == workers, "the workers were left alone"

    def reconnect():
        s = Stream(svc, "/api/v1/jobs/%s/stream" % job, c.headers({"Last-Event-ID": seen[-1]["id"]}))
        if s.status == 200:
            return s
        assert s.status == 502, s.body()  # in the moment before the new process listens
        s.close()
        return None

    st = wait_for(reconnect, 20, interval=0.1, what="streams to work again")
    after = st.events()
    got = ids(seen) + ids(after)
    assert after[-1]["event"] == "completed"
    assert got == [r[0] for r in log_revs(svc, job) if r[0] >= got[0]], got
