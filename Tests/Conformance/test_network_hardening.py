"""The real service against abusive clients and for the TLS it offers: error answers reach a
client that is still sending (lingering close), a trickling head gets 408 at its deadline, the
connection cap makes room for new clients, the local CA is name-constrained with a private key,
TLS 1.2 offers AEAD suites only, and every listener answers on ::1 as well."""
import os
import shutil
import socket
import ssl
import stat
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import start_service, stop_service

HEAD_TIMEOUT = 2
MAX_CONNECTIONS = 16


@pytest.fixture(scope="module")
def served():
    home = tempfile.mkdtemp(prefix="scanbridge-hardening-")
    running = start_service(home, ["--set", f"HTTPHeadTimeout={HEAD_TIMEOUT}", "--set", "HTTPMaxBodyMB=1",
                                   "--set", "HTTPMaxHeadBytes=4096", "--set", f"MaxConnections={MAX_CONNECTIONS}",
                                   "--set", "HTTPIdleTimeout=60"])
    yield running
    stop_service(running)
    shutil.rmtree(home, ignore_errors=True)


def connect(port, family=socket.AF_INET, host="127.0.0.1", ca=None):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(20)
    s.connect((host, port))
    if ca:
        context = ssl.create_default_context(cafile=ca)
        s = context.wrap_socket(s, server_hostname=host)
    return s


