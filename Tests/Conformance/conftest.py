"""A real `scanbridge serve` for the conformance suite: its own service folder, free ports on
127.0.0.1, the SANE test backend (SANE_CONFIG_DIR from `make test`)."""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVERS = os.path.join(ROOT, "Tests", "Servers")
BINARY = os.environ.get("SCANBRIDGE_BINARY", os.path.join(ROOT, ".build", "debug", "scanbridge"))


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class Service:
    process: subprocess.Popen
    home: str
    http_port: int
    https_port: int
    service_port: int
    ports: tuple

    @property
    def http(self):
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https(self):
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def ca(self):
        return os.path.join(self.home, "cert", "ca.pem")

    def log(self):
        with open(os.path.join(self.home, "log", "scanbridge.log"), encoding="utf-8", errors="replace") as f:
            return f.read()


def start_service(home, extra=(), ports=None):
    """Starts `scanbridge serve` on `home`; `ports` (dcp, dwt, dcp_tls, dwt_tls) reuses a
    previous run's ports, e.g. to restart after a crash."""
    dcp, dwt, dcp_tls, dwt_tls = ports or free_ports(4)
    args = [BINARY, "serve", "--home", home,
            "--set", f"Port_mp_0={dcp}", "--set", f"Port_mp_1={dwt}",
            "--set", f"SSLPort_mp_0={dcp_tls}", "--set", f"SSLPort_mp_1={dwt_tls}", *extra]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    service = Service(process, home, dwt, dwt_tls, dcp, (dcp, dwt, dcp_tls, dwt_tls))
    deadline = time.time() + 20
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"scanbridge exited with {process.returncode}")
        try:
            if requests.get(f"{service.http}/api/server/version", timeout=1).ok:
                return service
        except requests.RequestException:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("scanbridge did not answer within 20 s")


def stop_service(service):
    service.process.send_signal(signal.SIGTERM)
    try:
        assert service.process.wait(timeout=20) == 0, "serve did not exit cleanly"
    finally:
        if service.process.poll() is None:
            service.process.kill()


def listen_to_events(api, record, headers=None):
    """Reads `{api}/events` on a thread, calling `record(name, data)` for each event (data decoded
    from JSON); returns the stream, to close, once its `hello` has arrived."""
    stream = requests.get(f"{api}/events", headers=headers or {}, stream=True, timeout=120)
    assert stream.status_code == 200
    hello = threading.Event()

    def listen():
        name = None
        try:
            for line in stream.iter_lines(decode_unicode=True):
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:"):
                    if name == "hello":
                        hello.set()
                    record(name, json.loads(line.split(":", 1)[1]))
        except Exception:
            pass
    threading.Thread(target=listen, daemon=True).start()
    assert hello.wait(30), "no hello event"
    return stream


@pytest.fixture(scope="session")
def service():
    assert os.environ.get("SANE_CONFIG_DIR"), "run through `make test`, which points SANE at its test backend"
    home = tempfile.mkdtemp(prefix="scanbridge-conformance-")
    # test_errors binds jobs to these origins; browsers' origins must be allowed (AllowedOrigins).
    running = start_service(home, ["--set", "AllowedOrigins=https://app.example,https://evil.example"])
    yield running
    stop_service(running)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="session", params=["http", "https"])
def host(request, service):
    """The API root as DWT clients are given it, once over HTTP and once over HTTPS."""
    return service.http if request.param == "http" else service.https


@pytest.fixture()
def controller(service, host):
    from dynamsoftservice import ScannerController
    verify = service.ca if host.startswith("https") else True
    with ScannerController(verify=verify) as c:
        yield c


@pytest.fixture()
def receiver():
    """Tests/Servers/http_receiver.py on a free port: (process, port); each upload it receives is
    one JSON line on the process's stdout."""
    process = subprocess.Popen([sys.executable, "-u", os.path.join(SERVERS, "http_receiver.py")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = json.loads(process.stdout.readline())["port"]
    yield process, port
    process.stdin.close()
    process.wait(timeout=10)
