# conftest.py - pytest fixtures: TLS material, the fake model endpoint, module- and function-scoped vex services,
# log tails on failure.
import os
import tempfile
import shutil

import sys

import pytest

import vexit

sys.path.insert(0, os.path.join(vexit.REPO, "tests", "fixtures"))
from fake_openai import FakeOpenAI  # noqa: E402


def pytest_configure(config):
    missing = [p for p in ("vex-api", "vex-runner", "vexctl") if not os.access(os.path.join(vexit.BUILD, p), os.X_OK)]
    if missing:
        raise pytest.UsageError("VEX_BUILD=%s lacks %s (run make first)" % (vexit.BUILD, ", ".join(missing)))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On any failure, attach the tails of every live service's logs to the report."""
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        for svc in vexit.ACTIVE:
            svc.failed = True
            rep.sections.append(("server logs (%s)" % rep.when, svc.log_tails()))


@pytest.fixture(scope="module")
def fake():
    """The scripted OpenAI-compatible model endpoint (tests/fixtures/fake_openai.py), one per module."""
    f = FakeOpenAI().start()
    yield f
    f.stop()


@pytest.fixture(scope="session")
def tls():
    d = tempfile.mkdtemp(prefix="vex-it-tls-")
    yield vexit.gen_cert(d)
    shutil.rmtree(d, ignore_errors=True)


def _service(request, tls, **kw):
    svc = vexit.Service(tls, **kw)
    request.addfinalizer(svc.stop)
    svc.start()
    return svc


@pytest.fixture(scope="module")
def svc(request, tls):
    """One service shared by the tests of a module (they never kill anything)."""
    return _service(request, tls)


@pytest.fixture
def fresh_svc(request, tls):
    """A service of one's own, for tests that stop or kill its parts."""
    params = getattr(request, "param", None) or {}
    return _service(request, tls, **params)
