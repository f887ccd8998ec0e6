# test_operator_retry.py - POST /api/v1/jobs/{id}/retry and corex POST /jobs/{id}/retry: a failed, timed-out or
# canceled job becomes a new job with the same input that runs, linked both ways (both dialects, the database,
# the cached copy); every other case is refused (docs/api-vex.md, POST /api/v1/jobs/{id}/retry).
import uuid

import pytest

import vexit

ROLE = "You are a careful integration test agent"


@pytest.fixture(scope="module")
def svc(request, tls, fake):
    # A job's default timeout of 1.5 s (vex-api stamps it, the runner enforces it) and a model that may hang
    # longer: an agent job can time out, then succeed when retried.
    timeouts = {"VEX_RUNNER_DEFAULT_TIMEOUT_MS": "1500"}
    s = vexit.Service(tls, api_env=timeouts, runner_env=dict(timeouts, **{
        "VEX_MODEL_BASE_URL": fake.base_url,
        "VEX_MODEL_MODEL": "test-model",
        "VEX_MODEL_API_KEY_ENV": "FAKE_MODEL_KEY",
        "FAKE_MODEL_KEY": "sk-test-0123456789",
        "VEX_MODEL_TIMEOUT_MS": "10000",
        "VEX_MODEL_RETRIES": "0",
    }))
    request.addfinalizer(s.stop)
    s.start()
    return s


@pytest.fixture
def admin(svc):
    return svc.client(role="admin")


def retry(client, job_id, dialect="vex", headers=None):
    path = ("/api/v1/jobs/%s/retry" if dialect == "vex" else "/jobs/%s/retry") % job_id
    return client.post(path, headers=headers)


def retried(client, job_id, dialect="vex", headers=None):
    r = retry(client, job_id, dialect, headers)
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["retry_of"] == job_id and "retried_by" not in new, new
    assert r.headers["Location"] == ("/api/v1/jobs/" if dialect == "vex" else "/jobs/") + new["job_id"]
    return new


def check_links(svc, client, old_id, new_id):
    """Both links in both dialects (the old job's cached copy included) and in the database."""
    old = client.job(old_id)
    assert old["retried_by"] == new_id and "retry_of" not in old, old
    new = client.job(new_id)
    assert new["retry_of"] == old_id and "retried_by" not in new, new
    r = client.get("/jobs/" + old_id)
    assert r.status_code == 200 and r.json()["retried_by"] == new_id, r.text
    r = client.get("/jobs/" + new_id)
    assert r.status_code == 200 and r.json()["retry_of"] == old_id, r.text
    assert svc.db_job(old_id)["retried_by"] == new_id
    assert svc.db_job(new_id)["retry_of"] == old_id
    return old, new


def agent_job(client, fake, script, statuses):
    fake.set_script(script)
    a = client.create_agent(name="retry", role=ROLE, max_depth=2)
    ack = client.execute(a["id"], "say something")
    return client.wait_job(ack["job_id"], statuses, timeout=30)


def test_retry_failed_agent_job_runs_and_completes(svc, fake):
    c = svc.client()
    old = agent_job(c, fake, [{"status": 503, "body": "overloaded"}], ("failed",))
    # Read twice: the second read is served from the body the first one kept in memcached.
    assert c.job(old["job_id"]) == c.job(old["job_id"])
    fake.set_script([{"content": "fine now"}])
    new = retried(c, old["job_id"])
    assert new["status"] == "pending" and new["kind"] == "agent" and new["agent_id"] == old["agent_id"]
    done = c.wait_job(new["job_id"])
    assert done["result"]["response"] == "fine now"
    assert done["result"]["prompt"] == "say something"
    # The old job's cached copy shows the link at once: no wait.
    old_now, _ = check_links(svc, c, old["job_id"], new["job_id"])
    assert old_now["status"] == "failed"
    row_old, row_new = svc.db_job(old["job_id"]), svc.db_job(new["job_id"])
    for k in ("owner", "plan", "kind", "agent_id", "input_json", "priority", "timeout_ms", "max_attempts",
              "owner_role"):
        assert row_new[k] == row_old[k], k


def test_retry_timed_out_job_runs_and_completes(svc, fake):
    c = svc.client()
    old = agent_job(c, fake, [{"hang": 4}], ("timeout",))
    fake.set_script([{"content": "quick this time"}])
    new = retried(c, old["job_id"])
    done = c.wait_job(new["job_id"])
    assert done["result"]["response"] == "quick this time"
    check_links(svc, c, old["job_id"], new["job_id"])


