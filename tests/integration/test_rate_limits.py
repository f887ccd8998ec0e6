# test_rate_limits.py - one limiter on every path that creates work (docs/limits.md, "Request rate"): a free-plan
# principal is refused on each, with the headers, Retry-After and the dialect's error shape, and nothing stored;
# principals apart; memcached down fails open; nginx's flood guard answers 429 in each dialect's shape.
import concurrent.futures
import time

import pytest

import vexit
from vexit import UUID7_RE, assert_json, new_sub

FREE = vexit.PLAN_RATES["free"]  # 10 a minute: one every 6 s, bursts of 10
EMISSION_S = 60.0 / FREE
HOOK_URL = "https://hooks.example.com/vex"
RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture(scope="module")
def rl(request, tls):
    """A service with the shipped rate_<plan> (the other test modules run with raised ones)."""
    svc = vexit.Service(tls, rates="default")
    request.addfinalizer(svc.stop)
    return svc.start()


# ---- the paths: how to call each, what it stores, its dialect ----

def _vex_agent(c):
    r = c.post("/api/v1/agents", json={"name": "rate", "role": "you count requests"})
    return r


def _events_agent(c):
    return c.post("/v1/agents", json={"name": "rate", "mode": "SCHEDULED", "content": "you count requests"})


def _agent_id(c):
    """One agent of the caller, made with the vex dialect (it counts: one request of the allowance)."""
    r = _vex_agent(c)
    assert r.status_code == 200, r.text
    return r.json()["id"]


def _jobs(svc, c, _):
    return svc.db_query("SELECT count(*) AS n FROM jobs WHERE owner = ?", (c.sub,))[0]["n"]


def _agents(svc, c, _):
    return svc.db_query("SELECT count(*) AS n FROM agents WHERE owner = ?", (c.sub,))[0]["n"]


def _hooks(svc, c, _):
    return svc.db_query("SELECT count(*) AS n FROM webhooks WHERE owner = ?", (c.sub,))[0]["n"]


def _keys(svc, c, ctx):
    return svc.db_query("SELECT count(*) AS n FROM api_keys WHERE owner = ?", (ctx["owner"],))[0]["n"]


def _retries(svc, c, _):
    return svc.db_query("SELECT count(*) AS n FROM jobs WHERE owner = ? AND retry_of IS NOT NULL", (c.sub,))[0]["n"]


def _failed_job(c):
    """One failed job of the caller (its submit is one request of the allowance): the first link of a chain."""
    return {"last": c.tool("fail", {}), "setup": 1}


def _retry_chain(path):
    """Retry the newest job of the chain once it has failed; the retry becomes the newest."""
    def call(c, ctx):
        c.wait_job(ctx["last"], ("failed",))
        r = c.post(path % ctx["last"])
        if r.status_code == 201:
            ctx["last"] = r.json()["job_id"]
        return r
    return call


def _nothing(svc, c, ctx):
    return 0  # tokens are minted, not stored


