# test_agent_loop.py - agents against a fake OpenAI-compatible endpoint: answers, tool calls, retries, review.
import json

import pytest

import vexit
from vexit import KeyClient, assert_json, wait_for


ROLE = "You are a careful integration test agent"
PROMPT = "Summarise the state of the queue in one line"
KEY = "sk-test-0123456789"


@pytest.fixture(scope="module")
def svc(request, tls, fake):
    s = vexit.Service(tls, runner_env={
        "VEX_MODEL_BASE_URL": fake.base_url,
        "VEX_MODEL_MODEL": "test-model",
        "VEX_MODEL_API_KEY_ENV": "FAKE_MODEL_KEY",
        "FAKE_MODEL_KEY": KEY,
        "VEX_MODEL_TIMEOUT_MS": "1500",
        "VEX_MODEL_RETRIES": "1",
    })
    request.addfinalizer(s.stop)
    s.start()
    return s


def run(svc, fake, script, prompt=PROMPT, statuses=("completed",), **agent):
    fake.set_script(script)
    c = svc.client()
    fields = {"max_depth": 3}
    fields.update(agent)
    a = c.create_agent(name="loop", role=ROLE, **fields)
    ack = c.execute(a["id"], prompt)
    env = c.wait_job(ack["job_id"], statuses)
    return env, fake.requests()


def test_plain_answer_seed_flow(svc, fake):
    env, reqs = run(svc, fake, [{"content": "The queue is empty.", "model": "fake-model-1",
                                 "usage": {"prompt_tokens": 12, "completion_tokens": 5}}])
    assert env["status"] == "completed" and env["error"] is None, env
    res = env["result"]
    assert res["response"] == "The queue is empty."
    assert res["success"] is True and res["error"] is None
    assert res["prompt"] == PROMPT
    assert env["tokens_used"] == {"input": 12, "output": 5}
    assert res["tokens_used"] == 17
    assert env["steps"] == 1
    assert env["final_model"] == "fake-model-1"
    assert "verified" not in res and "confidence" not in res
    assert env["progress"]["current_step"] == "step 1" and env["progress"]["total_steps"] == 3

    assert len(reqs) == 1
    r = reqs[0]
    assert r["path"] == "/v1/chat/completions"
    assert r["headers"]["authorization"] == "Bearer " + KEY
    body = r["body"]
    assert body["model"] == "test-model"
    assert body["messages"] == [{"role": "system", "content": ROLE}, {"role": "user", "content": PROMPT}]
    assert body["tool_choice"] == "auto"
    fns = {t["function"]["name"]: t for t in body["tools"]}
    assert {"echo", "sleep", "fail"} <= set(fns), fns
    assert fns["echo"]["type"] == "function"
    assert fns["sleep"]["function"]["parameters"]["properties"]["ms"]["type"] == "integer"
    assert fns["fail"]["function"]["description"]
    assert "max_tokens" not in body


def test_vex_agent_model_and_tools_reach_the_endpoint(svc, fake):
    """A vex-dialect agent's "model" and "tools" are what the loop asks for and offers (as the events
    dialect's "model" always was)."""
    env, reqs = run(svc, fake, [{"content": "done"}], model="agent-model", tools=["echo"])
    assert env["status"] == "completed", env
    body = reqs[0]["body"]
    assert body["model"] == "agent-model"
    assert [t["function"]["name"] for t in body["tools"]] == ["echo"], body["tools"]


def test_tool_call_round_trip(svc, fake):
    env, reqs = run(svc, fake, [
        {"tool_calls": [{"id": "call_1", "name": "echo", "arguments": {"text": "hi there"}}], "content": None},
        {"content": "The echo tool said hi there."},
    ])
    res = env["result"]
    assert res["response"] == "The echo tool said hi there." and res["success"] is True
    assert env["steps"] == 2
    assert env["tokens_used"] == {"input": 14, "output": 6}
    assert len(reqs) == 2
    msgs = reqs[1]["body"]["messages"]
    assert msgs[2]["role"] == "assistant"
    assert msgs[2]["tool_calls"][0]["id"] == "call_1"
    assert msgs[2]["tool_calls"][0]["function"]["name"] == "echo"
    assert msgs[3]["role"] == "tool" and msgs[3]["tool_call_id"] == "call_1"
    assert json.loads(msgs[3]["content"]) == {"text": "hi there"}


def test_several_rounds(svc, fake):
    env, reqs = run(svc, fake, [
        {"tool_calls": [{"id": "a", "name": "echo", "arguments": {"n": 1}}]},
        {"tool_calls": [{"id": "b", "name": "echo", "arguments": {"n": 2}},
                        {"id": "c", "name": "sleep", "arguments": {"ms": 10}}]},
        {"content": "done after three rounds"},
    ], max_depth=5)
    assert env["result"]["response"] == "done after three rounds"
    assert env["steps"] == 3
    assert len(reqs) == 3
    last = reqs[2]["body"]["messages"]
    tools = [m for m in last if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tools] == ["a", "b", "c"]
    assert json.loads(tools[2]["content"]) == {"slept_ms": 10, "steps": 1}


