# benchstore.py - the bench's own reads of the service's store: sqlite3 on SQLite's file, psycopg2 on PostgreSQL
# (make bench BACKEND=postgres: vexit's VEX_TEST_STORE). Both answer execute(sql, params) with "?" parameters.
import sqlite3

import vexit

BACKEND = vexit.STORE  # "sqlite" or "postgres"


def connect(b, timeout=5):
    """A connection to the store of the bench's service "b" (autocommit on PostgreSQL); the caller closes it.
    "timeout": SQLite's busy timeout; PostgreSQL's readers never wait for its writers."""
    if BACKEND == "postgres":
        return vexit.PgConnection(b.svc.store_url)
    return sqlite3.connect(b.db_path, timeout=timeout)
