# test_seed_flow.py - seed 000 end to end: health, create agent, queue an execution, poll the envelope; vexctl token.
import json
import os
import re
import subprocess

import vexit
from vexit import (BUILD, UUID7_RE, UUID_RE, assert_json, b64url_decode, is_rfc3339, parse_rfc3339)

ROLE = "You are a careful integration test agent"
PROMPT = "Summarise the state of the queue in one line"


def words(s):
    return len(s.split())


def test_health_public(svc):
    r = svc.get("/health")
    assert r.status_code == 200
    body = assert_json(r)
    assert body["status"] == "healthy"
    assert body["version"] == "0.1.0"
    assert is_rfc3339(body["timestamp"]), body
    assert body["db_type"] == vexit.DB_TYPE


def test_seed_flow_end_to_end(svc):
    c = svc.client()

    # Step 3: create an agent.
    r = c.post("/api/v1/agents", json={"name": "seed-agent", "role": ROLE, "max_depth": 4, "spawn_shadow": True})
    assert r.status_code == 200, r.text
    agent = assert_json(r)
    assert set(agent) >= {"id", "name", "role", "max_depth", "spawn_shadow", "generation", "fitness", "status",
                          "created_at", "updated_at"}, agent
    assert isinstance(agent["id"], str) and UUID_RE.match(agent["id"]), agent
    assert agent["name"] == "seed-agent"
    assert agent["role"] == ROLE
    assert agent["max_depth"] == 4 and type(agent["max_depth"]) is int
    assert agent["spawn_shadow"] is True
    assert agent["generation"] == 0 and type(agent["generation"]) is int
    assert agent["fitness"] == 0.0 and isinstance(agent["fitness"], (int, float)) and not isinstance(agent["fitness"], bool)
    assert agent["status"] == "active"
    assert is_rfc3339(agent["created_at"]) and is_rfc3339(agent["updated_at"]), agent
    assert r.headers.get("X-Request-ID")

    # Defaults: max_depth 3, spawn_shadow false.
    d = c.create_agent(name="defaults", role=ROLE)
    assert d["max_depth"] == 3 and d["spawn_shadow"] is False

    # Stored: one live row owned by the caller.
    rows = svc.db_query("SELECT * FROM agents WHERE id = ?", (agent["id"],))
    assert len(rows) == 1 and rows[0]["owner"] == c.sub, rows

    # Step 4: queue an execution.
    r = c.post("/api/v1/agents/%s/execute" % agent["id"], json={"prompt": PROMPT})
    assert r.status_code == 200, r.text
    ack = assert_json(r)
    assert set(ack) >= {"agent_id", "response", "verified", "confidence", "context_hash", "latency_ms", "job_id",
                        "status"}, ack
    assert ack["agent_id"] == agent["id"]
    m = re.fullmatch(r"Job queued: (\S+)", ack["response"])
    assert m, ack["response"]
    job_id = m.group(1)
    assert UUID7_RE.match(job_id), job_id
    assert ack["job_id"] == job_id
    assert ack["verified"] is False
    assert ack["confidence"] == 1.0 and not isinstance(ack["confidence"], bool)
    assert ack["context_hash"] == "pending"
    assert type(ack["latency_ms"]) is int and ack["latency_ms"] >= 0
    assert ack["status"] == "pending"
    assert r.headers.get("Location") == "/api/v1/jobs/" + job_id

    # Step 5: poll until completed.
    env = c.wait_job(job_id, ("completed",))
    assert set(env) >= {"job_id", "status", "result", "error", "queued_at", "attempts", "kind", "agent_id",
                        "started_at", "completed_at", "progress", "tokens_used"}, env
    assert env["job_id"] == job_id
    assert env["status"] == "completed"
    assert env["error"] is None
    assert is_rfc3339(env["queued_at"]) and is_rfc3339(env["started_at"]) and is_rfc3339(env["completed_at"]), env
    assert parse_rfc3339(env["queued_at"]) <= parse_rfc3339(env["started_at"]) <= parse_rfc3339(env["completed_at"])
    assert env["attempts"] == 1 and type(env["attempts"]) is int
    assert env["kind"] == "agent"
    assert env["agent_id"] == agent["id"]
    assert env["progress"] is None or isinstance(env["progress"], dict)
    tok = env["tokens_used"]
    response = "Echo: " + PROMPT
    assert tok == {"input": words(ROLE) + words(PROMPT), "output": words(response)}, tok

    res = env["result"]
    assert isinstance(res, dict), env
    assert set(res) >= {"job_id", "agent_id", "prompt", "response", "tokens_used", "completed_at", "success",
                        "error"}, res
    assert res["job_id"] == job_id
    assert res["agent_id"] == agent["id"]
    assert res["prompt"] == PROMPT
    assert res["response"] == response
    assert type(res["tokens_used"]) is int and res["tokens_used"] > 0
    assert res["tokens_used"] == tok["input"] + tok["output"]
    assert is_rfc3339(res["completed_at"]), res
    assert res["success"] is True
    assert res["error"] is None

    # Stored: completed once.
    row = svc.db_job(job_id)
    assert row["status"] == "completed" and row["attempts"] == 1, row


