# test_docs.py - the docs run: every ```sh / ```bash block of README.md and docs/*.md, in page order,
# one bash per page (set -euo pipefail) against a real service, with the variables of the docs'
# conventions exported (docs/README of names: README.md, "Shell variables of the examples").
#
# Directives, on the lines right above a block's fence (blank lines between allowed):
#   <!-- docs-test: skip (reason) -->   the block is not run; each skip is reported with page, line
#                                       and reason (a pytest skip: `-rs` in pytest.ini lists them)
#   <!-- docs-test: expect TEXT -->     the block's output must contain TEXT (JSON spacing ignored:
#                                       `"status": "completed"` matches `"status":"completed"`)
# A block's output must show no error answer ({"error":{"code":"X"…}}, curl -s exits 0 on a 4xx)
# unless one of its expects names X: a block showing an error on purpose expects it.
# Anything else after `docs-test:` fails the lint test, so a typo cannot hide a block.
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile

import pytest

import vexit

PAGES = ["README.md"] + sorted("docs/" + f for f in os.listdir(os.path.join(vexit.REPO, "docs")) if f.endswith(".md"))
FENCE_RE = re.compile(r"^( *)```\s*([A-Za-z0-9_+-]*)\s*$")
DIRECTIVE_RE = re.compile(r"^\s*<!--\s*docs-test:\s*(.*?)\s*-->\s*$")
SKIP_RE = re.compile(r"^skip \((.+)\)$")
EXPECT_RE = re.compile(r"^expect (.+)$")
RUN_LANGS = ("sh", "bash")
# Names the docs no longer use (contracts: VEX_URL, CA, AUTH, KEY, TOKEN, JOB, HOOK; AUTH_ADMIN for an admin).
OLD_NAMES_RE = re.compile(r"\$\{?(URL|VEX|EXTERNAL_API_ENDPOINT|API_KEY|ADMIN_KEY|ADMIN_TOKEN|JOB_ID)\b")
# An error answer of any dialect ({"error":{"code":"X",…}}, or /execute_tool's {…,"status":"error","error":{…}});
# not a job's own "error" member. A block shows one only with an expect naming X.
ERROR_RE = re.compile(r'(?:\{|"status":"error",)"error":\{"code":"([A-Z_]+)"')
USER = "alice"
EVERYTHING = os.path.join(vexit.REPO, ".deps", "node_modules", "@modelcontextprotocol", "server-everything", "dist",
                          "index.js")
PAGE_TIMEOUT = 240


class Block:
    def __init__(self, page, line, lang, text, directives):
        self.page, self.line, self.lang, self.text = page, line, lang, text
        self.skip = None
        self.expect = []
        self.errors = []
        for dline, d in directives:
            m = SKIP_RE.match(d)
            e = EXPECT_RE.match(d)
            if m:
                self.skip = m.group(1)
            elif e:
                self.expect.append(e.group(1))
            else:
                self.errors.append("%s:%d: unknown docs-test directive %r (skip (reason) | expect TEXT)" %
                                   (page, dline, d))

    @property
    def where(self):
        return "%s:%d" % (self.page, self.line)


def parse(page):
    """(blocks, errors): every fenced block of "page" (runnable or not) with its directives."""
    with open(os.path.join(vexit.REPO, page), encoding="utf-8") as f:
        lines = f.read().split("\n")
    blocks, errors, pending = [], [], []
    i = 0
    while i < len(lines):
        line = lines[i]
        d = DIRECTIVE_RE.match(line)
        if d:
            pending.append((i + 1, d.group(1)))
            i += 1
            continue
        m = FENCE_RE.match(line)
        if not m:
            if line.strip() and pending:
                errors.append("%s:%d: docs-test directive not followed by a code block" % (page, pending[0][0]))
                pending = []
            i += 1
            continue
        indent, lang = len(m.group(1)), m.group(2).lower()
        start = i + 1
        body = []
        i += 1
        while i < len(lines) and not re.match(r"^ {0,%d}```\s*$" % indent, lines[i]):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        if i >= len(lines):
            errors.append("%s:%d: unterminated code block" % (page, start))
        i += 1
        b = Block(page, start, lang, "\n".join(body) + "\n", pending)
        if pending and lang not in RUN_LANGS:
            errors.append("%s:%d: docs-test directive on a ```%s block (only sh/bash blocks run)" % (page, start, lang))
        errors.extend(b.errors)
        pending = []
        blocks.append(b)
    if pending:
        errors.append("%s:%d: docs-test directive at the end of the page" % (page, pending[0][0]))
    return blocks, errors


