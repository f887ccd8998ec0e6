# vexwire.py - what a caller sees on the wire, independent of the C code: JWTs, RFC 3339 times, error bodies.
import base64
import datetime
import hashlib
import hmac
import json
import re
import time
import uuid

RFC3339_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def is_rfc3339(s):
    if not isinstance(s, str) or not RFC3339_RE.match(s):
        return False
    try:
        datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def parse_rfc3339(s):
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


# ---- JWT, independent of the C code ----

def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def mint(secret, claims, header=None, digest=hashlib.sha256, sign=True):
    """Compact JWS over "claims" (dict, dumped as is) signed with HMAC-"digest"."""
    if header is None:
        header = {"alg": "HS256", "typ": "JWT"}
    if isinstance(secret, str):
        secret = secret.encode()
    h = b64url(json.dumps(header, separators=(",", ":")).encode())
    p = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = (h + "." + p).encode()
    sig = b64url(hmac.new(secret, signing_input, digest).digest()) if sign else ""
    return h + "." + p + "." + sig


def claims_for(sub, role="user", plan=None, ttl=3600, now=None):
    now = int(time.time()) if now is None else now
    c = {"sub": sub, "role": role, "iss": "vex-api", "iat": now, "exp": now + ttl}
    if plan:
        c["plan"] = plan
    return c


def new_sub():
    return "it-" + uuid.uuid4().hex[:12]


def assert_json(r):
    ct = r.headers.get("Content-Type", "")
    assert ct.split(";")[0].strip() == "application/json", "Content-Type %r for %d: %r" % (ct, r.status_code, r.text[:300])
    return r.json()


def assert_error(r, status, code, field=None, message=None):
    """A vex error body: {"error":{"code","message","field"?,"request_id"}}; returns the error object."""
    assert r.status_code == status, "wanted %d %s, got %d: %s" % (status, code, r.status_code, r.text[:500])
    body = assert_json(r)
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    err = body["error"]
    assert err.get("code") == code, body
    assert isinstance(err.get("message"), str) and err["message"], body
    if message is not None:
        assert err["message"] == message, body
    if field is not None:
        assert err.get("field") == field, body
    return err


def assert_api_error(r, status, code, field=None, message=None):
    """An error answered by vex-api itself: also carries request_id == X-Request-ID."""
    err = assert_error(r, status, code, field, message)
    assert isinstance(err.get("request_id"), str) and err["request_id"], err
    assert r.headers.get("X-Request-ID") == err["request_id"], (dict(r.headers), err)
    return err
