# test_cors.py - [http] cors_origins: nginx answers CORS for exact origins only, on every answer
# (vex-api's, nginx's own 404/413/429/502, streams), preflights included; the default sends none.
import concurrent.futures
import os
import subprocess

import pytest

import vexit
from vexit import REPO, assert_error

GOOD = "https://good.example"
LOCAL = "http://localhost:3000"
ORIGINS = GOOD + ", " + LOCAL
EXPOSED = {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "retry-after", "location",
           "x-request-id", "idempotent-replayed"}
# Origins that are not in the list: lookalikes (prefix, suffix, scheme, port, path), "null", "*".
REFUSED = ["https://good.example.evil.com", "https://evil-good.example", "https://evilgood.example",
           "http://good.example", "https://good.example:8443", "https://good.example/", "https://good.example.",
           "null", "*", "https://good.exampl", "https://good.example, https://evil.example", "http://localhost:3001"]


@pytest.fixture(scope="module")
def cors(request, tls):
    """A service whose nginx (and vex-api, which checks the setting) has [http] cors_origins set."""
    svc = vexit.Service(tls, api_env={"VEX_HTTP_CORS_ORIGINS": ORIGINS})
    svc.nginx_env = {"VEX_HTTP_CORS_ORIGINS": ORIGINS}
    request.addfinalizer(svc.stop)
    svc.start()
    return svc


def cors_headers(r):
    return {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


def assert_allowed(r, origin=GOOD):
    """The answer for an allowed origin: that exact origin echoed, with credentials, never "*"."""
    h = cors_headers(r)
    assert h.get("access-control-allow-origin") == origin, (r.status_code, dict(r.headers))
    assert h.get("access-control-allow-credentials") == "true", dict(r.headers)
    exposed = {x.strip().lower() for x in h.get("access-control-expose-headers", "").split(",")}
    assert EXPOSED <= exposed, exposed
    assert "origin" in [v.strip().lower() for v in r.headers.get("Vary", "").split(",")], dict(r.headers)
    assert "*" not in r.headers.get("Access-Control-Allow-Origin", ""), dict(r.headers)


def assert_none(r):
    h = cors_headers(r)
    assert h == {}, (r.status_code, h)


def test_answers_of_vex_api_carry_the_headers_for_an_allowed_origin(cors):
    c = cors.client()
    o = {"Origin": GOOD}
    assert_allowed(cors.get("/health", headers=o))
    assert_allowed(c.get("/api/v1/agents", headers=o))                          # 200
    r = c.post("/v1/agents", headers=o, json={"name": "cors", "baseUrl": "https://example.com", "mode": "SCHEDULED",
                                               "content": "hello", "schedule": {"tasksPerDay": 1, "times": ["09:00"]}})
    assert r.status_code == 201, r.text
    assert_allowed(r)
    r = c.post("/api/v1/tools/echo/execute", headers=o, json={"arguments": {"x": 1}})
    assert r.status_code == 200 and r.headers.get("Location"), r.text
    assert_allowed(r)
    assert_allowed(cors.get("/api/v1/agents", headers=o), GOOD)                # 401 from vex-api
    r = c.get("/api/v1/jobs/0190a000-0000-7000-8000-000000000000", headers=o)
    assert r.status_code == 404, r.text
    assert_allowed(r)
    assert_allowed(c.get("/api/v1/agents", headers={"Origin": LOCAL}), LOCAL)


def test_nginx_own_errors_carry_the_headers(cors):
    o = {"Origin": GOOD}
    r = cors.get("/no/such/path", headers=o)                                     # nginx's 404
    assert_error(r, 404, "NOT_FOUND")
    assert_allowed(r)
    r = cors.request("POST", "/api/v1/agents", headers=dict(o, **{"Content-Type": "application/json"}),
                     data=b"x" * (1024 * 1024 + 1))                              # nginx's 413
    assert r.status_code == 413, r.text
    assert_allowed(r)
    base = cors.start_low_rate_nginx(rate=1, burst=1)                            # nginx's 429

    def hit(_):
        return cors.get("/health", base=base, headers=o)

    with concurrent.futures.ThreadPoolExecutor(max_workers=12) as ex:
        rs = list(ex.map(hit, range(24)))
    limited = [r for r in rs if r.status_code == 429]
    assert limited, [r.status_code for r in rs]
    for r in limited:
        assert r.headers.get("Retry-After") == "1"
        assert_allowed(r)
        assert r.headers.get("X-Content-Type-Options") == "nosniff"  # the 429's own headers are all there


def test_a_stream_carries_the_headers(cors):
    c = cors.client()
    job = c.tool("echo", {"x": 1})
    c.wait_job(job)
    r = c.request("GET", "/api/v1/jobs/%s/stream" % job, headers={"Origin": GOOD, "Accept": "text/event-stream"},
                  stream=True)
    try:
        assert r.status_code == 200
        assert r.headers.get("Content-Type", "").startswith("text/event-stream")
        assert_allowed(r)
    finally:
        r.close()


def test_other_origins_get_no_cors_header_and_the_same_answer(cors):
    c = cors.client()
    for origin in REFUSED:
        r = c.get("/api/v1/agents", headers={"Origin": origin})
        assert r.status_code == 200, (origin, r.text)
        assert_none(r)
        assert_none(cors.get("/nope", headers={"Origin": origin}))
    assert_none(c.get("/api/v1/agents"))                                         # no Origin at all
    # Two origins in one header are not an allowed origin either.
    assert_none(cors.get("/health", headers={"Origin": GOOD + "," + GOOD}))


def test_preflight_from_an_allowed_origin_is_answered_by_nginx(cors):
    before = cors.counts()
    r = cors.request("OPTIONS", "/api/v1/tools/echo/execute",
                     headers={"Origin": GOOD, "Access-Control-Request-Method": "POST",
                              "Access-Control-Request-Headers": "authorization, content-type, traceparent"})
    assert r.status_code == 204, r.text
    assert r.content == b""
    assert_allowed(r)
    methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "PATCH", "DELETE"} <= methods
    allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
    assert {"authorization", "x-api-key", "content-type", "idempotency-key", "last-event-id",
            "traceparent"} <= allowed
    assert int(r.headers["Access-Control-Max-Age"]) > 0
    # A preflight reaches nothing behind nginx: no job, no agent.
    assert cors.counts() == before


