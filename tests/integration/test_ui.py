# test_ui.py - the web console in a real browser (Debian's chromium, playwright-core): sign-in, the overview, jobs and
# job views, live updates, cancel, retry, escaping, both viewports (tests/ui/core.mjs prints one JSON line per check).
import json
import os
import shutil
import subprocess

import pytest

import vexit
from vexit import KeyClient, wait_for

SPEC = os.path.join(vexit.REPO, "tests", "ui", "core.mjs")
PLAYWRIGHT = os.path.join(vexit.REPO, ".deps", "node_modules", "playwright-core", "package.json")
CHROMIUM = "/usr/bin/chromium"
NODE = shutil.which("node")
OUT = os.path.join(vexit.REPO, "build", "ui-failures", "test_ui")

pytestmark = pytest.mark.skipif(not (NODE and os.path.exists(PLAYWRIGHT) and os.access(CHROMIUM, os.X_OK)),
                                reason="node, playwright-core or chromium is not installed (tools/install-deps installs them)")


@pytest.fixture(scope="module")
def ui(svc):
    """Runs the browser spec once (one browser for the module) against svc; the checks by name."""
    user = KeyClient(svc, sub="ui-" + vexit.new_sub()[:12])  # an API key, as a person would paste
    admin = svc.client(role="admin")                           # a JWT
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    env.update({"VEX_URL": svc.base, "VEX_CA": svc.cert, "VEX_CREDENTIAL": user.key,
                "VEX_ADMIN_CREDENTIAL": admin.token, "VEX_SUB": user.sub, "UI_OUT": OUT,
                "UI_TIMEOUT_MS": str(int(15000 * vexit.SLOW))})
    if os.environ.get("UI_SCREENSHOTS"):
        env["UI_SCREENSHOTS"] = os.path.abspath(os.environ["UI_SCREENSHOTS"])
    r = subprocess.run([NODE, SPEC], env=env, cwd=vexit.REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=180 * vexit.SLOW)
    checks = {}
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.startswith("{"):
            c = json.loads(line)
            checks[c["check"]] = c
    assert checks, "the spec printed no check (exit %d):\n%s" % (r.returncode, r.stderr.decode(errors="replace"))
    return {"checks": checks, "user": user, "admin": admin, "stderr": r.stderr.decode(errors="replace"),
            "rc": r.returncode}


def check(ui, name):
    c = ui["checks"].get(name)
    assert c is not None, "check %s did not run; stderr:\n%s" % (name, ui["stderr"])
    assert c["ok"], "check %s failed (screenshots: %s):\n%s" % (name, c.get("screenshots"), c.get("error"))
    return c


def test_sign_in_field_is_labelled_and_focused(ui):
    c = check(ui, "sign-in-label")
    assert c["tag"] == "INPUT" and c["focused"] is True


def test_a_bad_credential_shows_the_servers_error_and_is_not_kept(ui):
    c = check(ui, "sign-in-bad")
    assert "invalid API key" in c["shown"] and "401" in c["shown"], c["shown"]
    assert c["stored"] is None
    assert all("401" in line for line in c["logged"]), c["logged"]


def test_sign_in_keeps_the_credential_in_session_storage(ui):
    c = check(ui, "sign-in")
    assert c["stored"] is True and c["url"] == "/ui/"


def test_tab_reaches_the_navigation(ui):
    c = check(ui, "keyboard-nav")
    assert c["path"] == "/ui/jobs"


def test_a_submitted_job_appears_and_turns_completed_live(ui, svc):
    c = check(ui, "job-appears-and-completes-live")
    assert c["seen"] == ["running", "completed"], c["seen"]
    assert "step" in c["progress"] and "%" in c["progress"], c["progress"]
    assert json.loads(c["result"]) == {"slept_ms": 9000, "steps": 9} or "slept_ms" in c["result"]
    assert c["noReload"] is True  # the page was never reloaded
    assert ui["user"].get("/api/v1/jobs/" + c["job_id"]).json()["status"] == "completed"


def test_a_running_job_is_canceled_from_its_page(ui):
    c = check(ui, "cancel-running")
    assert c["job_id"] in c["asked"]
    body = wait_for(lambda: (lambda j: j if j["status"] == "canceled" else None)(
        ui["user"].get("/api/v1/jobs/" + c["job_id"]).json()), 20, what="the job canceled in the API")
    assert body["error"]["code"] == "CANCELED"


def test_a_failed_jobs_page_shows_why_first(ui):
    c = check(ui, "failed-job-shows-why")
    assert c["title"] == "Why it failed"
    assert c["message"].startswith("the disk /var/spool is full <img src=x"), c["message"]
    assert c["code"] == "DISK_FULL"


def test_markup_in_a_result_or_an_error_shows_as_text(ui):
    c = check(ui, "result-markup-is-text")
    assert "<script>alert(1)</script>" in c["text"] and "onerror=" in c["text"], c["text"]
    assert c["created"] == {"scripts": 0, "images": 0, "xss": None}, c["created"]
    assert c["failedImages"] == 0 and c["xss"] is None
    assert c["dialogs"] == []


def test_retry_from_the_page_creates_a_new_job(ui):
    c = check(ui, "retry-from-page")
    assert c["new"] != c["old"] and vexit.UUID7_RE.match(c["new"]), c
    new = ui["user"].get("/api/v1/jobs/" + c["new"]).json()
    assert new["retry_of"] == c["old"]
    assert ui["user"].get("/api/v1/jobs/" + c["old"]).json()["retried_by"] == c["new"]


def test_jobs_filters_are_in_the_url(ui):
    c = check(ui, "jobs-filter-is-a-deep-link")
    assert "status=failed" in c["url"]
    assert c["statuses"] and set(c["statuses"]) == {"failed"}, c["statuses"]


def test_sign_out_clears_session_storage(ui):
    c = check(ui, "sign-out")
    assert c["stored"] is None and c["navHidden"] is True


def test_both_viewports_fit_and_reach_the_navigation(ui):
    assert all(check(ui, "desktop-fits")["fits"].values())
    c = check(ui, "phone")
    assert c["deepLink"].startswith("/ui/jobs/")
    assert c["fits"] and all(c["fits"].values()), c["fits"]
    assert {"/ui/", "/ui/jobs"} <= set(c["fits"])


def test_admin_cancels_by_filter_after_a_confirmation_with_the_count(ui):
    c = check(ui, "admin-cancel-by-filter")
    assert "Cancel 2 queued or running jobs of " + ui["user"].sub in c["asked"], c["asked"]
    assert c["keysLink"] is True
    for job in c["ids"]:
        wait_for(lambda: ui["user"].get("/api/v1/jobs/" + job).json()["status"] == "canceled", 20,
                 what="job %s canceled" % job)


def test_the_console_asks_nothing_of_another_origin_and_logs_no_error(ui):
    c = check(ui, "same-origin-only")
    assert c["foreign"] == []
    assert c["errors"] == [], c["errors"]  # a CSP refusal would be a console error


def test_every_check_passed(ui):
    failed = [n for n, c in ui["checks"].items() if not c["ok"]]
    assert not failed and ui["rc"] == 0, (failed, ui["stderr"])
