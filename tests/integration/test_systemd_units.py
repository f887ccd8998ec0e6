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
