"""The eSCL announcement against a real Avahi daemon: a private system bus (dbus-daemon) and
avahi-daemon in a network namespace of their own, with a veth pair as the multicast link (Avahi
ignores loopback), and `scanbridge serve` in the same namespace. avahi-browse reads back what
the service published. Nothing leaves the namespace. Needs root (ip netns)."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET

import pytest

from conftest import BINARY, free_ports, start_service, stop_service

SCAN = "{http://schemas.hp.com/imaging/escl/2011/05/03}"
PWG = "{http://www.pwg.org/schemas/2010/12/sm}"
ADDRESS = "192.0.2.1"
WAIT = 30

BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
</busconfig>
"""

AVAHI_CONFIG = """[server]
host-name=scanbridge-test
use-ipv4=yes
use-ipv6=no
allow-interfaces={interface}
enable-dbus=yes
disallow-other-stacks=no
[publish]
publish-hinfo=no
publish-workstation=no
"""


def wait_for(predicate, what, timeout=WAIT):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def start_bus(folder, namespace=None):
    """A dbus-daemon of type system on `folder`/bus; returns (process, address)."""
    socket = os.path.join(folder, "bus")
    config = os.path.join(folder, "bus.conf")
    with open(config, "w") as f:
        f.write(BUS_CONFIG.format(socket=socket))
    prefix = ["ip", "netns", "exec", namespace] if namespace else []
    process = subprocess.Popen([*prefix, "dbus-daemon", f"--config-file={config}", "--nofork", "--nopidfile"],
                               stdout=subprocess.DEVNULL, stderr=open(os.path.join(folder, "dbus.log"), "w"))
    wait_for(lambda: os.path.exists(socket), "the private system bus")
    return process, f"unix:path={socket}"


