"""The eSCL (AirScan) server against clients nobody here wrote: Debian's sane-airscan backend
driven by `scanimage`, and plain `requests` reading the documents with xml.etree. Behind it, the
service scans from SANE's test backend (SANE_CONFIG_DIR from `make test`)."""
import os
import re
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

import pytest
import requests
from PIL import Image

from conftest import BINARY, free_ports, start_service, stop_service

SCAN = "{http://schemas.hp.com/imaging/escl/2011/05/03}"
PWG = "{http://www.pwg.org/schemas/2010/12/sm}"
DEVICE = "sane:test:0"
# Every client run is bounded: a hang fails the test instead of stalling the suite.
CLIENT_TIMEOUT = 120
SETTINGS = """<?xml version="1.0" encoding="UTF-8"?>
<scan:ScanSettings xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
  <pwg:Version>2.63</pwg:Version>
  <pwg:InputSource>{source}</pwg:InputSource>
  <scan:ColorMode>{mode}</scan:ColorMode>
  <scan:XResolution>{dpi}</scan:XResolution>
  <scan:YResolution>{dpi}</scan:YResolution>
  <scan:DocumentFormatExt>{format}</scan:DocumentFormatExt>
</scan:ScanSettings>"""


def settings(source="Platen", mode="RGB24", dpi=75, format="image/jpeg"):
    return SETTINGS.format(source=source, mode=mode, dpi=dpi, format=format)


@pytest.fixture(scope="module")
def escl():
    """A service with eSCL on a free port; yields (service, eSCL root URL)."""
    assert os.environ.get("SANE_CONFIG_DIR"), "run through `make test`, which points SANE at its test backend"
    home = tempfile.mkdtemp(prefix="scanbridge-escl-")
    (port,) = free_ports(1)
    service = start_service(home, ["--set", "ESCLEnabled=true", "--set", f"ESCLPort={port}"])
    root = f"http://127.0.0.1:{port}/eSCL"
    yield service, root
    stop_service(service)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def airscan(escl):
    """A SANE configuration folder that enables only sane-airscan, pointed at our eSCL URL."""
    if shutil.which("scanimage") is None or not os.path.exists("/usr/lib/x86_64-linux-gnu/sane/libsane-airscan.so.1"):
        pytest.fail("sane-airscan and sane-utils are required (scripts/install.sh installs them)")
    folder = tempfile.mkdtemp(prefix="scanbridge-airscan-")
    with open(os.path.join(folder, "dll.conf"), "w") as f:
        f.write("airscan\n")
    with open(os.path.join(folder, "airscan.conf"), "w") as f:
        f.write(f'[devices]\n"ScanBridge" = {escl[1]}, eSCL\n\n[options]\ndiscovery = disable\n')
    yield {**os.environ, "SANE_CONFIG_DIR": folder}
    shutil.rmtree(folder, ignore_errors=True)


