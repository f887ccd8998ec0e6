# test_ui_views.py - the console's agents, tools, webhooks and keys views in a real browser (Debian's chromium,
# playwright-core): a tool run from its generated form, errors at the field, an agent created and run, a webhook
# delivery shown and re-sent to a real receiver, a key shown once and revoked, escaping, the phone viewport
# (tests/ui/views.mjs prints one JSON line per check).
import json
import os

import pytest

import vexit
from vexit import KeyClient, wait_for
from vexui import check, needs_browser, run_spec
from test_webhook_delivery import Receiver

ECHO = os.path.join(vexit.REPO, "tests", "fixtures", "commands", "echo.py")

pytestmark = needs_browser

# Every kind of field the form generator knows: a pattern the browser does not check (so the server
# refuses a value the form lets through), a ranged integer with a default, a number, a boolean, an enum,
# a nested object with a required field, an array of strings, a free-form object.
FORM_SCHEMA = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "pattern": "^[a-z]+$", "description": "Lower-case letters only."},
        "count": {"type": "integer", "minimum": 1, "maximum": 5, "default": 2},
        "ratio": {"type": "number", "exclusiveMinimum": 0},
        "loud": {"type": "boolean"},
        "mode": {"enum": ["fast", "slow"]},
        "opts": {"type": "object", "properties": {"depth": {"type": "integer"}, "label": {"type": "string"}},
                 "required": ["depth"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "extra": {"type": "object"},
        "__proto__": {"type": "string", "description": "A property an object literal would take for its prototype."},
        "tree": {"$ref": "#/$defs/node"},
    },
    "required": ["title", "count"],
    "additionalProperties": False,
    # a schema that recurses through $ref: two branches per level, without bounds, for ever
    "$defs": {"node": {"type": "object", "properties": {"left": {"$ref": "#/$defs/node"},
                                                        "right": {"$ref": "#/$defs/node"}}}},
}
TOOL_DESCRIPTION = 'Echoes <script>window.__vexXss=1</script><img src=x onerror="window.__vexXss=2"> its arguments'


@pytest.fixture(scope="module")
def svc(request, tls):
    """A service whose runner publishes one command tool ("uiform", echo.py) with FORM_SCHEMA."""
    d, _ = vexit.tools_tmpdir(request, "vex-it-uiviews-")
    path = os.path.join(d, "tools.json")
    with open(path, "w") as f:
        json.dump({"tools": {"uiform": {"description": TOOL_DESCRIPTION, "argv": [ECHO], "inputSchema": FORM_SCHEMA,
                                        "grant": {"roles": ["user"]}}}}, f)
    s = vexit.Service(tls, runner_env={"VEX_TOOLS_COMMANDS_FILE": path, "VEX_TOOLS_WORK_DIR": os.path.join(d, "work")})
    request.addfinalizer(s.stop)
    s.start()
    return s


@pytest.fixture(scope="module")
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="module")
def ui(svc, receiver):
    """Runs the browser spec once (one browser for the module); the checks by name."""
    user = KeyClient(svc, sub="uiv-" + vexit.new_sub()[:12])  # an API key, as a person would paste
    admin = svc.client(role="admin")                            # a JWT
    ui = run_spec(svc, "views.mjs", user, admin, {"UI_RECEIVER_URL": receiver.url("ui"), "UI_FORM_TOOL": "uiform"})
    ui.update({"user": user, "admin": admin})
    return ui


NO_MARKUP = {"scripts": 0, "images": 0, "xss": None}


def test_the_catalog_shows_a_tool_description_holding_markup_as_text(ui):
    c = check(ui, "tools-catalog")
    assert TOOL_DESCRIPTION in c["row"] and "command" in c["row"], c["row"]
    assert c["created"] == NO_MARKUP


