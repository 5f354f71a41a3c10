"""Shared helpers of the upload test servers: announce the port, report events as JSON lines,
and exit when the test process goes away (stdin closes)."""
import json
import os
import sys
import threading

_lock = threading.Lock()


def report(**fields):
    """One JSON object per line on stdout: what the server saw."""
    with _lock:
        sys.stdout.write(json.dumps(fields) + "\n")
        sys.stdout.flush()


def exit_with_parent(commands=None):
    """Exits when stdin reaches EOF (the test process ended or closed the pipe). Lines read
    before that go to `commands(line)` when given."""

    def watch():
        for line in sys.stdin:
            if commands is not None:
                try:
                    commands(line.strip())
                except Exception as error:  # report, keep serving
                    report(event="command-error", error=str(error))
        os._exit(0)

    threading.Thread(target=watch, daemon=True).start()
