# test_model_boundary.py - the model endpoint as an attacker: what it is sent, and what its replies cannot do.
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import vexit
from vexit import wait_for


KEY = "sk-boundary-0123456789abcdef"


class Canary:
    """An HTTP server that records every request it gets: nothing should ever reach it."""

    def __init__(self):
        hits = self.hits = []

        class H(BaseHTTPRequestHandler):
            def log_message(self, fmt, *args):
                pass

            def _any(self):
                hits.append({"path": self.path, "headers": dict(self.headers)})
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            do_GET = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def canary():
    c = Canary()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def svc(request, tls, fake):
    s = vexit.Service(tls, runner_env={
        "VEX_MODEL_BASE_URL": fake.base_url,
        "VEX_MODEL_MODEL": "test-model",
        "VEX_MODEL_API_KEY_ENV": "BOUNDARY_MODEL_KEY",
        "BOUNDARY_MODEL_KEY": KEY,
        "VEX_MODEL_TIMEOUT_MS": str(int(20000 * vexit.SLOW)),
        "VEX_MODEL_RETRIES": "0",
    })
    request.addfinalizer(s.stop)
    s.start()
    return s


def run(svc, fake, script, client=None, prompt="hello", role="You are a boundary test agent", statuses=("completed",)):
    fake.set_script(script)
    c = client or svc.client()
    a = c.create_agent(name="boundary", role=role, max_depth=3)
    ack = c.execute(a["id"], prompt)
    return c.wait_job(ack["job_id"], statuses), fake.requests()


def test_the_model_sees_its_job_and_nothing_else(svc, fake):
    # Two owners in turn: the second job's requests carry nothing of the first, no caller credential,
    # no server secret; the only credential is the model key, as a bearer token.
    alice, bob = svc.client(), svc.client()
    _, first = run(svc, fake, [{"content": "done"}], client=alice, prompt="alice-private-prompt-7781",
                   role="alice's private role text")
    env, reqs = run(svc, fake, [{"content": "done"}], client=bob, prompt="bob's prompt")
    assert env["status"] == "completed" and first and reqs
    for r in reqs:
        raw = json.dumps(r)
        assert "alice-private-prompt-7781" not in raw and "alice's private role text" not in raw
        assert svc.secret not in raw
        assert alice.token not in raw and bob.token not in raw
        assert r["headers"].get("authorization") == "Bearer " + KEY
        for name, value in r["headers"].items():
            if name != "authorization":
                assert KEY not in value, (name, value)
        roles = [m["role"] for m in r["body"]["messages"]]
        assert roles[:2] == ["system", "user"], roles
        assert r["body"]["messages"][1]["content"] == "bob's prompt"


def test_a_redirect_does_not_carry_the_key_elsewhere(svc, fake, canary):
    # A hostile endpoint sends vex elsewhere: the redirect is not followed, so the key never reaches it.
    target = "http://127.0.0.1:%d/v1/chat/completions" % canary.port
    env, reqs = run(svc, fake, [{"status": 307, "headers": {"Location": target}, "body": {}}], statuses=("failed",))
    assert env["status"] == "failed" and len(reqs) == 1
    assert canary.hits == []


def test_an_oversized_reply_fails_the_job_and_nothing_else(svc, fake):
    big = "x" * (9 * 1024 * 1024)  # over VEX_MODEL_REPLY_MAX (8 MiB)
    env, _ = run(svc, fake, [{"content": big}], statuses=("failed",))
    assert "longer than" in json.dumps(env["error"]), env["error"]
    # The runner survived and serves the next job.
    env, _ = run(svc, fake, [{"content": "still here"}])
    assert env["result"]["response"] == "still here"


@pytest.mark.parametrize("name", ["../../bin/sh", "echo;id", "x" * 5000, "__proto__", "fx__..__secret"])
def test_a_call_to_a_tool_that_is_not_offered_comes_back_as_an_error(svc, fake, name):
    env, reqs = run(svc, fake, [{"tool_calls": [{"name": name, "arguments": {}}], "content": None},
                                {"content": "gave up"}])
    assert env["result"]["response"] == "gave up"
    assert len(reqs) == 2
    tool_msgs = [m for m in reqs[1]["body"]["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and "error" in tool_msgs[0]["content"].lower(), tool_msgs
    # The job stored no trace of having run anything but the model.
    row = svc.db_job(env["job_id"])
    assert row["steps"] == 2


def test_a_call_without_a_name_is_a_malformed_reply(svc, fake):
    env, _ = run(svc, fake, [{"tool_calls": [{"name": "", "arguments": {}}], "content": None}], statuses=("failed",))
    assert env["error"]["code"] == "MODEL_ERROR"
    assert "has no function name" in env["error"]["message"], env["error"]


def test_arguments_that_break_the_schema_never_reach_the_tool(svc, fake):
    # sleep takes {"ms": integer}: a string is refused before anything runs, and the model is told.
    env, reqs = run(svc, fake, [{"tool_calls": [{"name": "sleep", "arguments": {"ms": "forever"}}], "content": None},
                                {"content": "ok"}])
    tool_msgs = [m for m in reqs[1]["body"]["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and "ms" in tool_msgs[0]["content"], tool_msgs
    assert env["result"]["response"] == "ok"


def test_raw_json_garbage_in_tool_arguments(svc, fake):
    env, reqs = run(svc, fake, [{"tool_calls": [{"name": "echo", "arguments": "{not json"}], "content": None},
                                {"content": "ok"}])
    tool_msgs = [m for m in reqs[1]["body"]["messages"] if m["role"] == "tool"]
    assert len(tool_msgs) == 1 and "error" in tool_msgs[0]["content"].lower(), tool_msgs
    wait_for(lambda: svc.db_job(env["job_id"])["status"] == "completed", 10, what="job row completed")
