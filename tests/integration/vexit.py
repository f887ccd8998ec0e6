# vexit.py - integration harness: start/stop the real programs, talk HTTPS as a caller, read the store (SQLite, or
# PostgreSQL when VEX_TEST_STORE=postgres: a private cluster for the run, a database per service) (JWTs, times and
# error bodies: vexwire.py).
import atexit
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

import psycopg2
import psycopg2.extras
import requests

import vexspec

# Re-exported: tests use them as vexit.<name>.
from vexwire import (RFC3339_RE, assert_api_error, assert_error, assert_json, b64url, b64url_decode,  # noqa: F401
                     claims_for, is_rfc3339, mint, new_sub, parse_rfc3339)
from vexlimits import PLAN_RATES, RAISED_LIMITS, RAISED_RATE, RAISED_RATES  # noqa: F401

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.abspath(os.environ.get("VEX_BUILD", os.path.join(REPO, "build")))
# Sanitizer builds are several times slower: every deadline grows, no assertion depends on it.
SLOW = 3.0 if "san" in os.path.basename(BUILD) else 1.0
HTTP_TIMEOUT = 30 * SLOW

UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
UUID7_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SANITIZER_RE = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error: |SUMMARY: UndefinedBehaviorSanitizer")
TERMINAL = {"completed", "failed", "canceled", "timeout"}
# enum vex_job_status order (core/jobs/model.h), for a store that keeps the status as an integer.
CORE_STATUS = ["queued", "running", "completed", "failed", "timeout", "canceled"]

# The store the services use: "sqlite" (a file in each service's home) or "postgres" (VEX_TEST_STORE=postgres: a
# database of its own per service, on one private cluster for the whole run, tools/pg-cluster).
STORE = os.environ.get("VEX_TEST_STORE", "sqlite")
assert STORE in ("sqlite", "postgres"), "VEX_TEST_STORE=%s: sqlite or postgres" % STORE
DB_TYPE = {"sqlite": "sqlite", "postgres": "postgresql"}[STORE]  # what /health says of the store
STORE_ERRORS = (sqlite3.Error, psycopg2.Error)
_PG = {}  # the run's cluster: dir, url(dbname)
_PG_SEQ = [0]


