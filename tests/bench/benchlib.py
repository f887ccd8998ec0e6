# benchlib.py - the bench driver's knobs (environment), targets and helpers: logging, waits, an HTTPS
# client, wrk runs, formatting. Imported by tests/bench/run, which puts tests/integration on sys.path first.
import http.client
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import time

import vexit

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))


def env_int(name, default, lo, hi):
    raw = os.environ.get(name, "")
    if raw == "":
        return default
    try:
        v = int(raw)
    except ValueError:
        sys.exit("bench: %s must be an integer, got %r" % (name, raw))
    if not lo <= v <= hi:
        sys.exit("bench: %s must be in %d..%d, got %d" % (name, lo, hi, v))
    return v


WORKERS = env_int("VEX_SERVER_WORKERS", 4, 1, 256)
DURATION = env_int("VEX_BENCH_DURATION", 8, 1, 600)
THREADS = env_int("VEX_BENCH_THREADS", 2, 1, 64)
CONNECTIONS = env_int("VEX_BENCH_CONNECTIONS", 32, 1, 10000)
DISPATCH_JOBS = env_int("VEX_BENCH_DISPATCH_JOBS", 300, 10, 100000)
DISPATCH_RATE = env_int("VEX_BENCH_DISPATCH_RATE", 50, 1, 10000)
STREAMS = env_int("VEX_BENCH_STREAMS", 1000, 1, 10000)
STREAMS_PER_OWNER = 100  # streams per bench owner (the plan's default [limits] max_streams_enterprise; raised)
STREAM_JOBS_PER_OWNER = 5
HOOK_JOBS = env_int("VEX_BENCH_HOOK_JOBS", 1000, 10, 100000)
HOOK_SUBMITTERS = 8
TOOL_JOBS = env_int("VEX_BENCH_TOOL_JOBS", 1000, 10, 100000)
TOOL_SUBMITTERS = 8
SYNC = os.environ.get("VEX_STORE_SYNCHRONOUS", "full").lower()
if SYNC not in ("off", "normal", "full"):
    sys.exit("bench: VEX_STORE_SYNCHRONOUS must be off, normal or full")
KEEP = os.environ.get("VEX_BENCH_KEEP", "0") not in ("", "0")
HISTORY_JOBS = env_int("VEX_BENCH_HISTORY_JOBS", 1000000, 0, 10000000)  # row 6; 0 skips the second pass
HISTORY_OWNERS = 6  # owners of the history beside the bench's own (bench-user holds 40 % of it)
HISTORY_SPAN_S = 2400  # the history's jobs were created over the 40 minutes before the run (events kept: 1 h)
LIST_LIMIT = 20  # page size of the listing rows (the API's default)

# The targets (docs/bench.md "Targets"): each a ratio to a baseline measured in the same run.
TARGET_POLL_RATIO = 0.6  # polls / trivial responder
TARGET_STREAMS_POLL_RATIO = 0.9  # 1,000 open streams cost polls at most 10 %
TARGET_SUBMIT_RATIO = 0.6  # runner-off submits / raw inserts
TARGET_RUNNER_ON_RATIO = 0.6  # submits with the runner on / runner off
TARGET_E2E_RATIO = 0.7  # end-to-end echo jobs / runner-off submits
TARGET_DISPATCH_P50_MS = 1.0
TARGET_DISPATCH_P99_MS = 5.0
TARGET_HISTORY_RATIO = 0.9  # row 6: with a million jobs of history / the same on an empty database


class BenchError(Exception):
    pass


class Stop(Exception):
    """SIGINT/SIGTERM/SIGHUP to the driver: unwind and tear everything down."""


def on_signal(signum, frame):
    raise Stop("signal %d" % signum)


