"""HTTP(S) upload receiver for ScanBridgeUploadTests.

Prints {"port": N} first, then one JSON line per request describing what arrived (method, path,
headers, cookies, form fields, files with size and SHA-256). Modes:
  receive (default)  answers 201 (POST) / 200 (PUT) with a JSON body naming the received digest
  --fail-first N     answers 503 to the first N requests, then receives normally
  --slow BPS         reads request bodies at about BPS bytes per second
  --basic USER:PASS  requires HTTP Basic authentication (401 otherwise)
  --tls CERT KEY     serves HTTPS with that certificate
  silent             accepts connections, reads, never answers; reports when the peer closes
"""
import argparse
import base64
import email.parser
import email.policy
import hashlib
import json
import socket
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from common import exit_with_parent, report

parser = argparse.ArgumentParser()
parser.add_argument("mode", nargs="?", default="receive", choices=["receive", "silent"])
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--slow", type=int, default=0)
parser.add_argument("--basic", default=None)
parser.add_argument("--tls", nargs=2, default=None)
args = parser.parse_args()

failures_left = args.fail_first
failures_lock = threading.Lock()


def read_body(handler, length):
    chunks = []
    received = 0
    while received < length:
        size = min(16384, length - received) if args.slow else length - received
        chunk = handler.rfile.read(size)
        if not chunk:
            raise ConnectionError(f"peer closed after {received} of {length} bytes")
        chunks.append(chunk)
        received += len(chunk)
        if args.slow:
            time.sleep(len(chunk) / args.slow)
    return b"".join(chunks)


def describe_multipart(content_type, body):
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    fields, files = {}, []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is None:
            fields[name] = payload.decode()
        else:
            files.append({"field": name, "filename": filename, "content_type": part.get_content_type(),
                          "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()})
    return fields, files


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *_):
        pass

    def answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Receiver", "scanbridge-test")
        self.end_headers()
        self.wfile.write(data)

    def handle_upload(self):
        global failures_left
        length = int(self.headers.get("Content-Length", "0"))
        try:
            body = read_body(self, length)
        except (ConnectionError, OSError) as error:
            report(event="aborted", method=self.command, path=self.path, error=str(error))
            self.close_connection = True
            return
        record = {"event": "request", "method": self.command, "path": self.path,
                  "headers": {k.lower(): v for k, v in self.headers.items()},
                  "body_size": len(body), "body_sha256": hashlib.sha256(body).hexdigest()}
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("multipart/form-data"):
            record["fields"], record["files"] = describe_multipart(content_type, body)
        with failures_lock:
            fail = failures_left > 0
            if fail:
                failures_left -= 1
        if fail:
            record["status"] = 503
            report(**record)
            self.answer(503, {"error": "try again"})
            return
        if args.basic is not None:
            expected = "Basic " + base64.b64encode(args.basic.encode()).decode()
            if self.headers.get("Authorization") != expected:
                record["status"] = 401
                report(**record)
                self.answer(401, {"error": "unauthorized"})
                return
        status = 201 if self.command == "POST" else 200
        record["status"] = status
        report(**record)
        digest = record["files"][0]["sha256"] if record.get("files") else record["body_sha256"]
        self.answer(status, {"received": digest, "size": record["files"][0]["size"] if record.get("files") else len(body)})

    do_POST = handle_upload
    do_PUT = handle_upload


def serve_silent():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    report(port=listener.getsockname()[1])

    def drain(connection):
        received = 0
        while True:
            try:
                data = connection.recv(65536)
            except OSError:
                data = b""
            if not data:
                report(event="closed", received=received)
                connection.close()
                return
            received += len(data)

    while True:
        connection, _ = listener.accept()
        report(event="accepted")
        threading.Thread(target=drain, args=(connection,), daemon=True).start()


exit_with_parent()
if args.mode == "silent":
    serve_silent()
else:
    class Server(ThreadingHTTPServer):
        def server_bind(self):
            if args.slow:  # small receive buffer: the client really waits on this reader
                self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
            super().server_bind()

    server = Server(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if args.tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls[0], args.tls[1])
        server.socket = context.wrap_socket(server.socket, server_side=True)
    report(port=server.server_address[1])
    server.serve_forever()