def test_the_form_is_generated_from_the_input_schema(ui):
    c = check(ui, "tools-form-generated")
    every = dict(c["kinds"])
    kinds = {k: v for k, v in every.items() if not k.startswith("tree.")}
    assert kinds == {"title": "input", "count": "input:numeric", "ratio": "input:decimal", "loud": "select",
                     "mode": "select", "opts.depth": "input:numeric", "opts.label": "textarea",
                     "extra": "textarea", "__proto__": "textarea", "timeout_ms": "input:numeric"}, kinds
    # the recursive part stops (6 levels deep, or at 300 controls) with JSON text areas
    tree = [k for k in every if k.startswith("tree.")]
    assert 0 < len(tree) <= 400 and all(every[k] == "textarea" for k in tree), len(tree)
    assert max(k.count(".") + 1 for k in tree) == 6  # tree.left.left.left.left.left: a text area at level 6
    assert c["fieldsets"] <= 300, c["fieldsets"]
    for label in ("title (required)", "count (required)", "ratio", "opts", "depth (required)", "tags", "extra"):
        assert label in c["labels"], c["labels"]
    assert c["count"] == "2"  # the schema's default
    assert c["hint"].startswith("Lower-case letters only."), c["hint"]  # the description as a hint
    assert c["modes"] == ["(not set)", "fast", "slow"]
    assert c["describedBy"].endswith("-error")


def test_a_bad_value_is_refused_at_its_field_before_any_request(ui, svc):
    c = check(ui, "tools-client-error-at-field")
    assert c["count"] == "Must be a whole number." and c["title"] == "Required.", c
    assert c["invalid"] == "true" and c["focused"] == "title"
    assert c["sent"] == 0


def test_the_servers_refusal_shows_at_the_field_it_names(ui):
    c = check(ui, "tools-server-error-at-field")
    assert c["status"] == 400
    assert "must match the pattern ^[a-z]+$" in c["title"], c["title"]
    assert c["count"] is False  # the client-side error of the previous try is cleared
    assert c["path"] == "/ui/tools/uiform"


def test_a_tool_runs_from_its_form_with_the_arguments_typed(ui, svc):
    c = check(ui, "tools-run-from-form")
    assert c["status"] == "completed"
    # (wait_job: a poll may trail the page's stream by the cache's repair window, docs/storage.md)
    job = ui["user"].wait_job(c["job_id"], timeout=10)
    assert job["tool"] == "uiform" and job["status"] == "completed"
    assert job["result"]["args"] == {"title": "lower", "count": 3, "ratio": 0.5, "loud": True, "mode": "slow",
                                     "opts": {"depth": 4}, "tags": ["a <b>", "b"], "extra": {"k": [1, 2]},
                                     "__proto__": "own"}, job["result"]


def test_the_tool_form_works_on_a_phone(ui):
    c = check(ui, "tools-form-phone")
    assert c["fits"] is True and c["fitsJob"] is True
    assert c["button"]["x"] >= 0 and c["button"]["x"] + c["button"]["width"] <= 390
    assert ui["user"].wait_job(c["job_id"], timeout=10)["result"]["args"] == {"title": "phone", "count": 2, "opts": {"depth": 1}}


def test_the_other_views_fit_a_phone(ui):
    c = check(ui, "views-fit-a-phone")
    assert c["fits"] == {"/ui/agents": True, "/ui/tools": True, "/ui/webhooks": True, "/ui/webhooks/<id>": True,
                         "/ui/keys": True}, c["fits"]


def test_agent_form_errors_show_at_their_field(ui):
    c = check(ui, "agent-create-errors-at-fields")
    assert c["client"] == "The role needs 3-500 characters."
    assert c["status"] == 422 and c["server"].startswith("base_url:"), c


def test_an_agent_is_created_and_run(ui, svc):
    c = check(ui, "agent-create-and-run")
    agent = c["stored"]
    assert agent["id"] == c["agent_id"] and agent["name"] == c["h1"] and agent["name"].startswith("<img src=x onerror="), agent
    job = ui["user"].wait_job(c["job_id"], timeout=10)
    assert job["agent_id"] == c["agent_id"] and job["status"] == "completed"
    assert job["result"]["response"] == "Echo: hello <i>there</i>"
    assert c["created"] == NO_MARKUP


