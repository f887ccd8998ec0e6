"""vexspec - every answer the integration suite receives, checked against the merged OpenAPI document.

The document is <VEX_BUILD>/openapi.json (tools/build-openapi; `make all` writes it). For each response:
the path (percent-decoded, query and trailing slash dropped, HEAD as GET) must match a path template of
the document and the method one of its operations; the status must be one the operation documents;
a JSON body must validate against the documented schema (OpenAPI 3.1 schemas are JSON Schema 2020-12;
$refs resolve inside the document); other bodies (event streams, 204) are checked by content type.
A path no template matches must be the documented catch-all 404, and a known path with another
method the documented 405 (components/responses NotFound and MethodNotAllowed); a CORS preflight
answered 204 by nginx is the CORS protocol, not an operation, and passes. Failures raise
SpecMismatch naming the request, the status and what the document says (docs/openapi.md)."""
import json
import os
import re
import urllib.parse

from jsonschema import Draft202012Validator, RefResolver
from jsonschema.exceptions import best_match

HERE = os.path.dirname(os.path.abspath(__file__))
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class SpecMismatch(AssertionError):
    """A response the OpenAPI document does not describe."""


def spec_path():
    build = os.environ.get("VEX_BUILD") or os.path.join(HERE, "..", "..", "build")
    return os.path.join(build, "openapi.json")


class Spec:
    def __init__(self, path):
        self.path = path
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        self.resolver = RefResolver("", self.doc)
        self.templates = []
        for tmpl, item in self.doc.get("paths", {}).items():
            parts = re.split(r"(\{[^/}]+\})", tmpl)
            rx = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
            nparams = sum(1 for p in parts if p.startswith("{"))
            self.templates.append((nparams, tmpl, re.compile("^" + rx + "$"), item))
        # a literal segment wins over a {param} one, as vex-api's router tables list them
        self.templates.sort(key=lambda t: (t[0], t[1]))
        self._validators = {}

    def deref(self, node):
        while isinstance(node, dict) and "$ref" in node:
            _, node = self.resolver.resolve(node["$ref"])
        return node

    def match(self, path):
        for _, tmpl, rx, item in self.templates:
            if rx.match(path):
                return tmpl, item
        return None, None

    def validator(self, schema):
        key = json.dumps(schema, sort_keys=True)
        v = self._validators.get(key)
        if v is None:
            v = Draft202012Validator(schema, resolver=self.resolver)
            self._validators[key] = v
        return v

    def check(self, method, url, status, content_type, body=None, streamed=False, preflight=False):
        """Raise SpecMismatch unless the answer "status" (with "content_type" and the bytes "body";
        "streamed": the body was not read) to "method url" is one the document describes.
        "preflight": the request was a CORS preflight (OPTIONS with Origin and
        Access-Control-Request-Method), which nginx answers 204 without a body for an allowed origin:
        the CORS protocol, not an operation (the document's info says so)."""
        where = "%s %s -> %d" % (method, url, status)
        if preflight and method.upper() == "OPTIONS" and status == 204:
            if body:
                raise SpecMismatch("OpenAPI: %s: a CORS preflight's 204 has no body, got %d bytes" % (where, len(body)))
            return
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        if len(path) > 1 and path.endswith("/"):
            path = path[:-1]
        m = "get" if method.upper() == "HEAD" else method.lower()
        tmpl, item = self.match(path)
        if item is None:
            if status != 404:
                raise SpecMismatch("OpenAPI (%s): %s: no path template matches %s, and only the catch-all 404 "
                                   "may answer there" % (self.path, where, path))
            resp = {"$ref": "#/components/responses/NotFound"}
        elif m not in item:
            if status not in (404, 405):
                raise SpecMismatch("OpenAPI (%s): %s: %s documents no %s (documented: %s), and only 405 may "
                                   "answer there" % (self.path, where, tmpl, m.upper(),
                                                     ", ".join(k.upper() for k in item if k in METHODS)))
            resp = {"$ref": "#/components/responses/%s" % ("NotFound" if status == 404 else "MethodNotAllowed")}
        else:
            responses = item[m].get("responses", {})
            resp = responses.get(str(status)) or responses.get("%dXX" % (status // 100)) or responses.get("default")
            if resp is None:
                raise SpecMismatch("OpenAPI (%s): %s: %s %s does not document status %d (documented: %s)"
                                   % (self.path, where, m.upper(), tmpl, status, ", ".join(sorted(responses))))
        resp = self.deref(resp)
        self._check_body(where, tmpl or "(catch-all)", resp, content_type, body, streamed, method.upper() == "HEAD")

    def _check_body(self, where, tmpl, resp, content_type, body, streamed, head):
        content = resp.get("content") or {}
        ct = (content_type or "").split(";")[0].strip().lower()
        if head:
            return
        if not content:
            if body:
                raise SpecMismatch("OpenAPI: %s: %s documents no body for this status, got %d bytes of %r"
                                   % (where, tmpl, len(body), ct))
            return
        if not streamed and not body:
            raise SpecMismatch("OpenAPI: %s: %s documents a body (%s) for this status, got none"
                               % (where, tmpl, ", ".join(content)))
        if ct not in content:
            raise SpecMismatch("OpenAPI: %s: %s documents %s, got Content-Type %r"
                               % (where, tmpl, ", ".join(content), content_type))
        schema = content[ct].get("schema")
        if streamed or ct != "application/json" or schema is None:
            return
        try:
            value = json.loads(body)
        except ValueError as e:
            raise SpecMismatch("OpenAPI: %s: the application/json body is not JSON (%s): %r"
                               % (where, e, body[:200]))
        err = best_match(self.validator(schema).iter_errors(value))
        if err is not None:
            raise SpecMismatch("OpenAPI: %s: the body does not match %s's schema: %s at %s (schema path %s)\n"
                               "body: %s" % (where, tmpl, err.message, "/".join(str(p) for p in err.absolute_path)
                                             or "(root)", "/".join(str(p) for p in err.absolute_schema_path),
                                             json.dumps(value)[:600]))


    def check_event(self, url, data):
        """Raise SpecMismatch unless "data" (one event's parsed data line) of the stream at "url"
        matches the `x-event-data` schema its 200 text/event-stream answer documents."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(url).path)
        tmpl, item = self.match(path)
        media = ((((item or {}).get("get") or {}).get("responses") or {}).get("200") or {}).get("content", {})
        schema = (media.get("text/event-stream") or {}).get("x-event-data")
        if schema is None:
            raise SpecMismatch("OpenAPI (%s): GET %s: no text/event-stream x-event-data schema documented"
                               % (self.path, path))
        err = best_match(self.validator(schema).iter_errors(data))
        if err is not None:
            raise SpecMismatch("OpenAPI: event of GET %s: the data does not match %s's x-event-data: %s at %s\n"
                               "data: %s" % (url, tmpl, err.message,
                                             "/".join(str(p) for p in err.absolute_path) or "(root)",
                                             json.dumps(data)[:600]))


_spec = None


def spec():
    """The document of the build under test, loaded once."""
    global _spec
    if _spec is None:
        _spec = Spec(spec_path())
    return _spec


def check_response(r, streamed=False):
    """Check one requests.Response (and the redirects it followed) against the document."""
    for h in list(r.history) + [r]:
        req = h.request
        body = None
        if not (streamed and h is r):
            body = h.content
        preflight = "Origin" in req.headers and "Access-Control-Request-Method" in req.headers
        spec().check(req.method, req.url, h.status_code, h.headers.get("Content-Type"), body,
                     streamed=streamed and h is r, preflight=preflight)
