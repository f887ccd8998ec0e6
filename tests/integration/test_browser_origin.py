# test_browser_origin.py - a browser agent's baseUrl must lead to a public address: every private form is
# refused at create and at patch (events dialect), with the field named and nothing stored, unless
# [browser] allow_private (shown by test_browser_agent.py, whose agents browse pages on loopback).
import pytest

import vexit
from vexit import KeyClient, assert_api_error, assert_json

PRIVATE = [
    "http://169.254.169.254/latest/meta-data/",       # cloud metadata (link-local)
    "http://[fd00:ec2::254]/latest/meta-data/",       # AWS metadata over IPv6 (unique local)
    "http://127.0.0.1:11211/",                        # loopback: memcached's port
    "http://127.0.0.1:%d/",                           # loopback: this test's own memcached
    "http://localhost:8080/",
    "http://app.localhost/",
    "http://10.0.0.1/", "http://172.16.5.4/", "http://192.168.1.1/", "http://100.64.0.1/",
    "http://0.0.0.0:8080/",
    "http://[::1]/", "http://[::]/", "http://[fe80::1]/",
    "http://[::ffff:127.0.0.1]/",                     # IPv4-mapped
    "http://[::ffff:7f00:1]:8080/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::127.0.0.1]/",                          # IPv4-compatible
    "http://[64:ff9b::127.0.0.1]/",                   # NAT64
    "http://[64:ff9b::a9fe:a9fe]/",
    "http://[2002:7f00:1::1]/",                       # 6to4 around loopback
    "http://[2002:a9fe:a9fe::]/",
    "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",  # Teredo
    "https://127.0.0.1/",
]
# Refused whatever the setting: numeric tricks a resolver reads as an address, user info, other schemes.
MALFORMED = [
    "http://127.1/", "http://2130706433/", "http://0x7f.0.0.1/", "http://0177.0.0.1/",
    "http://example.com@127.0.0.1/", "http://user:pw@example.com/", "ftp://example.com/",
    "file:///etc/passwd", "javascript:alert(1)",
]


def hosts_names_for_loopback():
    """Names /etc/hosts maps to 127.x (resolved without DNS): a name resolving to loopback is refused too."""
    names = []
    try:
        with open("/etc/hosts") as f:
            for line in f:
                parts = line.split("#")[0].split()
                if len(parts) >= 2 and parts[0].startswith("127."):
                    names += [n for n in parts[1:] if n != "localhost" and not n.endswith(".localhost")]
    except OSError:
        pass
    return names[:2]


def body(base_url):
    return {"name": "browser agent", "baseUrl": base_url, "mode": "SCHEDULED", "content": "Read the page.",
            "schedule": {"tasksPerDay": 1, "times": ["09:00"]}}


def urls(svc):
    return [u % svc.mc_port if "%d" in u else u for u in PRIVATE] + \
        ["http://%s:8080/" % n for n in hosts_names_for_loopback()]


def test_create_refuses_private_base_urls(svc):
    c = KeyClient(svc)
    before = svc.counts()
    for u in urls(svc) + MALFORMED:
        err = assert_api_error(c.post("/v1/agents", json=body(u)), 400, "VALIDATION_ERROR", field="baseUrl")
        assert "baseUrl" in err["message"], (u, err)
    for u in urls(svc):
        r = c.post("/v1/agents", json=body(u))
        assert "[browser] allow_private" in r.json()["error"]["message"], (u, r.text)
    assert svc.counts() == before, "nothing stored for a refused baseUrl"


def test_patch_refuses_private_base_urls(svc):
    c = KeyClient(svc)
    r = c.post("/v1/agents", json=body("https://example.com/start"))
    assert r.status_code == 201, r.text
    aid = assert_json(r)["data"]["id"]
    row = svc.db_query("SELECT base_url, updated_at FROM agents WHERE id = ?", (aid,))[0]
    for u in urls(svc) + MALFORMED:
        assert_api_error(c.patch("/v1/agents/" + aid, json={"baseUrl": u}), 400, "VALIDATION_ERROR", field="baseUrl")
    assert svc.db_query("SELECT base_url, updated_at FROM agents WHERE id = ?", (aid,))[0] == row
    # a public address (or a name that does not resolve here: the runner checks it again) is kept
    r = c.patch("/v1/agents/" + aid, json={"baseUrl": "https://93.184.215.14/x#top"})
    assert r.status_code == 200, r.text
    assert svc.db_query("SELECT base_url FROM agents WHERE id = ?", (aid,))[0]["base_url"] == "https://93.184.215.14/x#top"
    # other fields of an agent can change without naming baseUrl
    assert c.patch("/v1/agents/" + aid, json={"name": "renamed"}).status_code == 200