def end(process):
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def network():
    """A namespace with a multicast link, a system bus and avahi-daemon; yields a dict with
    the namespace name, the folder and the bus address."""
    for tool in ("ip", "dbus-daemon", "avahi-daemon", "avahi-browse", "avahi-publish", "curl"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is required (scripts/install.sh installs dbus, avahi-daemon, avahi-utils)")
    if os.geteuid() != 0:
        pytest.skip("creating a network namespace needs root")
    assert os.environ.get("SANE_CONFIG_DIR"), "run through `make test`, which points SANE at its test backend"
    folder = tempfile.mkdtemp(prefix="scanbridge-mdns-")
    namespace = f"scanbridge-mdns-{os.getpid()}"
    processes = []
    subprocess.run(["ip", "netns", "add", namespace], check=True, timeout=10)
    try:
        for command in (["link", "set", "lo", "up"],
                        ["link", "add", "sbmdns0", "type", "veth", "peer", "name", "sbmdns1"],
                        ["addr", "add", f"{ADDRESS}/24", "dev", "sbmdns0"],
                        ["link", "set", "sbmdns0", "multicast", "on", "up"],
                        ["link", "set", "sbmdns1", "up"]):
            subprocess.run(["ip", "-n", namespace, *command], check=True, timeout=10)
        bus, address = start_bus(folder, namespace)
        processes.append(bus)
        config = os.path.join(folder, "avahi-daemon.conf")
        with open(config, "w") as f:
            f.write(AVAHI_CONFIG.format(interface="sbmdns0"))
        avahi_log = os.path.join(folder, "avahi.log")
        processes.append(subprocess.Popen(
            ["ip", "netns", "exec", namespace, "avahi-daemon", "--no-drop-root", "--no-chroot", "--no-rlimits", "-f", config],
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": address},
            stdout=open(avahi_log, "w"), stderr=subprocess.STDOUT))
        wait_for(lambda: "Server startup complete" in read(avahi_log), "avahi-daemon to start")
        yield {"namespace": namespace, "folder": folder, "bus": address}
    finally:
        for process in reversed(processes):
            end(process)
        subprocess.run(["ip", "netns", "del", namespace], timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def in_namespace(network, *command, timeout=20):
    return subprocess.run(["ip", "netns", "exec", network["namespace"], *command], capture_output=True, text=True,
                          env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": network["bus"]}, timeout=timeout)


class Served:
    """`scanbridge serve` inside the namespace with eSCL on the LAN (TLS, listed clients)."""

    def __init__(self, network, extra=()):
        self.network = network
        self.home = tempfile.mkdtemp(prefix="scanbridge-mdns-home-")
        dcp, dwt, dcp_tls, dwt_tls, self.port = free_ports(5)
        self.process = subprocess.Popen(
            ["ip", "netns", "exec", network["namespace"], BINARY, "serve", "--home", self.home,
             "--set", f"Port_mp_0={dcp}", "--set", f"Port_mp_1={dwt}",
             "--set", f"SSLPort_mp_0={dcp_tls}", "--set", f"SSLPort_mp_1={dwt_tls}",
             "--set", "ESCLEnabled=true", "--set", f"ESCLPort={self.port}", *extra],
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": network["bus"]},
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def log(self):
        return read(os.path.join(self.home, "log", "scanbridge.log"))

    def wait_for_log(self, pattern):
        def found():
            assert self.process.poll() is None, f"scanbridge exited with {self.process.returncode}:\n{self.log()}"
            return re.search(pattern, self.log())
        return wait_for(found, f"{pattern!r} in the service log")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            assert self.process.wait(timeout=20) == 0, "serve did not exit cleanly"
        finally:
            if self.process.poll() is None:
                self.process.kill()
            shutil.rmtree(self.home, ignore_errors=True)


LAN = ["--set", "ESCLBindAddress=0.0.0.0", "--set", "ESCLAllowLAN=true", "--set", "ESCLTLS=true",
       "--set", "ESCLAllowedClients=127.0.0.1/32,192.0.2.0/24"]


def browse(network, service_type):
    """avahi-browse's resolved entries of `service_type`: a list of dicts."""
    result = in_namespace(network, "avahi-browse", "--resolve", "--parsable", "--terminate", service_type)
    assert result.returncode == 0, result.stderr
    entries = []
    for line in result.stdout.splitlines():
        fields = line.split(";")
        if fields[0] != "=" or len(fields) < 10:
            continue
        txt = dict(item.split("=", 1) for item in re.findall(r'"((?:[^"\\]|\\.)*)"', fields[9]))
        # avahi-browse writes bytes outside letters and digits in a name as \DDD (decimal).
        name = re.sub(r"\\(\d{3})", lambda m: chr(int(m.group(1))), fields[3])
        entries.append({"name": name, "type": fields[4], "host": fields[6],
                        "address": fields[7], "port": int(fields[8]), "txt": txt})
    return entries


def capabilities(network, served):
    result = in_namespace(network, "curl", "--silent", "--show-error", "--max-time", "20",
                          "--cacert", os.path.join(served.home, "cert", "ca.pem"),
                          f"https://127.0.0.1:{served.port}/eSCL/ScannerCapabilities")
    assert result.returncode == 0, result.stderr
    return ET.fromstring(result.stdout)


def test_the_lan_listener_is_announced_with_its_txt_records(network):
    served = Served(network, LAN)
    try:
        served.wait_for_log(r"eSCL: announced as \"ScanBridge\" \(_uscans\._tcp port \d+\) through Avahi")
        root = capabilities(network, served)
        entries = wait_for(lambda: [e for e in browse(network, "_uscans._tcp") if e["port"] == served.port],
                           "the service in avahi-browse")
        entry = entries[0]
        assert entry["name"] == "ScanBridge"
        assert entry["address"] == ADDRESS
        txt = entry["txt"]
        assert txt["rs"] == "eSCL"
        assert txt["uuid"] == root.find(f"{SCAN}UUID").text
        assert txt["ty"] == root.find(f"{PWG}MakeAndModel").text
        assert txt["txtvers"] == "1"
        assert txt["vers"] == root.find(f"{PWG}Version").text
        assert txt["pdl"] == "image/jpeg,image/png,application/pdf"
        assert set(txt["is"].split(",")) == {"platen", "adf"}  # the test backend has both
        assert txt["duplex"] in ("T", "F")
        assert txt["cs"].split(",")[0] in ("color", "grayscale", "binary")
        assert browse(network, "_uscan._tcp") == [], "an HTTPS listener is announced as _uscans only"
    finally:
        served.stop()
    # Stopping withdraws the announcement.
    wait_for(lambda: not [e for e in browse(network, "_uscans._tcp") if e["port"] == served.port],
             "the service to leave avahi-browse")


def test_a_taken_name_moves_to_the_second_one(network):
    other = subprocess.Popen(["ip", "netns", "exec", network["namespace"], "avahi-publish", "--service",
                              "ScanBridge", "_uscans._tcp", "9", "rs=other"],
                             env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": network["bus"]},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: any(e["port"] == 9 for e in browse(network, "_uscans._tcp")), "avahi-publish's service")
        served = Served(network, LAN)
        try:
            served.wait_for_log(r"eSCL: announced as \"ScanBridge \(2\)\"")
            entries = wait_for(lambda: [e for e in browse(network, "_uscans._tcp") if e["port"] == served.port],
                               "the service in avahi-browse")
            assert entries[0]["name"] == "ScanBridge (2)"
        finally:
            served.stop()
    finally:
        end(other)


def test_a_loopback_listener_is_not_announced(network):
    served = Served(network)
    try:
        served.wait_for_log(r"eSCL: not announced \(the listener is on loopback")
        time.sleep(1)
        assert browse(network, "_uscan._tcp") == []
        assert "through Avahi" not in served.log()
    finally:
        served.stop()


@pytest.mark.parametrize("with_bus", [False, True], ids=["no-bus", "bus-without-avahi"])
def test_without_avahi_the_service_runs_unannounced(with_bus, monkeypatch):
    assert os.environ.get("SANE_CONFIG_DIR"), "run through `make test`, which points SANE at its test backend"
    folder = tempfile.mkdtemp(prefix="scanbridge-mdns-nobus-")
    bus = None
    try:
        if with_bus:
            bus, address = start_bus(folder)
        else:
            address = f"unix:path={os.path.join(folder, 'missing-bus')}"
        monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", address)
        (port,) = free_ports(1)
        service = start_service(os.path.join(folder, "home"), ["--set", "ESCLEnabled=true", "--set", f"ESCLPort={port}", *LAN])
        try:
            wait_for(lambda: "eSCL: no Avahi daemon on the system bus; not announced" in service.log(),
                     "the not-announced line")
            reason = "ServiceUnknown" if with_bus else "cannot connect to the system bus"
            assert reason in service.log()
            assert f"https://0.0.0.0:{port}/eSCL" in service.log()
        finally:
            stop_service(service)
    finally:
        if bus:
            end(bus)
        shutil.rmtree(folder, ignore_errors=True)
