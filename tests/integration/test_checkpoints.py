# test_checkpoints.py - the runner's writer hands its WAL checkpoints to a thread of their own, so that no
# round of claims, finishes and new jobs waits on a checkpoint's copy and fsync of the database file.
import concurrent.futures
import os
import re
import sqlite3

import pytest

import vexit
from vexit import wait_for

pytestmark = pytest.mark.skipif(
    vexit.STORE == "postgres",
    reason="WAL checkpoints are SQLite's (PostgreSQL's server runs its own)")


def metric(svc, name):
    text = svc.get("/metrics", headers={"Authorization": "Bearer " + svc.token(role="admin")}).text
    m = re.search(r"^%s (\d+)$" % re.escape(name), text, re.M)
    return int(m.group(1)) if m else None


def thread_names(pid):
    names = []
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                names.append(f.read().strip())
        except OSError:
            pass  # a thread that ended meanwhile
    return names


def test_the_runner_checkpoints_on_a_thread_of_its_own(fresh_svc):
    """Enough jobs to fill the WAL past SQLite's checkpoint threshold: the checkpoint thread (named
    for `top -H`) runs the checkpoints, /metrics counts them, and every job is in the database
    file itself, read without the WAL."""
    svc = fresh_svc
    assert "vex-checkpoint" in thread_names(svc.runner.pid)
    assert metric(svc, "vex_checkpoints_total") == 0
    c = svc.client(plan="enterprise")

    def run(i):
        return c.tool("echo", {"i": i})

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        ids = list(ex.map(run, range(600)))
    for i, j in enumerate(ids):
        assert c.wait_job(j)["result"] == {"i": i}
    wait_for(lambda: metric(svc, "vex_checkpoints_total") > 0, 10, what="a checkpoint by the runner's thread")
    # A checkpoint copies committed pages into the file: a copy of the file alone (no -wal beside it)
    # holds the jobs of at least the first rounds.
    copy = os.path.join(svc.dir, "copy.db")
    with open(svc.db_path, "rb") as src, open(copy, "wb") as dst:
        dst.write(src.read())
    db = sqlite3.connect(copy)
    try:
        n = db.execute("SELECT COUNT(*) FROM jobs WHERE owner = ?", (c.sub,)).fetchone()[0]
    finally:
        db.close()
    assert n > 0
