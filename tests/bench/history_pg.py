# history_pg.py - make bench row 6's seed on PostgreSQL (make bench BACKEND=postgres): the same history as
# history.py seeds into SQLite, in the same steps, through psycopg2 on the service's database.
#
# As in history.py: the jobs the first pass left queued are canceled first (through the triggers, as there); every
# seeded job is a copy of the newest completed echo job of the first pass and its events copies of that job's
# events; ids, owners and times as there; the job triggers are off while the jobs go in (ALTER TABLE jobs DISABLE
# TRIGGER USER in each chunk's transaction, where SQLite drops and re-creates them) and the events are written by
# hand in the order the triggers would have written them (seq, an identity column, follows time: ORDER BY job,
# then the template's own order); every event cursor is moved past them and job_tally is counted again, as the
# triggers would have kept it. The rows are made by the server (INSERT ... SELECT over generate_series, the
# multi-row INSERT nearest SQLite's recursive CTE), 100,000 jobs per transaction, with synchronous_commit off
# (SQLite's seed runs without a journal or fsync). Then VACUUM ANALYZE of the tables the seed wrote and a
# CHECKPOINT, the counterparts of history.py's fsync: neither autovacuum's first pass over four million new rows
# nor the checkpoint of their WAL falls in the middle of row 6.
import time

import psycopg2

from benchlib import BenchError, HISTORY_OWNERS, HISTORY_SPAN_S
from history import CHUNK, copy_exprs


def columns(cur, table):
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
                " AND table_name = %s ORDER BY ordinal_position", (table,))
    return [r[0] for r in cur.fetchall()]


def seed(b, jobs):
    """Seed "jobs" finished jobs into the service's PostgreSQL database; returns the figures of the seed, with
    the keys of history.seed (db_bytes: pg_database_size)."""
    t0 = time.monotonic()
    end_us = int(time.time() * 1e6) - 30 * 1000000
    step = max(1, HISTORY_SPAN_S * 1000000 // jobs)
    start_us = end_us - step * jobs
    con = psycopg2.connect(b.svc.store_url)
    try:
        con.autocommit = True
        cur = con.cursor()
        cur.execute("SET synchronous_commit = off")
        now = int(time.time() * 1e6)
        cur.execute("UPDATE jobs SET status = 'canceled', completed_at = %(now)s, updated_at = %(now)s,"
                    " error_code = 'CANCELED', error_message = 'canceled before it started', rev = rev + 1"
                    " WHERE status = 'queued'", {"now": now})
        canceled = cur.rowcount
        cur.execute("SELECT id, created_at FROM jobs WHERE tool = 'echo' AND status = 'completed'"
                    " ORDER BY id DESC LIMIT 1")
        tmpl = cur.fetchone()
        if tmpl is None:
            raise BenchError("history: no completed echo job to copy")
        jcols = columns(cur, "jobs")
        ecols = [c for c in columns(cur, "job_events") if c != "seq"]
        cur.execute("CREATE TEMP TABLE hist_job AS SELECT * FROM jobs WHERE id = %s", (tmpl[0],))
        cur.execute("CREATE TEMP TABLE hist_ev AS SELECT %s, row_number() OVER (ORDER BY seq) AS ord"
                    " FROM job_events WHERE job_id = %%s" % ", ".join(ecols), (tmpl[0],))
        cur.execute("SELECT COUNT(*) FROM hist_ev")
        per_job = cur.fetchone()[0]

        # Job n: created at C = start + n * step (microseconds); a UUIDv7 of C's millisecond, n in its low bits
        # (history.py's printf, in to_hex and lpad).
        created = "(%(start)s::bigint + n * %(step)s::bigint)"
        ms = "(%s / 1000)" % created
        ident = ("lpad(to_hex(%s >> 16), 8, '0') || '-' || lpad(to_hex(%s & 65535), 4, '0') || '-7' ||"
                 " lpad(to_hex((n >> 14) & 4095), 3, '0') || '-' || lpad(to_hex(32768 | (n & 16383)), 4, '0') ||"
                 " '-' || lpad(to_hex(n), 12, '0')" % (ms, ms))
        owner = ("CASE WHEN n %%%% 10 < 4 THEN %%(owner)s ELSE 'bench-history-' || ((n %%%% 10 - 4) %%%% %d) END"
                 % HISTORY_OWNERS)
        fixed = {"id": ident, "job_id": ident, "owner": owner,
                 "idempotency_key": "NULL", "lease_owner": "NULL", "lease_expires_at": "NULL"}
        jexpr = copy_exprs(jcols, "t", fixed, created, "t.created_at")
        eexpr = copy_exprs(ecols, "e", fixed, created, "%(tc)s::bigint")
        nums = "generate_series(%(lo)s::bigint, %(hi)s::bigint - 1) AS k(n)"
        ins_jobs = "INSERT INTO jobs(%s) SELECT %s FROM %s CROSS JOIN hist_job t" % (
            ", ".join(jcols), ", ".join(jexpr), nums)
        # k outer, the template's events inner in their order: seq follows the jobs' times.
        ins_events = "INSERT INTO job_events(%s) SELECT %s FROM %s CROSS JOIN hist_ev e ORDER BY k.n, e.ord" % (
            ", ".join(ecols), ", ".join(eexpr), nums)
        con.autocommit = False
        for lo in range(0, jobs, CHUNK):
            args = {"lo": lo, "hi": min(jobs, lo + CHUNK), "start": start_us, "step": step, "owner": b.owner,
                    "tc": tmpl[1]}
            cur.execute("ALTER TABLE jobs DISABLE TRIGGER USER")
            cur.execute(ins_jobs, args)
            cur.execute(ins_events, args)
            cur.execute("ALTER TABLE jobs ENABLE TRIGGER USER")
            con.commit()
        cur.execute("UPDATE event_cursors SET seq = (SELECT MAX(seq) FROM job_events)")
        # The counts the disabled triggers would have kept (migration 14's job_tally), as a real database has them.
        cur.execute("DELETE FROM job_tally")
        cur.execute("INSERT INTO job_tally(owner, status, kind, n) SELECT owner, status, kind, COUNT(*) FROM jobs"
                    " GROUP BY owner, status, kind")
        con.commit()
        con.autocommit = True
        cur.execute("SELECT tgname FROM pg_trigger WHERE tgrelid = 'jobs'::regclass AND NOT tgisinternal"
                    " AND tgenabled = 'D'")
        if cur.fetchall():
            raise BenchError("history: a job trigger stayed disabled")
        seeded_s = time.monotonic() - t0
        cur.execute("VACUUM (ANALYZE) jobs, job_events, job_tally, event_cursors")
        cur.execute("CHECKPOINT")
        cur.execute("SELECT COUNT(*) FROM jobs")
        total_jobs = cur.fetchone()[0]
        cur.execute("SELECT COUNT(*) FROM job_events")
        total_events = cur.fetchone()[0]
        cur.execute("SELECT pg_database_size(current_database())")
        db_bytes = cur.fetchone()[0]
    finally:
        con.close()
    return {"jobs": jobs, "events": jobs * per_job, "events_per_job": per_job, "owner_share": 0.4,
            "owners": HISTORY_OWNERS + 1, "span_s": HISTORY_SPAN_S, "seconds": round(time.monotonic() - t0, 1),
            "insert_seconds": round(seeded_s, 1), "canceled_left_queued": canceled,
            "db_rows_jobs_about": total_jobs, "db_events": total_events, "db_bytes": db_bytes}
