# vexcluster.py - two vex hosts in network namespaces (tools/netns-cluster) on one PostgreSQL over TCP in a third
# (tools/pg-cluster --listen): per host memcached (TCP on the host's address), vex-api, vex-runner, nginx; root only.
import atexit
import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile

import vexit
from vexit import Proc, REPO, BUILD, wait_for, descendants_of, children_of, unix_answers, _inode

NETNS_TOOL = os.path.join(REPO, "tools", "netns-cluster")
PG_TOOL = os.path.join(REPO, "tools", "pg-cluster")
MC_PORT = 11211
HTTPS_PORT = 8443
HTTP_PORT = 8080


def unavailable():
    """Why the cluster cannot run here (a string), or None."""
    if os.getuid() != 0:
        return "needs root (network namespaces)"
    if not shutil.which("ip"):
        return "no ip(8) (iproute2)"
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        return "no PostgreSQL server (apt-get install postgresql)"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "no psycopg2 (apt-get install python3-psycopg2)"
    name = "vxprobe%d" % (os.getpid() % 100000)
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True)
    if r.returncode != 0:
        return "network namespaces unavailable: %s" % r.stderr.strip()
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return None


def in_ns(ns):
    return ["ip", "netns", "exec", ns]


def tcp_answers(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=1):
            return True
    except OSError:
        return False


class Host(vexit.Service):
    """One host: the Service of vexit.py with every program started inside namespace "ns", memcached on the
    host's address (TCP), nginx listening on it; FastCGI stays on the host's unix sockets."""

    def __init__(self, cluster, name, ns, addr, tls, workers=2):
        # memcached -S (SASL PLAIN) on every host, with one password: each host's vex logs in to both.
        super().__init__(tls, workers=workers, memcached_tcp=True, sasl=True, prefix="vex-cl-%s-" % name.lower())
        self.cluster, self.name, self.ns, self.addr = cluster, name, ns, addr
        self.secret = cluster.secret  # the JWT secret; the cache MAC key is derived from it
        self.sasl_password = self.sasl_client_password = cluster.mc_password
        self.store_url = cluster.store_url
        if cluster.store == "sqlite":
            self.db_path = cluster.db_path
        if cluster.runner_env is not None:  # instead of the tests' short leases and rescues (make bench)
            self.runner_env = dict(cluster.runner_env)
        self.mc_port, self.https_port, self.http_port = MC_PORT, HTTPS_PORT, HTTP_PORT
        self.nginx_env = {"VEX_LISTEN": addr}
        self.runner_prefix = in_ns(ns)

    def env(self, extra=None):
        e = super().env()
        e["VEX_WEBHOOKS_SECRET_KEY_FILE"] = self.cluster.hook_key  # the same sealing key on every host
        e.update(extra or {})
        return e

    def cache_servers(self):
        return self.cluster.cache_servers()

    @property
    def base(self):
        return "https://%s:%d" % (self.addr, self.https_port)

    def start_memcached(self):
        self.memcached = Proc("memcached", in_ns(self.ns) + ["/usr/bin/memcached", "-l", self.addr, "-p",
                                                              str(self.mc_port), "-U", "0", "-t", "2", "-S", "-u",
                                                              "memcache"], self.env(self.sasl_files()),
                              self.log("memcached"))
        wait_for(lambda: self.memcached_version() or self._dead(self.memcached), 10, what="memcached " + self.name)

    def memcached_connect(self):
        return socket.create_connection((self.addr, self.mc_port), timeout=1)

    def start_api(self):
        self.api = Proc("vex-api", in_ns(self.ns) + [os.path.join(BUILD, "vex-api")], self.env(self.api_env),
                        self.log("vex-api"))
        wait_for(lambda: self._dead(self.api) or (unix_answers(self.api_socket) and
                                                 len(children_of(self.api.pid)) >= self.workers),
                 20, what="vex-api socket and workers on " + self.name)

    def start_runner(self, extra_env=None):
        self.runner_seq += 1
        env = self.env(self.runner_env)
        env.update(extra_env or {})
        old = _inode(self.runner_socket)
        self.runner = Proc("vex-runner", self.runner_prefix + [os.path.join(BUILD, "vex-runner"), "--id",
                                                               "host-%s-%d" % (self.name.lower(), self.runner_seq)],
                           env, self.log("vex-runner"))
        wait_for(lambda: self._dead(self.runner) or _inode(self.runner_socket) not in (None, old), 20,
                 what="vex-runner wake socket on " + self.name)
        return self.runner

    def _start_nginx(self, name, https_port, http_port, rate, burst):
        prefix, conf = self.render_nginx(name, https_port, http_port, rate, burst)
        p = Proc(name, in_ns(self.ns) + ["nginx", "-p", prefix, "-e", "stderr", "-c", conf, "-g", "daemon off;"],
                 self.env(), self.log(name))
        p.prefix = prefix
        wait_for(lambda: self._dead(p) or tcp_answers(self.addr, https_port), 15, what=name + " on " + self.name)
        return p

    def procs(self):
        return [p for p in self.extra + [self.nginx, self.runner, self.api, self.memcached] if p is not None]

    def kill_whole(self):
        """SIGKILL to every process of the host at once: the programs started and all their descendants."""
        pids = []
        for p in self.procs():
            if p.alive():
                pids += [p.pid] + descendants_of(p.pid)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in self.procs():
            p.kill()
        return pids

    def restart(self):
        self.start_memcached()
        self.start_api()
        self.start_runner()
        self.start_nginx()