# name: (role, setup(c) -> ctx (requests it makes), call(c, ctx) -> response, ok status, dialect, stored rows)
PATHS = {
    "corex POST /jobs/submit": (
        "user", None, lambda c, ctx: c.post("/jobs/submit", json={"tool": "echo", "arguments": {}}),
        200, "corex", _jobs),
    "corex POST /execute_tool": (
        "admin", None, lambda c, ctx: c.post("/execute_tool", json={"tool": "echo", "arguments": {}}),
        200, "corex", _jobs),
    "vex POST /api/v1/tools/echo/execute": (
        "user", None, lambda c, ctx: c.post("/api/v1/tools/echo/execute", json={"arguments": {}}),
        200, "vex", _jobs),
    "vex POST /api/v1/agents/{id}/execute": (
        "user", lambda c: {"agent": _agent_id(c), "setup": 1},
        lambda c, ctx: c.post("/api/v1/agents/%s/execute" % ctx["agent"], json={"prompt": "hi"}),
        200, "vex", _jobs),
    "events POST /v1/agents/{id}/execute": (
        "user", lambda c: {"agent": _agent_id(c), "setup": 1},
        lambda c, ctx: c.post("/v1/agents/%s/execute" % ctx["agent"]),
        202, "events", _jobs),
    "vex POST /api/v1/agents": ("user", None, lambda c, ctx: _vex_agent(c), 200, "vex", _agents),
    "events POST /v1/agents": ("user", None, lambda c, ctx: _events_agent(c), 201, "events", _agents),
    "corex POST /webhooks": (
        "user", None, lambda c, ctx: c.post("/webhooks", json={"url": HOOK_URL, "events": ["job.completed"]}),
        201, "corex", _hooks),
    "vex POST /api/v1/webhooks": (
        "user", None, lambda c, ctx: c.post("/api/v1/webhooks", json={"url": HOOK_URL, "events": ["job.completed"]}),
        201, "vex", _hooks),
    "vex POST /api/v1/keys": (
        "admin", lambda c: {"owner": new_sub()},
        lambda c, ctx: c.post("/api/v1/keys", json={"owner": ctx["owner"], "role": "user"}),
        201, "vex", _keys),
    "vex POST /api/v1/jobs/{id}/retry": (
        "user", _failed_job, _retry_chain("/api/v1/jobs/%s/retry"), 201, "vex", _retries),
    "corex POST /jobs/{id}/retry": (
        "user", _failed_job, _retry_chain("/jobs/%s/retry"), 201, "corex", _retries),
    "vex POST /api/v1/tokens": (
        "admin", None, lambda c, ctx: c.post("/api/v1/tokens", json={"sub": new_sub(), "role": "user"}),
        201, "vex", _nothing),
}


def check_headers(r, remaining=None):
    for h in RATE_HEADERS:
        assert h in r.headers, (h, r.status_code, dict(r.headers))
    assert r.headers["X-RateLimit-Limit"] == str(FREE), dict(r.headers)
    rem = int(r.headers["X-RateLimit-Remaining"])
    assert 0 <= rem < FREE
    if remaining is not None:
        assert rem == remaining, (rem, remaining)
    reset = int(r.headers["X-RateLimit-Reset"])  # Unix seconds, when the allowance is whole again
    assert time.time() - 2 <= reset <= time.time() + 61, reset
    return rem


def check_refusal(r, dialect):
    """429 RATE_LIMIT_EXCEEDED in the dialect's error shape, with Retry-After and the headers."""
    assert r.status_code == 429, (r.status_code, r.text)
    body = assert_json(r)
    err = body["error"]
    assert set(body) == {"error"}, body
    assert err["code"] == "RATE_LIMIT_EXCEEDED" and "Rate limit of %d requests per minute" % FREE in err["message"]
    if dialect == "corex":
        assert set(err) == {"code", "message"}, body
    else:
        assert set(err) == {"code", "message", "request_id"}, body
        assert err["request_id"] == r.headers["X-Request-ID"] and UUID7_RE.match(err["request_id"])
    retry = int(r.headers["Retry-After"])
    assert 1 <= retry <= 7, retry  # one more request every 6 s
    check_headers(r, remaining=0)
    return retry


@pytest.mark.parametrize("name", sorted(PATHS))
def test_free_plan_refused_on_every_path_that_creates_work(rl, name):
    role, setup, call, ok, dialect, stored = PATHS[name]
    c = rl.client(role=role, plan="free")
    start = time.monotonic()
    ctx = setup(c) if setup else {}
    used = ctx.get("setup", 0)
    answers = []
    for _ in range(3 * FREE):
        r = call(c, ctx)
        answers.append(r)
        if r.status_code == 429:
            break
    elapsed = time.monotonic() - start
    refused = answers[-1]
    allowed = answers[:-1]
    # The burst is the plan's limit, setup requests included; a slow run may earn one more per 6 s.
    assert FREE - used <= len(allowed) <= FREE - used + int(elapsed / EMISSION_S), [a.status_code for a in answers]
    for i, r in enumerate(allowed):
        assert r.status_code == ok, (i, r.status_code, r.text)
        check_headers(r)
    # Remaining counts down to 0 as the allowance is spent (never up while the burst lasts).
    rems = [int(r.headers["X-RateLimit-Remaining"]) for r in allowed]
    assert rems[-1] <= 1 and rems[0] >= FREE - used - 1 - int(elapsed / EMISSION_S), rems
    check_refusal(refused, dialect)
    # Nothing stored for the refused one.
    extra = len(allowed) if stored is not _nothing else 0
    assert stored(rl, c, ctx) == (extra + (used if stored is _agents else 0)), name
    if stored is _nothing:
        assert "token" not in refused.text


