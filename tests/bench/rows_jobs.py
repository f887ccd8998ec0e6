# rows_jobs.py - make bench rows 3, 5 and 2-2c: dispatch latency, no-op tool jobs end to end, and the echo
# submits with the runner off and on (end to end). Functions of the driver's Bench "b".
import os
import secrets
import threading
import time

import benchstore
from benchlib import (BenchError, Client, cpu_per_job, cpu_snapshot, DISPATCH_JOBS, DISPATCH_RATE, DURATION,
                      LIST_LIMIT, percentile, run_wrk, TOOL_JOBS, TOOL_SUBMITTERS, wait_until)


def bench_dispatch(b):
    """Submit one job at a time at a modest rate with the runner idle; read created_at/started_at."""
    ids = []
    rtt = []
    gap = 1.0 / DISPATCH_RATE
    nxt = time.monotonic()
    for i in range(DISPATCH_JOBS):
        now = time.monotonic()
        if nxt > now:
            time.sleep(nxt - now)
        nxt += gap
        t0 = time.monotonic()
        ids.append(b.submit("dispatch %d" % i))
        rtt.append(int((time.monotonic() - t0) * 1e6))
    # The last few may still be running; wait until every one has started (or give up).
    db = benchstore.connect(b, timeout=5)
    try:
        rows = []
        deadline = time.monotonic() + 10
        while True:
            rows = []
            for k in range(0, len(ids), 500):
                chunk = ids[k:k + 500]
                q = "SELECT created_at, started_at FROM jobs WHERE id IN (%s)" % ",".join("?" * len(chunk))
                rows += db.execute(q, chunk).fetchall()
            started = [r for r in rows if r[1] is not None and r[1] > 0]
            if len(started) == len(ids) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        db.close()
    lat = [s - c for c, s in started]
    m = {"jobs": len(ids), "started": len(started), "rate_per_s": DISPATCH_RATE,
         "p50_us": percentile(lat, 50), "p99_us": percentile(lat, 99),
         "max_us": max(lat) if lat else None,
         "submit_rtt_p50_us": percentile(rtt, 50), "submit_rtt_p99_us": percentile(rtt, 99)}
    if len(started) != len(ids):
        b.note("dispatch: only %d of %d jobs had started after 10 s" % (len(started), len(ids)))
    b.meas["dispatch"] = m


