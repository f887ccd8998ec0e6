# report.py - make bench: the table (each figure beside its baseline of the same run, its ratio and target),
# the lines under it, and build/bench.json.
import json
import os

from benchstore import BACKEND
from benchlib import (CONNECTIONS, DURATION, fmt_ms, fmt_rate, HOOK_SUBMITTERS, LIST_LIMIT, mark, STREAMS,
                      STREAMS_PER_OWNER, SYNC, TARGET_DISPATCH_P50_MS, TARGET_DISPATCH_P99_MS, TARGET_E2E_RATIO,
                      TARGET_HISTORY_RATIO, TARGET_POLL_RATIO, TARGET_RUNNER_ON_RATIO, TARGET_STREAMS_POLL_RATIO,
                      TARGET_SUBMIT_RATIO, THREADS, TOOL_JOBS, TOOL_SUBMITTERS, WORKERS)

# Targets calibrated on SQLite that do not carry over to PostgreSQL as they are (docs/bench.md, "PostgreSQL"):
# printed there with their figures as SQLite's targets. Every other target is a ratio within one backend.
SQLITE_TARGETS = {"dispatch"} if BACKEND == "postgres" else set()

ROW = "%-44s %9s %10s %10s | %-26s %9s %10s %10s | %6s %8s %5s"


def get(m, k):
    return None if not m else m.get(k)


def ratio(a, b):
    return None if a is None or b is None or not b else a / b


class Table:
    def __init__(self, ratios):
        self.ratios = ratios
        self.lines = []

    def row(self, key, name, m, bname, bm, target, rate="requests_per_s", brate="requests_per_s"):
        """A measured rate "m" beside its baseline "bm"; key None: no ratio is kept (an info row)."""
        rt = ratio(get(m, rate), get(bm, brate)) if bname else None
        ok = None if rt is None or target is None else rt >= target
        if key:
            self.ratios[key] = {"ratio": rt, "target": target, "pass": ok}
        self.lines.append(ROW % (name, fmt_rate(get(m, rate)), fmt_ms(get(m, "p50_us")), fmt_ms(get(m, "p99_us")),
                                 bname, fmt_rate(get(bm, brate)) if bname else "",
                                 fmt_ms(get(bm, "p50_us")) if bname else "", fmt_ms(get(bm, "p99_us")) if bname else "",
                                 "-" if rt is None else "%.2f" % rt, ">= %.2f" % target if target else "",
                                 mark(ok) if target else ""))

    def text(self, name, rest):
        self.lines.append("%-44s %s" % (name, rest))


def dispatch_rows(t, ratios, disp, base):
    """Row 3 (targets in ms), or with "base" (row 3 of the empty database) row 6f: p99 and max ratios."""
    if not disp:
        t.text("3 dispatch submit -> running" if base is None else "6f dispatch, history", "not measured")
        return
    lead = ROW[:ROW.index("|")] % ("3 dispatch submit -> running" if base is None else "6f dispatch, history",
                                   "%d jobs" % disp["started"], fmt_ms(disp["p50_us"]), fmt_ms(disp["p99_us"]))
    if base is None:
        p50 = None if disp["p50_us"] is None else disp["p50_us"] / 1000.0 <= TARGET_DISPATCH_P50_MS
        p99 = None if disp["p99_us"] is None else disp["p99_us"] / 1000.0 <= TARGET_DISPATCH_P99_MS
        ratios["dispatch"] = {"p50_pass": p50, "p99_pass": p99, "target_p50_ms": TARGET_DISPATCH_P50_MS,
                              "target_p99_ms": TARGET_DISPATCH_P99_MS}
        if "dispatch" in SQLITE_TARGETS:
            ratios["dispatch"]["targets_of"] = "sqlite"
        t.lines.append(lead + "| %stargets p50 <= %.0f ms %s, p99 <= %.0f ms %s; max %s"
                       % ("SQLite's " if "dispatch" in SQLITE_TARGETS else "", TARGET_DISPATCH_P50_MS, mark(p50),
                          TARGET_DISPATCH_P99_MS, mark(p99), fmt_ms(disp["max_us"])))
        return
    r99 = ratio(get(base, "p99_us"), disp["p99_us"])
    rmax = ratio(get(base, "max_us"), disp["max_us"])
    ok99 = None if r99 is None else r99 >= TARGET_HISTORY_RATIO
    okmax = None if rmax is None else rmax >= TARGET_HISTORY_RATIO
    ratios["history_dispatch_p99"] = {"ratio": r99, "target": TARGET_HISTORY_RATIO, "pass": ok99}
    ratios["history_dispatch_max"] = {"ratio": rmax, "target": TARGET_HISTORY_RATIO, "pass": okmax}
    t.lines.append(lead + "| row 3: p99 %s, max %s; max here %s; empty/history: p99 %s %s, max %s %s"
                   % (fmt_ms(get(base, "p99_us")), fmt_ms(get(base, "max_us")), fmt_ms(disp["max_us"]),
                      "-" if r99 is None else "%.2f" % r99, mark(ok99), "-" if rmax is None else "%.2f" % rmax,
                      mark(okmax)))


