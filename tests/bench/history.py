# history.py - make bench row 6: seeds the service's database (vex-api and the runner stopped) with HISTORY_JOBS
# finished jobs and their events, in SQL, in well under a minute (about 15 s of CPU; the rest is writing 1 GB).
#
# Every seeded job is a copy of a real completed echo job of the first pass (its "template"), and its events are
# copies of that job's events, so the rows are what the service itself writes, whatever columns and events it has
# today: only the id, the owner and the times differ. The jobs were created HISTORY_SPAN_S before the run, one
# every HISTORY_SPAN_S / HISTORY_JOBS seconds, newest last (their UUIDv7 ids sort before every job of the run);
# 40 % belong to the bench's own owner, the rest to HISTORY_OWNERS others. The job triggers are dropped while the
# jobs go in and put back after; the events are written in the same order the triggers would have written them
# (seq follows time). The webhook fan-out's cursor is moved past them, as if they had been fanned out when they
# happened. Jobs the first pass left queued (row 2 runs with the runner stopped) are canceled first.
import os
import sqlite3
import time

from benchlib import BenchError, HISTORY_OWNERS, HISTORY_SPAN_S

CHUNK = 100000  # jobs per transaction (and their events)


def time_expr(col, base, ref):
    """A time column of a copy: NULL stays NULL, else the template's offset from its created_at added to "base"."""
    return "CASE WHEN %s IS NULL THEN NULL ELSE %s + (%s - %s) END" % (col, base, col, ref)


def copy_exprs(cols, alias, fixed, created, ref):
    """The SELECT list copying the template row "alias" for job n: a column of "fixed" by its expression, a
    time (at, *_at) shifted to the job's "created", any other column as the template has it."""
    out = []
    for c in cols:
        if c in fixed:
            out.append(fixed[c])
        elif c == "at" or c.endswith("_at"):
            out.append(time_expr("%s.%s" % (alias, c), created, ref))
        else:
            out.append("%s.%s" % (alias, c))
    return out


def seed(b, jobs):
    """Seed "jobs" finished jobs into b.db_path; returns the figures of the seed (seconds, rows, file size)."""
    t0 = time.monotonic()
    end_us = int(time.time() * 1e6) - 30 * 1000000
    step = max(1, HISTORY_SPAN_S * 1000000 // jobs)
    start_us = end_us - step * jobs
    db = sqlite3.connect(b.db_path, timeout=30, isolation_level=None)
    try:
        # A seed, not a service, and the only connection: no journal (each page is written once, not to the WAL
        # and then to the database), no fsync until the end; the service's WAL comes back before it restarts.
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA cache_size = -262144")
        now = int(time.time() * 1e6)
        canceled = db.execute("UPDATE jobs SET status = 'canceled', completed_at = ?1, updated_at = ?1,"
                              " error_code = 'CANCELED', error_message = 'canceled before it started', rev = rev + 1"
                              " WHERE status = 'queued'", (now,)).rowcount
        tmpl = db.execute("SELECT id, created_at FROM jobs WHERE tool = 'echo' AND status = 'completed'"
                          " ORDER BY id DESC LIMIT 1").fetchone()
        if tmpl is None:
            raise BenchError("history: no completed echo job to copy")
        jcols = [r[1] for r in db.execute("PRAGMA table_info(jobs)")]
        ecols = [r[1] for r in db.execute("PRAGMA table_info(job_events)") if r[1] != "seq"]
        db.execute("CREATE TEMP TABLE hist_job AS SELECT * FROM jobs WHERE id = ?", (tmpl[0],))
        db.execute("CREATE TEMP TABLE hist_ev AS SELECT %s FROM job_events WHERE job_id = ? ORDER BY seq"
                   % ", ".join(ecols), (tmpl[0],))
        per_job = db.execute("SELECT COUNT(*) FROM hist_ev").fetchone()[0]
        triggers = db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'jobs'"
                              ).fetchall()

        # Job n: created at C = :start + n * :step (microseconds); a UUIDv7 of C's millisecond, n in its low bits.
        created = "(:start + n * :step)"
        ms = "(%s / 1000)" % created
        ident = ("printf('%%08x-%%04x-7%%03x-%%04x-%%012x', %s >> 16, %s & 65535, (n >> 14) & 4095,"
                 " 32768 | (n & 16383), n)" % (ms, ms))
        owner = ("CASE WHEN n %% 10 < 4 THEN :owner ELSE 'bench-history-' || (n %% 10 - 4) %% %d END"
                 % HISTORY_OWNERS)
        fixed = {"id": ident, "job_id": ident, "owner": owner,
                 "idempotency_key": "NULL", "lease_owner": "NULL", "lease_expires_at": "NULL"}
        jexpr = copy_exprs(jcols, "t", fixed, created, "t.created_at")
        eexpr = copy_exprs(ecols, "e", fixed, created, ":tc")
        nums = "WITH RECURSIVE k(n) AS (SELECT :lo UNION ALL SELECT n + 1 FROM k WHERE n + 1 < :hi) "
        ins_jobs = (nums + "INSERT INTO jobs(%s) SELECT %s FROM k CROSS JOIN hist_job t"
                    % (", ".join(jcols), ", ".join(jexpr)))
        # k outer, the template's events inner in their order: seq follows the jobs' times.
        ins_events = (nums + "INSERT INTO job_events(%s) SELECT %s FROM k CROSS JOIN hist_ev e"
                      % (", ".join(ecols), ", ".join(eexpr)))
        for lo in range(0, jobs, CHUNK):
            args = {"lo": lo, "hi": min(jobs, lo + CHUNK), "start": start_us, "step": step, "owner": b.owner,
                    "tc": tmpl[1]}
            db.execute("BEGIN IMMEDIATE")
            for name, _ in triggers:
                db.execute('DROP TRIGGER "%s"' % name.replace('"', '""'))
            db.execute(ins_jobs, args)
            db.execute(ins_events, args)
            for _, sql in triggers:
                db.execute(sql)
            db.execute("COMMIT")
        db.execute("UPDATE event_cursors SET seq = (SELECT MAX(seq) FROM job_events)")
        # The counts the dropped triggers would have kept (migration 14's job_tally), as a real database has them.
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM job_tally")
        db.execute("INSERT INTO job_tally(owner, status, kind, n) SELECT owner, status, kind, COUNT(*) FROM jobs"
                   " GROUP BY owner, status, kind")
        db.execute("COMMIT")
        if db.execute("PRAGMA journal_mode = WAL").fetchone()[0] != "wal":
            raise BenchError("history: the database did not go back to WAL")
        total_jobs = db.execute("SELECT MAX(rowid) FROM jobs").fetchone()[0]
        total_events = db.execute("SELECT COUNT(*) FROM job_events").fetchone()[0]
    finally:
        db.close()
    # Written back now, not by the first checkpoint (or the kernel's writeback) in the middle of row 6.
    fd = os.open(b.db_path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return {"jobs": jobs, "events": jobs * per_job, "events_per_job": per_job, "owner_share": 0.4,
            "owners": HISTORY_OWNERS + 1, "span_s": HISTORY_SPAN_S, "seconds": round(time.monotonic() - t0, 1),
            "canceled_left_queued": canceled, "db_rows_jobs_about": total_jobs, "db_events": total_events,
            "db_bytes": os.path.getsize(b.db_path)}
