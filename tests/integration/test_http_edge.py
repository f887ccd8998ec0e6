# test_http_edge.py - X-Request-ID, HTTP->HTTPS redirect, 429 from a low-rate nginx, unknown paths, security headers.
import concurrent.futures

import requests

from vexit import HTTP_TIMEOUT, UUID7_RE, assert_api_error, assert_error, assert_json


def test_request_id_echoed(svc):
    for rid in ("abc-123", "A.b:c_d-9", "x" * 128):
        r = svc.get("/health", headers={"X-Request-ID": rid})
        assert r.status_code == 200
        assert r.headers.get("X-Request-ID") == rid
    # Echoed on API errors too, inside the body.
    r = svc.get("/api/v1/agents", headers={"X-Request-ID": "trace-42"})
    err = assert_api_error(r, 401, "UNAUTHORIZED")
    assert err["request_id"] == "trace-42"


def test_request_id_generated(svc):
    seen = set()
    for headers in ({}, {"X-Request-ID": "x" * 129}, {"X-Request-ID": "has space"}, {"X-Request-ID": "semi;colon"},
                    {"X-Request-ID": "\u00e9t\u00e9".encode("utf-8")}, {"X-Request-ID": ""}):
        r = svc.get("/health", headers=headers)
        assert r.status_code == 200
        rid = r.headers.get("X-Request-ID", "")
        assert UUID7_RE.match(rid), (headers, rid)
        seen.add(rid)
    assert len(seen) == 6, "generated ids must differ"
    c = svc.client()
    r = c.post("/api/v1/agents", json={"name": "x", "role": "ab"})
    assert r.status_code in (400, 422)
    assert UUID7_RE.match(r.headers["X-Request-ID"]) and r.json()["error"]["request_id"] == r.headers["X-Request-ID"]


def test_http_redirects_to_https(svc):
    s = requests.Session()
    s.trust_env = False
    for path in ("/health", "/api/v1/agents?limit=3"):
        r = s.get("http://127.0.0.1:%d%s" % (svc.http_port, path), allow_redirects=False, timeout=HTTP_TIMEOUT)
        assert r.status_code == 301, r.text
        loc = r.headers["Location"]
        assert loc.startswith("https://"), loc
        assert loc.endswith(path), loc


def test_rate_limit_429(svc):
    base = svc.start_low_rate_nginx(rate=1, burst=1)

    def hit(_):
        return svc.get("/health", base=base)

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as ex:
        rs = list(ex.map(hit, range(24)))
    codes = [r.status_code for r in rs]
    assert 200 in codes, codes
    limited = [r for r in rs if r.status_code == 429]
    assert limited, codes
    for r in limited:
        assert_error(r, 429, "RATE_LIMIT_EXCEEDED")
    assert set(codes) <= {200, 429}, codes
    # The main nginx (high rate) is unaffected.
    assert svc.get("/health").status_code == 200


def test_unknown_paths_404_json(svc):
    for path in ("/nope", "/index.php", "/api/v2/agents", "/.git/config"):
        assert_error(svc.get(path), 404, "NOT_FOUND")
    c = svc.client()
    for path in ("/api/v1/nope", "/api/v1/agents/x/y/z", "/api/v1/"):
        assert_api_error(c.get(path), 404, "NOT_FOUND")


def _security_headers(r):
    h = r.headers
    assert h.get("X-Content-Type-Options") == "nosniff", dict(h)
    assert h.get("Strict-Transport-Security", "").startswith("max-age="), dict(h)
    assert h.get("X-Frame-Options") == "DENY", dict(h)
    assert h.get("Referrer-Policy") == "no-referrer", dict(h)


def test_security_headers(svc):
    r = svc.get("/health")
    assert r.status_code == 200
    _security_headers(r)
    c = svc.client()
    r = c.post("/api/v1/agents", json={"name": "hdr", "role": "You are a test agent"})
    assert r.status_code == 200
    _security_headers(r)


def test_security_headers_on_errors(svc):
    # Error answers reach browsers too: the headers are sent "always".
    _security_headers(svc.get("/api/v1/agents"))  # 401 from vex-api
    _security_headers(svc.get("/nope"))            # 404 from nginx


def test_json_content_type_everywhere(svc):
    c = svc.client()
    for r in (svc.get("/health"), c.get("/api/v1/agents"), c.get("/api/v1/tools"), svc.get("/api/v1/agents"),
              c.get("/api/v1/jobs/nope")):
        assert_json(r)
