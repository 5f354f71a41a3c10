"""Fixtures of the browser suite: a real `scanbridge serve` (SANE test backend) that allows one
demo origin, and static web servers on other local ports (the demo's origin, and an origin
that is not allowed), so CORS and preflights are real."""
import functools
import http.server
import importlib.util
import os
import shutil
import tempfile
import threading

import pytest
import requests

# The conformance suite's way of starting the service, loaded under its own module name.
_spec = importlib.util.spec_from_file_location(
    "scanbridge_conformance_fixtures", os.path.join(os.path.dirname(__file__), "..", "Conformance", "conftest.py"))
_conformance = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_conformance)
ROOT, free_ports = _conformance.ROOT, _conformance.free_ports
start_service, stop_service = _conformance.start_service, _conformance.stop_service

ARTIFACTS = os.path.join(ROOT, ".build", "artifacts")


class StaticSite:
    """A plain web server on 127.0.0.1 serving one folder, like any web application's server."""

    def __init__(self, folder, port):
        handler = functools.partial(QuietHandler, directory=folder)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.port = self.server.server_address[1]
        self.folder = folder
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def ports():
    """Ports of the allowed demo site and of a site that is not allowed."""
    allowed, refused = free_ports(2)
    return {"allowed": allowed, "refused": refused}


@pytest.fixture(scope="session")
def allowed_origin(ports):
    return f"http://localhost:{ports['allowed']}"


@pytest.fixture(scope="session")
def refused_origin(ports):
    return f"http://localhost:{ports['refused']}"


@pytest.fixture(scope="session")
def service(allowed_origin):
    assert os.environ.get("SANE_CONFIG_DIR"), "run through `make test`, which points SANE at its test backend"
    home = tempfile.mkdtemp(prefix="scanbridge-browser-")
    # The test scanner draws its colour pattern here (not solid black), so the screenshots and
    # the rotation show; the rest of its configuration is the suite's.
    sane = os.path.join(home, "sane.d")
    shutil.copytree(os.environ["SANE_CONFIG_DIR"], sane)
    with open(os.path.join(sane, "test.conf"), encoding="utf-8") as f:
        conf = f.read().replace('test-picture "Solid black"', 'test-picture "Color pattern"')
    with open(os.path.join(sane, "test.conf"), "w", encoding="utf-8") as f:
        f.write(conf)
    suite_sane = os.environ["SANE_CONFIG_DIR"]
    os.environ["SANE_CONFIG_DIR"] = sane
    try:
        running = start_service(home, ["--set", f"AllowedOrigins={allowed_origin}", "--set", "AllowedHosts=scanner.lan"])
    finally:
        os.environ["SANE_CONFIG_DIR"] = suite_sane
    yield running
    stop_service(running)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session")
def api(service):
    return service.http


@pytest.fixture(scope="session")
def page_base(service):
    return f"http://127.0.0.1:{service.service_port}"


@pytest.fixture(scope="session")
def sites(service, ports):
    """The demo page, as the service serves it, copied to two other origins."""
    folder = tempfile.mkdtemp(prefix="scanbridge-demo-site-")
    html = requests.get(f"http://127.0.0.1:{service.service_port}/demo", timeout=10).text
    with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as f:
        f.write(html)
    allowed = StaticSite(folder, ports["allowed"])
    refused = StaticSite(folder, ports["refused"])
    yield {"allowed": allowed, "refused": refused, "folder": folder}
    allowed.close()
    refused.close()
    shutil.rmtree(folder, ignore_errors=True)
