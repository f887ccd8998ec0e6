# test_fairness.py - one owner's backlog does not hold back another owner's job or webhook delivery; a
# hook never has more deliveries in flight than [webhooks] per_hook_inflight.
import threading

import pytest

import vexit
from test_webhook_delivery import Receiver

SLOTS = 8           # [runner] concurrency's default: the service below leaves it alone
BACKLOG = 100       # owner A's sleep jobs
SLEEP_MS = 300

HOOK_SLOTS = 6      # [webhooks] concurrency for the delivery test
PER_HOOK = 2        # [webhooks] per_hook_inflight for the delivery test
SLOW_S = 1.0        # owner A's receiver holds every request this long, then answers 500


@pytest.fixture(scope="module")
def svc(request, tls):
    s = vexit.Service(tls, runner_env={"VEX_WEBHOOKS_CONCURRENCY": str(HOOK_SLOTS),
                                       "VEX_WEBHOOKS_PER_HOOK_INFLIGHT": str(PER_HOOK),
                                       "VEX_WEBHOOKS_TIMEOUT_MS": "5000"})
    request.addfinalizer(s.stop)
    s.start()
    return s


def event_seq(svc, job_id, etype):
    rows = svc.db_query("SELECT seq FROM job_events WHERE job_id = ? AND type = ? ORDER BY seq LIMIT 1",
                        (job_id, etype))
    return rows[0]["seq"] if rows else None


def test_backlog_does_not_hold_back_another_owner(svc):
    """Owner A queues 100 sleep jobs; owner B's echo job, queued behind all of them, starts before at
    most SLOTS of A's jobs that were waiting when it was queued (in practice: the first slot that frees)."""
    a = svc.client(plan="enterprise")
    b = svc.client(plan="free")
    a_jobs = [a.tool("sleep", {"ms": SLEEP_MS}) for _ in range(BACKLOG)]
    # every slot busy with A's work, and a queue of A's behind it
    vexit.wait_for(lambda: svc.db_query("SELECT COUNT(*) AS n FROM jobs WHERE owner = ? AND status = 'running'",
                                        (a.sub,))[0]["n"] == SLOTS, 30, what="A to fill every slot")
    b_job = b.tool("echo", {"from": "b"})
    b.wait_job(b_job, timeout=60)
    queued_seq = event_seq(svc, b_job, "queued")
    started_seq = event_seq(svc, b_job, "started")
    assert queued_seq is not None and started_seq is not None
    def a_events(etype, cond, args):
        return svc.db_query("SELECT COUNT(*) AS n FROM job_events WHERE owner = ? AND type = ? AND " + cond,
                            (a.sub, etype) + args)[0]["n"]

    # A's jobs waiting when B's was queued: the test means something only if they outnumber the slots
    waiting = a_events("queued", "seq < ?", (queued_seq,)) - a_events("started", "seq < ?", (queued_seq,))
    assert waiting > SLOTS, waiting
    # of those, the ones that started before B's did (by the order of the events, not by time)
    overtaking = a_events("started", "seq > ? AND seq < ?", (queued_seq, started_seq))
    print("fairness: A waiting %d, overtaking %d" % (waiting, overtaking))
    assert overtaking <= SLOTS, (overtaking, waiting)
    for j in a_jobs:
        a.wait_job(j, timeout=120)


class CountingReceiver(Receiver):
    """test_webhook_delivery's receiver, counting requests in flight per path: /slow/* holds SLOW_S then
    answers 500, /ok/* answers 204 at once."""

    def __init__(self):
        super().__init__()
        self.inflight = {}
        self.peak = {}
        self.order = []  # paths in arrival order
        self.release = threading.Event()

    def _handle(self, path, headers, body):
        path = path.lstrip("/")
        with self.lock:
            self.inflight[path] = self.inflight.get(path, 0) + 1
            self.peak[path] = max(self.peak.get(path, 0), self.inflight[path])
            self.order.append(path)
        if path.startswith("slow/"):
            self.release.wait(SLOW_S)
        with self.lock:
            # the runner frees the hook's slot only when it reads this answer: no overlap is missed
            self.inflight[path] -= 1
        return (500 if path.startswith("slow/") else 204), {}, b"", 0

    def url_of(self, path):
        return "http://127.0.0.1:%d/%s" % (self.port, path)

    def stop(self):
        self.release.set()
        super().stop()


def test_failing_hooks_do_not_hold_every_delivery_slot(svc):
    """Owner A's two hooks point at a slow, failing receiver with a backlog of deliveries; owner B's
    delivery is delivered while A's are still backed up, and neither of A's hooks ever has more than
    PER_HOOK requests in flight."""
    recv = CountingReceiver().start()
    try:
        a = svc.client(plan="enterprise")
        b = svc.client(plan="free")
        for name in ("slow/a1", "slow/a2"):
            r = a.post("/webhooks", json={"url": recv.url_of(name), "events": ["job.completed"]})
            assert r.status_code == 201, r.text
        r = b.post("/webhooks", json={"url": recv.url_of("ok/b"), "events": ["job.completed"]})
        assert r.status_code == 201, r.text
        a_jobs = [a.tool("echo", {"n": i}) for i in range(20)]
        for j in a_jobs:
            a.wait_job(j)
        # A's hooks are backed up: each at its cap
        vexit.wait_for(lambda: recv.peak.get("slow/a1", 0) >= PER_HOOK and recv.peak.get("slow/a2", 0) >= PER_HOOK,
                       30, what="A's hooks to reach their cap")
        with recv.lock:
            mark = len(recv.order)
        b_job = b.tool("echo", {"from": "b"})
        b.wait_job(b_job)
        vexit.wait_for(lambda: "ok/b" in recv.order, 30, what="B's delivery")
        with recv.lock:
            after = recv.order[mark:]
        # A's attempts that reached the receiver after B's job was queued and before B's delivery: few, not
        # A's whole backlog (by the order of arrivals, not by time)
        overtaking = after.index("ok/b")
        assert overtaking <= HOOK_SLOTS, after
        pending = svc.db_query("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE owner = ? AND status = 'pending'",
                               (a.sub,))[0]["n"]
        assert pending > 0, "A's deliveries drained before B's arrived: nothing was shown"
        delivered = svc.db_query("SELECT status FROM webhook_deliveries WHERE owner = ?", (b.sub,))
        assert [row["status"] for row in delivered] == ["delivered"], delivered
        with recv.lock:
            assert recv.peak["slow/a1"] <= PER_HOOK and recv.peak["slow/a2"] <= PER_HOOK, recv.peak
    finally:
        recv.stop()