def log(msg):
    sys.stdout.flush()
    print("bench: " + msg, file=sys.stderr, flush=True)


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    rank = max(1, min(len(v), int(-(-p * len(v) // 100))))
    return v[rank - 1]


def wait_until(what, check, proc=None, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise BenchError("%s exited (status %s) while waiting for %s:\n%s"
                             % (proc.name, proc.p.returncode, what, vexit.tail(proc.log_path, 15)))
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.02)
    raise BenchError("timed out waiting for %s%s" % (what, (":\n" + vexit.tail(proc.log_path, 15)) if proc else ""))


def memcached_stats(port):
    """The counters of memcached's "stats" command, as ints where they are ints."""
    out = {}
    with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
        s.sendall(b"stats\r\n")
        buf = b""
        while not buf.endswith(b"END\r\n"):
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
    for line in buf.decode().splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0] == "STAT":
            try:
                out[parts[1]] = int(parts[2])
            except ValueError:
                out[parts[1]] = parts[2]
    return out


class Client:
    """One keep-alive HTTPS connection to nginx (the dev certificate is not verified)."""

    def __init__(self, port, token=None):
        self.port = port
        self.token = token
        self.ctx = ssl.create_default_context()
        self.ctx.check_hostname = False
        self.ctx.verify_mode = ssl.CERT_NONE
        self.conn = None

    def request(self, method, path, body=None):
        headers = {}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=10)
            try:
                self.conn.request(method, path, body=data, headers=headers)
                r = self.conn.getresponse()
                raw = r.read()
                break
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt == 2:
                    raise
        try:
            doc = json.loads(raw) if raw else None
        except ValueError:
            doc = None
        return r.status, doc, raw

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def run_wrk(name, script, port, extra_env, duration, tmp, log_path, host="127.0.0.1", connections=None):
    """One wrk run over HTTPS to "host" (row 7: a host's address in its namespace) with "connections" (default
    CONNECTIONS); the figures come from report.lua's done() as JSON."""
    out = os.path.join(tmp, "wrk-%s.json" % name)
    env = dict(os.environ)
    env.update(extra_env)
    env["VEX_BENCH_OUT"] = out
    env["VEX_BENCH_LUA"] = BENCH_DIR
    argv = ["wrk", "-t%d" % THREADS, "-c%d" % (connections or CONNECTIONS), "-d%ds" % duration, "--latency",
            "--timeout", "5s", "-s", os.path.join(BENCH_DIR, script), "https://%s:%d/" % (host, port)]
    with open(log_path, "ab") as lf:
        lf.write(("$ " + " ".join(argv) + "\n").encode())
        lf.flush()
        rc = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, stdout=lf, stderr=subprocess.STDOUT,
                            timeout=duration + 30).returncode
    if rc != 0:
        raise BenchError("wrk %s exited %d (see %s)" % (name, rc, log_path))
    with open(out) as f:
        return json.load(f)


def fmt_ms(us):
    return "-" if us is None else "%.2f ms" % (us / 1000.0)


def fmt_rate(r):
    return "-" if r is None else "%.0f/s" % r


def mark(ok):
    return "-" if ok is None else ("PASS" if ok else "MISS")


def proc_cpu_us(pid):
    """utime + stime of process "pid" (all its threads) in microseconds; 0 when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return 0
    rest = st[st.rindex(")") + 2:].split()
    return (int(rest[11]) + int(rest[12])) * 1000000 // os.sysconf("SC_CLK_TCK")


def cpu_snapshot(procs):
    """CPU used so far, in microseconds, per name of "procs" ({name: pid}; each with its descendants: the
    vex-api pool, nginx's workers), plus "driver+wrk" (this process and its waited-for children, wrk)."""
    out = {}
    for name, pid in procs.items():
        if pid:
            out[name] = sum(proc_cpu_us(p) for p in [pid] + vexit.descendants_of(pid))
    ru_self, ru_kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    out["driver+wrk"] = int((ru_self.ru_utime + ru_self.ru_stime + ru_kids.ru_utime + ru_kids.ru_stime) * 1e6)
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    out["idle"] = (int(fields[3]) + int(fields[4])) * 1000000 // os.sysconf("SC_CLK_TCK")  # idle + iowait, all CPUs
    return out


def cpu_per_job(before, after, jobs):
    """Microseconds of CPU per job between two cpu_snapshot()s (idle: of the machine's idle time)."""
    if not jobs:
        return None
    return {k: round((after[k] - before[k]) / jobs) for k in after if k in before}