def read_response(s):
    """Reads one response with a Content-Length body: (status, head text, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        assert chunk, f"closed before the head ended: {data!r}"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    text = head.decode("latin-1")
    length = next(int(line.split(":", 1)[1]) for line in text.split("\r\n") if line.lower().startswith("content-length:"))
    while len(rest) < length:
        chunk = s.recv(65536)
        assert chunk, "closed in the body"
        rest += chunk
    return int(text.split(" ")[1]), text, rest[:length]


def version_request(port):
    return f"GET /api/server/version HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


@pytest.mark.parametrize("scheme", ["http", "https"])
@pytest.mark.parametrize("case", ["413 by Content-Length", "413 in chunks", "431"])
def test_error_answer_reaches_a_client_still_sending(served, case, scheme):
    port = served.http_port if scheme == "http" else served.https_port
    body = b"b" * (8 << 20)
    if case == "413 by Content-Length":
        request = f"POST /api/storage/documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    elif case == "413 in chunks":
        chunks = b"".join(b"10000\r\n" + body[i:i + 0x10000] + b"\r\n" for i in range(0, len(body), 0x10000))
        request = f"POST /api/storage/documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nTransfer-Encoding: chunked\r\n\r\n".encode() + chunks
    else:
        request = f"GET /api/server/version HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Big: ".encode() + b"h" * (4 << 20) + b"\r\n\r\n"
    expected = 431 if case == "431" else 413
    with connect(port, ca=served.ca if scheme == "https" else None) as s:
        # Sent whole, as a client that does not watch for an early answer sends it: a server that
        # closes with this unread makes the kernel reset the connection, failing sendall or recv.
        s.sendall(request)
        status, head, _ = read_response(s)
        assert status == expected, head
        assert "connection: close" in head.lower()
        try:
            rest = s.recv(65536)
        except ssl.SSLZeroReturnError:
            rest = b""
        assert rest == b"", "more after the answer instead of end of stream"


def expect_408_while_trickling(s, pieces, interval, deadline):
    """Sends `pieces` one every `interval` while reading the answer: 408, not before `deadline`
    and within 5x of it."""
    stop = threading.Event()

    def trickle():
        for piece in pieces:
            if stop.is_set():
                return
            try:
                s.send(piece)
            except OSError:
                return
            time.sleep(interval)

    start = time.monotonic()
    sender = threading.Thread(target=trickle, daemon=True)
    sender.start()
    try:
        status, head, _ = read_response(s)
    finally:
        stop.set()
    elapsed = time.monotonic() - start
    assert status == 408, head
    assert deadline * 0.9 <= elapsed < deadline * 5, f"408 after {elapsed:.1f} s"
    sender.join(5)


def test_trickling_head_gets_408_at_the_deadline_from_its_first_byte(served):
    head = b"GET /api/server/version HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"s" * 1000
    with connect(served.http_port) as s:
        expect_408_while_trickling(s, [bytes([byte]) for byte in head], 0.5, HEAD_TIMEOUT)


def test_trickling_body_gets_408_below_the_minimum_rate(served):
    port = served.http_port
    with connect(port) as s:
        s.sendall(f"POST /api/storage/documents HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: 100000\r\n\r\n".encode())
        # 100 bytes a second, a tenth of the default HTTPMinBodyRate; the allowance is
        # HTTPHeadTimeout plus what the bytes received earn at that rate.
        expect_408_while_trickling(s, [b" " * 20] * 1000, 0.2, HEAD_TIMEOUT)


def test_idle_keep_alive_connections_at_the_cap_make_room(served):
    port = served.http_port
    idle = []
    try:
        for _ in range(MAX_CONNECTIONS + 4):
            s = connect(port)
            s.sendall(version_request(port))
            assert read_response(s)[0] == 200
            idle.append(s)
        # Past the cap, every newcomer was served; the oldest idle connections were closed.
        s = idle[0]
        s.settimeout(5)
        assert s.recv(1) == b""
        newest = idle[-1]
        newest.sendall(version_request(port))
        assert read_response(newest)[0] == 200
    finally:
        for s in idle:
            s.close()


def test_trickling_heads_at_the_cap_do_not_keep_a_new_client_out(served):
    port = served.http_port
    tricklers = []
    try:
        for _ in range(MAX_CONNECTIONS):
            s = connect(port)
            s.sendall(b"GET /api/server/version HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            tricklers.append(s)
        time.sleep(0.2)
        for s in tricklers:
            try:
                s.send(b"X")
            except OSError:
                pass
        start = time.monotonic()
        response = requests.get(f"{served.http}/api/server/version", timeout=HEAD_TIMEOUT * 5)
        assert response.status_code == 200
        assert time.monotonic() - start < HEAD_TIMEOUT, "the new client waited for a trickler's deadline"
    finally:
        for s in tricklers:
            s.close()


def test_every_listener_answers_on_ipv6_loopback(served):
    response = requests.get(f"http://[::1]:{served.http_port}/api/server/version", timeout=10)
    assert response.status_code == 200
    response = requests.get(f"https://[::1]:{served.https_port}/api/server/version", timeout=10, verify=served.ca)
    assert response.status_code == 200
    response = requests.get(f"http://[::1]:{served.service_port}/", timeout=10)
    assert response.status_code == 200
    dcp_tls = served.ports[2]
    response = requests.get(f"https://[::1]:{dcp_tls}/", timeout=10, verify=served.ca)
    assert response.status_code == 200
    with connect(served.http_port, socket.AF_INET6, "::1") as s:
        s.sendall(f"GET /api/server/version HTTP/1.1\r\nHost: localhost:{served.http_port}\r\n\r\n".encode())
        assert read_response(s)[0] == 200


def openssl(*arguments, stdin=b""):
    return subprocess.run(["openssl", *arguments], input=stdin, capture_output=True, timeout=30)


def test_local_ca_is_name_constrained_and_its_key_private(served, tmp_path):
    text = openssl("x509", "-in", served.ca, "-noout", "-text").stdout.decode()
    assert "X509v3 Name Constraints: critical" in text
    permitted = text.split("Permitted:")[1]
    for name in ["IP:127.0.0.1/255.255.255.255", "IP:0:0:0:0:0:0:0:1/FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF:FFFF", "DNS:localhost"]:
        assert name in permitted, text
    cert = os.path.join(served.home, "cert")
    key = os.path.join(cert, "private", "ca_key.pem")
    assert stat.S_IMODE(os.stat(os.path.join(cert, "private")).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert not os.path.exists(os.path.join(cert, "ca_key.pem"))
    # The service's own certificate verifies under the CA ...
    ok = openssl("verify", "-CAfile", served.ca, os.path.join(cert, "server.pem"))
    assert ok.returncode == 0, ok.stderr
    # ... one the same key signs for another name does not.
    for name, san in [("example.com", "DNS:example.com"), ("10.0.0.1", "IP:10.0.0.1")]:
        leaf_key, csr, leaf = tmp_path / f"{name}.key", tmp_path / f"{name}.csr", tmp_path / f"{name}.pem"
        extensions = tmp_path / f"{name}.ext"
        extensions.write_text(f"subjectAltName={san}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\n")
        made = openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-subj", f"/CN={name}",
                       "-keyout", str(leaf_key), "-out", str(csr))
        assert made.returncode == 0, made.stderr
        signed = openssl("x509", "-req", "-in", str(csr), "-CA", served.ca, "-CAkey", key, "-days", "30",
                         "-extfile", str(extensions), "-out", str(leaf))
        assert signed.returncode == 0, signed.stderr
        refused = openssl("verify", "-CAfile", served.ca, str(leaf))
        assert refused.returncode != 0
        assert "permitted subtree violation" in (refused.stdout + refused.stderr).decode().lower()


@pytest.mark.parametrize("cipher, accepted", [
    ("ECDHE-ECDSA-AES128-GCM-SHA256", True),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", True),
    ("ECDHE-ECDSA-AES128-SHA", False),
    ("ECDHE-ECDSA-AES256-SHA384", False),
    ("ALL:!AESGCM:!CHACHA20:!AESCCM:!ARIAGCM", False),
])
def test_tls12_offers_aead_suites_only(served, cipher, accepted):
    result = openssl("s_client", "-connect", f"127.0.0.1:{served.https_port}", "-tls1_2", "-cipher", cipher,
                     "-CAfile", served.ca, "-verify_return_error", stdin=b"Q\n")
    output = (result.stdout + result.stderr).decode(errors="replace")
    if accepted:
        assert result.returncode == 0, output
        assert f"Cipher is {cipher}" in output, output
    else:
        assert result.returncode != 0, output
        assert "Cipher is (NONE)" in output or "handshake failure" in output, output