def test_max_depth_reached(svc, fake):
    env, reqs = run(svc, fake, [{"tool_calls": [{"name": "echo", "arguments": {}}], "content": "thinking"}],
                    max_depth=2)
    assert env["status"] == "completed"
    res = env["result"]
    assert res["success"] is False
    assert res["error"] == "max_depth (2) reached without a final answer"
    assert env["steps"] == 2
    assert len(reqs) == 2


def test_tool_error_handed_back(svc, fake):
    env, reqs = run(svc, fake, [
        {"tool_calls": [{"id": "f", "name": "fail", "arguments": {"code": "BROKEN", "message": "it broke"}},
                        {"id": "g", "name": "sleep", "arguments": {"ms": "soon"}},
                        {"id": "h", "name": "nosuch", "arguments": {}},
                        {"id": "i", "name": "echo", "arguments": "{not json"}]},
        {"content": "the tools failed, sorry"},
    ])
    assert env["result"]["response"] == "the tools failed, sorry" and env["result"]["success"] is True
    tools = {m["tool_call_id"]: json.loads(m["content"]) for m in reqs[1]["body"]["messages"] if m["role"] == "tool"}
    assert tools["f"] == {"error": {"code": "BROKEN", "message": "it broke"}}
    assert tools["g"]["error"]["code"] == "INVALID_ARGUMENTS" and "ms" in tools["g"]["error"]["message"]
    assert tools["h"]["error"]["code"] == "TOOL_NOT_FOUND"
    assert tools["i"]["error"]["code"] == "INVALID_ARGUMENTS"


def test_429_then_success(svc, fake):
    env, reqs = run(svc, fake, [
        {"status": 429, "headers": {"Retry-After": "1"}, "body": {"error": {"message": "slow down"}}},
        {"content": "answered after a retry"},
    ])
    assert env["result"]["response"] == "answered after a retry"
    assert env["steps"] == 1
    assert len(reqs) == 2


def test_5xx_exhausts_retries(svc, fake):
    env, reqs = run(svc, fake, [{"status": 503, "body": "overloaded"}], statuses=("failed",))
    assert env["error"]["code"] == "MODEL_ERROR"
    assert "HTTP 503" in env["error"]["message"] and "2 attempts" in env["error"]["message"], env
    assert len(reqs) == 2


def test_malformed_reply(svc, fake):
    env, _ = run(svc, fake, [{"raw": "this is not json"}], statuses=("failed",))
    assert env["error"]["code"] == "MODEL_ERROR"
    assert env["error"]["message"].startswith(
        "the model endpoint answered something that is not a chat completion: "), env
    assert env["result"]["success"] is False
    env, _ = run(svc, fake, [{"raw": json.dumps({"choices": []})}], statuses=("failed",))
    assert "no choices[0].message" in env["error"]["message"]


def test_hang_past_timeout(svc, fake):
    env, reqs = run(svc, fake, [{"hang": 4}], statuses=("failed",))
    assert env["error"]["code"] == "MODEL_ERROR"
    assert "did not answer within 1500 ms" in env["error"]["message"], env
    assert len(reqs) == 2  # retried once


def test_shadow_review(svc, fake):
    env, reqs = run(svc, fake, [
        {"content": "Paris is the capital of France.", "usage": {"prompt_tokens": 10, "completion_tokens": 4}},
        {"content": 'Sure: ```json\n{"verified": true, "confidence": 0.85, "notes": "correct"}\n```',
         "usage": {"prompt_tokens": 20, "completion_tokens": 9}},
    ], prompt="What is the capital of France?", spawn_shadow=True)
    res = env["result"]
    assert res["response"] == "Paris is the capital of France."
    assert res["verified"] is True and res["confidence"] == 0.85
    assert env["tokens_used"] == {"input": 30, "output": 13}
    assert env["steps"] == 1
    assert len(reqs) == 2
    review = reqs[1]["body"]
    assert "tools" not in review
    assert review["messages"][0]["role"] == "system" and "verified" in review["messages"][0]["content"]
    assert "Paris is the capital of France." in review["messages"][1]["content"]


def test_shadow_review_unparseable(svc, fake):
    env, _ = run(svc, fake, [{"content": "42"}, {"content": "I think it is fine"}], spawn_shadow=True)
    res = env["result"]
    assert res["success"] is True and res["verified"] is False and res["confidence"] == 0.0


def test_events_agent_final_model(svc, fake):
    fake.set_script([{"content": "standing instruction done", "model": "fake-events-model"}])
    c = KeyClient(svc, header="X-Api-Key")
    content = "You are a scheduled agent that reports the weather"
    r = c.post("/v1/agents", json={"name": "events loop", "mode": "SCHEDULED", "content": content,
                                   "schedule": {"tasksPerDay": 1, "times": ["09:00"]}})
    assert r.status_code == 201, r.text
    agent = assert_json(r)["data"]
    r = c.post("/v1/agents/%s/execute" % agent["id"], json={})
    assert r.status_code == 202, r.text
    rid = r.json()["data"]["requestId"]

    def done():
        e = c.get("/v1/events/" + rid).json()["data"]
        return e if e["status"] in ("COMPLETED", "FAILED") else None
    e = wait_for(done, 60, interval=0.1, what="event")
    assert e["status"] == "COMPLETED" and e["error"] is None, e
    assert e["finalModel"] == "fake-events-model"
    body = fake.requests()[0]["body"]
    assert body["messages"][0] == {"role": "system", "content": content}
