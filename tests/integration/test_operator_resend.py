# test_operator_resend.py - re-sending one webhook delivery (POST …/webhooks/{id}/deliveries/{delivery_id}/resend):
# a new delivery of the same event and body reaches a real receiver, signed, under a new webhook-id.
import pytest

import vexit
from test_webhook_delivery import Receiver, check_request, deliveries


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def delivered_once(svc, receiver, client, base):
    """A hook on "job.completed", one echo job, its delivery received: (hook, job id, the delivery as listed)."""
    name = "resend-" + vexit.new_sub()
    hook = receiver.hook(client, name, events=["job.completed"], base=base)
    job_id = client.tool("echo", {"hello": "again"})
    vexit.wait_for(lambda: receiver.got(name, job_id), 30, what="the first delivery")

    def recorded():
        # The receiver answers before the runner records the outcome: wait for the record too.
        got = [d for d in deliveries(client, hook["id"], base) if d["job_id"] == job_id]
        return got if got and got[0]["status"] != "pending" else None
    listed = vexit.wait_for(recorded, 30, what="the first delivery recorded")
    assert len(listed) == 1 and listed[0]["status"] == "delivered", listed
    return name, hook, job_id, listed[0]


@pytest.mark.parametrize("base", ["/api/v1/webhooks", "/webhooks"])
def test_resend_delivers_the_same_body_under_a_new_id(svc, receiver, base):
    c = svc.client()
    name, hook, job_id, first = delivered_once(svc, receiver, c, base)
    r = c.post("%s/%s/deliveries/%s/resend" % (base, hook["id"], first["id"]))
    assert r.status_code == 202, r.text
    new = r.json()
    assert new["resend_of"] == first["id"] and new["id"] != first["id"], new
    assert new["id"].startswith("msg_") and new["event"] == "job.completed" and new["job_id"] == job_id, new
    assert new["status"] in ("pending", "delivered"), new
    vexit.wait_for(lambda: len(receiver.got(name, job_id)) == 2, 30, what="the re-sent delivery")
    one, two = receiver.got(name, job_id)
    check_request(two)
    assert two["body"] == one["body"] and two["id"] == new["id"] != one["id"], (one, two)
    rows = svc.db_query("SELECT id, resend_of, payload FROM webhook_deliveries WHERE job_id = ? ORDER BY id",
                        (job_id,))
    assert [(x["id"], x["resend_of"]) for x in rows] == [(first["id"], None), (new["id"], first["id"])], rows
    assert rows[0]["payload"] == rows[1]["payload"]
    listed = {d["id"]: d for d in deliveries(c, hook["id"], base)}
    assert "resend_of" not in listed[first["id"]] and listed[new["id"]]["resend_of"] == first["id"]


def test_resend_refused_for_a_disabled_hook_and_others(svc, receiver):
    c, other = svc.client(), svc.client()
    base = "/api/v1/webhooks"
    name, hook, job_id, first = delivered_once(svc, receiver, c, base)
    path = "%s/%s/deliveries/%s/resend" % (base, hook["id"], first["id"])
    before = svc.count("webhook_deliveries")
    # Another owner's hook: not found, in both dialects.
    assert other.post(path).status_code == 404
    r = other.post(path[len("/api/v1"):])
    assert r.status_code == 404 and r.json()["error"]["code"] == "WEBHOOK_NOT_FOUND", r.text
    # Unknown or malformed delivery ids, a delivery of another hook.
    other_hook = receiver.hook(c, name + "-b", events=["job.completed"], base=base)
    for d in ("msg_" + "0" * 32, "msg_nope", "x" * 300):
        assert c.post("%s/%s/deliveries/%s/resend" % (base, hook["id"], d)).status_code == 404
    assert c.post("%s/%s/deliveries/%s/resend" % (base, other_hook["id"], first["id"])).status_code == 404
    # A body is refused.
    r = c.post(path, json={"delay": 1})
    assert r.status_code == 400, r.text
    # A disabled hook: 409.
    assert c.patch("%s/%s" % (base, hook["id"]), json={"status": "disabled"}).status_code == 200
    r = c.post(path)
    assert r.status_code == 409 and r.json()["error"]["code"] == "WEBHOOK_DISABLED", r.text
    assert svc.count("webhook_deliveries") == before
    # The admin may re-send any owner's delivery once the hook is active again.
    assert c.patch("%s/%s" % (base, hook["id"]), json={"status": "active"}).status_code == 200
    r = svc.client(role="admin").post(path)
    assert r.status_code == 202 and r.json()["resend_of"] == first["id"], r.text
    vexit.wait_for(lambda: len(receiver.got(name, job_id)) == 2, 30, what="the admin's re-send")
