# test_vexctl_hostile.py - vexctl against a malicious HTTPS server (a tiny one in this file): huge,
# malformed or deeply nested JSON, terminal escapes, an SSE line of megabytes, a stream that drops and
# must be resumed with Last-Event-ID. vexctl must say what is wrong and exit 3, never crash.
import http.server
import json
import ssl
import threading

import pytest

from vexctl_cli import env_for, run

JOB = "01939c20-0000-7000-8000-000000000001"


def job(status, rev, progress=None, **more):
    j = {"job_id": JOB, "status": status, "kind": "tool", "tool": "sleep", "progress": progress,
         "result": None, "error": None}
    j.update(more)
    return j


def event(name, rev, data):
    return ("id: %d\nevent: %s\ndata: %s\n\n" % (rev, name, json.dumps(data))).encode()


class Hostile(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen = []  # (path, Last-Event-ID) of every request

    def log_message(self, *args):
        pass

    def send(self, status, body, ctype="application/json", length=True):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        if length:
            self.send_header("Content-Length", str(len(body)))
        else:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        Hostile.seen.append((self.path, self.headers.get("Last-Event-ID")))
        p = self.path
        try:
            if p == "/api/v1/jobs?limit=1":  # 70 MiB of a valid JSON string
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(70 * 2 ** 20 + 12))
                self.end_headers()
                self.wfile.write(b'{"jobs":["')
                chunk = b"x" * 2 ** 20
                for _ in range(70):
                    self.wfile.write(chunk)
                self.wfile.write(b'"]')
            elif p == "/api/v1/jobs?limit=2":
                self.send(200, b'{"jobs":[{"job_id":')
            elif p == "/api/v1/jobs?limit=3":
                self.send(200, b"[" * 200000 + b"]" * 200000)
            elif p == "/api/v1/jobs?limit=4":  # wrong types everywhere
                self.send(200, json.dumps({"jobs": [1, "x", None, {"job_id": 5, "status": [1], "error": "e"}],
                                           "next_cursor": 7}).encode())
            elif p == "/api/v1/jobs?limit=5":  # a terminal escape in a field
                self.send(200, json.dumps({"jobs": [job("\x1b]0;pwned\x07\x1b[2J", 1)], "next_cursor": None}).encode())
            elif p == "/api/v1/jobs?limit=6":
                self.send(500, b"<html>oops</html>", "text/html")
            elif p == "/api/v1/jobs/huge-line/stream":
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(b"data: ")
                chunk = b"y" * 2 ** 20
                for _ in range(20):
                    self.wfile.write(chunk)
                self.wfile.write(b"\n\n")
            elif p == "/api/v1/jobs/not-a-job/stream":
                self.send(200, b"id: 1\nevent: progress\ndata: [1,2,3]\n\n", "text/event-stream", length=False)
            elif p == "/api/v1/jobs/escape-status/stream":
                self.send(200, event("completed", 1, job("\x1b[2Jx", 1)), "text/event-stream", length=False)
            elif p == "/api/v1/jobs/escapes/stream":
                self.send(200, event("progress\x1b[2J", 1, job("running", 1, {"current_step": "1\x1b[31m",
                                     "total_steps": 2, "percentage": 1e308, "message": "\x1b]0;t\x07hi"}))
                          + event("completed", 2, job("completed", 2, result={"ok": "\x1b[5m"})),
                          "text/event-stream", length=False)
            elif p == "/api/v1/jobs/drops/stream":
                if self.headers.get("Last-Event-ID") is None:  # first connection: one event, then gone
                    self.send(200, b"retry: 2000\n\n" + event("started", 3, job("running", 3)) + b"id: 4\ndata: {\"jo",
                              "text/event-stream", length=False)
                else:
                    self.send(200, event("completed", 5, job("completed", 5, result={"n": 1})),
                              "text/event-stream", length=False)
            else:
                self.send(404, b'{"error":{"code":"NOT_FOUND","message":"no such thing"}}')
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def hostile(tls):
    cert, key = tls
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield env_for("https://localhost:%d" % srv.server_address[1], cert, token="t")
    srv.shutdown()
    srv.server_close()


def test_huge_answer_is_refused_not_read(hostile):
    r = run(hostile, "jobs", "list", "--limit", "1")
    assert r.rc == 3 and "larger than 64 MiB" in r.err and r.out == "", r


def test_malformed_and_deeply_nested_json(hostile):
    for limit in ("2", "3"):
        r = run(hostile, "jobs", "list", "--limit", limit)
        assert r.rc == 3 and "the server's answer is not JSON" in r.err, r
        r = run(hostile, "jobs", "list", "--limit", limit, "--json")
        assert r.rc == 3 and r.out == "", r


def test_wrong_types_do_not_crash(hostile):
    r = run(hostile, "jobs", "list", "--limit", "4")
    assert r.rc == 0, r
    assert r.out.splitlines()[0].split()[0] == "JOB"
    r = run(hostile, "stats")  # 404 here: the error, not a crash
    assert r.rc == 3 and r.err == "vexctl: HTTP 404 NOT_FOUND: no such thing\n", r
    r = run(hostile, "jobs", "list", "--limit", "6")
    assert r.rc == 3 and r.err == "vexctl: HTTP 500\n", r


def test_terminal_escapes_are_neutralised(hostile):
    r = run(hostile, "jobs", "list", "--limit", "5")
    assert r.rc == 0 and "\x1b" not in r.out and "\x07" not in r.out, r
    r = run(hostile, "jobs", "watch", "escapes")
    assert r.rc == 0 and "\x1b" not in r.out and "\x07" not in r.out, r
    assert "100%" in r.out


def test_sse_line_of_megabytes(hostile):
    r = run(hostile, "jobs", "watch", "huge-line")
    assert r.rc == 3 and "a line larger than 16 MiB" in r.err, r


def test_sse_event_that_is_not_a_job(hostile):
    for name in ("not-a-job", "escape-status"):
        r = run(hostile, "jobs", "watch", name)
        assert r.rc == 3 and "an event that is not a job" in r.err and "\x1b" not in r.out + r.err, r


def test_dropped_stream_resumes_with_last_event_id(hostile):
    Hostile.seen.clear()
    r = run(hostile, "jobs", "watch", "drops")
    assert r.rc == 0, r
    assert [s for s in Hostile.seen if s[0] == "/api/v1/jobs/drops/stream"] == [
        ("/api/v1/jobs/drops/stream", None), ("/api/v1/jobs/drops/stream", "3")]
    lines = r.out.splitlines()
    assert lines[0].split()[:2] == ["started", "running"]
    assert lines[1].split()[:2] == ["completed", "completed"]
    assert lines[2] == 'result: {"n":1}'
    assert "reconnecting after event 3" in r.err
