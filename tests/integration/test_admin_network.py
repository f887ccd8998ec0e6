# test_admin_network.py - the admin execute endpoint answers only from the networks the operator allows.
import pytest

import vexit


@pytest.fixture(scope="module")
def svc(request, tls):
    s = vexit.Service(tls)
    # Only a documentation address (RFC 5737) may call /execute_tool: the tests' loopback may not.
    s.nginx_env = {"VEX_ADMIN_ALLOW": "192.0.2.1"}
    request.addfinalizer(s.stop)
    s.start()
    return s


def test_an_admin_from_another_network_is_refused_and_nothing_runs(svc):
    admin = svc.client(role="admin")
    before = svc.count("jobs")
    r = admin.post("/execute_tool", json={"tool": "echo", "arguments": {"a": 1}})
    assert r.status_code == 403, r.text
    body = vexit.assert_json(r)
    assert body == {"error": {"code": "FORBIDDEN", "message": "not allowed from this network"}}
    assert svc.count("jobs") == before
    # The rest of the API is not behind the allow-list: the same admin queues the same tool.
    assert admin.post("/jobs/submit", json={"tool": "echo", "arguments": {"a": 1}}).status_code == 200


def test_without_a_credential_from_another_network_it_is_still_403_not_401(svc):
    # The network check comes first: a caller outside learns nothing about credentials.
    r = svc.request("POST", "/execute_tool", json={"tool": "echo", "arguments": {}})
    assert r.status_code == 403
    assert vexit.assert_json(r)["error"]["code"] == "FORBIDDEN"
