# test_job_deliveries.py - GET /api/v1/jobs/{id}/deliveries: the webhook deliveries a job caused, each with the
# exact body sent (request.body), byte for byte what a real receiver got; another owner's job is 404.
import json
import uuid

import pytest

import vexit
from test_webhook_delivery import Receiver, fail_first


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def job_deliveries(c, job_id):
    r = c.get("/api/v1/jobs/%s/deliveries" % job_id)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["job_id"] == job_id
    return doc["deliveries"]


def test_deliveries_of_a_job_match_what_the_receiver_got(svc, receiver):
    c = svc.client("dlv-%s" % uuid.uuid4().hex[:8])
    # two hooks: one answers at once, the other fails the first attempt of each delivery (two attempts, one body)
    receiver.hook(c, "ok-%s" % c.sub, base="/api/v1/webhooks")
    retry = receiver.hook(c, "retry-%s" % c.sub, base="/api/v1/webhooks", behave=fail_first(1))
    job = c.tool("echo", {"text": "caf\u00e9 \u2603", "n": [1, 2, 3]})
    c.wait_job(job)
    vexit.wait_for(lambda: len(receiver.got(job_id=job)) >= 6, 30, what="6 deliveries of the job")
    vexit.wait_for(lambda: all(d["status"] == "delivered" for d in job_deliveries(c, job)) and
                   len(job_deliveries(c, job)) == 6, 30, what="every delivery recorded delivered")
    got = job_deliveries(c, job)
    assert [d["id"] for d in got] == sorted(d["id"] for d in got)  # oldest first
    sent = {}
    for rec in receiver.tries():
        if rec["job_id"] == job:
            sent.setdefault(rec["id"], set()).add(rec["body"])
    assert set(sent) == {d["id"] for d in got}
    for d in got:
        assert d["job_id"] == job
        bodies = sent[d["id"]]
        assert len(bodies) == 1, "every attempt of a delivery sends the same body"
        assert d["request"]["body"].encode() == next(iter(bodies))
        assert json.loads(d["request"]["body"])["event"] == d["event"]
    assert sorted(d["event"] for d in got) == sorted(["job.queued", "job.started", "job.completed"] * 2)
    assert max(d["attempts"] for d in got) == 2
    # the hook's own listing shows the same request bodies
    r = c.get("/api/v1/webhooks/%s/deliveries" % retry["id"])
    assert r.status_code == 200, r.text
    by_id = {d["id"]: d for d in got}
    for d in r.json()["deliveries"]:
        assert d["request"]["body"] == by_id[d["id"]]["request"]["body"]
    # the corex listing too
    r = c.get("/webhooks/%s/deliveries" % retry["id"])
    assert r.status_code == 200 and all("request" in d for d in r.json()["deliveries"]), r.text


def test_another_owners_job_is_404(svc, receiver):
    alice = svc.client("dlv-a-%s" % uuid.uuid4().hex[:8])
    bob = svc.client("dlv-b-%s" % uuid.uuid4().hex[:8])
    receiver.hook(alice, "a-%s" % alice.sub, base="/api/v1/webhooks")
    job = alice.tool("echo", {})
    alice.wait_job(job)
    vexit.wait_for(lambda: len(job_deliveries(alice, job)) >= 1, 30, what="a delivery")
    for path in ("/api/v1/jobs/%s/deliveries" % job, "/api/v1/jobs/%s/deliveries" % uuid.uuid4(),
                 "/api/v1/jobs/not-a-job/deliveries"):
        r = bob.get(path)
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == "NOT_FOUND"
    admin = svc.client("dlv-admin", role="admin")
    assert len(job_deliveries(admin, job)) >= 1
    # a job without hooks has none
    quiet = bob.tool("echo", {})
    bob.wait_job(quiet)
    assert job_deliveries(bob, quiet) == []
    assert svc.get("/api/v1/jobs/%s/deliveries" % job).status_code == 401