def test_paths_share_one_allowance_and_reads_are_free(rl):
    """One bucket per principal: agent creation, executes and webhook creation spend the same allowance;
    reads and other writes (listings, polls, cancel, patch) neither count nor carry the headers."""
    c = rl.client(plan="free")
    agent = _agent_id(c)
    for _ in range(3):
        assert c.post("/jobs/submit", json={"tool": "echo", "arguments": {}}).status_code == 200
        assert c.post("/api/v1/agents/%s/execute" % agent, json={"prompt": "x"}).status_code == 200
    for _ in range(20):
        r = c.get("/api/v1/agents")
        assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers
    r = c.patch("/api/v1/agents/" + agent, json={"name": "renamed"})
    assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers
    r = c.post("/webhooks", json={"url": HOOK_URL, "events": ["job.completed"]})
    assert r.status_code == 201, r.text
    rem = check_headers(r)
    assert rem <= FREE - 8
    r = c.post("/v1/agents", json={"name": "x", "mode": "SCHEDULED", "content": "you count requests"})
    while r.status_code != 429:
        r = c.post("/v1/agents", json={"name": "x", "mode": "SCHEDULED", "content": "you count requests"})
    check_refusal(r, "events")
    # Every limited path is now refused for this principal, in its own dialect.
    check_refusal(c.post("/jobs/submit", json={"tool": "echo", "arguments": {}}), "corex")
    check_refusal(c.post("/api/v1/tools/echo/execute", json={"arguments": {}}), "vex")


def test_errors_on_a_limited_path_count_and_carry_the_headers(rl):
    """Invalid requests count too (they cost a request) and their answers carry the headers."""
    c = rl.client(plan="free")
    r = c.post("/jobs/submit", json={"tool": "no-such-tool", "arguments": {}})
    assert r.status_code == 404 and check_headers(r) == FREE - 1
    r = c.post("/api/v1/agents", json={"name": "", "role": "x"})
    assert r.status_code in (400, 422) and check_headers(r) == FREE - 2
    r = c.post("/api/v1/agents/%s/execute" % "00000000-0000-7000-8000-000000000000", json={"prompt": "x"})
    assert r.status_code == 404 and check_headers(r) == FREE - 3
    # A refused request does not read the body: a huge one is dropped and still answered 429.
    for _ in range(FREE):
        r = c.post("/api/v1/tools/echo/execute", data=b"{" * 500000, headers={"Content-Type": "application/json"})
        if r.status_code == 429:
            break
    check_refusal(r, "vex")
    assert rl.db_query("SELECT count(*) AS n FROM jobs WHERE owner = ?", (c.sub,))[0]["n"] == 0


def test_one_principals_exhaustion_limits_no_other(rl):
    a, b = rl.client(plan="free"), rl.client(plan="free")
    r = a.post("/jobs/submit", json={"tool": "echo", "arguments": {}})
    while r.status_code != 429:
        r = a.post("/jobs/submit", json={"tool": "echo", "arguments": {}})
    # b, also on the free plan, has its whole allowance.
    r = b.post("/jobs/submit", json={"tool": "echo", "arguments": {}})
    assert r.status_code == 200 and check_headers(r) == FREE - 1
    # An API key of another owner on the pro plan has the pro limit.
    k = vexit.KeyClient(rl, plan="pro")
    r = k.post("/api/v1/tools/echo/execute", json={"arguments": {}})
    assert r.status_code == 200 and r.headers["X-RateLimit-Limit"] == str(vexit.PLAN_RATES["pro"])
    assert int(r.headers["X-RateLimit-Remaining"]) == vexit.PLAN_RATES["pro"] - 1
    # a is still refused: b's and k's requests did not touch a's allowance.
    check_refusal(a.post("/jobs/submit", json={"tool": "echo", "arguments": {}}), "corex")


