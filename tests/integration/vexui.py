# vexui.py - runs a browser spec (tests/ui/*.mjs: chromium driven by playwright-core) against a service and reads its checks.
import json
import os
import shutil
import subprocess

import pytest

import vexit

PLAYWRIGHT = os.path.join(vexit.REPO, ".deps", "node_modules", "playwright-core", "package.json")
CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")

# For a browser test file: skipped where the browser cannot run, except in CI (CI=true), where make test
# has installed it: there a missing browser fails the tests instead of hiding them.
MISSING = not (NODE and os.path.exists(PLAYWRIGHT) and os.access(CHROMIUM, os.X_OK))
needs_browser = pytest.mark.skipif(MISSING and os.environ.get("CI") != "true",
                                   reason="node, playwright-core or chromium is not installed (tools/install-deps installs them)")


def run_spec(svc, spec, user, admin, extra_env=None):
    """Runs tests/ui/"spec" once with node against "svc" as "user" (an API key client) and "admin" (a JWT client);
    failure screenshots go to build/ui-failures/<spec>/. Returns {"checks": {name: line}, "stderr": text}."""
    assert not MISSING, "node, playwright-core or chromium is missing: tools/install-deps installs them"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    env.update({"VEX_URL": svc.base, "VEX_CA": svc.cert, "VEX_CREDENTIAL": user.key,
                "VEX_ADMIN_CREDENTIAL": admin.token, "VEX_SUB": user.sub,
                "UI_OUT": os.path.join(vexit.REPO, "build", "ui-failures", os.path.splitext(spec)[0]),
                "UI_TIMEOUT_MS": str(int(15000 * vexit.SLOW))})
    if os.environ.get("UI_SCREENSHOTS"):
        env["UI_SCREENSHOTS"] = os.path.abspath(os.environ["UI_SCREENSHOTS"])
    env.update(extra_env or {})
    r = subprocess.run([NODE, os.path.join(vexit.REPO, "tests", "ui", spec)], env=env, cwd=vexit.REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180 * vexit.SLOW)
    checks = {}
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            c = json.loads(line)
            checks[c["check"]] = c
    stderr = r.stderr.decode(errors="replace")
    assert checks, "the spec printed no check (exit %d):\n%s" % (r.returncode, stderr)
    return {"checks": checks, "stderr": stderr}


def check(ui, name):
    """The line of check "name", which must have run and passed."""
    c = ui["checks"].get(name)
    assert c is not None, "check %s did not run; stderr:\n%s" % (name, ui["stderr"])
    assert c["ok"], "check %s failed (screenshots: %s):\n%s" % (name, c.get("screenshots"), c.get("error"))
    return c
