# test_tool_catalog.py - the tool catalog as vex-api serves it: rows written straight into the store (as a runner
# publishes them) are listed by both dialects, ranked by /retrieve_tools, resolved by bare name (or refused as
# ambiguous), and validate submitted arguments against their schemas before anything is stored.
import json
import time

import pytest

from vexit import assert_api_error, assert_json, wait_for

BUILTINS = ["echo", "sleep", "fail"]

RICH_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 2, "maxLength": 10, "pattern": "^[a-z]+$"},
        "count": {"type": "integer", "minimum": 1, "maximum": 5},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.25},
        "mode": {"enum": ["fast", "slow"]},
        "version": {"const": "v1"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 3, "uniqueItems": True},
        "opts": {"type": "object", "properties": {"depth": {"type": "integer"}}, "required": ["depth"],
                 "maxProperties": 2},
        "labels": {"type": "object", "minProperties": 1},
        "id": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
        "shape": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 10}]},
        "flag": {"type": ["boolean", "null"]},
        "nested": {"type": "array", "items": {"type": "object", "properties": {
            "b": {"type": "array", "items": {"type": "integer"}}}}},
    },
    "required": ["name"],
    "additionalProperties": False,
}

VALID = {"name": "abc", "count": 2, "ratio": 0.5, "mode": "fast", "version": "v1", "tags": ["a", "b"],
         "opts": {"depth": 1}, "labels": {"k": "v"}, "id": 7, "shape": 3, "flag": None, "nested": [{"b": [1, 2]}]}

# (arguments, the argument named, a piece of the message)
INVALID = [
    ({}, "name", "Missing required argument: name"),
    ({"name": "a"}, "name", "at least 2 characters"),
    ({"name": "abcdefghijk"}, "name", "at most 10 characters"),
    ({"name": "ABC"}, "name", "must match the pattern ^[a-z]+$"),
    ({"name": 5}, "name", "must be of type string"),
    ({"name": "abc", "count": 0}, "count", "must be at least 1"),
    ({"name": "abc", "count": 6}, "count", "must be at most 5"),
    ({"name": "abc", "count": "1"}, "count", "must be of type integer"),
    ({"name": "abc", "ratio": 0}, "ratio", "must be greater than 0"),
    ({"name": "abc", "ratio": 1}, "ratio", "must be less than 1"),
    ({"name": "abc", "ratio": 0.3}, "ratio", "must be a multiple of 0.25"),
    ({"name": "abc", "mode": "medium"}, "mode", 'is not one of the allowed values: "fast", "slow"'),
    ({"name": "abc", "version": "v2"}, "version", 'must be equal to "v1"'),
    ({"name": "abc", "tags": []}, "tags", "must have at least 1 items"),
    ({"name": "abc", "tags": ["a", "b", "c", "d"]}, "tags", "must have at most 3 items"),
    ({"name": "abc", "tags": ["a", "b", "a"]}, "tags", "items 0 and 2 are equal"),
    ({"name": "abc", "tags": ["a", 1]}, "tags[1]", "must be of type string"),
    ({"name": "abc", "opts": {}}, "opts.depth", "Missing required argument: opts.depth"),
    ({"name": "abc", "opts": {"depth": 1, "a": 1, "b": 2}}, "opts", "must have at most 2 properties"),
    ({"name": "abc", "opts": {"depth": "deep"}}, "opts.depth", "must be of type integer"),
    ({"name": "abc", "labels": {}}, "labels", "must have at least 1 properties"),
    ({"name": "abc", "id": True}, "id", "does not match any of the allowed schemas (anyOf)"),
    ({"name": "abc", "shape": 12}, "shape", "matches more than one of the allowed schemas (oneOf)"),
    ({"name": "abc", "shape": 1.5}, "shape", "does not match any of the allowed schemas (oneOf)"),
    ({"name": "abc", "flag": "yes"}, "flag", "must be of type boolean or null"),
    ({"name": "abc", "nested": [{"b": [1]}, {"b": [1, "x"]}]}, "nested[1].b[1]", "must be of type integer"),
    ({"name": "abc", "zzz": 1}, "zzz", "is not allowed (unknown property)"),
]

