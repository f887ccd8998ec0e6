# test_stream_write_lock.py - the stream server's loop never waits on the database write lock: with the lock held
# by another process, a stream authenticated with an API key (whose last use is due to be recorded) opens and
# delivers its events; the last use is recorded once the lock is free (fcgi-app/keytouch.c).
import sqlite3

import pytest

import vexit
from test_streams import Stream, check_stream_head
from vexit import TERMINAL, KeyClient, wait_for

pytestmark = pytest.mark.skipif(
    vexit.STORE == "postgres",
    reason="SQLite's write lock (PostgreSQL writers take row locks; test_store_outage.py and the unit suite cover it)")

# A busy_timeout of ten minutes: a loop that waited on the lock would not answer within the read timeout.
LONG_BUSY = {"api_env": {"VEX_STORE_BUSY_TIMEOUT_MS": "600000"}}


@pytest.mark.parametrize("fresh_svc", [LONG_BUSY], indirect=True)
def test_streams_open_and_deliver_while_another_process_holds_the_write_lock(fresh_svc):
    svc = fresh_svc
    k = KeyClient(svc)
    done = k.tool("echo", {"x": 1})
    k.wait_job(done)
    running = k.tool("sleep", {"ms": 60000})
    k.wait_job(running, ("running",))
    k2 = KeyClient(svc, sub=k.sub)  # a key never used over HTTP: its last use is due on the first stream
    assert svc.db_query("SELECT last_used_at FROM api_keys WHERE id = ?", (k2.key_id,))[0]["last_used_at"] is None

    con = sqlite3.connect(svc.db_path, timeout=10, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        st = Stream(svc, "/api/v1/jobs/%s/stream" % done, k2.headers(), timeout=20)
        check_stream_head(st)
        evs = st.events()
        assert evs and evs[-1]["event"] in TERMINAL and evs[-1]["data"]["status"] == "completed", evs
        st = Stream(svc, "/jobs/%s/stream" % running, {"X-API-Key": k2.key}, timeout=20)
        check_stream_head(st)
        first = st.next()
        assert first is not None and first["data"]["status"] == "running", first
        assert con.in_transaction  # all of it under the lock
        # Nothing was written while the lock was held.
        assert con.execute("SELECT last_used_at FROM api_keys WHERE id = ?", (k2.key_id,)).fetchone()[0] is None
    finally:
        con.rollback()
        con.close()
    wait_for(lambda: svc.db_query("SELECT last_used_at FROM api_keys WHERE id = ?",
                                  (k2.key_id,))[0]["last_used_at"] is not None,
             30, what="the key's last use, recorded by the keytouch thread once the lock is free")
    st.close()
    svc.client(role="admin").post("/api/v1/jobs/%s/cancel" % running)
