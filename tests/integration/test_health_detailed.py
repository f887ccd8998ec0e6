# test_health_detailed.py - /health/detailed: components up, degraded without memcached, runner down when its heartbeat ages.
import vexit
from vexit import is_rfc3339, wait_for


def _detailed(c):
    r = c.get("/health/detailed")
    body = r.json()
    return r.status_code, body


def test_health_detailed_components(fresh_svc):
    svc = fresh_svc
    c = svc.client()
    code, body = _detailed(c)
    assert code == 200, body
    assert body["status"] == "healthy" and body["version"] == "0.1.0" and body["db_type"] == vexit.DB_TYPE
    assert is_rfc3339(body["timestamp"])
    comp = body["components"]
    assert comp["database"]["status"] == "up" and isinstance(comp["database"]["latency_ms"], (int, float))
    assert comp["cache"]["status"] == "up" and isinstance(comp["cache"]["latency_ms"], (int, float))
    assert comp["runner"]["status"] == "up" and is_rfc3339(comp["runner"]["last_heartbeat"]), comp

    # memcached down -> degraded (still 200: the database answers).
    svc.stop_memcached()
    code, body = wait_for(lambda: (lambda cb: cb if cb[1].get("components", {}).get("cache", {}).get("status") == "down"
                                   else None)(_detailed(c)), 10, what="cache down")
    assert code == 200 and body["status"] == "degraded", body
    assert body["components"]["database"]["status"] == "up"
    assert body["components"]["runner"]["status"] == "up"

    # Runner stopped -> down once its heartbeat ages out.
    assert svc.runner.stop() == 0
    code, body = wait_for(lambda: (lambda cb: cb if cb[1]["components"]["runner"]["status"] == "down"
                                   else None)(_detailed(c)), 20, interval=0.5, what="runner down")
    assert code == 200 and body["status"] == "degraded", body
    hb = body["components"]["runner"]["last_heartbeat"]
    assert hb is None or is_rfc3339(hb)

    # Everything back -> healthy.
    svc.start_memcached()
    svc.start_runner()
    code, body = wait_for(lambda: (lambda cb: cb if cb[1]["status"] == "healthy" else None)(_detailed(c)), 20,
                          interval=0.5, what="healthy again")
    assert code == 200
    assert {k: v["status"] for k, v in body["components"].items()} == {"database": "up", "cache": "up",
                                                                        "runner": "up"}