def test_concurrent_requests_admit_exactly_the_limit(rl):
    """Twenty requests at once from one principal over the pool's workers: the limit, not more."""
    c = rl.client(plan="free")
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as ex:
        rs = list(ex.map(lambda _: c.post("/api/v1/tools/echo/execute", json={"arguments": {}}), range(2 * FREE)))
    codes = sorted(r.status_code for r in rs)
    ok = codes.count(200)
    assert set(codes) == {200, 429}, codes
    # One more per 6 s may be earned while they run; never the 20 the limiter used to let through.
    assert FREE <= ok <= FREE + 1, codes
    assert rl.db_query("SELECT count(*) AS n FROM jobs WHERE owner = ?", (c.sub,))[0]["n"] == ok


@pytest.mark.parametrize("fresh_svc", [{"rates": "default"}], indirect=True)
def test_memcached_down_fails_open(fresh_svc):
    svc = fresh_svc
    c = svc.client(plan="free")
    agent = _agent_id(c)
    svc.stop_memcached()
    for i in range(FREE + 5):
        for r in (c.post("/jobs/submit", json={"tool": "echo", "arguments": {}}),
                  c.post("/api/v1/agents/%s/execute" % agent, json={"prompt": "x"})):
            assert r.status_code == 200, (i, r.text)
            assert r.headers["X-RateLimit-Limit"] == str(FREE) and r.headers["X-RateLimit-Remaining"] == str(FREE - 1)
    assert svc.db_query("SELECT count(*) AS n FROM jobs WHERE owner = ?", (c.sub,))[0]["n"] == 2 * (FREE + 5)


def test_nginx_flood_guard_429_in_each_dialect(rl):
    """nginx's limit_req (per address and per credential) answers before vex-api: Retry-After and JSON in the
    error shape of the path's dialect, with the request id where the dialect has one."""
    base = rl.start_low_rate_nginx(rate=1, burst=1)
    c = rl.client(plan="enterprise")
    cases = [("GET", "/api/v1/agents", "vex"), ("GET", "/v1/agents", "events"), ("GET", "/jobs", "corex"),
             ("POST", "/jobs/submit", "corex"), ("POST", "/api/v1/tools/echo/execute", "vex")]
    for method, path, dialect in cases:
        def hit(i):
            kw = {"json": {"tool": "echo", "arguments": {}}} if method == "POST" else {}
            return rl.request(method, path, base=base, headers=c.headers({"X-Request-ID": "flood-%d" % i}), **kw)

        with concurrent.futures.ThreadPoolExecutor(max_workers=6) as ex:
            rs = list(ex.map(hit, range(12)))
        limited = [r for r in rs if r.status_code == 429]
        assert limited, (path, [r.status_code for r in rs])
        for r in limited:
            body = assert_json(r)
            err = body["error"]
            assert err["code"] == "RATE_LIMIT_EXCEEDED" and err["message"], body
            assert r.headers["Retry-After"] == "1", dict(r.headers)
            # nginx's refusal, not vex-api's: no X-RateLimit-* headers.
            assert "X-RateLimit-Limit" not in r.headers
            if dialect == "corex":
                assert set(err) == {"code", "message"}, body
            else:
                assert set(err) == {"code", "message", "request_id"}, body
                assert err["request_id"] == r.headers["X-Request-ID"] and err["request_id"].startswith("flood-")
    # An X-Request-ID vex would not accept is replaced by nginx's own id, never echoed into the body.
    rs = [rl.request("GET", "/api/v1/agents", base=base, headers=c.headers({"X-Request-ID": "bad id\"}"}))
          for _ in range(6)]
    for r in (r for r in rs if r.status_code == 429):
        rid = assert_json(r)["error"]["request_id"]
        assert rid == r.headers["X-Request-ID"] and '"' not in rid and " " not in rid