def runnable(page):
    return [b for b in parse(page)[0] if b.lang in RUN_LANGS]


def squeeze(s):
    """JSON spacing out of the way for an expect: no blanks after ':' and ','."""
    return re.sub(r'([:,])\s+', r'\1', s)


RUN_PAGES = [p for p in PAGES if any(b.skip is None for b in runnable(p))]
SKIPPED = [b for p in PAGES for b in runnable(p) if b.skip is not None]


# ---- static checks: the conventions hold on every page ----

def test_docs_directives_well_formed():
    errors = [e for p in PAGES for e in parse(p)[1]]
    assert not errors, "\n".join(errors)


def test_docs_variable_names():
    """One set of names: no $URL/$VEX/$EXTERNAL_API_ENDPOINT/$API_KEY/$ADMIN_KEY anywhere, and every
    curl to $VEX_URL in a shell block passes --cacert "$CA"."""
    bad = []
    for p in PAGES + ["INSTALL.md"]:
        with open(os.path.join(vexit.REPO, p), encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if OLD_NAMES_RE.search(line):
                    bad.append("%s:%d: old variable name: %s" % (p, n, line.strip()))
    for p in PAGES:
        for b in runnable(p):
            cmd = b.text.replace("\\\n", " ")
            for n, line in enumerate(cmd.split("\n")):
                if re.search(r"\bcurl\b", line) and "$VEX_URL" in line and '--cacert "$CA"' not in line:
                    bad.append("%s (block line %d): curl without --cacert \"$CA\": %s" % (b.where, n + 1, line.strip()))
    assert not bad, "\n".join(bad)


def test_docs_readme_tour_is_run():
    """The README's quick start is run, not skipped, and checked: a job of it must show completed."""
    tour = [b for b in runnable("README.md") if b.skip is None]
    assert any('"status":"completed"' in e for b in tour for e in b.expect), [b.where for b in tour]
    assert any('"status":"healthy"' in e for b in tour for e in b.expect), [b.where for b in tour]


@pytest.mark.parametrize("where,reason", [(b.where, b.skip) for b in SKIPPED] or [("none", None)])
def test_docs_block_skipped(where, reason):
    """Every block marked skip, by name: `-rs` lists page, line and reason."""
    if reason is None:
        return
    pytest.skip("docs block %s not run: %s" % (where, reason))


# ---- the run ----

@pytest.fixture(scope="module")
def docs_svc(request, tls):
    """The service the pages run against: a module's own, with the pinned server-everything as MCP server
    "everything" granted to users (docs/tools.md's example, started by path rather than npx)."""
    assert os.path.exists(EVERYTHING), "server-everything is not installed (tools/install-deps installs it)"
    d, _ = vexit.tools_tmpdir(request, "vex-docs-mcp-")
    mcp = os.path.join(d, "mcp.json")
    with open(mcp, "w") as f:
        json.dump({"mcpServers": {"everything": {"command": "node", "args": [EVERYTHING, "stdio"],
                                                 "vex": {"grant": {"roles": ["user"]}}}}}, f)
    svc = vexit.Service(tls, runner_env={"VEX_TOOLS_MCP_FILE": mcp})
    request.addfinalizer(svc.stop)
    svc.start()
    # every page sees the same catalog: wait until the runner published the server's tools
    vexit.wait_for(lambda: svc.db_query("SELECT name FROM tools WHERE name = 'everything.get-sum'"), 60,
                   what="server-everything's tools in the catalog")
    return svc


@pytest.fixture(scope="module")
def docs_env(docs_svc):
    """A temporary directory laid out like a checkout after `make run` (the checkout's files, build/,
    var/tls/cert.pem, var/vex.conf, var/log/, var/nginx/logs/) and the environment every page's bash gets."""
    svc = docs_svc
    d = tempfile.mkdtemp(prefix="vex-docs-")
    os.symlink(vexit.BUILD, os.path.join(d, "build"))
    # the rest of the checkout (etc/, tools/, docs/ …), by symbolic link: pages read files of it
    for name in os.listdir(vexit.REPO):
        if name not in ("build", "var", ".git") and not name.startswith("build-"):
            os.symlink(os.path.join(vexit.REPO, name), os.path.join(d, name))
    os.makedirs(os.path.join(d, "var", "tls"))
    os.makedirs(os.path.join(d, "home"))
    ca = os.path.join(d, "var", "tls", "cert.pem")
    shutil.copy(svc.cert, ca)
    # make run's log places (docs/operations.md, Logs): the service's own logs
    os.symlink(svc.logs, os.path.join(d, "var", "log"))
    os.symlink(svc.nginx.prefix, os.path.join(d, "var", "nginx"))
    with open(os.path.join(d, "var", "vex.conf"), "w") as f:
        f.write("; docs test: the service's settings reach vexctl through the environment (VEX_*)\n")
    key = vexit.api_key(svc, owner=USER)
    token = svc.token(USER)
    env = svc.env({
        "HOME": os.path.join(d, "home"),
        "PATH": vexit.BUILD + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
        "VEX_URL": svc.base,
        "CA": ca,
        "TOKEN": token,
        "AUTH": "Authorization: Bearer " + token,
        "KEY": key,
        "AUTH_ADMIN": "Authorization: Bearer " + svc.token("ops", role="admin"),
    })
    yield d, env
    if not svc.failed and not os.environ.get("VEX_IT_KEEP"):
        shutil.rmtree(d, ignore_errors=True)


def driver(blocks, out):
    """One bash script for a page: each block in a { } group (variables it sets stay for the next),
    its output in <out>/<n>.out and, once it ended well, 0 in <n>.rc; set -e stops at a failure."""
    parts = ["set -euo pipefail\n"
             "trap 'echo \"docs-test: status $? from: $BASH_COMMAND\" >&2' ERR\n"]
    for n, b in enumerate(blocks):
        o = os.path.join(out, "%d" % n)
        parts.append("{\n%s\n} >'%s.out' 2>&1 </dev/null\necho 0 >'%s.rc'\n" % (b.text, o, o))
    return "".join(parts)


def failure(b, n, blocks, out, why):
    def read(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""
    output = read(os.path.join(out, "%d.out" % n))
    not_run = ", ".join(x.where for x in blocks[n + 1:]) or "none"
    return ("docs block %s (```%s) %s\n---- block ----\n%s---- output (last 60 lines; all in %s/%d.out) ----\n%s\n"
            "---- blocks of the page not run after it: %s" %
            (b.where, b.lang, why, b.text, out, n, "\n".join(output.splitlines()[-60:]), not_run))


@pytest.mark.parametrize("page", RUN_PAGES)
def test_docs_page_runs(page, docs_env):
    """The page's shell blocks run as one session against the service; each ends with status 0 and
    shows what its `expect` directives say."""
    d, env = docs_env
    blocks = [b for b in runnable(page) if b.skip is None]
    out = tempfile.mkdtemp(prefix="out-", dir=d)
    # A session of its own: what a block leaves running in the background ends with the page.
    p = subprocess.Popen(["bash", "-c", driver(blocks, out)], cwd=d, env=env, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        tail = p.communicate(timeout=PAGE_TIMEOUT * vexit.SLOW)[0].decode(errors="replace")
        rc = p.returncode
    except subprocess.TimeoutExpired:
        rc, tail = None, ""
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
    for n, b in enumerate(blocks):
        if not os.path.exists(os.path.join(out, "%d.rc" % n)):
            why = ("did not end within %d s" % (PAGE_TIMEOUT * vexit.SLOW) if rc is None
                   else "failed: bash exit status %d%s" % (rc, ("\n" + tail) if tail else ""))
            pytest.fail(failure(b, n, blocks, out, why), pytrace=False)
        with open(os.path.join(out, "%d.out" % n), encoding="utf-8", errors="replace") as f:
            shown = squeeze(f.read())
        for e in b.expect:
            if squeeze(e) not in shown:
                pytest.fail(failure(b, n, blocks, out, "ended well but its output lacks %r" % e), pytrace=False)
        for code in ERROR_RE.findall(shown):
            if not any(code in e for e in b.expect):
                pytest.fail(failure(b, n, blocks, out, "was answered an error %s (curl -s exits 0 on it); a block "
                                    "that means to show it says so: <!-- docs-test: expect \"code\":\"%s\" -->" %
                                    (code, code)), pytrace=False)
    assert rc == 0, tail
