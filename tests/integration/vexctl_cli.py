# vexctl_cli.py - runs build/vexctl's service commands (jobs, tools, ...) as a user would: a
# subprocess with VEX_URL / VEX_CA / VEX_TOKEN, piped or on a pty, with an empty HOME.
import errno
import json
import os
import pty
import select
import subprocess
import tempfile
import time

import vexit

VEXCTL = os.path.join(vexit.BUILD, "vexctl")
TIMEOUT = 60 * vexit.SLOW


def env_for(url, ca, token=None, api_key=None, extra=None, home=None):
    """The environment of one run: nothing of the caller's VEX_*, a HOME without a config file."""
    e = {k: v for k, v in os.environ.items() if not k.startswith("VEX")}
    e["HOME"] = home or tempfile.mkdtemp(prefix="vexctl-home-")
    e["VEX_URL"] = url
    if ca:
        e["VEX_CA"] = ca
    if token:
        e["VEX_TOKEN"] = token
    if api_key:
        e["VEX_API_KEY"] = api_key
    e.update(extra or {})
    return e


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "vexctl -> %d\nstdout: %s\nstderr: %s" % (self.rc, self.out[-4000:], self.err[-4000:])


def run(env, *args, timeout=TIMEOUT):
    """vexctl ARGS with stdout and stderr piped; no sanitizer report allowed."""
    p = subprocess.run([VEXCTL] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       universal_newlines=True, timeout=timeout)
    r = Result(p.returncode, p.stdout, p.stderr)
    assert not vexit.SANITIZER_RE.search(p.stderr), r
    return r


def run_pty(env, *args, timeout=TIMEOUT):
    """vexctl ARGS with stdout on a pseudo-terminal (stderr piped): (exit status, bytes the terminal got, stderr)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([VEXCTL] + list(args), env=env, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    os.close(slave)
    out = b""
    end = time.monotonic() + timeout
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if p.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError as e:  # EIO: the child closed the terminal
                if e.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            out += chunk
        rc = p.wait(timeout=max(1, end - time.monotonic()))
        err = p.stderr.read().decode("utf-8", "replace")
    finally:
        os.close(master)
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stderr.close()
    assert not vexit.SANITIZER_RE.search(err), err
    return rc, out, err


def service_env(svc, token=None, api_key=None, extra=None, home=None):
    """env_for the service "svc" with its CA and, by default, a new user's token."""
    if token is None and api_key is None:
        token = svc.token()
    return env_for(svc.base, svc.cert, token=token, api_key=api_key, extra=extra, home=home)


def columns(header):
    """The offsets at which the columns of a table's header line start."""
    offs, prev = [], " "
    for i, ch in enumerate(header):
        if ch != " " and prev == " " and (i == 0 or header[i - 2:i] == "  "):
            offs.append(i)
        prev = ch
    return offs