def report(b):
    r = b.results
    base = r["baselines"]
    meas = r["measurements"]
    hist = r.get("history") or {}
    hm = hist.get("measurements") or {}
    triv, sq, pgi = base.get("trivial_fcgi"), base.get("sqlite_insert"), base.get("pg_insert")
    poll, poll_st = meas.get("poll"), meas.get("poll_streams")
    sub, sub_on, e2e = meas.get("submit"), meas.get("end_to_end"), meas.get("end_to_end_e2e")
    hooks = meas.get("webhooks")
    ratios = r["ratios"] = {}
    t = Table(ratios)
    t.row("poll_vs_trivial", "1 job poll GET /api/v1/jobs/{id}", poll, "GET /bench/trivial", triv, TARGET_POLL_RATIO)
    t.row("poll_streams_vs_poll", "1b same, %d streams open" % STREAMS, poll_st, "row 1 (no stream open)", poll,
          TARGET_STREAMS_POLL_RATIO)
    if BACKEND == "postgres":
        t.row("submit_vs_pg_insert", "2 submit POST tools/echo/execute, runner off", sub, "pg INSERT sync_commit=%s"
              % (get(pgi, "synchronous_commit") or "?"), pgi, TARGET_SUBMIT_RATIO, brate="inserts_per_s")
    else:
        t.row("submit_vs_sqlite", "2 submit POST tools/echo/execute, runner off", sub, "sqlite INSERT sync=%s" % SYNC,
              sq, TARGET_SUBMIT_RATIO, brate="inserts_per_s")
    t.row("submit_runner_on_vs_off", "2b same, runner on (submits)", sub_on, "row 2 (runner off)", sub,
          TARGET_RUNNER_ON_RATIO)
    t.row("end_to_end_vs_submit", "2c same, runner on: jobs completed", e2e, "row 2 (runner off)", sub,
          TARGET_E2E_RATIO, rate="jobs_per_s")
    dispatch_rows(t, ratios, meas.get("dispatch"), None)
    if hooks:
        t.text("4 webhook deliveries (job.completed)", "%9s %10s %10s | %d of %d delivered, %d attempts; latency: job "
               "completed -> 2xx" % (fmt_rate(hooks["deliveries_per_s"]), fmt_ms(hooks["p50_us"]),
                                     fmt_ms(hooks["p99_us"]), hooks["delivered"], hooks["jobs"], hooks["attempts"]))
    for label, m in (meas.get("tool_jobs") or {}).items():
        t.text("5 no-op jobs, " + label, "%9s %10s %10s | %d of %d completed; latency: created -> completed"
               % (fmt_rate(m["jobs_per_s"]), fmt_ms(m["p50_us"]), fmt_ms(m["p99_us"]), m["completed"], m["jobs"]))
    seed = hist.get("seed")
    if seed:
        t.text("6 history: %d jobs, %d events" % (seed["jobs"], seed["events"]),
               "seeded in %.1f s; database %.0f MiB; vex-api up in %.2f s (empty: %.2f s)"
               % (seed["seconds"], seed["db_bytes"] / 1048576.0, hist.get("api_start_s") or 0,
                  r.get("api_start_s") or 0))
        lf, ld = meas.get("list_first"), meas.get("list_deep")
        t.row("history_poll", "6a job poll, history", hm.get("poll"), "row 1 (empty)", poll, TARGET_HISTORY_RATIO)
        t.row("history_list_first", "6b GET /api/v1/jobs?limit=%d, history" % LIST_LIMIT, hm.get("list_first"),
              "same, %s jobs" % get(lf, "owner_jobs"), lf, TARGET_HISTORY_RATIO)
        t.row("history_list_deep", "6c same, cursor %s deep" % get(hm.get("list_deep"), "depth"), hm.get("list_deep"),
              "same, cursor %s deep" % get(ld, "depth"), ld, TARGET_HISTORY_RATIO)
        t.row("history_submit", "6d submit echo, runner off, history", hm.get("submit"), "row 2 (empty)", sub,
              TARGET_HISTORY_RATIO)
        t.row("history_end_to_end", "6e end to end echo, history", hm.get("end_to_end_e2e"), "row 2c (empty)", e2e,
              TARGET_HISTORY_RATIO, rate="jobs_per_s", brate="jobs_per_s")
        dispatch_rows(t, ratios, hm.get("dispatch"), meas.get("dispatch"))
    elif b.full:
        t.text("6 history", "not measured (VEX_BENCH_HISTORY_JOBS=0 or the first pass did not finish)")
    two = meas.get("two_hosts")
    if BACKEND == "postgres" and b.full:
        if not two or "skipped" in two:
            t.text("7 runners on two hosts", "skipped: %s" % ((two or {}).get("skipped") or "not reached"))
        else:
            t.row("two_hosts_vs_one", "7 runners on two hosts: jobs completed", two, "row 2c (one host)", e2e, None,
                  rate="jobs_per_s", brate="jobs_per_s")

    head = ROW % ("measurement", "rate", "p50", "p99", "baseline", "rate", "p50", "p99", "ratio", "target", "")
    print()
    if BACKEND == "postgres":
        store = "store PostgreSQL %s (private cluster, unix socket)" % (
            "-" if not pgi else "%d.%d" % (pgi["server_version"] // 10000, pgi["server_version"] % 10000))
    else:
        store = "store SQLite, synchronous=%s" % SYNC
    print("vex bench: %s, %d-process pool, nginx TLS, wrk -t%d -c%d -d%ds, %s CPUs"
          % (store, WORKERS, THREADS, CONNECTIONS, DURATION, os.cpu_count()))
    print(head)
    print("-" * len(head))
    for ln in t.lines:
        print(ln.rstrip())
    print()
    for key, m in (("trivial", triv), ("poll", poll), ("submit", sub), ("submit (runner on)", sub_on),
                   ("poll (history)", hm.get("poll")), ("submit (history)", hm.get("submit")),
                   ("listing", meas.get("list_first")), ("listing (deep)", meas.get("list_deep")),
                   ("listing (history)", hm.get("list_first")), ("listing (history, deep)", hm.get("list_deep"))):
        if m and any(m["errors"].values()):
            print("  warning: %s had errors %s (status = non-2xx answers)" % (key, m["errors"]))
    if poll:
        print("  poll: job status %s; memcached gets during the run: %d hits, %d misses"
              % (poll["job_status"], poll["memcached_get_hits"], poll["memcached_get_misses"]))
    if poll_st:
        if any(poll_st["errors"].values()):
            print("  warning: poll with streams had errors %s" % poll_st["errors"])
        print("  streams: %d opened in %.1f s on sleep jobs of %d owners; %d still open after the poll run, "
              "%d ended by the server with the terminal event after the jobs were canceled"
              % (poll_st["streams"], poll_st["streams_open_seconds"], -(-poll_st["streams"] // STREAMS_PER_OWNER),
                 poll_st["streams_open_after"], poll_st["streams_ended_by_server"]))
    if pgi:
        print("  pg insert: bench-pg-insert, one libpq connection on the service's cluster (unix socket), prepared "
              "INSERT of a job-sized row, BEGIN; INSERT; COMMIT each; the server's synchronous_commit=%s, fsync=%s "
              "(VEX_STORE_SYNCHRONOUS is SQLite's)" % (pgi["synchronous_commit"], pgi["fsync"]))
    if sub:
        print("  submit: rows 2-2c are wrk -c%d on POST /api/v1/tools/echo/execute, one new owner each; row 2 with "
              "the runner stopped (a lone writer, like the baseline)" % CONNECTIONS)
    for label, e in (("", e2e), (" (history)", hm.get("end_to_end_e2e"))):
        if e:
            print("  end to end%s: %d of %d jobs completed inside the %.2f s submit window (first to last created_at); "
                  "%d left queued at its end, drained in %.2f s; over the whole span %s" %
                  (label, e["completed_in_window"], e["jobs"], e["window_s"], e["backlog_at_end"], e["drain_s"] or 0,
                   fmt_rate(e["span_jobs_per_s"])))
    if two and "skipped" not in two:
        print("  two hosts: A and B in network namespaces (%d workers, a runner each), PostgreSQL over TCP in a "
              "third; wrk -c%d on each for %ds, one owner; submits %s (%s); %d of %d jobs completed inside the "
              "%.2f s window, %d left queued at its end, drained in %.2f s; over the whole span %s"
              % (two["workers_per_host"], next(iter(two["hosts"].values()))["connections"], DURATION,
                 fmt_rate(two["submits_per_s"]), ", ".join("%s %s" % (k, fmt_rate(v["requests_per_s"]))
                                                            for k, v in two["hosts"].items()),
                 two["completed_in_window"], two["jobs"], two["window_s"], two["backlog_at_end"],
                 two["drain_s"] or 0, fmt_rate(two["span_jobs_per_s"])))
        for k, v in two["hosts"].items():
            if any(v["errors"].values()):
                print("  warning: two hosts, host %s had errors %s" % (k, v["errors"]))
    for label, m in (("row 2, runner off", sub), ("rows 2b/2c, runner on", sub_on),
                     ("row 6d, history", hm.get("submit")), ("row 6e, history", hm.get("end_to_end")),
                     ("row 7, two hosts", two)):
        cpu = get(m, "cpu_us_per_job")
        if cpu:
            print("  cpu per job, %s: %s; machine idle %d us/job (2 CPUs, shared)"
                  % (label, ", ".join("%s %d us" % (k, v) for k, v in cpu.items() if k != "idle"), cpu.get("idle", 0)))
    if hooks:
        print("  webhooks: %d echo jobs submitted from %d connections in %.2f s with a job.completed hook to a "
              "local nginx answering 204; rate = deliveries / (last delivered - first delivery created)"
              % (hooks["jobs"], HOOK_SUBMITTERS, hooks["submit_seconds"]))
    if meas.get("tool_jobs"):
        print("  tool jobs: %d per tool from %d connections (POST /api/v1/tools/{name}/execute); "
              "rate = jobs / (last completed_at - first created_at)" % (TOOL_JOBS, TOOL_SUBMITTERS))
    disp = meas.get("dispatch")
    if disp:
        print("  dispatch: %d jobs at %d/s, started_at - created_at from the jobs table; submit round trip "
              "p50 %s p99 %s" % (disp["jobs"], disp["rate_per_s"], fmt_ms(disp["submit_rtt_p50_us"]),
                                 fmt_ms(disp["submit_rtt_p99_us"])))
    if seed:
        print("  history: %d finished echo jobs (%d events each) over the %d s before the run, %d owners, 40 %% the "
              "bench's own; seeded with vex-api and the runner stopped, then both restarted on it; rows 6a-6f "
              "are rows 1, 2, 2c and 3 again, ratios empty/history for latencies" %
              (seed["jobs"], seed["events_per_job"], seed["span_s"], seed["owners"]))
    for n in r["notes"]:
        print("  note: " + n)
    out = os.path.join(b.build, "bench.json")
    with open(out + ".tmp", "w") as f:
        json.dump(r, f, indent=2)
        f.write("\n")
    os.replace(out + ".tmp", out)
    print("  figures written to %s" % out)