def bench_tool_jobs(b, label, tool):
    """Row 5: TOOL_JOBS jobs of "tool" submitted from TOOL_SUBMITTERS connections by one owner; once all
    are completed, rate = jobs / (last completed_at - first created_at), from the jobs table."""
    sub = "bench-tools-" + secrets.token_hex(4)
    token = b.svc.token(sub, plan="enterprise")
    errors = []

    def submitter(k):
        cl = Client(b.https_port, token)
        try:
            for i in range(k, TOOL_JOBS, TOOL_SUBMITTERS):
                code, d, body = cl.request("POST", "/api/v1/tools/%s/execute" % tool, {"arguments": {"i": i}})
                if code != 200:
                    errors.append("%d %s" % (code, body[:200]))
                    return
        finally:
            cl.close()

    threads = [threading.Thread(target=submitter, args=(k,)) for k in range(TOOL_SUBMITTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise BenchError("%s submit failed: %s" % (tool, errors[0]))
    db = benchstore.connect(b, timeout=5)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            left = db.execute("SELECT count(*) FROM jobs WHERE owner = ? AND completed_at IS NULL",
                              (sub,)).fetchone()[0]
            if left == 0:
                break
            time.sleep(0.05)
        rows = db.execute("SELECT status, created_at, completed_at FROM jobs WHERE owner = ?", (sub,)).fetchall()
    finally:
        db.close()
    done = [r for r in rows if r[2] is not None]
    completed = [r for r in done if r[0] in (2, "completed")]
    span = (max(r[2] for r in done) - min(r[1] for r in rows)) / 1e6 if done else 0
    lat = [r[2] - r[1] for r in done]
    m = {"tool": tool, "jobs": len(rows), "completed": len(completed),
         "jobs_per_s": len(done) / span if span > 0 else None,
         "p50_us": percentile(lat, 50), "p99_us": percentile(lat, 99)}
    if len(completed) < TOOL_JOBS:
        b.note("tool jobs %s: only %d of %d completed" % (label, len(completed), TOOL_JOBS))
    b.meas.setdefault("tool_jobs", {})[label] = m

def wait_mcp_tool(b, name):
    """The runner lists an MCP server's tools once it has started it: wait for the catalog row."""
    def listed():
        db = benchstore.connect(b, timeout=5)
        try:
            return db.execute("SELECT count(*) FROM tools WHERE name = ?", (name,)).fetchone()[0] == 1
        finally:
            db.close()
    wait_until("MCP tool %s in the catalog" % name, listed, b.svc.runner, timeout=30)


def echo_jobs(b, owner):
    """(status, created_at, completed_at) of every job of "owner", from the jobs table."""
    db = benchstore.connect(b, timeout=30)
    try:
        return db.execute("SELECT status, created_at, completed_at FROM jobs WHERE owner = ?", (owner,)).fetchall()
    finally:
        db.close()


def bench_echo(b, key, runner_on):
    """Rows 2 (runner off), 2b and 2c (runner on): wrk's connections POST /api/v1/tools/echo/execute for DURATION
    seconds as a new owner. With the runner on, the same run gives the submit rate (2b) and the end-to-end rate
    (2c): the jobs completed inside the submit window (first to last created_at, from the jobs table) per second
    of that window. The backlog left at its end is drained before the next row and reported."""
    owner = "bench-echo-" + secrets.token_hex(4)
    env = {"VEX_BENCH_TOKEN": b.svc.token(owner, plan="enterprise")}
    wl = os.path.join(b.logdir, "wrk.log")
    cpu0 = cpu_snapshot(b.cpu_procs())
    m = run_wrk("echo-" + key, "echo.lua", b.https_port, env, DURATION, b.tmp, wl)
    m["runner"] = "running" if runner_on else "stopped"
    if not runner_on:
        m["cpu_us_per_job"] = cpu_per_job(cpu0, cpu_snapshot(b.cpu_procs()), m["requests"])
        b.meas[key] = m
        return
    rows, e = end_to_end(lambda: echo_jobs(b, owner), owner)
    m["cpu_us_per_job"] = cpu_per_job(cpu0, cpu_snapshot(b.cpu_procs()), len(rows))
    if e["completed"] < len(rows):
        b.note("end to end (%s): only %d of %d echo jobs completed within 120 s of the run's end"
               % (key, e["completed"], len(rows)))
    b.meas[key] = m
    b.meas[key + "_e2e"] = e


def end_to_end(read, owner):
    """Row 2c's figures (and row 7's) once wrk has stopped: "read"() gives (status, created_at, completed_at) of
    every job of "owner". Returns (the rows once drained, the figures)."""
    # The submits still in flight when wrk stopped land within a few ms: read until the count holds still.
    rows = read()
    while True:
        time.sleep(0.2)
        again = read()
        if len(again) == len(rows):
            break
        rows = again
    if not rows:
        raise BenchError("no echo job was stored for %s" % owner)
    first = min(r[1] for r in rows)
    last = max(r[1] for r in rows)
    window = (last - first) / 1e6
    inside = [r for r in rows if r[2] is not None and r[2] <= last]
    backlog = len(rows) - len(inside)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and any(r[2] is None for r in rows):
        time.sleep(0.1)
        rows = read()
    done = [r for r in rows if r[2] is not None]
    completed = [r for r in done if r[0] in (2, "completed")]
    lat = [r[2] - r[1] for r in inside]
    e = {"jobs": len(rows), "completed": len(completed), "window_s": round(window, 3),
         "completed_in_window": len(inside), "jobs_per_s": len(inside) / window if window > 0 else None,
         "p50_us": percentile(lat, 50), "p99_us": percentile(lat, 99), "backlog_at_end": backlog,
         "drain_s": round((max(r[2] for r in done) - last) / 1e6, 3) if done else None,
         "span_jobs_per_s": len(done) / ((max(r[2] for r in done) - first) / 1e6) if done else None}
    return rows, e


def bench_listings(b):
    """Rows 6b/6c's figures: GET /api/v1/jobs?limit=LIST_LIMIT as the bench's own owner, the first page and a
    page whose cursor is the job half way down the owner's listing (newest first)."""
    db = benchstore.connect(b, timeout=30)
    try:
        n = db.execute("SELECT COUNT(*) FROM jobs WHERE owner = ?", (b.owner,)).fetchone()[0]
        cursor = db.execute("SELECT id FROM jobs WHERE owner = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                            (b.owner, n // 2)).fetchone()
    finally:
        db.close()
    if cursor is None:
        raise BenchError("no job of %s to list" % b.owner)
    wl = os.path.join(b.logdir, "wrk.log")
    for key, cur, older in (("list_first", "", n), ("list_deep", cursor[0], n - n // 2 - 1)):
        path = "/api/v1/jobs?limit=%d%s" % (LIST_LIMIT, "&cursor=" + cur if cur else "")
        st, doc, raw = b.client.request("GET", path)
        if st != 200 or not isinstance(doc, dict) or len(doc.get("jobs") or []) != min(LIST_LIMIT, older):
            raise BenchError("GET %s answered %d: %s" % (path, st, raw[:300]))
        env = {"VEX_BENCH_TOKEN": b.token, "VEX_BENCH_LIMIT": str(LIST_LIMIT), "VEX_BENCH_CURSOR": cur}
        run_wrk(key + "-warmup", "list.lua", b.https_port, env, 1, b.tmp, wl)
        m = run_wrk(key, "list.lua", b.https_port, env, DURATION, b.tmp, wl)
        m.update({"owner_jobs": n, "depth": n // 2 if cur else 0, "limit": LIST_LIMIT})
        b.meas[key] = m
