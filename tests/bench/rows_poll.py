# rows_poll.py - make bench rows 1 and 1b (and 6a): authenticated job polls beside the trivial responder, and
# the same polls while STREAMS event streams are open. Functions of the driver's Bench "b".
import asyncio
import os
import ssl
import time

import benchstore
from benchlib import (BenchError, Client, DURATION, memcached_stats, run_wrk, STREAM_JOBS_PER_OWNER, STREAMS,
                      STREAMS_PER_OWNER)


def bench_poll(b):
    job = b.submit("a job to poll")
    status = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        st, doc, raw = b.client.request("GET", "/api/v1/jobs/" + job)
        if st != 200:
            raise BenchError("GET /api/v1/jobs/%s answered %d: %s" % (job, st, raw[:300]))
        status = doc.get("status")
        if status == "completed":
            break
        time.sleep(0.01)
    m = {"job_status": status}
    if status != "completed":
        b.note("the polled job is %r, not completed: the runner did not finish it in 10 s" % status)
    wl = os.path.join(b.logdir, "wrk.log")
    env = {"VEX_BENCH_JOB": job, "VEX_BENCH_TOKEN": b.token}
    run_wrk("poll-warmup", "poll.lua", b.https_port, env, 1, b.tmp, wl)
    b.poll_job = job
    before = memcached_stats(b.mc_port)
    m.update(run_wrk("poll", "poll.lua", b.https_port, env, DURATION, b.tmp, wl))
    after = memcached_stats(b.mc_port)
    m["memcached_get_hits"] = after.get("get_hits", 0) - before.get("get_hits", 0)
    m["memcached_get_misses"] = after.get("get_misses", 0) - before.get("get_misses", 0)
    b.meas["poll"] = m

# ---- polls while streams are open ----

async def open_stream(b, ctx, path, token, sem):
    """One event stream over its own TLS connection, read up to its first event."""
    async with sem:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", b.https_port, ssl=ctx, server_hostname="localhost"), 30)
        # Connection: close, so that the end of the stream is the end of the connection.
        writer.write(("GET %s HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer %s\r\n"
                      "Accept: text/event-stream\r\nConnection: close\r\n\r\n" % (path, token)).encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 30)
        status = head.split(b" ", 2)[1]
        if status != b"200":
            raise BenchError("GET %s answered %s" % (path, head.decode(errors="replace")[:200]))
        buf = b""
        while b"data:" not in buf or b"\n\n" not in buf.split(b"data:", 1)[1]:
            chunk = await asyncio.wait_for(reader.read(65536), 30)
            if not chunk:
                raise BenchError("stream %s ended before its first event" % path)
            buf += chunk
        return reader, writer

async def drain(reader):
    """Read (pings, events) until the server ends the stream; True when it did."""
    while True:
        try:
            chunk = await reader.read(65536)
        except (OSError, asyncio.IncompleteReadError):
            return False
        if not chunk:
            return True

async def streams_and_polls(b, jobs, wl, env):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    sem = asyncio.Semaphore(32)
    t0 = time.monotonic()
    opened = await asyncio.gather(*[open_stream(b, ctx, "/api/v1/jobs/%s/stream" % jobs[i % len(jobs)][1],
                                                     jobs[i % len(jobs)][0], sem) for i in range(STREAMS)])
    open_s = time.monotonic() - t0
    readers = [asyncio.ensure_future(drain(r)) for r, _ in opened]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, run_wrk, "poll-streams-warmup", "poll.lua", b.https_port, env, 1,
                               b.tmp, wl)
    m = await loop.run_in_executor(None, run_wrk, "poll-streams", "poll.lua", b.https_port, env, DURATION,
                                   b.tmp, wl)
    m["streams"] = STREAMS
    m["streams_open_seconds"] = round(open_s, 2)
    m["streams_open_after"] = sum(1 for t in readers if not t.done())

    # Cancel the jobs: every stream gets its terminal event and ends.
    def cancel():
        for token, job in jobs:
            c = Client(b.https_port, token)
            c.request("POST", "/api/v1/jobs/%s/cancel" % job)
            c.close()

    await loop.run_in_executor(None, cancel)
    done, _ = await asyncio.wait(readers, timeout=30)
    m["streams_ended_by_server"] = sum(1 for t in done if t.result())
    for t in readers:
        t.cancel()
    for _, w in opened:
        w.close()
    return m

def bench_poll_streams(b):
    """Row 1b: the poll load of row 1 again, while STREAMS event streams sit open on running and queued
    sleep jobs of several owners (STREAMS_PER_OWNER each: the default per-owner limit)."""
    owners = -(-STREAMS // STREAMS_PER_OWNER)
    jobs = []
    for k in range(owners):
        token = b.svc.token("bench-streams-%d" % k, plan="enterprise")
        c = Client(b.https_port, token)
        for _ in range(STREAM_JOBS_PER_OWNER):
            st, doc, raw = c.request("POST", "/api/v1/tools/sleep/execute", {"arguments": {"ms": 3600000}})
            if st != 200 or not isinstance(doc, dict) or "job_id" not in doc:
                raise BenchError("POST /api/v1/tools/sleep/execute answered %d: %s" % (st, raw[:300]))
            jobs.append((token, doc["job_id"]))
        c.close()
    wl = os.path.join(b.logdir, "wrk.log")
    env = {"VEX_BENCH_JOB": b.poll_job, "VEX_BENCH_TOKEN": b.token}
    m = asyncio.run(streams_and_polls(b, jobs, wl, env))
    if m["streams_open_after"] != STREAMS:
        b.note("poll with streams: only %d of %d streams were still open after the poll run"
                  % (m["streams_open_after"], STREAMS))
    b.meas["poll_streams"] = m
    # The runner must be idle again for the rows that follow.
    db = benchstore.connect(b, timeout=5)
    try:
        deadline = time.monotonic() + 30
        ids = [j for _, j in jobs]
        while time.monotonic() < deadline:
            left = db.execute("SELECT count(*) FROM jobs WHERE status IN ('queued','running') AND id IN (%s)"
                              % ",".join("?" * len(ids)), ids).fetchone()[0]
            if left == 0:
                break
            time.sleep(0.05)
        else:
            b.note("poll with streams: %d sleep jobs still not canceled after 30 s" % left)
    finally:
        db.close()