def scanimage(env, *args, cwd=None):
    return subprocess.run(["scanimage", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=CLIENT_TIMEOUT)


def png_header(path):
    with open(path, "rb") as f:
        head = f.read(26)
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    width, height, depth, color_type = struct.unpack(">IIBB", head[16:26])
    return width, height, depth, color_type


def test_capabilities_have_the_required_elements(escl):
    response = requests.get(f"{escl[1]}/ScannerCapabilities", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SCAN}ScannerCapabilities"
    assert re.fullmatch(r"2\.\d+", root.findtext(f"{PWG}Version"))
    assert root.findtext(f"{PWG}MakeAndModel").strip()
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", root.findtext(f"{SCAN}UUID"))
    # The test backend has a flatbed and a feeder (no duplex).
    sources = {
        "platen": root.find(f"{SCAN}Platen/{SCAN}PlatenInputCaps"),
        "adf": root.find(f"{SCAN}Adf/{SCAN}AdfSimplexInputCaps"),
    }
    assert root.find(f"{SCAN}Adf/{SCAN}AdfDuplexInputCaps") is None
    for name, caps in sources.items():
        assert caps is not None, name
        sizes = {key: int(caps.findtext(f"{SCAN}{key}")) for key in ("MinWidth", "MaxWidth", "MinHeight", "MaxHeight")}
        assert 0 < sizes["MinWidth"] < sizes["MaxWidth"] and 0 < sizes["MinHeight"] < sizes["MaxHeight"], sizes
        # The backend's area is 200 mm square by default: 2362 three-hundredths of an inch.
        assert sizes["MaxWidth"] == sizes["MaxHeight"] == int(200 / 25.4 * 300), sizes
        profile = caps.find(f"{SCAN}SettingProfiles/{SCAN}SettingProfile")
        modes = [m.text for m in profile.findall(f"{SCAN}ColorModes/{SCAN}ColorMode")]
        assert modes == ["RGB24", "Grayscale8", "BlackAndWhite1"]
        formats = {f.text for f in profile.findall(f"{SCAN}DocumentFormats/{PWG}DocumentFormat")}
        assert formats == {"image/jpeg", "image/png", "application/pdf"}
        resolutions = [(int(r.findtext(f"{SCAN}XResolution")), int(r.findtext(f"{SCAN}YResolution")))
                       for r in profile.findall(f"{SCAN}SupportedResolutions/{SCAN}DiscreteResolutions/{SCAN}DiscreteResolution")]
        assert (150, 150) in resolutions and (300, 300) in resolutions and all(x == y > 0 for x, y in resolutions)


def test_status_is_idle_with_a_loaded_feeder(escl):
    root = ET.fromstring(requests.get(f"{escl[1]}/ScannerStatus", timeout=30).content)
    assert root.tag == f"{SCAN}ScannerStatus"
    assert root.findtext(f"{PWG}State") == "Idle"
    assert root.findtext(f"{SCAN}AdfState") == "ScannerAdfLoaded"


def test_sane_airscan_lists_the_scanner(airscan):
    result = scanimage(airscan, "-L")
    assert result.returncode == 0, result.stderr
    assert "airscan:e0:ScanBridge" in result.stdout, result.stdout


@pytest.mark.parametrize("mode,color_type", [("Color", 2), ("Gray", 0)])
def test_sane_airscan_scans_the_flatbed(airscan, mode, color_type, tmp_path):
    out = tmp_path / "flatbed.png"
    result = scanimage(airscan, "-d", "airscan:e0:ScanBridge", "--source", "Flatbed", "--format=png",
                       "--resolution", "150", "--mode", mode, "-o", str(out))
    assert result.returncode == 0, result.stderr
    width, height, depth, kind = png_header(out)
    assert (width, height) == (1181, 1181)  # 200 mm at 150 dpi
    assert (depth, kind) == (8, color_type)


@pytest.mark.parametrize("mode,color_type", [("Color", 2), ("Gray", 0)])
def test_sane_airscan_scans_ten_pages_from_the_feeder(airscan, escl, mode, color_type, tmp_path):
    result = scanimage(airscan, "-d", "airscan:e0:ScanBridge", "--source", "ADF", "--batch=page%d.png", "--format=png",
                       "--resolution", "150", "--mode", mode, cwd=tmp_path)
    # scanimage ends a batch when the feeder is empty: the service answered 404 after page 10.
    assert "Batch terminated, 10 pages scanned" in result.stderr, result.stderr
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == 10
    for page in pages:
        width, height, depth, kind = png_header(page)
        assert (width, height, depth, kind) == (1181, 1181, 8, color_type), page
    # Every page is a real scan of the test pattern (many levels), not a blank or solid page.
    for page in pages:
        with Image.open(page) as image:
            assert len(image.getcolors(maxcolors=1 << 20) or []) > 8, page
    # The client deleted its job when it was done; the scanner is free.
    root = ET.fromstring(requests.get(f"{escl[1]}/ScannerStatus", timeout=30).content)
    assert root.findtext(f"{PWG}State") == "Idle"


def test_a_feeder_job_as_one_pdf(escl):
    response = requests.post(f"{escl[1]}/ScanJobs", data=settings("Feeder", "Grayscale8", 75, "application/pdf"),
                             headers={"Content-Type": "text/xml"}, timeout=30)
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    assert re.fullmatch(rf"{re.escape(escl[1])}/ScanJobs/[0-9a-f-]{{36}}", location), location
    document = requests.get(f"{location}/NextDocument", timeout=60)
    assert document.status_code == 200 and document.headers["Content-Type"] == "application/pdf"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
        f.write(document.content)
        f.flush()
        check = subprocess.run(["qpdf", "--check", f.name], capture_output=True, text=True, timeout=60)
        assert check.returncode == 0, check.stdout + check.stderr
        pages = subprocess.run(["qpdf", "--show-npages", f.name], capture_output=True, text=True, timeout=60)
        assert pages.stdout.strip() == "10"
    # One document for the whole job: the next request learns the end.
    assert requests.get(f"{location}/NextDocument", timeout=30).status_code == 404
    assert requests.delete(location, timeout=30).status_code == 200
    assert requests.delete(location, timeout=30).status_code == 404


def test_flatbed_jpeg_then_the_end(escl):
    response = requests.post(f"{escl[1]}/ScanJobs", data=settings("Platen", "RGB24", 75, "image/jpeg"), timeout=30)
    assert response.status_code == 201
    location = response.headers["Location"]
    page = requests.get(f"{location}/NextDocument", timeout=60)
    assert page.status_code == 200 and page.headers["Content-Type"] == "image/jpeg"
    assert page.content[:3] == b"\xff\xd8\xff"
    assert requests.get(f"{location}/NextDocument", timeout=30).status_code == 404
    status = ET.fromstring(requests.get(f"{escl[1]}/ScannerStatus", timeout=30).content)
    job = [j for j in status.findall(f"{SCAN}Jobs/{SCAN}JobInfo") if location.endswith(j.findtext(f"{PWG}JobUri"))]
    assert len(job) == 1 and job[0].findtext(f"{PWG}JobState") == "Completed"
    assert job[0].findtext(f"{PWG}ImagesCompleted") == "1"


def test_first_clients_at_once_all_get_the_capabilities():
    """A fresh service reads the capabilities by opening the scanner once; clients asking at the
    same moment share that reading instead of finding the scanner busy."""
    home = tempfile.mkdtemp(prefix="scanbridge-escl-first-")
    (port,) = free_ports(1)
    service = start_service(home, ["--set", "ESCLEnabled=true", "--set", f"ESCLPort={port}"])
    try:
        url = f"http://127.0.0.1:{port}/eSCL/ScannerCapabilities"
        barrier = threading.Barrier(6)
        answers = []

        def ask():
            barrier.wait()
            answers.append(requests.get(url, timeout=30))

        threads = [threading.Thread(target=ask) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [answer.status_code for answer in answers] == [200] * 6, [answer.text[:200] for answer in answers]
        assert len({answer.content for answer in answers}) == 1
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("body,status,fragment", [
    ("<scan:ScanSettings><scan:ColorMode>RGB24", 400, "not well-formed"),
    ("this is not xml", 400, "not well-formed"),
    ("<scan:ScannerStatus xmlns:scan='x'/>", 400, "expected scan:ScanSettings"),
    (settings(dpi="fast"), 400, "XResolution"),
    (settings(format="image/tiff"), 409, "image/tiff"),
    (settings(mode="RGB48"), 409, "RGB48"),
])
def test_bad_scan_settings(escl, body, status, fragment):
    response = requests.post(f"{escl[1]}/ScanJobs", data=body, timeout=30)
    assert response.status_code == status, response.text
    assert fragment in response.text


def test_unknown_job_is_404(escl):
    assert requests.get(f"{escl[1]}/ScanJobs/00000000-0000-0000-0000-000000000000/NextDocument", timeout=30).status_code == 404
    assert requests.delete(f"{escl[1]}/ScanJobs/00000000-0000-0000-0000-000000000000", timeout=30).status_code == 404


def test_web_pages_and_foreign_hosts_are_refused(escl):
    response = requests.get(f"{escl[1]}/ScannerCapabilities", headers={"Origin": "https://evil.example"}, timeout=30)
    assert response.status_code == 403
    response = requests.get(f"{escl[1]}/ScannerCapabilities", headers={"Host": "rebound.example"}, timeout=30)
    assert response.status_code == 403


def test_the_scanner_lock_is_shared_with_the_dwt_api(escl):
    service, root = escl
    api = f"{service.http}/api"
    # A pending DWT job holds the scanner: eSCL answers 503 Service Unavailable.
    created = requests.post(f"{api}/device/scanners/jobs", json={"device": DEVICE, "autoRun": False}, timeout=30)
    assert created.status_code == 201, created.text
    uid = created.json()["jobuid"]
    busy = requests.post(f"{root}/ScanJobs", data=settings(), timeout=30)
    assert busy.status_code == 503, busy.text
    assert "busy" in busy.text and busy.headers.get("Retry-After")
    assert requests.delete(f"{api}/device/scanners/jobs/{uid}", timeout=30).status_code == 204
    # While an eSCL job scans, a DWT job on the same scanner is refused as busy (-1004).
    response = requests.post(f"{root}/ScanJobs", data=settings("Feeder", "RGB24", 300, "image/png"), timeout=30)
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    dwt = requests.post(f"{api}/device/scanners/jobs", json={"device": DEVICE, "autoRun": False}, timeout=30)
    assert dwt.status_code == 423 and dwt.json()["code"] == -1004, dwt.text
    pages = 0
    while (page := requests.get(f"{location}/NextDocument", timeout=60)).status_code == 200:
        pages += 1
    assert (pages, page.status_code) == (10, 404)
    # Once the eSCL job has its pages, the scanner is free for DWT again.
    again = requests.post(f"{api}/device/scanners/jobs", json={"device": DEVICE, "autoRun": False}, timeout=30)
    assert again.status_code == 201, again.text
    requests.delete(f"{api}/device/scanners/jobs/{again.json()['jobuid']}", timeout=30)


def run_serve(home, *sets, wait=3):
    """`scanbridge serve` expected to refuse its configuration: returns (exit code, stderr)."""
    ports = free_ports(4)
    args = [BINARY, "serve", "--home", home,
            "--set", f"Port_mp_0={ports[0]}", "--set", f"Port_mp_1={ports[1]}",
            "--set", f"SSLPort_mp_0={ports[2]}", "--set", f"SSLPort_mp_1={ports[3]}"]
    for item in sets:
        args += ["--set", item]
    process = subprocess.run(args, capture_output=True, text=True, timeout=30)
    return process.returncode, process.stderr


@pytest.mark.parametrize("extra", [
    [],
    ["ESCLAllowLAN=true"],
    ["ESCLAllowLAN=true", "ESCLTLS=true"],
    ["ESCLAllowLAN=true", "ESCLAllowedClients=127.0.0.1/32"],
])
def test_a_network_address_needs_consent_tls_and_a_list(extra):
    home = tempfile.mkdtemp(prefix="scanbridge-escl-lan-")
    try:
        (port,) = free_ports(1)
        code, stderr = run_serve(home, "ESCLEnabled=true", f"ESCLPort={port}", "ESCLBindAddress=0.0.0.0", *extra)
        assert code != 0
        assert "ESCLBindAddress 0.0.0.0 is not a loopback address" in stderr, stderr
    finally:
        shutil.rmtree(home, ignore_errors=True)


@pytest.mark.parametrize("clients,expected", [("127.0.0.1/32", 200), ("192.0.2.0/24", 403)])
def test_lan_mode_serves_tls_to_listed_clients_only(clients, expected):
    home = tempfile.mkdtemp(prefix="scanbridge-escl-lan-")
    (port,) = free_ports(1)
    service = start_service(home, ["--set", "ESCLEnabled=true", "--set", f"ESCLPort={port}",
                                   "--set", "ESCLBindAddress=0.0.0.0", "--set", "ESCLAllowLAN=true",
                                   "--set", "ESCLTLS=true", "--set", f"ESCLAllowedClients={clients}"])
    try:
        response = requests.get(f"https://127.0.0.1:{port}/eSCL/ScannerCapabilities", verify=service.ca, timeout=30)
        assert response.status_code == expected, response.text
        if expected == 403:
            assert "ESCLAllowedClients" in response.text
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/eSCL/ScannerCapabilities", timeout=10)
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)


def test_disabled_by_default():
    home = tempfile.mkdtemp(prefix="scanbridge-escl-off-")
    service = start_service(home)
    try:
        assert "eSCL" not in service.log()
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)
