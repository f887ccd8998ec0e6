# rows_hooks.py - make bench row 4: webhook deliveries of job.completed to a local nginx answering 204.
import os
import threading
import time

import benchstore
import vexit
from benchlib import BenchError, Client, HOOK_JOBS, HOOK_SUBMITTERS, percentile, wait_until


HOOK_NGINX = """# the webhook receiver of make bench: every POST answered 204 at once
worker_processes 1;
pid %(prefix)s/nginx.pid;
error_log %(prefix)s/logs/error.log;
%(user)s
events { worker_connections 1024; }
http {
access_log off;
client_body_temp_path %(prefix)s/client_body;
client_body_buffer_size 64k;
keepalive_requests 1000000;
server {
    listen 127.0.0.1:%(port)d;
    location / { return 204; }
}
}
"""

def start_hook_receiver(b):
    """A separate nginx answering 204 to every request: a receiver that costs next to nothing."""
    port = vexit.free_port()
    prefix = os.path.join(b.tmp, "hooks-nginx")
    os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
    conf = os.path.join(b.tmp, "hooks-nginx.conf")
    with open(conf, "w") as f:
        f.write(HOOK_NGINX % {"prefix": prefix, "port": port,
                                   "user": "user root;" if os.geteuid() == 0 else ""})
    p = b.start("hooks-nginx", ["nginx", "-p", prefix, "-c", conf, "-e", os.path.join(prefix, "logs", "error.log"),
                                   "-g", "daemon off;"], dict(os.environ))
    wait_until("the webhook receiver", lambda: vexit.tcp_answers(port), p)
    return port

def bench_webhooks(b):
    """HOOK_JOBS echo jobs of an owner with a job.completed hook; the figures come from the tables."""
    port = start_hook_receiver(b)
    token = b.svc.token("bench-hooks", plan="enterprise")
    c = Client(b.https_port, token)
    st, doc, raw = c.request("POST", "/webhooks", {"url": "http://127.0.0.1:%d/hook" % port,
                                                   "events": ["job.completed"]})
    c.close()
    if st != 201 or not isinstance(doc, dict) or "id" not in doc:
        raise BenchError("POST /webhooks answered %d: %s" % (st, raw[:300]))
    hook_id = doc["id"]
    errors = []

    def submitter(k):
        cl = Client(b.https_port, token)
        try:
            for i in range(k, HOOK_JOBS, HOOK_SUBMITTERS):
                code, d, body = cl.request("POST", "/api/v1/tools/echo/execute", {"arguments": {"i": i}})
                if code != 200:
                    errors.append("%d %s" % (code, body[:200]))
                    return
        finally:
            cl.close()

    t0 = time.monotonic()
    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(HOOK_SUBMITTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    submit_s = time.monotonic() - t0
    if errors:
        raise BenchError("echo submit failed: " + errors[0])
    db = benchstore.connect(b, timeout=5)
    try:
        deadline = time.monotonic() + 60
        done = 0
        while time.monotonic() < deadline:
            done = db.execute("SELECT count(*) FROM webhook_deliveries WHERE hook_id = ? AND status = 'delivered'",
                              (hook_id,)).fetchone()[0]
            if done >= HOOK_JOBS:
                break
            time.sleep(0.05)
        rows = db.execute("SELECT d.created_at, d.finished_at, j.completed_at, d.attempts FROM webhook_deliveries d"
                          " JOIN jobs j ON j.id = d.job_id WHERE d.hook_id = ? AND d.status = 'delivered'",
                          (hook_id,)).fetchall()
        other = db.execute("SELECT status, count(*) FROM webhook_deliveries WHERE hook_id = ? AND status != "
                           "'delivered' GROUP BY status", (hook_id,)).fetchall()
    finally:
        db.close()
    span = (max(r[1] for r in rows) - min(r[0] for r in rows)) / 1e6 if rows else 0
    lat = [r[1] - r[2] for r in rows]
    m = {"jobs": HOOK_JOBS, "delivered": len(rows), "attempts": sum(r[3] for r in rows),
         "deliveries_per_s": len(rows) / span if span > 0 else None,
         "p50_us": percentile(lat, 50), "p99_us": percentile(lat, 99), "max_us": max(lat) if lat else None,
         "submit_seconds": round(submit_s, 3), "not_delivered": {k: v for k, v in other}}
    if len(rows) < HOOK_JOBS:
        b.note("webhooks: only %d of %d deliveries were delivered after 60 s (%s)" % (len(rows), HOOK_JOBS, other))
    b.meas["webhooks"] = m
