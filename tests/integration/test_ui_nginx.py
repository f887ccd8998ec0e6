# test_ui_nginx.py - nginx serves the web console at /ui/ (docs/dashboard.md): headers, deep links, the / redirect,
# nothing outside ui/ readable, and the console's sources free of markup sinks and other origins.
import os
import re

import pytest

import vexit

UI = os.path.join(vexit.REPO, "ui")
STATIC = "the console's static files are not API endpoints"
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


def index_text():
    with open(os.path.join(UI, "index.html"), encoding="utf-8") as f:
        return f.read()


def assert_console_headers(r):
    h = r.headers
    assert h.get("Content-Security-Policy") == CSP, dict(h)
    assert h.get("X-Content-Type-Options") == "nosniff", dict(h)
    assert h.get("Strict-Transport-Security", "").startswith("max-age="), dict(h)
    assert h.get("X-Frame-Options") == "DENY", dict(h)
    assert h.get("Referrer-Policy") == "no-referrer", dict(h)
    assert h.get("Cache-Control") == "no-cache", dict(h)


def test_index_and_assets_with_their_types_and_headers(svc):
    r = svc.get("/ui/", unchecked=STATIC)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html"), r.headers
    assert r.text == index_text()
    assert_console_headers(r)
    for path, ctype in (("/ui/app.js", "text/javascript"), ("/ui/lib/api.js", "text/javascript"),
                        ("/ui/lib/dom.js", "text/javascript"), ("/ui/lib/router.js", "text/javascript"),
                        ("/ui/app.css", "text/css")):
        r = svc.get(path, unchecked=STATIC)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith(ctype), (path, r.headers)
        assert_console_headers(r)
        with open(os.path.join(vexit.REPO, path.lstrip("/")), "rb") as f:
            assert r.content == f.read(), path


def test_deep_links_answer_index_html(svc):
    for path in ("/ui/jobs", "/ui/jobs/0190a000-0000-7000-8000-000000000000", "/ui/agents/x", "/ui/keys",
                 "/ui/no/such/page", "/ui/views/", "/ui/lib", "/ui/jobs?status=failed"):
        r = svc.get(path, unchecked=STATIC)
        assert r.status_code == 200, path
        assert r.headers["Content-Type"].startswith("text/html"), path
        assert r.text == index_text(), path
        assert_console_headers(r)


def test_root_redirects_to_the_console(svc):
    for method in ("GET", "HEAD"):
        r = svc.request(method, "/", unchecked="nginx's redirect")
        assert r.status_code == 302, (method, r.status_code)
        assert r.headers["Location"] == "/ui/", r.headers
    r = svc.get("/ui", unchecked="nginx's redirect")
    assert r.status_code == 301 and r.headers["Location"] == "/ui/", r.headers
    # Other paths outside the API keep their JSON 404.
    vexit.assert_error(svc.get("/nope"), 404, "NOT_FOUND")


def raw_get(svc, target):
    """A GET whose request target is sent exactly as given (no client-side normalisation)."""
    import http.client
    import ssl
    ctx = ssl.create_default_context(cafile=svc.cert)
    conn = http.client.HTTPSConnection("localhost", svc.https_port, context=ctx, timeout=vexit.HTTP_TIMEOUT)
    try:
        conn.putrequest("GET", target, skip_accept_encoding=True)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def test_nothing_outside_ui_is_readable(svc):
    with open(os.path.join(vexit.REPO, "nginx", "nginx.conf.in"), "rb") as f:
        secret_like = f.read()
    for target in ("/ui/../nginx/nginx.conf.in", "/ui/%2e%2e/nginx/nginx.conf.in", "/ui/%2E%2E/nginx/nginx.conf.in",
                   "/ui/..%2fnginx/nginx.conf.in", "/ui/%2e%2e%2fnginx%2fnginx.conf.in",
                   "/ui/lib/../../nginx/nginx.conf.in", "/ui//../nginx/nginx.conf.in",
                   "/ui/..%5cnginx/nginx.conf.in", "/ui../nginx/nginx.conf.in"):
        status, body = raw_get(svc, target)
        assert body != secret_like, target
        assert b"nginx.conf.in - the vex front door" not in body, target