def test_execute_with_context_id_and_unicode_prompt(svc):
    c = svc.client()
    a = c.create_agent(role="Reply in kind")
    prompt = "héllo wörld — 日本語 😀"
    ack = c.execute(a["id"], prompt, context_id="ctx-42")
    env = c.wait_job(ack["job_id"])
    assert env["result"]["prompt"] == prompt
    assert env["result"]["response"] == "Echo: " + prompt


def _vexctl(svc, *args):
    return subprocess.run([os.path.join(BUILD, "vexctl"), "token"] + list(args), env=svc.env(),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)


def test_vexctl_token(svc):
    r = _vexctl(svc, "--sub", "vexctl-user", "--role", "admin", "--plan", "pro", "--ttl", "600")
    assert r.returncode == 0, r.stderr
    token = r.stdout.decode().strip()
    parts = token.split(".")
    assert len(parts) == 3, token
    header = json.loads(b64url_decode(parts[0]))
    claims = json.loads(b64url_decode(parts[1]))
    assert header["alg"] == "HS256"
    assert claims["sub"] == "vexctl-user" and claims["role"] == "admin" and claims["iss"] == "vex-api"
    assert claims.get("plan") == "pro"
    assert claims["exp"] - claims["iat"] == 600
    # The service accepts it.
    h = {"Authorization": "Bearer " + token}
    r = svc.get("/health/detailed", headers=h)
    assert r.status_code in (200, 503) and "components" in r.json(), r.text
    r = svc.request("POST", "/api/v1/agents", headers=h, json={"name": "from-vexctl", "role": ROLE})
    assert r.status_code == 200, r.text
    rows = svc.db_query("SELECT owner FROM agents WHERE id = ?", (r.json()["id"],))
    assert rows == [{"owner": "vexctl-user"}]

    # Defaults: role user, ttl 3600.
    r = _vexctl(svc, "--sub", "someone")
    assert r.returncode == 0, r.stderr
    claims = json.loads(b64url_decode(r.stdout.decode().strip().split(".")[1]))
    assert claims["role"] == "user" and claims["exp"] - claims["iat"] == 3600


def test_vexctl_token_bad_arguments(svc):
    for args in ([], ["--sub"], ["--sub", "x", "--role", "root"], ["--sub", "x", "--plan", "gold"],
                 ["--sub", "x", "--ttl", "abc"], ["--sub", "x", "--bogus"]):
        r = _vexctl(svc, *args)
        assert r.returncode == 2, (args, r.returncode, r.stdout, r.stderr)
        assert r.stderr.strip(), args
        assert r.stdout.strip() == b"", args