# name, short_name, server, source, description, schema
ROWS = [
    ("fx.add", "add", "fx", "mcp", "Adds two numbers",
     {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}, "required": ["a", "b"]}),
    ("fx.echo", "echo", "fx", "mcp", "Echoes the message back", {"type": "object"}),
    ("fx.rich", "rich", "fx", "mcp", "Exercises every validation keyword", RICH_SCHEMA),
    ("fx.search_files", "search_files", "fx", "mcp", "Search files by glob pattern",
     {"type": "object", "properties": {"glob": {"type": "string"}}}),
    ("fy.add", "add", "fy", "mcp", "Add a and b", {"type": "object"}),
    ("resize_image", "resize_image", None, "command", "Resize an image to the given width and height",
     {"type": "object", "properties": {"width": {"type": "integer", "minimum": 1}}, "required": ["width"]}),
]
ROW_NAMES = [r[0] for r in ROWS]


def publish(svc):
    """Write the catalog rows as a runner would (one transaction), replacing what is there."""
    svc.db_exec([("DELETE FROM tools", ())] +
                [("INSERT INTO tools(name, short_name, server, source, description, input_schema, updated_at,"
                  " grant_json) VALUES (?, ?, ?, ?, ?, ?, ?, '{\"roles\":[\"user\"]}')",
                  (n, s, srv, src, d, json.dumps(sch), int(time.time() * 1e6))) for n, s, srv, src, d, sch in ROWS])


@pytest.fixture(autouse=True)
def catalog(svc):
    # The runner publishes its own catalog at start (before its first heartbeat): write ours after that.
    wait_for(lambda: svc.count("runners") > 0, 30, what="runner heartbeat")
    publish(svc)
    return svc


def user(svc):
    return svc.client(plan="enterprise")


def corex_error(r, status, code):
    assert r.status_code == status, "wanted %d %s, got %d: %s" % (status, code, r.status_code, r.text[:500])
    err = assert_json(r)["error"]
    assert err["code"] == code, err
    return err


# ---- listings ----

def test_vex_listing(svc):
    r = user(svc).get("/api/v1/tools")
    assert r.status_code == 200, r.text
    body = assert_json(r)
    names = [t["name"] for t in body["tools"]]
    assert names == BUILTINS + ROW_NAMES, names
    assert body["total"] == len(names)
    by = {t["name"]: t for t in body["tools"]}
    for t in body["tools"]:
        assert set(t) == {"name", "source", "server", "description", "inputSchema", "input_schema"}, t
        assert t["inputSchema"] == t["input_schema"]
        assert isinstance(t["description"], str)
    assert by["echo"]["source"] == "builtin" and by["echo"]["server"] is None
    assert by["fx.rich"]["source"] == "mcp" and by["fx.rich"]["server"] == "fx"
    assert by["fx.rich"]["inputSchema"] == RICH_SCHEMA
    assert by["fx.rich"]["description"] == "Exercises every validation keyword"
    assert by["resize_image"]["source"] == "command" and by["resize_image"]["server"] is None


def test_vex_one_tool(svc):
    c = user(svc)
    for asked, name in (("fx.rich", "fx.rich"), ("rich", "fx.rich"), ("sleep", "sleep"), ("echo", "echo"),
                        ("fx.echo", "fx.echo"), ("resize_image", "resize_image")):
        r = c.get("/api/v1/tools/" + asked)
        assert r.status_code == 200, (asked, r.text)
        t = assert_json(r)
        assert t["name"] == name, (asked, t)
        assert set(t) == {"name", "source", "server", "description", "inputSchema", "input_schema"}
    assert c.get("/api/v1/tools/fx.add").json()["inputSchema"]["required"] == ["a", "b"]
    assert_api_error(c.get("/api/v1/tools/nope"), 404, "NOT_FOUND", message="tool not found")
    assert_api_error(c.get("/api/v1/tools/fz.add"), 404, "NOT_FOUND")
    assert_api_error(c.get("/api/v1/tools/add"), 400, "AMBIGUOUS_TOOL", field="tool",
                     message="add is ambiguous: fx.add, fy.add")


def test_corex_listing(svc):
    r = user(svc).get("/tools")
    assert r.status_code == 200, r.text
    body = assert_json(r)
    assert set(body) == {"tools", "total"}
    names = [t["name"] for t in body["tools"]]
    assert names == BUILTINS + ROW_NAMES
    assert body["total"] == len(names)
    for t in body["tools"]:
        assert set(t) == {"name", "source", "description", "inputSchema"}, t
        assert isinstance(t["inputSchema"], dict)
    by = {t["name"]: t for t in body["tools"]}
    assert by["sleep"]["source"] == "builtin" and by["sleep"]["inputSchema"]["type"] == "object"
    assert by["fy.add"]["source"] == "mcp"
    assert by["resize_image"]["source"] == "command"
    # a token is needed, as everywhere but /health
    assert svc.get("/tools").status_code == 401
    assert svc.get("/retrieve_tools?query=add").status_code == 401