class Cluster:
    """The network, the database and hosts A and B. stop() undoes whatever start() got to, also half-way."""

    def __init__(self, workers=2, store=None, parent=None, runner_env=None):
        self.workers = workers
        self.runner_env = runner_env
        # "postgres" (the layout under test) or "sqlite": one database file both hosts open, for checking the
        # harness and the assertions on one machine's shared filesystem while the PostgreSQL ports land.
        self.store = store or os.environ.get("VEX_CLUSTER_STORE", "postgres")
        assert self.store in ("postgres", "sqlite"), self.store
        self.net = {}
        self.dir = tempfile.mkdtemp(prefix="vex-cl-", dir=parent)  # "parent": make bench's, on a real disk
        os.chmod(self.dir, 0o711)
        self.pg_dir = os.path.join(self.dir, "pg")
        os.mkdir(self.pg_dir)
        self.secret = secrets.token_urlsafe(36)
        self.mc_password = secrets.token_urlsafe(24)  # memcached's SASL password, the same on every host
        self.hook_key = os.path.join(self.dir, "webhook.key")
        with open(os.open(self.hook_key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            f.write(secrets.token_hex(32))
        self.store_url = None
        self.hosts = []
        self.stopped = False
        atexit.register(self.stop)

    def cache_servers(self):
        return ",".join("%s:%d" % (self.net[k], MC_PORT) for k in ("VEX_NET_ADDR_A", "VEX_NET_ADDR_B"))

    def start(self):
        r = subprocess.run([NETNS_TOOL, "up"], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, "netns-cluster up: %s" % r.stderr
        self.net = dict(line.split("=", 1) for line in r.stdout.split())
        self.tag = self.net["VEX_NET_TAG"]
        n = self.net
        self.pg_args = ["--listen", n["VEX_NET_ADDR_DB"], "--allow", n["VEX_NET_CIDR"], "--role", "vex"]
        if self.store == "postgres":
            r = subprocess.run(in_ns(n["VEX_NET_NS_DB"]) + [PG_TOOL, "start"] + self.pg_args + [self.pg_dir, "vex"],
                               capture_output=True, text=True, timeout=120)
            assert r.returncode == 0, "pg-cluster start: %s" % r.stderr
            self.store_url = r.stdout.strip()
        else:
            self.db_path = os.path.join(self.dir, "vex.db")
        tls = os.path.join(self.dir, "tls")
        os.makedirs(tls)
        subprocess.run([os.path.join(REPO, "tools", "gen-cert"), tls,
                        "IP:%s,IP:%s" % (n["VEX_NET_ADDR_A"], n["VEX_NET_ADDR_B"])], check=True,
                       capture_output=True)
        self.tls = (os.path.join(tls, "cert.pem"), os.path.join(tls, "key.pem"))
        self.a = Host(self, "A", n["VEX_NET_NS_A"], n["VEX_NET_ADDR_A"], self.tls, self.workers)
        self.b = Host(self, "B", n["VEX_NET_NS_B"], n["VEX_NET_ADDR_B"], self.tls, self.workers)
        self.hosts = [self.a, self.b]
        # One after the other: A applies the migrations, B finds them applied.
        for h in self.hosts:
            h.start()
        return self

    def stop(self):
        if self.stopped:
            return
        self.stopped = True
        errors = []
        for h in self.hosts:
            try:
                h.stop()
            except Exception as e:  # a sanitizer report: still tear the rest down, then fail
                errors.append(e)
        if os.path.exists(os.path.join(self.pg_dir, "data", "postmaster.pid")):
            subprocess.run([PG_TOOL, "stop", self.pg_dir], capture_output=True, timeout=120)
        if self.net:
            subprocess.run([NETNS_TOOL, "down", self.net["VEX_NET_TAG"]], capture_output=True, timeout=60)
        if not errors and not any(h.failed for h in self.hosts) and not os.environ.get("VEX_IT_KEEP"):
            shutil.rmtree(self.dir, ignore_errors=True)
        if errors:
            raise errors[0]

    # -- the store, read by the test client over TCP as the hosts reach it --
    def db_query(self, sql, params=()):
        """Rows as dicts; "?" parameters, and "= ANY(?)" takes a list."""
        if self.store == "sqlite":
            return self._sqlite_query(sql, params)
        import psycopg2
        import psycopg2.extras
        con = psycopg2.connect(self.store_url)
        try:
            cur = con.cursor(cursor_factory=psycopg2.extras.RealDictCursor)
            cur.execute(sql.replace("%", "%%").replace("?", "%s"), tuple(params))
            rows = [dict(r) for r in cur.fetchall()] if cur.description else []
            con.commit()
            return rows
        finally:
            con.close()

    def _sqlite_query(self, sql, params):
        import sqlite3
        flat = []
        parts = sql.split("?")
        out = parts[0]
        for p, rest in zip(params, parts[1:]):
            if isinstance(p, (list, tuple)):
                assert out.endswith("= ANY("), sql
                out = out[:-len("= ANY(")] + "IN (" + ",".join("?" * len(p)) + rest
                flat += list(p)
            else:
                out += "?" + rest
                flat.append(p)
        con = sqlite3.connect("file:%s?mode=ro" % self.db_path, uri=True, timeout=10)
        con.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in con.execute(out, flat).fetchall()]
        finally:
            con.close()

    def token(self, sub, role="user", plan=None, ttl=3600):
        return vexit.mint(self.secret, vexit.claims_for(sub, role, plan, ttl))
