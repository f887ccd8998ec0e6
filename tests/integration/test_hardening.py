# test_hardening.py - every program the Makefile ships is built hardened: Debian's hardening-check passes on
# it, and every one of vex's own compilation units carries the hardening flags (docs/security.md, "Hardened build").
import os
import re
import shutil
import subprocess

import pytest

import vexit

# What the compiler records of its command line in each unit's DW_AT_producer (-g records the switches).
CFLAGS = ("-fstack-protector-strong", "-fstack-clash-protection", "-fcf-protection=full", "-fPIE")


def programs():
    """The programs of the Makefile's PROGRAMS line (what `make` builds and INSTALL.md installs)."""
    with open(os.path.join(vexit.REPO, "Makefile")) as f:
        m = re.search(r"^PROGRAMS\s*=\s*(.+)$", f.read(), re.M)
    names = [p.replace("$(BUILD)/", "") for p in m.group(1).split()]
    assert names, "no PROGRAMS in the Makefile"
    return names


def sanitized(path):
    """True for the SAN=1 build, which leaves FORTIFY out (the Makefile says why)."""
    out = subprocess.run(["nm", "-D", path], capture_output=True, text=True, check=True).stdout
    return "__asan_init" in out


@pytest.mark.parametrize("name", programs())
def test_hardening_check_passes(name):
    """hardening-check: PIE, stack protector, FORTIFY functions, RELRO, BIND_NOW, stack clash. The
    control-flow line is ignored (--nocfprotection): Debian 12's crt1.o/crti.o carry no CET note, so
    the linker drops it from every program whatever the flags; test_units_carry_the_flags checks ours."""
    hc = shutil.which("hardening-check")
    assert hc, "hardening-check is missing: run tools/install-deps (Debian's devscripts)"
    path = os.path.join(vexit.BUILD, name)
    args = [hc, "--nocfprotection"]
    if sanitized(path):
        args.append("--nofortify")
    r = subprocess.run(args + [path], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    for want in ("Position Independent Executable: yes", "Stack protected: yes", "Read-only relocations: yes",
                 "Immediate binding: yes"):
        assert want in r.stdout, r.stdout
    if not sanitized(path):
        assert "Fortify Source functions: yes" in r.stdout, r.stdout


@pytest.mark.parametrize("name", programs())
def test_units_carry_the_flags(name):
    """Each of vex's compilation units in the program (core/, fcgi-app/, runner/, tools/) was compiled
    with every hardening flag, -fstack-clash-protection and -fcf-protection included: hardening-check
    can only say "unknown" for the first when no frame is large enough to need a probe."""
    path = os.path.join(vexit.BUILD, name)
    out = subprocess.run(["readelf", "--debug-dump=info", "--dwarf-depth=1", path], capture_output=True,
                         text=True, check=True).stdout
    producer, units = None, 0
    for line in out.splitlines():
        if "DW_AT_producer" in line:
            producer = line.split("):", 1)[-1].strip()
        elif "DW_AT_name" in line and producer is not None:
            unit = line.split("):", 1)[-1].strip()
            if re.match(r"(core|fcgi-app|runner|tools)/.*\.c$", unit):
                units += 1
                missing = [f for f in CFLAGS if f not in producer.split()]
                assert not missing, "%s: %s compiled without %s" % (name, unit, " ".join(missing))
            producer = None
    assert units > 0, "%s: no debug information of vex's own sources (built without -g?)" % name