def test_preflight_from_another_origin_gets_no_allow_headers(cors):
    for origin in REFUSED + ["null"]:
        r = cors.request("OPTIONS", "/api/v1/agents",
                         headers={"Origin": origin, "Access-Control-Request-Method": "POST"})
        assert r.status_code != 204, (origin, r.status_code)
        assert_none(r)
    # Only a real preflight (with Access-Control-Request-Method) is answered by nginx.
    r = cors.request("OPTIONS", "/api/v1/agents", headers={"Origin": GOOD})
    assert r.status_code != 204
    assert "Access-Control-Allow-Methods" not in r.headers
    assert r.headers.get("Access-Control-Allow-Origin") == GOOD


def test_no_wildcard_and_credentials_only_with_an_echoed_origin(cors):
    c = cors.client()
    for headers in ({"Origin": GOOD}, {"Origin": LOCAL}, {"Origin": "https://evil.example"}, {}):
        for r in (c.get("/api/v1/agents", headers=headers), cors.get("/nope", headers=headers)):
            acao = r.headers.get("Access-Control-Allow-Origin")
            assert acao != "*"
            if r.headers.get("Access-Control-Allow-Credentials") is not None:
                assert acao == headers.get("Origin") and acao in (GOOD, LOCAL), dict(r.headers)


