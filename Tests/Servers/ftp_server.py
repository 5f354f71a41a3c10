"""FTP/FTPS server (pyftpdlib) for ScanBridgeUploadTests.

  ftp_server.py ROOT USER PASSWORD [--tls CERT KEY]
Prints {"port": N}, then serves ROOT to USER (full rights) on 127.0.0.1. With --tls it is an
explicit FTPS server (AUTH TLS) that requires TLS on the control and data connections.
Reports each stored file as {"event": "stored", "path": ...}.
"""
import argparse
import logging

from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
from pyftpdlib.servers import FTPServer

from common import exit_with_parent, report

parser = argparse.ArgumentParser()
parser.add_argument("root")
parser.add_argument("user")
parser.add_argument("password")
parser.add_argument("--tls", nargs=2, default=None)
args = parser.parse_args()
logging.basicConfig(level=logging.ERROR)
logging.getLogger("pyftpdlib").setLevel(logging.ERROR)

authorizer = DummyAuthorizer()
authorizer.add_user(args.user, args.password, args.root, perm="elradfmwMT")
base = TLS_FTPHandler if args.tls else FTPHandler


class Handler(base):
    def on_file_received(self, file):
        report(event="stored", path=file)

    def on_incomplete_file_received(self, file):
        report(event="incomplete", path=file)

    def on_login_failed(self, username, password):
        report(event="login-failed", user=username)


Handler.authorizer = authorizer
if args.tls:
    Handler.certfile = args.tls[0]
    Handler.keyfile = args.tls[1]
    Handler.tls_control_required = True
    Handler.tls_data_required = True

exit_with_parent()
server = FTPServer(("127.0.0.1", 0), Handler)
report(port=server.socket.getsockname()[1])
server.serve_forever()