@pytest.fixture
def ui_link(svc):
    """A symlink inside a copy of ui/ pointing outside it, served by its own nginx."""
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="vex-it-ui-")
    os.chmod(d, 0o755)
    root = os.path.join(d, "ui")
    shutil.copytree(UI, root)
    outside = os.path.join(d, "outside.txt")
    with open(outside, "w") as f:
        f.write("outside the console root\n")
    os.chmod(outside, 0o644)
    os.symlink(outside, os.path.join(root, "link.txt"))
    os.symlink("/etc", os.path.join(root, "etc"))
    svc.nginx_env["VEX_UI_ROOT"] = root
    try:
        base = svc.start_low_rate_nginx(rate=1000, burst=1000)
    finally:
        svc.nginx_env.pop("VEX_UI_ROOT", None)
    yield base
    shutil.rmtree(d, ignore_errors=True)


def test_symlinks_below_the_root_are_not_followed(svc, ui_link):
    r = svc.get("/ui/app.js", base=ui_link, unchecked=STATIC)
    assert r.status_code == 200  # the copy is served
    for path in ("/ui/link.txt", "/ui/etc/hostname", "/ui/etc/passwd"):
        r = svc.get(path, base=ui_link, unchecked=STATIC)
        assert b"outside the console root" not in r.content, path
        assert b"root:x:0:0" not in r.content, path


SINKS = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\s*\(|new\s+Function\b|"
                   r"setTimeout\s*\(\s*['\"`]|setInterval\s*\(\s*['\"`]")
ORIGIN = re.compile(r"\b(?:https?|wss?):(?://|\\/\\/)", re.I)
# XML namespace names are identifiers, not places the browser goes.
NAMESPACES = ("http://www.w3.org/2000/svg",)


def console_sources():
    for dirpath, _dirs, files in os.walk(UI):
        for name in files:
            yield os.path.join(dirpath, name)


def test_console_sources_have_no_markup_sinks_and_name_no_other_origin():
    found = []
    for path in console_sources():
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for i, line in enumerate(text.splitlines(), 1):
            where = "%s:%d" % (os.path.relpath(path, vexit.REPO), i)
            if SINKS.search(line):
                found.append("sink at %s: %s" % (where, line.strip()))
            for ns in NAMESPACES:
                line = line.replace(ns, "")
            if ORIGIN.search(line):
                found.append("other origin at %s: %s" % (where, line.strip()))
        if path.endswith(".html"):
            assert not re.search(r"<script(?![^>]*\bsrc=\"/ui/)", text), "inline script in " + path
            assert " style=" not in text and "<style" not in text, "inline style in " + path
    assert not found, "\n".join(found)


def test_render_refuses_a_console_root_it_cannot_use(tmp_path):
    import subprocess
    env = {k: v for k, v in os.environ.items() if not k.startswith("VEX_")}
    env["VEX_HOME"] = str(tmp_path)
    out = str(tmp_path / "n.conf")

    def render(root):
        env["VEX_UI_ROOT"] = root
        return subprocess.run([os.path.join(vexit.REPO, "tools", "render-nginx"), out], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)

    os.mkdir(str(tmp_path / "empty"))
    r = render(str(tmp_path / "empty"))
    assert r.returncode == 2 and b"VEX_UI_ROOT: no readable index.html" in r.stdout, r.stdout
    # Values that would end or open an nginx directive never reach the file.
    for name in ("with space", "semi;colon", "brace{"):
        d = tmp_path / name
        os.mkdir(str(d))
        (d / "index.html").write_text("x")
        r = render(str(d))
        assert r.returncode == 2, (name, r.stdout)
    assert not os.path.exists(out)
