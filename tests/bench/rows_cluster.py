# rows_cluster.py - make bench row 7 (BACKEND=postgres): runners on two hosts. Two vex hosts in network namespaces
# on one PostgreSQL over TCP in a third (tests/integration/vexcluster.py, tools/netns-cluster); wrk submits echo
# jobs through both hosts at once, as one owner, and the figures come from the jobs table as row 2c's do.
import os
import secrets
import threading

import vexcluster
from benchlib import BenchError, CONNECTIONS, cpu_per_job, cpu_snapshot, DURATION, log, run_wrk, THREADS, WORKERS
import rows_jobs


def pg_postmaster(pg_dir):
    """The pid of the PostgreSQL server whose cluster is in "pg_dir" (tools/pg-cluster), or None."""
    try:
        with open(os.path.join(pg_dir, "data", "postmaster.pid")) as f:
            return int(f.readline())
    except (OSError, ValueError):
        return None


def cluster_procs(cl):
    """{name: pid} of both hosts' programs and the database server, for cpu_snapshot."""
    out = {}
    for h in cl.hosts:
        for name, p in (("vex-api", h.api), ("vex-runner", h.runner), ("nginx", h.nginx), ("memcached", h.memcached)):
            if p is not None and p.alive():
                out["%s %s" % (h.name, name)] = p.pid
    out["postgres"] = pg_postmaster(cl.pg_dir)
    return out


def bench_two_hosts(b):
    """Row 7: hosts A and B, each as the bench's single host is (WORKERS workers, a runner with its 8 slots, nginx,
    memcached), on one database; CONNECTIONS / 2 wrk connections on each host POST /api/v1/tools/echo/execute for
    DURATION seconds as one owner (enterprise: 20 running at once, more than the 16 slots). End to end as row 2c:
    jobs completed inside the submit window per second of it, p50/p99 of completed_at - created_at."""
    why = vexcluster.unavailable()
    if why:
        b.meas["two_hosts"] = {"skipped": why}
        b.note("row 7 (runners on two hosts) skipped: " + why)
        return
    # The service's own leases and rescues, as the single host runs (not the tests' short ones).
    cl = vexcluster.Cluster(workers=WORKERS, parent=b.tmp, runner_env={"VEX_RUNNER_SHUTDOWN_GRACE_MS": "3000"})
    try:
        log("row 7: starting hosts A and B and their database (%s)" % cl.dir)
        cl.start()
        owner = "bench-two-hosts-" + secrets.token_hex(4)
        env = {"VEX_BENCH_TOKEN": cl.token(owner, plan="enterprise")}
        wl = os.path.join(b.logdir, "wrk.log")
        per_host = max(THREADS, CONNECTIONS // 2)  # wrk needs a connection per thread
        subs, errors = {}, []

        def submit(h):
            try:
                subs[h.name] = run_wrk("echo-two-hosts-" + h.name.lower(), "echo.lua", h.https_port, env, DURATION,
                                       b.tmp, wl, host=h.addr, connections=per_host)
            except Exception as e:  # reported below, after both have stopped
                errors.append("host %s: %r" % (h.name, e))

        cpu0 = cpu_snapshot(cluster_procs(cl))
        threads = [threading.Thread(target=submit, args=(h,)) for h in cl.hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise BenchError("row 7: " + "; ".join(errors))

        def read():
            return [(r["status"], r["created_at"], r["completed_at"]) for r in
                    cl.db_query("SELECT status, created_at, completed_at FROM jobs WHERE owner = ?", (owner,))]

        rows, e = rows_jobs.end_to_end(read, owner)
        e["cpu_us_per_job"] = cpu_per_job(cpu0, cpu_snapshot(cluster_procs(cl)), len(rows))
        e["hosts"] = {name: {"connections": per_host, "requests_per_s": m["requests_per_s"], "p50_us": m["p50_us"],
                             "p99_us": m["p99_us"], "errors": m["errors"]} for name, m in sorted(subs.items())}
        e["submits_per_s"] = sum(m["requests_per_s"] for m in subs.values())
        e["workers_per_host"] = WORKERS
        if e["completed"] < len(rows):
            b.note("row 7: only %d of %d echo jobs completed within 120 s of the run's end" % (e["completed"],
                                                                                               len(rows)))
        b.meas["two_hosts"] = e
    finally:
        try:
            cl.stop()
        except AssertionError as err:  # sanitizer reports in the hosts' logs
            log(str(err))

