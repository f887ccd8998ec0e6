# test_log_secrets.py - no credential in any log (issue 10 item 6): after a run that used a JWT, API keys (X-API-Key
# and Bearer), stream tokens in the query (also under a percent-encoded name and on the plain-HTTP port),
# credential-looking query parameters and a webhook secret, no log of nginx, vex-api or vex-runner holds one.
import glob
import os
import secrets as pysecrets
import sys
import urllib.parse

import requests

import vexit
import vexspec
from test_webhook_delivery import Receiver, submit

sys.path.insert(0, os.path.join(vexit.REPO, "tests", "fixtures"))
from fake_openai import FakeOpenAI  # noqa: E402

MODEL_KEY = "sk-test-" + pysecrets.token_hex(16)


def all_logs(svc):
    """Every log the service wrote: nginx's access and error logs, and each program's output."""
    paths = glob.glob(os.path.join(svc.dir, "nginx", "logs", "*")) + glob.glob(os.path.join(svc.logs, "*.log"))
    assert any(p.endswith("access.log") for p in paths) and svc.log("vex-api") in paths, paths
    out = {}
    for p in paths:
        with open(p, "rb") as f:
            out[p] = f.read().decode("utf-8", "replace")
    return out


def test_no_credential_in_any_log(request, tls):
    fake = FakeOpenAI().start()
    request.addfinalizer(fake.stop)
    svc = vexit.Service(tls, runner_env={"VEX_MODEL_BASE_URL": fake.base_url, "VEX_MODEL_MODEL": "test-model",
                                         "VEX_MODEL_API_KEY_ENV": "FAKE_MODEL_KEY", "FAKE_MODEL_KEY": MODEL_KEY,
                                         "VEX_MODEL_RETRIES": "1"})
    request.addfinalizer(svc.stop)
    svc.start()
    sub = vexit.new_sub()
    jwt = svc.token(sub, role="admin")
    jh = {"Authorization": "Bearer " + jwt}
    key = vexit.api_key(svc, owner=sub)
    bad_jwt = jwt[:-4] + ("AAAA" if not jwt.endswith("AAAA") else "BBBB")
    secrets = {"model key": MODEL_KEY, "model key body": MODEL_KEY[3:], "jwt": jwt, "jwt signature": jwt.rsplit(".", 1)[1], "tampered jwt": bad_jwt, "api key": key,
               "api key body": key[4:]}

    # A JWT in Authorization, the API key in X-API-Key and as a Bearer token; a tampered JWT (401).
    assert svc.get("/api/v1/agents", headers=jh).status_code == 200
    assert svc.get("/jobs", headers={"X-API-Key": key}).status_code == 200
    assert svc.get("/jobs", headers={"Authorization": "Bearer " + key}).status_code == 200
    assert svc.get("/jobs", headers={"Authorization": "Bearer " + bad_jwt}).status_code == 401
    assert svc.get("/jobs", headers={"X-API-Key": key[:-2] + "xx"}).status_code == 401

    # Stream tokens in the query: the URL vex hands out, a percent-encoded name, the plain-HTTP port.
    job = vexit.Client(svc, sub, role="admin").tool("echo", {"a": 1})
    vexit.Client(svc, sub, role="admin").wait_job(job)
    r = svc.request("POST", "/api/v1/jobs/%s/stream_token" % job, headers=jh)
    assert r.status_code == 200, r.text
    tok = r.json()["stream_token"]
    secrets["stream token"] = tok
    r = svc.get(r.json()["stream_url"], stream=True)
    assert r.status_code == 200 and "completed" in r.text, r.text
    raw = requests.Request("GET", svc.base + "/").prepare()
    raw.url = svc.base + "/jobs/%s/stream?stream%%5Ftoken=%s&lastEventId=0" % (job, tok)  # as sent: not requoted
    r = svc.http.send(raw, verify=svc.cert, stream=True, timeout=10)
    vexspec.check_response(r, streamed=True)
    assert r.status_code == 200, r.text
    r = svc.get("/jobs/%s/stream?stream_token=%s" % (job, tok + "x"))  # refused: 401
    assert r.status_code == 401, r.text
    r = requests.get("http://127.0.0.1:%d/api/v1/jobs/%s/stream?stream_token=%s" % (svc.http_port, job, tok),
                     allow_redirects=False, timeout=10)
    assert r.status_code == 301

    # Credentials where nobody should put them: in query parameters of any name.
    for q in ("limit=5&api_key=%s&token=%s" % (key, jwt), "access_token=%s&limit=5" % jwt,
              "key=%s&a=1&b=2&secret=%s" % (key, jwt), "q=%s" % jwt, "cursor=1&x=%s" % key):
        svc.get("/api/v1/agents?" + q, headers=jh)

    # A webhook: its secret is shown once, signs a delivery, and is logged nowhere.
    recv = Receiver().start()
    try:
        c = vexit.Client(svc, sub, role="admin")
        recv.hook(c, "logs")
        secrets["webhook secret"] = recv.secrets["logs"]
        secrets["webhook secret body"] = recv.secrets["logs"][6:]
        j = submit(c, "echo", {"x": 1})
        vexit.wait_for(lambda: any(a["event"] == "job.completed" for a in recv.got("logs", j)), 30,
                       what="a delivery")
    finally:
        recv.stop()

    # The model key: an endpoint that echoes it in an error (logged with the retry), then answers.
    fake.set_script([{"status": 500, "headers": {"Retry-After": "0"},
                      "body": "Incorrect API key provided: %s (Authorization: Bearer %s)" % (MODEL_KEY, MODEL_KEY)},
                     {"content": "done"}])
    c = vexit.Client(svc, sub, role="admin")
    a = c.create_agent(name="logs", role="You are a log test agent", max_depth=2)
    c.wait_job(c.execute(a["id"], "hello")["job_id"])
    assert fake.requests()[0]["headers"]["authorization"] == "Bearer " + MODEL_KEY

    logs = all_logs(svc)
    for path, text in logs.items():
        for what, value in secrets.items():
            assert value not in text, "%s found in %s" % (what, path)
            assert urllib.parse.quote(value, safe="") not in text, "%s (url-encoded) found in %s" % (what, path)
    # The access log still says what was asked: the path, and the query with credentials masked.
    access = next(t for p, t in logs.items() if p.endswith("access.log"))
    assert '"uri":"/api/v1/jobs/%s/stream?stream_token=***"' % job in access
    assert '"uri":"/jobs/%s/stream?stream%%5Ftoken=***&lastEventId=0"' % job in access
    assert '"uri":"/api/v1/agents?access_token=***&limit=5"' in access
    assert '"uri":"/api/v1/agents?[masked]"' in access  # two credentials, or a JWT-shaped value
    assert '"uri":"/api/v1/agents"' in access
    # vex's own logs said what happened, without the key.
    runner = logs[svc.log("vex-runner")]
    assert "model call retried" in runner and "sk-[masked]" in runner, runner[-2000:]