def test_listing_follows_the_catalog(svc):
    """No copy is kept in vex-api: a new publication shows in the next answer."""
    c = user(svc)
    svc.db_exec([("DELETE FROM tools WHERE server = 'fy'", ())])
    names = [t["name"] for t in c.get("/tools").json()["tools"]]
    assert "fy.add" not in names and "fx.add" in names
    # "add" is no longer ambiguous
    assert c.get("/api/v1/tools/add").json()["name"] == "fx.add"


# ---- retrieve_tools ----

def retrieve(c, **params):
    r = c.get("/retrieve_tools", params=params)
    assert r.status_code == 200, r.text
    body = assert_json(r)
    assert set(body) == {"query", "tools", "total_tools_searched", "query_time_ms"}, body
    assert body["total_tools_searched"] == len(BUILTINS) + len(ROWS)
    assert isinstance(body["query_time_ms"], float) and body["query_time_ms"] >= 0
    for t in body["tools"]:
        assert set(t) == {"name", "source", "description", "inputSchema", "score"}, t
        assert 0 < t["score"] <= 1
    return body


def test_retrieve_ranking(svc):
    c = user(svc)
    body = retrieve(c, query="add")
    assert body["query"] == "add"
    assert [(t["name"], t["score"]) for t in body["tools"]] == [("fx.add", 1.0), ("fy.add", 1.0)]
    assert body["tools"][0]["inputSchema"]["required"] == ["a", "b"]
    assert body["tools"][0]["source"] == "mcp"
    # name match (3) + description match (1) out of 6
    body = retrieve(c, query="image width")
    assert [(t["name"], t["score"]) for t in body["tools"]] == [("resize_image", 0.6667)]
    # a name prefix (2 of 3)
    body = retrieve(c, query="sear")
    assert [(t["name"], t["score"]) for t in body["tools"]] == [("fx.search_files", 0.6667)]
    # a description word only (1 of 3)
    body = retrieve(c, query="glob")
    assert [(t["name"], t["score"]) for t in body["tools"]] == [("fx.search_files", 0.3333)]
    # ties by name: the builtin "echo" before "fx.echo"
    body = retrieve(c, query="ECHO")
    assert [t["name"] for t in body["tools"][:2]] == ["echo", "fx.echo"]
    assert body["tools"][0]["source"] == "builtin"
    # better matches first
    body = retrieve(c, query="add numbers")
    assert [(t["name"], t["score"]) for t in body["tools"]] == [("fx.add", 0.6667), ("fy.add", 0.5)]
    # nothing matches: an empty list
    assert retrieve(c, query="zebra")["tools"] == []


def test_retrieve_top_k(svc):
    c = user(svc)
    assert [t["name"] for t in retrieve(c, query="add", top_k=1)["tools"]] == ["fx.add"]
    # default 5
    many = retrieve(c, query="a e i o u s t r n")["tools"]
    assert len(many) == 5
    assert len(retrieve(c, query="a e i o u s t r n", top_k=50)["tools"]) == len(BUILTINS) + len(ROWS)
    scores = [t["score"] for t in many]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.parametrize("params,argument", [
    ({}, "query"),
    ({"query": ""}, "query"),
    ({"query": "x" * 501}, "query"),
    ({"query": "add", "top_k": "0"}, "top_k"),
    ({"query": "add", "top_k": "51"}, "top_k"),
    ({"query": "add", "top_k": "x"}, "top_k"),
    ({"query": "add", "top_k": "-1"}, "top_k"),
])
def test_retrieve_validation(svc, params, argument):
    r = user(svc).get("/retrieve_tools", params=params)
    err = corex_error(r, 400, "INVALID_PARAMETER")
    assert err["argument"] == argument, err


def test_retrieve_query_limits(svc):
    c = user(svc)
    assert retrieve(c, query="x" * 500)["tools"] == []
    # characters, not bytes
    assert retrieve(c, query="é" * 500)["query"] == "é" * 500


# ---- validation against the catalog's schemas ----

@pytest.mark.parametrize("args,argument,message", INVALID, ids=[a for _, a, _ in INVALID])
def test_submit_validation_corex(svc, args, argument, message):
    c = user(svc)
    before = svc.count("jobs")
    for tool in ("fx.rich", "rich"):
        r = c.post("/jobs/submit", json={"tool": tool, "arguments": args})
        err = corex_error(r, 400, "INVALID_ARGUMENTS")
        assert err["argument"] == argument, err
        assert message in err["message"], err
    assert svc.count("jobs") == before


