"""GET /openapi.json: the merged OpenAPI document, public, as built (docs/openapi.md); and the validator
every other test relies on (vexspec.py) refusing what the document does not describe."""
import importlib.machinery
import importlib.util
import json
import os

import pytest

import vexit
import vexspec


@pytest.fixture(scope="module")
def svc(tls):
    s = vexit.Service(tls, workers=1)
    s.start()
    yield s
    s.stop()


def test_openapi_json_is_public_and_the_built_document(svc):
    r = svc.get("/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers.get("X-Request-ID")
    with open(os.path.join(vexit.BUILD, "openapi.json"), "rb") as f:
        assert r.content == f.read()
    doc = r.json()
    assert doc["openapi"].startswith("3.1.")
    # every dialect, the service endpoints and the security schemes are described
    for p in ("/api/v1/jobs/{id}", "/jobs/{id}", "/v1/events", "/execute_tool", "/health", "/openapi.json",
              "/api/v1/webhooks", "/webhooks", "/api/v1/keys", "/api/v1/tokens/revocations",
              "/api/v1/jobs/{id}/stream", "/jobs/{id}/stream"):
        assert p in doc["paths"], p
    assert set(doc["components"]["securitySchemes"]) == {"bearerJwt", "bearerApiKey", "apiKeyHeader", "streamToken"}
    for name in ("Error", "CorexError", "EventsError", "VexJob", "CorexJob"):
        assert name in doc["components"]["schemas"], name


def test_openapi_json_needs_no_credential_and_ignores_a_bad_one(svc):
    r = svc.get("/openapi.json", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 200
    assert r.json()["info"]["title"] == "vex"


def test_openapi_json_head_and_other_methods(svc):
    r = svc.request("HEAD", "/openapi.json")
    assert r.status_code == 200
    assert r.content == b""
    r = svc.request("POST", "/openapi.json", json={})
    assert r.status_code == 405
    assert r.headers["Allow"] == "GET"
    assert r.json()["error"]["code"] == "METHOD_NOT_ALLOWED"


def test_validator_refuses_an_undocumented_status():
    s = vexspec.spec()
    with pytest.raises(vexspec.SpecMismatch, match="does not document status 418"):
        s.check("GET", "https://x/api/v1/jobs/abc", 418, "application/json", b'{"error":{"code":"X","message":"y"}}')


def test_validator_refuses_a_body_off_the_schema():
    s = vexspec.spec()
    with pytest.raises(vexspec.SpecMismatch, match="does not match"):
        s.check("GET", "https://x/health", 200, "application/json", b'{"status":"healthy"}')
    # a field the document does not list is drift too
    with pytest.raises(vexspec.SpecMismatch, match="Additional properties"):
        s.check("GET", "https://x/health", 200, "application/json",
                b'{"status":"healthy","version":"1","timestamp":"2026-01-01T00:00:00.000Z","db_type":"sqlite",'
                b'"uptime":5}')
    with pytest.raises(vexspec.SpecMismatch, match="does not match"):
        s.check("GET", "https://x/api/v1/jobs/abc", 200, "application/json",
                json.dumps({"job_id": "j", "status": "queued", "result": None, "error": None,
                            "queued_at": None, "attempts": 0, "kind": "tool"}).encode())


def test_validator_refuses_undocumented_paths_and_methods():
    s = vexspec.spec()
    with pytest.raises(vexspec.SpecMismatch, match="no path template matches"):
        s.check("GET", "https://x/api/v1/nothing", 200, "application/json", b"{}")
    with pytest.raises(vexspec.SpecMismatch, match="documents no PUT"):
        s.check("PUT", "https://x/api/v1/jobs/abc", 200, "application/json", b"{}")
    # the catch-all answers are described
    s.check("GET", "https://x/nothing/here", 404, "application/json",
            b'{"error":{"code":"NOT_FOUND","message":"no such endpoint"}}')
    s.check("PUT", "https://x/api/v1/jobs/abc", 405, "application/json",
            b'{"error":{"code":"METHOD_NOT_ALLOWED","message":"method not allowed","request_id":"r"}}')


def test_validator_checks_the_content_type_of_a_stream():
    s = vexspec.spec()
    s.check("GET", "https://x/api/v1/jobs/abc/stream", 200, "text/event-stream", None, streamed=True)
    with pytest.raises(vexspec.SpecMismatch, match="got Content-Type"):
        s.check("GET", "https://x/api/v1/jobs/abc/stream", 200, "text/html", None, streamed=True)


def _tool(name):
    """tools/<name> (a python3 script without .py) as a module."""
    path = os.path.join(vexit.REPO, "tools", name)
    loader = importlib.machinery.SourceFileLoader(name.replace("-", "_"), path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_every_route_of_vex_api_is_in_the_document_and_a_missing_one_fails(tmp_path):
    check = _tool("check-openapi")
    built = os.path.join(vexit.BUILD, "openapi.json")
    assert check.check_routes(built)
    with open(built) as f:
        doc = json.load(f)
    del doc["paths"]["/v1/events/{id}"]          # a route the C tables have
    doc["paths"]["/api/v1/nothing"] = {"get": {"responses": {}}}  # an operation vex-api does not serve
    bad = tmp_path / "openapi.json"
    bad.write_text(json.dumps(doc))
    assert not check.check_routes(str(bad))


def test_build_refuses_a_path_or_component_defined_twice(tmp_path):
    build = _tool("build-openapi")
    root = tmp_path / "openapi.yaml"
    root.write_text("openapi: 3.1.0\ninfo: {title: t, version: '1'}\npaths: {}\n"
                    "components:\n  schemas:\n    Error: {type: object}\n")
    frags = tmp_path / "openapi.d"
    frags.mkdir()
    (frags / "a.yaml").write_text("paths:\n  /x: {get: {responses: {'200': {description: ok}}}}\n")
    (frags / "b.yaml").write_text("paths:\n  /x: {post: {responses: {'200': {description: ok}}}}\n")
    with pytest.raises(build.Fail, match="path /x is already defined in .*a.yaml"):
        build.merge(str(root), str(frags))
    (frags / "b.yaml").write_text("components:\n  schemas:\n    Error: {type: string}\n")
    with pytest.raises(build.Fail, match="component schemas/Error is already defined in .*openapi.yaml"):
        build.merge(str(root), str(frags))
    (frags / "b.yaml").write_text("info: {title: other}\n")
    with pytest.raises(build.Fail, match="a fragment holds only"):
        build.merge(str(root), str(frags))
    # x- keys hold a fragment's YAML anchors and are dropped; objects with properties are closed
    (frags / "b.yaml").write_text("x-anchors:\n  s: &s {type: object, properties: {a: {type: string}}}\n"
                                  "components:\n  schemas:\n    B: *s\n")
    merged = build.merge(str(root), str(frags))
    assert "x-anchors" not in merged
    assert merged["components"]["schemas"]["B"]["additionalProperties"] is False


def test_validator_takes_a_cors_preflight_only_as_one():
    s = vexspec.spec()
    s.check("OPTIONS", "https://x/api/v1/agents", 204, None, b"", preflight=True)
    with pytest.raises(vexspec.SpecMismatch, match="documents no OPTIONS"):
        s.check("OPTIONS", "https://x/api/v1/agents", 204, None, b"")
    with pytest.raises(vexspec.SpecMismatch, match="has no body"):
        s.check("OPTIONS", "https://x/api/v1/agents", 204, "application/json", b"{}", preflight=True)