def test_retry_canceled_tool_job_through_corex(svc, admin):
    c = svc.client()
    # Paused claiming keeps the job pending long enough to cancel it there.
    assert admin.post("/api/v1/tools/echo/pause").status_code == 200
    try:
        job_id = c.tool("echo", {"say": "again"}, timeout_ms=60000)
        r = c.post("/api/v1/jobs/%s/cancel" % job_id)
        assert r.status_code == 200 and r.json()["status"] == "canceled", r.text
    finally:
        assert admin.post("/api/v1/tools/echo/resume").status_code == 200
    new = retried(c, job_id, dialect="corex")
    # Queued (with its place) when answered, unless the runner was quicker: then as stored.
    assert new["tool"] == "echo" and (new["status"] != "queued" or new["position_in_queue"] >= 1), new
    done = c.wait_job(new["job_id"])
    assert done["result"] == {"say": "again"}
    check_links(svc, c, job_id, new["job_id"])
    assert svc.db_job(new["job_id"])["timeout_ms"] == 60000
    # Listings show the links too.
    r = c.get("/jobs?limit=100")
    assert r.status_code == 200
    listed = {j["job_id"]: j for j in r.json()["jobs"]}
    assert listed[job_id]["retried_by"] == new["job_id"] and listed[new["job_id"]]["retry_of"] == job_id


def test_retry_refused_for_completed_pending_and_running_jobs(svc, admin):
    c = svc.client()
    done = c.tool("echo", {})
    c.wait_job(done)
    running = c.tool("sleep", {"ms": 60000}, timeout_ms=120000)
    c.wait_job(running, ("running",))
    assert admin.post("/api/v1/tools/echo/pause").status_code == 200
    try:
        pending = c.tool("echo", {})
        for job_id, status in ((done, "completed"), (pending, "pending"), (running, "running")):
            before = svc.count("jobs")
            r = retry(c, job_id)
            assert r.status_code == 409, r.text
            err = r.json()["error"]
            assert err["code"] == "JOB_NOT_RETRYABLE", err
            r = retry(c, job_id, "corex")
            assert r.status_code == 409 and r.json()["error"]["code"] == "JOB_NOT_RETRYABLE", r.text
            assert svc.count("jobs") == before
            assert svc.db_job(job_id)["retried_by"] is None
    finally:
        assert admin.post("/api/v1/tools/echo/resume").status_code == 200
        c.post("/api/v1/jobs/%s/cancel" % running)


def test_retry_twice_is_refused_with_the_retry_named(svc):
    c = svc.client()
    old = c.tool("fail", {"message": "nope"})
    c.wait_job(old, ("failed",))
    first = retried(c, old)
    before = svc.count("jobs")
    for dialect in ("vex", "corex"):
        r = retry(c, old, dialect)
        assert r.status_code == 409, r.text
        err = r.json()["error"]
        assert err["code"] == "JOB_ALREADY_RETRIED" and err["details"] == {"retried_by": first["job_id"]}, err
    assert svc.count("jobs") == before
    # The retry of the retry is a retry of its own.
    c.wait_job(first["job_id"], ("failed",))
    second = retried(c, first["job_id"])
    assert svc.db_job(first["job_id"])["retried_by"] == second["job_id"]


def test_retry_of_another_owners_job_is_not_found(svc):
    owner, other = svc.client(), svc.client()
    job_id = owner.tool("fail", {})
    owner.wait_job(job_id, ("failed",))
    for path in ("/api/v1/jobs/%s/retry", "/jobs/%s/retry"):
        r = other.post(path % job_id)
        assert r.status_code == 404, r.text
    for bad in (str(uuid.uuid4()), "not-a-uuid", "x" * 300):
        assert retry(owner, bad).status_code == 404
        r = retry(owner, bad, "corex")
        assert r.status_code == 404 and r.json()["error"]["code"] == "JOB_NOT_FOUND", r.text
    assert svc.db_job(job_id)["retried_by"] is None


def test_admin_retries_any_job_and_it_stays_the_owners(svc, admin):
    owner = svc.client(plan="pro")
    job_id = owner.tool("fail", {})
    owner.wait_job(job_id, ("failed",))
    new = retried(admin, job_id)
    row = svc.db_job(new["job_id"])
    assert row["owner"] == owner.sub and row["plan"] == "pro" and row["owner_role"] == "user", row
    # The owner sees it; the admin sees it too.
    assert owner.job(new["job_id"])["retry_of"] == job_id
    assert owner.job(job_id)["retried_by"] == new["job_id"]


def test_retry_honours_idempotency_key_and_rejects_a_body(svc):
    c = svc.client()
    old = c.tool("fail", {})
    c.wait_job(old, ("failed",))
    key = {"Idempotency-Key": "retry-" + uuid.uuid4().hex}
    new = retried(c, old, headers=key)
    r = retry(c, old, headers=key)
    assert r.status_code == 200 and r.headers.get("Idempotent-Replayed") == "true", r.text
    assert r.json()["job_id"] == new["job_id"]
    assert len(svc.jobs_with_key(key["Idempotency-Key"])) == 1
    other = c.tool("fail", {})
    c.wait_job(other, ("failed",))
    r = retry(c, other, headers=key)  # the same key for another request
    assert r.status_code == 422 and r.json()["error"]["code"] == "IDEMPOTENCY_KEY_REUSED", r.text
    r = c.post("/api/v1/jobs/%s/retry" % other, json={"priority": 9})
    assert r.status_code == 400 and r.json()["error"]["field"] == "priority", r.text
    r = c.post("/api/v1/jobs/%s/retry" % other, data="{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "INVALID_JSON", r.text
    assert svc.db_job(other)["retried_by"] is None
