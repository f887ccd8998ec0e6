# test_systemd_units.py - the systemd units under etc/systemd/ (installed by INSTALL.md §5): systemd-analyze rates
# each sandbox at 3.0 or better, each carries the settings docs/security.md ("systemd units") promises, and the
# runner's leaves open what tools need and nothing more.
import glob
import os
import re
import shutil
import subprocess

import pytest

import vexit

UNIT_DIR = os.path.join(vexit.REPO, "etc", "systemd")
UNITS = sorted(os.path.basename(p) for p in glob.glob(os.path.join(UNIT_DIR, "*.service")))
MAX_EXPOSURE = 3.0

# Every unit has these, with these values.
COMMON = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
    "PrivateDevices": "yes", "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes", "LockPersonality": "yes",
    "RestrictNamespaces": "yes", "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes",
    "SystemCallArchitectures": "native", "SystemCallFilter": "@system-service",
}
RUNNER_CAPS = {"CAP_SETUID", "CAP_SETGID", "CAP_CHOWN", "CAP_KILL"}


def settings(unit):
    """The [Service] settings of "unit": name -> list of values, in order (a key may repeat)."""
    out, section = {}, None
    with open(os.path.join(UNIT_DIR, unit)) as f:
        for line in f:
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("["):
                section = line
                continue
            if section == "[Service]":
                k, v = line.split("=", 1)
                out.setdefault(k, []).append(v)
    return out


def test_the_units_are_there():
    assert set(UNITS) >= {"vex-api@.service", "vex-runner.service", "vex-memcached.service", "vex-nginx.service",
                          "vex-backup.service"}


@pytest.mark.parametrize("unit", UNITS)
def test_exposure_at_most_3(unit):
    """systemd-analyze security --offline=true: the overall exposure is 3.0 or lower ("OK" or "SAFE"), and
    systemd understands every line (an unknown or misspelt setting would be ignored, silently, at run time)."""
    sa = shutil.which("systemd-analyze")
    assert sa, "systemd-analyze is missing: run tools/install-deps (Debian's systemd)"
    r = subprocess.run([sa, "security", "--offline=true", "--no-pager", os.path.join(UNIT_DIR, unit)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    m = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", r.stdout)
    assert m, r.stdout
    assert float(m.group(1)) <= MAX_EXPOSURE, "%s rates %s\n%s" % (unit, m.group(1), r.stdout)
    for bad in ("Unknown key", "Unknown section", "Failed to parse", "Invalid", "ignoring"):
        assert bad not in r.stderr, r.stderr


@pytest.mark.parametrize("unit", UNITS)
def test_common_sandbox(unit):
    s = settings(unit)
    for k, v in COMMON.items():
        assert s.get(k, [None])[0] == v, "%s: %s=%s, wanted %r" % (unit, k, s.get(k), v)
    assert "CapabilityBoundingSet" in s, unit
    assert "RestrictAddressFamilies" in s, unit
    if unit != "vex-memcached.service":
        assert s.get("ReadWritePaths"), "%s writes somewhere: name it" % unit


def test_runner_leaves_open_only_what_tools_need():
    """The runner starts tools as the tools user: exactly CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_KILL; and
    no MemoryDenyWriteExecute (Node and Chromium compile JavaScript at run time)."""
    s = settings("vex-runner.service")
    assert set(s["CapabilityBoundingSet"][0].split()) == RUNNER_CAPS
    assert set(s["AmbientCapabilities"][-1].split()) == RUNNER_CAPS
    assert "MemoryDenyWriteExecute" not in s
    assert "ProtectProc" not in s  # the runner finds the tools user's leftover Chromium processes in /proc
    assert s["ReadWritePaths"] == ["/var/lib/vex"]


@pytest.mark.parametrize("unit", ["vex-api@.service", "vex-memcached.service", "vex-backup.service"])
def test_no_capability_at_all(unit):
    s = settings(unit)
    assert s["CapabilityBoundingSet"] == [""] and s["AmbientCapabilities"] == [""]
    assert s["MemoryDenyWriteExecute"] == ["yes"]


def test_memcached_has_no_network():
    s = settings("vex-memcached.service")
    assert s["PrivateNetwork"] == ["yes"] and s["RestrictAddressFamilies"] == ["AF_UNIX"]
    assert "-s /run/vex-memcached/memcached.sock" in s["ExecStart"][0]


def test_install_md_installs_every_unit():
    """INSTALL.md's steps copy each file of etc/systemd/ into /etc/systemd/system/."""
    with open(os.path.join(vexit.REPO, "INSTALL.md")) as f:
        text = f.read()
    for unit in sorted(os.listdir(UNIT_DIR)):
        assert "etc/systemd/" + unit in text, "INSTALL.md does not install %s" % unit
    assert "install -m 0644 etc/systemd/" in text


# What the units start, by the path they name it: copied into the root systemd-analyze verify checks.
UNIT_PROGRAMS = {"/usr/local/bin/vex-api": os.path.join(vexit.BUILD, "vex-api"),
                 "/usr/local/bin/vex-runner": os.path.join(vexit.BUILD, "vex-runner"),
                 "/usr/sbin/nginx": "/usr/sbin/nginx", "/usr/bin/memcached": "/usr/bin/memcached",
                 "/usr/bin/sqlite3": "/usr/bin/sqlite3", "/bin/sh": "/bin/sh"}


def test_units_verify(tmp_path):
    """systemd-analyze verify, on a root laid out as INSTALL.md leaves it (the units in /etc/systemd/system,
    the programs they start at the paths they name, systemd's own units): every unit and the timer load,
    their programs exist, every setting is known (any warning fails), the timer's service is there."""
    sa = shutil.which("systemd-analyze")
    assert sa, "systemd-analyze is missing: run tools/install-deps (Debian's systemd)"
    root = str(tmp_path)
    system = os.path.join(root, "etc", "systemd", "system")
    os.makedirs(system)
    shutil.copytree("/usr/lib/systemd/system", os.path.join(root, "usr", "lib", "systemd", "system"), symlinks=True)
    for path, src in UNIT_PROGRAMS.items():
        dst = root + path
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy(src, dst)
    files = sorted(os.listdir(UNIT_DIR))
    for f in files:
        shutil.copy(os.path.join(UNIT_DIR, f), system)
    names = [f.replace("@.service", "@a.service") for f in files]
    assert "vex-backup.timer" in names
    r = subprocess.run([sa, "verify", "--root=" + root, "--man=no"] + names, cwd=system,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), \
        "systemd-analyze verify %s:\n%s%s" % (" ".join(names), r.stdout, r.stderr)


def test_logrotate_config():
    """etc/logrotate.d/vex-nginx (INSTALL.md §10) rotates nginx's logs under /var/lib/vex-nginx/logs in place
    (copytruncate: nginx's workers cannot reopen files in the root-only logs directory render-nginx makes);
    logrotate --debug parses it without an error."""
    path = os.path.join(vexit.REPO, "etc", "logrotate.d", "vex-nginx")
    with open(path) as f:
        text = f.read()
    assert "/var/lib/vex-nginx/logs/*.log" in text and "\tcopytruncate" in text and "postrotate" not in text
    lr = shutil.which("logrotate") or "/usr/sbin/logrotate"
    assert os.access(lr, os.X_OK), "logrotate is missing: run tools/install-deps"
    r = subprocess.run([lr, "--debug", "--state", os.devnull, path], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).lower(), r.stdout + r.stderr