def pg_url(db):
    """The libpq URL of database "db" on the run's cluster (started on first use, stopped at exit). Its directory
    is in VEX_TEST_PG_PARENT when set (make bench: beside the build, on a real disk), else the system's temp."""
    if not _PG:
        d = tempfile.mkdtemp(prefix="vex-it-pg-", dir=os.environ.get("VEX_TEST_PG_PARENT") or None)
        tool = os.path.join(REPO, "tools", "pg-cluster")
        r = subprocess.run([tool, "start", d], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, "pg-cluster start: %s" % r.stderr

        def stop():
            subprocess.run([tool, "stop", d], capture_output=True, timeout=120)
            shutil.rmtree(d, ignore_errors=True)
        atexit.register(stop)
        _PG["dir"] = d
        _PG["base"] = r.stdout.strip()
    return _PG["base"].replace("@/vex?", "@/%s?" % db, 1)


class _PgRows:
    def __init__(self, cur):
        self.cur = cur

    def fetchall(self):
        return self.cur.fetchall() if self.cur.description else []

    def fetchone(self):
        return self.cur.fetchone() if self.cur.description else None

    def __iter__(self):
        return iter(self.fetchall())


class PgConnection:
    """What the tests use of an sqlite3 connection, on PostgreSQL: execute with ? parameters, rows by index or
    name (dict(row) works), autocommit."""

    def __init__(self, url):
        self.c = psycopg2.connect(url)
        self.c.autocommit = True

    def execute(self, sql, params=()):
        cur = self.c.cursor(cursor_factory=psycopg2.extras.DictCursor)
        if params:
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
        else:
            cur.execute(sql)
        return _PgRows(cur)

    def close(self):
        self.c.close()


# Every process any test started; stopped at exit even if a finalizer never ran.
_ALL_PROCS = []
# Services alive now: the failure hook prints their log tails.
ACTIVE = []


def deadline(seconds):
    return time.monotonic() + seconds * SLOW


def wait_for(fn, timeout=30, interval=0.05, what="condition"):
    """Poll fn() until it returns a truthy value (returned); AssertionError at the deadline."""
    end = deadline(timeout)
    last = None
    while True:
        try:
            last = fn()
        except (requests.RequestException, OSError) + STORE_ERRORS as e:
            last = e
        else:
            if last:
                return last
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for %s (last: %r)" % (what, last))
        time.sleep(interval)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def tcp_answers(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def unix_answers(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(1)
    try:
        s.connect(path)
        return True
    except OSError:
        return False
    finally:
        s.close()


def mc_binary(sock, opcode, key=b"", value=b"", extras=b""):
    """One request of memcached's binary protocol on "sock": (status, value) of its answer (memcached -S
    speaks nothing else; status 0x20 is its "authentication required / failed")."""
    body = extras + key + value
    sock.sendall(bytes([0x80, opcode]) + len(key).to_bytes(2, "big") + bytes([len(extras), 0, 0, 0]) +
                 len(body).to_bytes(4, "big") + bytes(12) + body)
    head = b""
    while len(head) < 24:
        chunk = sock.recv(24 - len(head))
        if not chunk:
            raise OSError("memcached closed the connection")
        head += chunk
    assert head[0] == 0x81 and head[1] == opcode, head
    status, size = int.from_bytes(head[6:8], "big"), int.from_bytes(head[8:12], "big")
    rest = b""
    while len(rest) < size:
        chunk = sock.recv(size - len(rest))
        if not chunk:
            raise OSError("memcached closed the connection")
        rest += chunk
    return status, rest[head[4] + int.from_bytes(head[2:4], "big"):]


# ---- processes ----

class Proc:
    """One child process with its output in a log file; stopped by pid only."""

    def __init__(self, name, argv, env, log_path, cwd=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self._log.write(("\n==== start %s: %s\n" % (time.strftime("%H:%M:%S"), " ".join(argv))).encode())
        self._log.flush()
        self.p = subprocess.Popen(argv, env=env, stdout=self._log, stderr=subprocess.STDOUT, cwd=cwd or REPO,
                                  start_new_session=True, stdin=subprocess.DEVNULL)
        _ALL_PROCS.append(self)

    @property
    def pid(self):
        return self.p.pid

    def alive(self):
        return self.p.poll() is None

    def signal(self, sig):
        if self.alive():
            os.kill(self.p.pid, sig)

    def wait(self, timeout):
        """Exit status, or None if still running after "timeout" seconds (scaled)."""
        try:
            return self.p.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=10):
        """SIGTERM, then SIGKILL after "timeout"; returns the exit status."""
        if self.alive():
            try:
                os.kill(self.p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            rc = self.wait(timeout)
            if rc is None:
                self.kill()
        rc = self.p.wait()
        self._close()
        return rc

    def kill(self):
        if self.alive():
            try:
                os.kill(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        rc = self.p.wait()
        self._close()
        return rc

    def _close(self):
        if not self._log.closed:
            self._log.close()


@atexit.register
def _stop_everything():
    for pr in reversed(_ALL_PROCS):
        try:
            if pr.alive():
                pr.kill()
        except Exception:
            pass


def children_of(pid):
    """Pids whose parent is "pid" (scan of /proc/*/stat), excluding zombies."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        # comm may hold spaces or parens: fields after the last ')'.
        rest = st[st.rindex(")") + 2:].split()
        state, ppid = rest[0], int(rest[1])
        if ppid == pid and state != "Z":
            out.append(int(d))
    return sorted(out)


def descendants_of(pid):
    seen = []
    todo = [pid]
    while todo:
        p = todo.pop()
        for c in children_of(p):
            if c not in seen:
                seen.append(c)
                todo.append(c)
    return seen


def pid_running(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            st = f.read()
    except OSError:
        return False
    return st[st.rindex(")") + 2:].split()[0] != "Z"


def _inode(path):
    try:
        st = os.stat(path)
        return (st.st_ino, st.st_ctime_ns)
    except OSError:
        return None


def tail(path, n=40):
    try:
        with open(path, "rb") as f:
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError as e:
        return "(%s)" % e
    return "\n".join(lines[-n:])


# ---- the service under test ----

def gen_cert(directory):
    os.makedirs(directory, exist_ok=True)
    subprocess.run([os.path.join(REPO, "tools", "gen-cert"), directory], check=True, cwd=REPO,
                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    return os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")


# [tools] run_as when the tests run as root (tools/install-deps creates the user)
TOOLS_USER = "vex-tools"


def tools_tmpdir(request, prefix):
    """(dir, out): a temporary directory for a test's tool configuration (root's, 0711: tools reach
    the work directory inside and list nothing) and out/ in it, where the tools, running as
    TOOLS_USER when root, write what the test reads back (fixture logs, run records). Removed at the
    end of the test's scope. pytest's own tmp_path is not used: its parents are 0700."""
    d = tempfile.mkdtemp(prefix=prefix)
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    os.chmod(d, 0o711)
    out = os.path.join(d, "out")
    os.mkdir(out, 0o700)
    if os.getuid() == 0:
        u = pwd.getpwnam(TOOLS_USER)
        os.chown(out, u.pw_uid, u.pw_gid)
    return d, out


class Service:
    """memcached + vex-api + vex-runner + nginx on free ports in a temporary directory (in "parent":
    the system's temporary directory by default; make bench puts it beside the build, on a real disk)."""

    def __init__(self, tls, workers=3, runner_env=None, api_env=None, rate=10000, burst=10000, memcached_tcp=False,
                 parent=None, prefix="vex-it-", rates="raised", sasl=False, store_url=None):
        self.dir = tempfile.mkdtemp(prefix=prefix, dir=parent)
        os.chmod(self.dir, 0o711)  # search only: tools run as [tools] run_as and reach home/work/<their dir>
        self.home = os.path.join(self.dir, "home")
        self.logs = os.path.join(self.dir, "logs")
        os.makedirs(os.path.join(self.home, "run"))
        os.makedirs(self.logs)
        self.cert, self.key = tls
        self.secret = secrets.token_urlsafe(36)  # 48 random bytes (printable: it travels in the environment)
        assert len(self.secret) == 48
        self.workers = workers
        # memcached listens on a unix socket in a directory of its own (as under make run): when
        # root, memcached runs as "memcache", owns the directory (setgid to our group, 2750) and
        # creates the socket 0660; the service dir is 0711 so that it can reach it, and no other
        # user (the tools user) can enter the directory. memcached_tcp=True: 127.0.0.1:mc_port.
        # sasl=True: memcached -S on TCP (SASL PLAIN against a sasldb of its own, binary protocol only), and
        # vex authenticates as sasl_user with sasl_client_password ([cache] sasl_*): a test may change
        # the latter before start() to give vex a wrong one.
        self.sasl = sasl
        self.memcached_tcp = memcached_tcp or sasl
        self.sasl_user = "vex"
        self.sasl_password = secrets.token_urlsafe(24)
        self.sasl_client_password = self.sasl_password
        self.sasl_password_file = os.path.join(self.dir, "memcached.pass")
        self.mc_port = free_port()
        self.mc_dir = os.path.join(self.dir, "memcached")
        self.mc_socket = os.path.join(self.mc_dir, "memcached.sock")
        os.makedirs(self.mc_dir)
        if os.getuid() == 0:
            os.chmod(self.dir, 0o711)
            os.chown(self.mc_dir, pwd.getpwnam("memcache").pw_uid, os.getgid())
            os.chmod(self.mc_dir, 0o2750)
        else:
            os.chmod(self.mc_dir, 0o700)
        self.https_port = free_port()
        self.http_port = free_port()
        self.api_socket = os.path.join(self.home, "run", "api.sock")
        self.runner_socket = os.path.join(self.home, "run", "runner.sock")
        self.stream_socket = os.path.join(self.home, "run", "stream.sock")
        self.db_path = os.path.join(self.home, "vex.db")
        self.pg_db = None
        # A store of the caller's: a cluster it stops (test_store_outage.py), or "sqlite:PATH" whatever
        # VEX_TEST_STORE says (test_store_migrate.py's source).
        self.store_url = store_url
        if STORE == "postgres" and not store_url:
            _PG_SEQ[0] += 1
            self.pg_db = "vexit_%d_%d" % (os.getpid(), _PG_SEQ[0])
            admin = psycopg2.connect(pg_url("vex"))
            admin.autocommit = True
            admin.cursor().execute("CREATE DATABASE %s" % self.pg_db)
            admin.close()
            self.store_url = pg_url(self.pg_db)
        self.rate, self.burst = rate, burst
        self.runner_env = {"VEX_RUNNER_LEASE_MS": "3000", "VEX_RUNNER_RESCUE_INTERVAL_MS": "500",
                           "VEX_RUNNER_SHUTDOWN_GRACE_MS": "3000",
                           # as under make run: as root, every tool runs as the tools user
                           "VEX_TOOLS_RUN_AS": TOOLS_USER if os.getuid() == 0 else ""}
        self.runner_env.update(runner_env or {})
        self.api_env = dict(api_env or {})
        # RAISED_LIMITS; rates="default": the service's own rate_<plan> (test_rate_limits.py), other limits raised
        assert rates in ("raised", "default"), rates
        self.limits_env = {k: v for k, v in RAISED_LIMITS.items() if rates == "raised" or k not in RAISED_RATES}
        self.nginx_env = {}  # more tools/render-nginx settings (e.g. VEX_ADMIN_ALLOW)
        self.runner_prefix = []  # e.g. setpriv ...: the runner as another user (test_tool_secrets.py)
        self.memcached = self.api = self.runner = self.nginx = None
        self.extra = []  # other nginx instances (low rate)
        self.runner_seq = 0
        self.failed = False
        self.http = requests.Session()
        self.http.trust_env = False  # never through a proxy from the environment

    # -- environment --
    def env(self, extra=None):
        e = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
        e.update({
            "VEX_HOME": self.home,
            "VEX_JWT_SECRET": self.secret,
            "VEX_CACHE_SERVERS": self.cache_servers(),
            "VEX_SERVER_WORKERS": str(self.workers),
            "VEX_STORE_PATH": self.db_path,
            "VEX_STORE_URL": self.store_url or "",
            "VEX_SERVER_API_SOCKET": self.api_socket,
            "VEX_SERVER_RUNNER_SOCKET": self.runner_socket,
            "VEX_STREAMS_SOCKET": self.stream_socket,
            # Tests receive webhooks on loopback, and retry within seconds rather than hours.
            "VEX_WEBHOOKS_ALLOW_PRIVATE": "true",
            "VEX_WEBHOOKS_RETRY_S": "0.1,0.2,0.4,0.8,1.6,3.2",
            "VEX_LOG_LEVEL": "info",
        })
        if self.sasl:
            e.update({"VEX_CACHE_SASL_USER": self.sasl_user, "VEX_CACHE_SASL_PASSWORD_FILE": self.sasl_password_file})
        e.update(self.limits_env)
        e.update(extra or {})
        return e

    def plan_rate(self, plan):
        """The [limits] rate_<plan> this service runs with (requests per minute)."""
        v = self.limits_env.get("VEX_LIMITS_RATE_" + plan.upper())
        return int(v) if v else PLAN_RATES[plan]

    def log(self, name):
        return os.path.join(self.logs, name + ".log")

    # -- memcached --
    def cache_servers(self):
        return "127.0.0.1:%d" % self.mc_port if self.memcached_tcp else self.mc_socket

    def sasl_files(self):
        """For memcached -S: a sasldb holding sasl_user (saslpasswd2, Debian's sasl2-bin) and memcached.conf
        (PLAIN only, that sasldb) in memcached's directory, which SASL_CONF_PATH names; and vex's password
        file (0600). Returns memcached's extra environment."""
        db, conf = os.path.join(self.mc_dir, "sasldb"), os.path.join(self.mc_dir, "memcached.conf")
        if not os.path.exists(db):
            r = subprocess.run(["saslpasswd2", "-p", "-c", "-a", "memcached", "-f", db, self.sasl_user],
                               input=self.sasl_password.encode(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            assert r.returncode == 0, "saslpasswd2: %s" % r.stdout.decode(errors="replace")
            with open(conf, "w") as f:
                f.write("mech_list: plain\nsasldb_path: %s\n" % db)
            for path in (db, conf):
                os.chmod(path, 0o640)
                if os.getuid() == 0:
                    os.chown(path, pwd.getpwnam("memcache").pw_uid, os.getgid())
        fd = os.open(self.sasl_password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.sasl_client_password + "\n")
        return {"SASL_CONF_PATH": self.mc_dir}

    def start_memcached(self):
        if self.memcached_tcp:
            listen = ["-l", "127.0.0.1", "-p", str(self.mc_port)]
        else:
            listen = ["-s", self.mc_socket, "-a", "0660"]
        self.memcached = Proc("memcached", ["/usr/bin/memcached"] + listen + ["-U", "0", "-t", "2"] +
                              (["-S"] if self.sasl else []) + (["-u", "memcache"] if os.getuid() == 0 else []),
                              self.env(self.sasl_files() if self.sasl else None), self.log("memcached"))
        wait_for(lambda: self.memcached_version() or self._dead(self.memcached), 10, what="memcached")

    def memcached_connect(self):
        """A connected socket to memcached (TCP or unix, as configured)."""
        if self.memcached_tcp:
            return socket.create_connection(("127.0.0.1", self.mc_port), timeout=1)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(1)
        try:
            s.connect(self.mc_socket)
        except OSError:
            s.close()
            raise
        return s

    def memcached_version(self):
        try:
            with self.memcached_connect() as s:
                if self.sasl:  # the binary protocol's version, which -S answers without authentication
                    return mc_binary(s, 0x0b)[0] == 0
                s.sendall(b"version\r\n")
                return s.recv(64).startswith(b"VERSION")
        except OSError:
            return False

    def stop_memcached(self):
        if self.memcached:
            self.memcached.stop()

    # -- vex-api --
    def start_api(self):
        self.api = Proc("vex-api", [os.path.join(BUILD, "vex-api")], self.env(self.api_env), self.log("vex-api"))
        wait_for(lambda: self._dead(self.api) or (unix_answers(self.api_socket) and
                                                 len(children_of(self.api.pid)) >= self.workers),
                 20, what="vex-api socket and %d workers" % self.workers)

    # -- vex-runner --
    def start_runner(self, extra_env=None):
        self.runner_seq += 1
        env = self.env(self.runner_env)
        env.update(extra_env or {})
        # A killed runner leaves its socket file behind: ready means a fresh inode bound by the new one.
        old = _inode(self.runner_socket)
        self.runner = Proc("vex-runner", self.runner_prefix +
                           [os.path.join(BUILD, "vex-runner"), "--id", "it-runner-%d" % self.runner_seq],
                           env, self.log("vex-runner"))
        wait_for(lambda: self._dead(self.runner) or _inode(self.runner_socket) not in (None, old), 20,
                 what="vex-runner wake socket")
        return self.runner

    # -- nginx --
    def render_nginx(self, name, https_port, http_port, rate, burst):
        prefix = os.path.join(self.dir, name)
        conf = os.path.join(self.dir, name + ".conf")
        env = self.env({
            "VEX_HTTPS_PORT": str(https_port), "VEX_HTTP_PORT": str(http_port), "VEX_LISTEN": "127.0.0.1",
            "VEX_API_SOCKET": self.api_socket, "VEX_TLS_CERT": self.cert, "VEX_TLS_KEY": self.key,
            "VEX_RATE": str(rate), "VEX_BURST": str(burst), "VEX_NGINX_PREFIX": prefix,
        })
        env.update(self.nginx_env)
        r = subprocess.run([os.path.join(REPO, "tools", "render-nginx"), conf], env=env, cwd=REPO,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        assert r.returncode == 0, "render-nginx failed: %s" % r.stdout.decode(errors="replace")
        os.makedirs(os.path.join(prefix, "logs"), exist_ok=True)
        return prefix, conf

    def _start_nginx(self, name, https_port, http_port, rate, burst):
        prefix, conf = self.render_nginx(name, https_port, http_port, rate, burst)
        p = Proc(name, ["nginx", "-p", prefix, "-e", "stderr", "-c", conf, "-g", "daemon off;"], self.env(),
                 self.log(name))
        p.prefix = prefix
        wait_for(lambda: self._dead(p) or tcp_answers(https_port), 15, what=name + " listening")
        return p

    def start_nginx(self, health=True):
        """nginx in front of vex-api; "health": also wait until GET /health answers through it."""
        self.nginx = self._start_nginx("nginx", self.https_port, self.http_port, self.rate, self.burst)
        if health:
            wait_for(lambda: self._dead(self.nginx) or self.get("/health").status_code == 200, 20,
                     what="GET /health through nginx")

    def start_low_rate_nginx(self, rate=1, burst=1):
        """A second nginx in front of the same vex-api with a tiny limit_req; returns its base URL."""
        hp, p = free_port(), free_port()
        n = self._start_nginx("nginx-low", hp, p, rate, burst)
        self.extra.append(n)
        return "https://localhost:%d" % hp

    def _dead(self, proc):
        if proc is not None and not proc.alive():
            raise AssertionError("%s exited with %s during start-up:\n%s" %
                                 (proc.name, proc.p.returncode, tail(proc.log_path)))
        return False

    # -- whole lifecycle --
    def start(self):
        ACTIVE.append(self)
        self.start_memcached()
        self.start_api()
        self.start_runner()
        self.start_nginx()
        return self

    def stop(self):
        for p in self.extra + [self.nginx, self.runner, self.api, self.memcached]:
            if p is not None:
                try:
                    p.stop()
                except Exception:
                    p.kill()
        self.http.close()
        if self in ACTIVE:
            ACTIVE.remove(self)
        reports = self.sanitizer_reports()
        if reports:
            self.failed = True
        if not self.failed and not os.environ.get("VEX_IT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
            if self.pg_db:
                admin = psycopg2.connect(pg_url("vex"))
                admin.autocommit = True
                admin.cursor().execute("DROP DATABASE IF EXISTS %s WITH (FORCE)" % self.pg_db)
                admin.close()
        # A sanitizer report in any program's output fails the test that owned the service.
        assert not reports, "sanitizer reports (service dir %s):\n%s" % (self.dir, "\n\n".join(reports))

    def sanitizer_reports(self):
        found = []
        for name in ("vex-api", "vex-runner"):
            try:
                with open(self.log(name), encoding="utf-8", errors="replace") as f:
                    lines = f.read().splitlines()
            except OSError:
                continue
            for i, line in enumerate(lines):
                if SANITIZER_RE.search(line):
                    found.append("%s.log:\n%s" % (name, "\n".join(lines[i:i + 30])))
                    break
        return found

    def log_tails(self, n=40):
        parts = ["service dir: %s" % self.dir]
        for name in sorted(os.listdir(self.logs)):
            parts.append("---- %s (last %d lines) ----\n%s" % (name, n, tail(os.path.join(self.logs, name), n)))
        for p in [self.nginx] + self.extra:
            if p is not None:
                for f in ("error.log", "access.log"):
                    path = os.path.join(p.prefix, "logs", f)
                    if os.path.exists(path):
                        parts.append("---- %s/logs/%s ----\n%s" % (p.name, f, tail(path, 15)))
        return "\n".join(parts)

    # -- HTTP --
    @property
    def base(self):
        return "https://localhost:%d" % self.https_port

    def request(self, method, path, base=None, unchecked=None, **kw):
        """One request through nginx; the answer is checked against the OpenAPI document (vexspec.py)
        unless "unchecked" names why not (only for nginx's own answers the API does not describe)."""
        kw.setdefault("timeout", HTTP_TIMEOUT)
        kw.setdefault("verify", self.cert)
        kw.setdefault("allow_redirects", False)
        r = self.http.request(method, (base or self.base) + path, **kw)
        if unchecked is None and r.url.startswith("https://"):
            vexspec.check_response(r, streamed=bool(kw.get("stream")))
        return r

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def token(self, sub=None, role="user", plan=None, ttl=3600):
        return mint(self.secret, claims_for(sub or new_sub(), role, plan, ttl))

    def client(self, sub=None, role="user", plan=None):
        return Client(self, sub or new_sub(), role, plan)

    # -- the store, read only (by convention on PostgreSQL) --
    def db(self):
        if self.store_url and self.store_url.startswith("postgres"):
            return PgConnection(self.store_url)
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        con.row_factory = sqlite3.Row
        return con

    def db_exec(self, statements):
        """Write the store directly, behind the service's back, in one transaction: "statements" is a list of
        (sql, params) with ? parameters (a row the API cannot make, what the runner would do)."""
        if self.store_url and self.store_url.startswith("postgres"):
            con = psycopg2.connect(self.store_url)
            try:
                with con, con.cursor() as cur:
                    for sql, params in statements:
                        cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
            finally:
                con.close()
            return
        con = sqlite3.connect(self.db_path, timeout=30)
        try:
            with con:
                for sql, params in statements:
                    con.execute(sql, params)
        finally:
            con.close()

    def db_query(self, sql, params=()):
        con = self.db()
        try:
            return [dict(r) for r in con.execute(sql, params).fetchall()]
        finally:
            con.close()

    def count(self, table):
        return self.db_query("SELECT count(*) AS n FROM %s" % table)[0]["n"]

    def counts(self):
        return {"agents": self.count("agents"), "jobs": self.count("jobs")}

    def jobs_with_key(self, key):
        """The jobs rows carrying Idempotency-Key "key" (any owner), oldest first."""
        return self.db_query("SELECT * FROM jobs WHERE idempotency_key = ? ORDER BY id", (key,))

    def db_job(self, job_id):
        rows = self.db_query("SELECT * FROM jobs WHERE id = ?", (job_id,))
        assert len(rows) == 1, "expected one jobs row for %s, found %d" % (job_id, len(rows))
        row = rows[0]
        if isinstance(row.get("status"), int):
            row["status"] = CORE_STATUS[row["status"]]
        return row

    # -- the vex-api master's workers --
    def _api_children(self, kind):
        """Children of the vex-api master of "kind" (by /proc comm): "worker", "commit" or "stream"."""
        out = []
        for pid in children_of(self.api.pid):
            try:
                with open("/proc/%d/comm" % pid) as f:
                    name = f.read().strip()
            except OSError:
                continue
            if {"vex-api-commit": "commit", "vex-api-stream": "stream"}.get(name, "worker") == kind:
                out.append(pid)
        return out

    def api_workers(self):
        """The FastCGI workers of the vex-api master (not its group committer nor its stream server)."""
        return self._api_children("worker")

    def api_committer(self):
        """The pid of vex-api's group committer process, or None."""
        c = self._api_children("commit")
        return c[0] if c else None

    def api_stream_server(self):
        """The pid of vex-api's stream server process, or None."""
        c = self._api_children("stream")
        return c[0] if c else None


class Client:
    """A caller with a bearer token minted in Python."""

    def __init__(self, svc, sub, role="user", plan=None):
        self.svc, self.sub, self.role, self.plan = svc, sub, role, plan
        self.token = svc.token(sub, role, plan)

    def headers(self, extra=None):
        h = {"Authorization": "Bearer " + self.token}
        h.update(extra or {})
        return h

    def request(self, method, path, headers=None, **kw):
        return self.svc.request(method, path, headers=self.headers(headers), **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, **kw):
        return self.request("POST", path, **kw)

    def patch(self, path, **kw):
        return self.request("PATCH", path, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def create_agent(self, name="it agent", role="You are a test agent", **fields):
        body = {"name": name, "role": role}
        body.update(fields)
        r = self.post("/api/v1/agents", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    def execute(self, agent_id, prompt="hello", headers=None, **fields):
        body = {"prompt": prompt}
        body.update(fields)
        r = self.post("/api/v1/agents/%s/execute" % agent_id, json=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()

    def tool(self, name, arguments, headers=None, **fields):
        body = {"arguments": arguments}
        body.update(fields)
        r = self.post("/api/v1/tools/%s/execute" % name, json=body, headers=headers)
        assert r.status_code == 200, r.text
        return r.json()["job_id"]

    def job(self, job_id):
        r = self.get("/api/v1/jobs/" + job_id)
        assert r.status_code == 200, r.text
        return r.json()

    def wait_job(self, job_id, statuses=("completed",), timeout=60):
        """Poll until the job reaches one of "statuses"; a different terminal status fails at once."""
        statuses = set(statuses)

        def check():
            env = self.job(job_id)
            if env["status"] in statuses:
                return env
            if env["status"] in TERMINAL:
                raise AssertionError("job %s ended %s, wanted %s: %s" % (job_id, env["status"], statuses, env))
            return None

        return wait_for(check, timeout, interval=0.1, what="job %s to reach %s" % (job_id, sorted(statuses)))


# ---- API keys ----

def vexctl(svc, *args, check=True):
    """Run build/vexctl against svc's configuration (environment); returns the CompletedProcess (text)."""
    r = subprocess.run([os.path.join(BUILD, "vexctl")] + list(args), env=svc.env(), cwd=svc.dir,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=30 * SLOW)
    if check:
        assert r.returncode == 0, "vexctl %s -> %d: %s%s" % (" ".join(args), r.returncode, r.stdout, r.stderr)
    return r


def api_key_with_id(svc, owner=None, role="user", plan=None, name=None):
    """A real API key made with `vexctl key create` in svc's store: returns (key, key_id)."""
    args = ["key", "create", "--owner", owner or new_sub(), "--role", role]
    if plan:
        args += ["--plan", plan]
    if name:
        args += ["--name", name]
    lines = vexctl(svc, *args).stdout.split()
    assert len(lines) == 2 and lines[0].startswith("vex_") and UUID7_RE.match(lines[1]), lines
    return lines[0], lines[1]


def api_key(svc, owner=None, role="user", plan=None, name=None):
    """A real API key ("vex_...") for "owner" (default: a new one), made with `vexctl key create`."""
    return api_key_with_id(svc, owner, role, plan, name)[0]


class KeyClient(Client):
    """A caller authenticating with a real API key; "header" is "Authorization" (Bearer) or e.g.
    "X-API-Key" / "X-Api-Key". .key and .key_id hold the key."""

    def __init__(self, svc, sub=None, role="user", plan=None, header="Authorization"):
        self.svc, self.sub, self.role, self.plan = svc, sub or new_sub(), role, plan
        self.key, self.key_id = api_key_with_id(svc, self.sub, role, plan)
        self.token = self.key
        self.header = header

    def headers(self, extra=None):
        if self.header.lower() == "authorization":
            h = {"Authorization": "Bearer " + self.key}
        else:
            h = {self.header: self.key}
        h.update(extra or {})
        return h