def test_an_agent_is_paused_resumed_and_deleted(ui):
    c = check(ui, "agent-pause-resume")
    assert c["shown"] == "paused" and c["api"] == "paused" and c["after"] == "active"
    assert c["gone"] == 404 and c["jobKept"] == 200


def test_a_webhook_is_created_with_errors_at_the_url_field_and_its_secret_shown(ui, receiver):
    c = check(ui, "webhook-create")
    assert c["client"] == "A URL starting with http or https is required."
    assert c["server"].startswith("url:"), c["server"]
    assert c["secret"].startswith("whsec_")
    hook = c["stored"]
    assert hook["id"] == c["hook_id"] and hook["url"] == receiver.url("ui") and hook["events"] == ["job.completed"]
    assert hook["description"] in c["row"] and hook["description"] == c["h1"]
    assert "secret" not in hook
    assert c["created"] == NO_MARKUP


def test_a_delivery_shows_its_request_body_and_a_resend_reaches_the_receiver(ui, receiver):
    c = check(ui, "webhook-delivery-and-resend")
    got = wait_for(lambda: (lambda a: a if len(a) >= 2 else None)(receiver.got("ui", job_id=c["job_id"])), 20,
                   what="the delivery and its copy at the receiver")
    assert [a["id"] for a in got] == [c["first"], c["copy"]], [a["id"] for a in got]
    assert got[0]["body"] == got[1]["body"]
    assert json.loads(c["body"]) == json.loads(got[0]["body"])  # the log shows what was sent
    assert c["top"] == c["copy"] and c["resend_of_shown"] == 1 and c["attempts"] == 1
    assert c["count"] == 2


def test_a_webhook_is_disabled_enabled_and_deleted(ui):
    c = check(ui, "webhook-disable-enable-delete")
    assert c["disabled"] == {"shown": "disabled", "api": "disabled"}
    assert "WEBHOOK_DISABLED" in c["refused"] and "409" in c["refused"], c["refused"]  # no re-send while disabled
    assert c["enabled"] == "active" and c["after"] == 404


def test_an_admin_creates_a_key_that_is_shown_once_and_works(ui, svc):
    c = check(ui, "keys-create-shown-once")
    assert c["key"].startswith("vex_") and c["works"] == 200 and c["copied"] is True
    assert "shown only once" in c["warning"]
    assert c["gone"] is True and c["goneAfterReload"] is True
    assert c["created"] == NO_MARKUP


def test_a_revoked_key_is_refused(ui, svc):
    c = check(ui, "keys-revoke-with-confirmation")
    assert "ui-key-owner" in c["asked"] and c["still"] == 200 and c["after"] == 401
    key = ui["checks"]["keys-create-shown-once"]["key"]
    r = svc.get("/api/v1/agents", headers={"Authorization": "Bearer " + key})
    assert r.status_code == 401
    rows = svc.db_query("SELECT revoked_at FROM api_keys WHERE owner = 'ui-key-owner'")
    assert len(rows) == 1 and rows[0]["revoked_at"] is not None


def test_an_admin_pauses_and_resumes_claiming_a_tool(ui):
    c = check(ui, "tools-pause-admin")
    assert c["api"] is True and "paused" in c["listed"] and c["after"] is False
    assert c["userSees"] == 0  # a user gets no pause button (the API would answer 403)


def test_a_non_admin_sees_keys_are_for_admins_only(ui):
    c = check(ui, "keys-non-admin")
    assert "admins only" in c["shown"] and c["navHidden"] is True and c["forms"] == 0


def test_no_markup_ran_and_nothing_left_the_origin(ui):
    c = check(ui, "no-script-ran-no-foreign-request")
    assert c["desk"] == NO_MARKUP and c["admin"] == NO_MARKUP and c["dialogs"] == []
    assert c["foreign"] == [] and c["errors"] == [] and c["missing"] == [], c