@pytest.mark.parametrize("args,argument,message", INVALID, ids=[a for _, a, _ in INVALID])
def test_submit_validation_vex(svc, args, argument, message):
    c = user(svc)
    before = svc.count("jobs")
    r = c.post("/api/v1/tools/fx.rich/execute", json={"arguments": args})
    err = assert_api_error(r, 400, "INVALID_ARGUMENTS", field="arguments." + argument)
    assert message in err["message"], err
    assert svc.count("jobs") == before


def test_execute_tool_validation(svc):
    a = svc.client(role="admin", plan="enterprise")
    before = svc.count("jobs")
    r = a.post("/execute_tool", json={"tool": "rich", "arguments": {"name": "abc", "tags": ["a", 1]}})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == "error" and body["tool"] == "rich"
    assert body["error"]["code"] == "INVALID_ARGUMENTS" and body["error"]["argument"] == "tags[1]", body
    assert body["error"]["message"] == "Invalid argument: tags[1] must be of type string"
    r = a.post("/execute_tool", json={"tool": "resize_image", "arguments": {}})
    assert r.status_code == 400 and r.json()["error"]["argument"] == "width", r.text
    assert svc.count("jobs") == before


# ---- names ----

def test_ambiguous_name(svc):
    c = user(svc)
    before = svc.count("jobs")
    err = corex_error(c.post("/jobs/submit", json={"tool": "add", "arguments": {"a": 1, "b": 2}}), 400,
                      "AMBIGUOUS_TOOL")
    assert err["message"] == "add is ambiguous: fx.add, fy.add" and err["argument"] == "tool", err
    assert_api_error(c.post("/api/v1/tools/add/execute", json={"arguments": {}}), 400, "AMBIGUOUS_TOOL",
                     field="tool", message="add is ambiguous: fx.add, fy.add")
    r = svc.client(role="admin").post("/execute_tool", json={"tool": "add", "arguments": {}})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "AMBIGUOUS_TOOL" and r.json()["tool"] == "add"
    assert svc.count("jobs") == before
    # unknown names are still 404
    corex_error(c.post("/jobs/submit", json={"tool": "fz.add", "arguments": {}}), 404, "TOOL_NOT_FOUND")
    assert_api_error(c.post("/api/v1/tools/nope/execute", json={"arguments": {}}), 404, "NOT_FOUND")
    assert svc.count("jobs") == before


def test_full_name_stored(svc):
    c = user(svc)
    # corex, by bare name: the job holds the full name
    r = c.post("/jobs/submit", json={"tool": "rich", "arguments": VALID})
    assert r.status_code == 200, r.text
    ack = r.json()
    assert ack["tool"] == "fx.rich" and ack["status"] == "queued"
    assert c.get("/jobs/" + ack["job_id"]).json()["tool"] == "fx.rich"
    assert svc.db_job(ack["job_id"])["tool"] == "fx.rich"
    # vex, by full name and by bare name
    for asked in ("fx.add", "search_files"):
        args = {"a": 1, "b": 2} if asked == "fx.add" else {"glob": "*.c"}
        r = c.post("/api/v1/tools/%s/execute" % asked, json={"arguments": args})
        assert r.status_code == 200, r.text
        want = "fx.add" if asked == "fx.add" else "fx.search_files"
        assert r.json()["tool"] == want
        assert c.job(r.json()["job_id"])["tool"] == want
    # a builtin keeps its name; a catalog tool named like one never takes it
    r = c.post("/jobs/submit", json={"tool": "echo", "arguments": {"x": 1}})
    assert r.json()["tool"] == "echo"
    # no runner serves fx: the job fails there, named as stored
    job = wait_for(lambda: (lambda j: j if j["status"] == "failed" else None)(c.get("/jobs/" + ack["job_id"]).json()),
                   30, interval=0.1, what="fx.rich job to fail at the runner")
    assert job["tool"] == "fx.rich"
    assert job["error"]["code"] == "TOOL_NOT_FOUND", job


def test_execute_tool_full_name(svc):
    a = svc.client(role="admin", plan="enterprise")
    r = a.post("/execute_tool", json={"tool": "rich", "arguments": VALID, "timeout_ms": 20000})
    # the runner has no fx server: the job fails there, and the answer names the full tool
    assert r.status_code == 500, r.text
    body = r.json()
    assert body["tool"] == "fx.rich" and body["status"] == "error", body
    assert body["error"]["code"] == "EXECUTION_ERROR"
    assert body["error"]["details"]["tool_error_code"] == "TOOL_NOT_FOUND", body