def test_pool_down_502_carries_the_headers(cors):
    """Last in this module: it stops the service's vex-api."""
    cors.api.stop()
    r = cors.get("/api/v1/agents", headers={"Origin": GOOD})
    assert_error(r, 502, "BAD_GATEWAY")
    assert_allowed(r)
    assert_none(cors.get("/api/v1/agents", headers={"Origin": "https://evil.example"}))


def test_default_config_sends_no_cors_header(svc):
    c = svc.client()
    for headers in ({"Origin": GOOD}, {"Origin": "null"}, {}):
        assert_none(c.get("/api/v1/agents", headers=headers))
        assert_none(svc.get("/nope", headers=headers))
        r = svc.request("OPTIONS", "/api/v1/agents", headers=dict(headers, **{"Access-Control-Request-Method": "GET"}))
        assert r.status_code != 204
        assert_none(r)
        assert "Origin" not in r.headers.get("Vary", "")


def render(tmp_path, env):
    e = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    e.update({"VEX_HOME": str(tmp_path / "home"), "VEX_NGINX_PREFIX": str(tmp_path / "ng")})
    e.update(env)
    out = tmp_path / "nginx.conf"
    r = subprocess.run([os.path.join(REPO, "tools", "render-nginx"), str(out)], env=e, cwd=REPO,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return r, (out.read_text() if r.returncode == 0 else "")


def test_render_reads_the_setting_from_vex_conf_as_vex_api_does(tmp_path):
    conf = tmp_path / "vex.conf"
    conf.write_text("[server]\nworkers = 2\n\n[http]\n; browsers of the console\ncors_origins = %s ; ours\n" % ORIGINS)
    r, text = render(tmp_path, {"VEX_CONFIG": str(conf)})
    assert r.returncode == 0, r.stdout
    assert '"%s" "%s";' % (GOOD, GOOD) in text and '"%s" "%s";' % (LOCAL, LOCAL) in text
    # the environment wins over the file, as for vex-api; empty means none
    r, text = render(tmp_path, {"VEX_CONFIG": str(conf), "VEX_HTTP_CORS_ORIGINS": ""})
    assert r.returncode == 0 and "Access-Control" not in text, r.stdout
    # <home>/vex.conf when VEX_CONFIG is unset
    (tmp_path / "home").mkdir(exist_ok=True)
    (tmp_path / "home" / "vex.conf").write_text("[http]\ncors_origins = %s\n" % LOCAL)
    r, text = render(tmp_path, {})
    assert r.returncode == 0 and '"%s" "%s";' % (LOCAL, LOCAL) in text and GOOD not in text, r.stdout
    # and vex-api checks the same file the same way
    p = subprocess.run([os.path.join(vexit.BUILD, "vex-api"), "--config", str(conf), "--check-config"],
                       env={"VEX_JWT_SECRET": "x" * 40, "PATH": os.environ.get("PATH", "")}, cwd=str(tmp_path),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert p.returncode == 0, p.stdout


@pytest.mark.parametrize("value", ["*", "https://*.example.com", "null", "https://good.example/", "https://good.example/app",
                                   "https://Good.example", "good.example", "https://good.example:443",
                                   "https://good.example,", 'https://good.example"; add_header X 1',
                                   "https://good.example\nadd_header X 1;"])
def test_bad_origins_are_refused_by_render_and_by_vex_api(tmp_path, value):
    r, _ = render(tmp_path, {"VEX_HTTP_CORS_ORIGINS": value})
    assert r.returncode != 0, value
    conf = tmp_path / "vex.conf"
    conf.write_text("[http]\ncors_origins = %s\n" % value.replace("\n", " "))
    p = subprocess.run([os.path.join(vexit.BUILD, "vex-api"), "--config", str(conf), "--check-config"],
                       env={"VEX_JWT_SECRET": "x" * 40, "PATH": os.environ.get("PATH", "")}, cwd=str(tmp_path),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert p.returncode != 0 and "cors_origins" in p.stdout, p.stdout
