# test_ui.py - the web console in a real browser (Debian's chromium, playwright-core): sign-in, the overview, jobs and
# job views, live updates, cancel, retry, escaping, both viewports (tests/ui/core.mjs prints one JSON line per check).
import datetime
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import vexit
from vexit import KeyClient, wait_for
from vexui import check, needs_browser, run_spec

pytestmark = needs_browser


class Hook(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(204)
        self.end_headers()


@pytest.fixture(scope="module")
def receiver():
    """A webhook receiver on loopback that answers 204."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield "http://127.0.0.1:%d/hook" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def ui(svc, receiver):
    """Runs the browser spec once (one browser for the module) against svc; the checks by name."""
    user = KeyClient(svc, sub="ui-" + vexit.new_sub()[:12])  # an API key, as a person would paste
    admin = svc.client(role="admin")                           # a JWT
    r = user.post("/api/v1/webhooks", json={"url": receiver, "events": ["job.completed"]})
    assert r.status_code == 201, r.text
    # the documentation's screenshots show an owner of their own: none of the escaping checks' jobs
    docs = KeyClient(svc, sub="ops-team-" + vexit.new_sub()[:6])
    ui = run_spec(svc, "core.mjs", user, admin, extra_env={"VEX_HOOK": r.json()["id"], "VEX_DOCS_CREDENTIAL": docs.key})
    ui.update({"user": user, "admin": admin})
    return ui


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


def test_the_keyboard_reaches_the_navigation_from_the_heading(ui):
    c = check(ui, "keyboard-nav")
    assert c["start"] == "H1" and c["path"] == "/ui/jobs", c


def test_the_librarys_helpers_refuse_other_origins_and_markup(ui):
    c = check(ui, "library-refuses-other-origins")
    for k in ("protocolRelative", "backslash", "absolute", "javascriptHref", "foreignHref", "inlineHandler", "styleAttr"):
        assert c[k] is True, (k, c)
    assert c["text"] == "<b>x</b>" and c["children"] == 0
    assert c["encoded"] == "/api/v1/jobs/..%2Fkeys%3Fx%3D1"


def test_a_submitted_job_appears_and_turns_completed_live(ui, svc):
    c = check(ui, "job-appears-and-completes-live")
    assert c["seen"] == ["running", "completed"], c["seen"]
    assert "step" in c["progress"] and "%" in c["progress"], c["progress"]
    assert json.loads(c["result"]) == {"slept_ms": 12000, "steps": 12}, c["result"]
    assert c["noReload"] is True  # the page was never reloaded
    assert ui["user"].get("/api/v1/jobs/" + c["job_id"]).json()["status"] == "completed"


def test_a_running_job_is_canceled_from_its_page(ui):
    c = check(ui, "cancel-running")
    assert c["job_id"] in c["asked"]
    body = wait_for(lambda: (lambda j: j if j["status"] == "canceled" else None)(
        ui["user"].get("/api/v1/jobs/" + c["job_id"]).json()), 20, what="the job canceled in the API")
    assert body["error"]["code"] == "CANCELED"


def test_the_overview_follows_the_counts_without_reload(ui):
    c = check(ui, "overview-refreshes")
    assert c["now"] == c["was"] + 1 and c["noReload"] == "overview", c


def test_a_failed_jobs_page_shows_why_first(ui):
    c = check(ui, "failed-job-shows-why")
    assert c["title"] == "Why it failed"
    assert c["message"].startswith("the disk /var/spool is full <img src=x"), c["message"]
    assert c["code"] == "DISK_FULL"


def test_markup_in_a_result_or_an_error_shows_as_text(ui):
    c = check(ui, "result-markup-is-text")
    assert "<script>alert(1)</script>" in c["text"] and "onerror=" in c["text"], c["text"]
    # the job page's input is the arguments the job was given, shown as text
    assert c["input"]["script"] == "<script>alert(1)</script>" and "onerror=" in c["input"]["img"], c["input"]
    assert c["created"] == {"scripts": 0, "images": 0, "xss": None}, c["created"]
    assert c["failedImages"] == 0 and c["xss"] is None
    assert c["dialogs"] == []


def test_a_jobs_page_shows_the_webhook_deliveries_it_caused(ui):
    c = check(ui, "job-deliveries")
    assert len(c["rows"]) == 1 and "job.completed" in c["rows"][0] and "delivered" in c["rows"][0], c["rows"]
    assert "HTTP 204" in c["rows"][0], c["rows"]


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
    assert c["adminOnly"] == {"cancelByFilter": 0, "keysLink": False}, c["adminOnly"]


def test_jobs_are_paged_with_the_apis_cursor(ui):
    c = check(ui, "jobs-cursor-paging")
    assert len(c["first"]) == 2 and len(c["second"]) == 2 and not set(c["first"]) & set(c["second"]), c
    assert c["limit"] == "2" and c["back"] == c["first"]
    assert c["api"] == c["first"] + c["second"]  # the API's first four, newest first


def test_sign_out_clears_session_storage(ui):
    c = check(ui, "sign-out")
    assert c["stored"] is None and c["navHidden"] is True


def test_both_viewports_fit_and_reach_the_navigation(ui):
    assert all(check(ui, "desktop-fits")["fits"].values())
    c = check(ui, "phone")
    assert c["deepLink"].startswith("/ui/jobs/")
    assert c["fits"] and all(c["fits"].values()), c["fits"]
    assert {"/ui/", "/ui/jobs"} <= set(c["fits"])


def test_times_show_the_viewers_zone_with_utc_on_hover(ui):
    t = check(ui, "phone")["time"]  # that browser runs in Asia/Tokyo (UTC+9, no daylight saving)
    at = vexit.parse_rfc3339(t["datetime"])
    assert t["title"] == at.strftime("%Y-%m-%d %H:%M:%S UTC"), t
    tokyo = at + datetime.timedelta(hours=9)
    assert tokyo.strftime("%I:%M:%S") in t["text"] or tokyo.strftime("%H:%M:%S") in t["text"], t


def test_admin_cancels_by_filter_after_a_confirmation_with_the_count(ui):
    c = check(ui, "admin-cancel-by-filter")
    assert "Cancel 2 queued or running jobs of " + ui["user"].sub in c["asked"], c["asked"]
    assert c["keysLink"] is True
    for job in c["ids"]:
        wait_for(lambda: ui["user"].get("/api/v1/jobs/" + job).json()["status"] == "canceled", 20,
                 what="job %s canceled" % job)


def test_a_key_revoked_while_signed_in_signs_the_console_out_with_the_servers_reason(ui):
    c = check(ui, "revoked-key-signs-out")
    assert c["revoked"] == 204
    assert c["shown"].startswith("Signed out: invalid API key") and "401" in c["shown"], c["shown"]
    assert c["stored"] is None


def test_the_console_asks_nothing_of_another_origin_and_logs_no_error(ui):
    c = check(ui, "same-origin-only")
    assert c["foreign"] == []
    assert c["errors"] == [], c["errors"]  # a CSP refusal would be a console error


def test_every_check_passed(ui):
    failed = [n for n, c in ui["checks"].items() if not c["ok"]]
    assert not failed, (failed, ui["stderr"])
