"""The legacy REST API of the DWT 18 era (`/DWTAPI/`) driven by that era's client (PyPI
`twain-wia-sane-scanner` 1.0.0), against the real service and SANE's test backend, on HTTP and
HTTPS. The client shares its module name with the current one, so it runs in .venv-dwt18
through dwt18_driver.py; its page loop ends only on 410, so every run is bounded by a timeout
and a run that does not end fails. Statuses and error bodies are checked with plain requests."""
import io
import json
import os
import shutil
import subprocess
import tempfile

import pytest
import requests
from PIL import Image

from conftest import ROOT, start_service, stop_service

DEVICE = "sane:test:0"
PYTHON = os.path.join(ROOT, ".venv-dwt18", "bin", "python")
DRIVER = os.path.join(os.path.dirname(__file__), "dwt18_driver.py")
CLIENT_TIMEOUT = 60


def legacy_client(service, host, *args):
    """Runs the driver; its JSON output."""
    assert os.access(PYTHON, os.X_OK), "the DWT 18 client's virtualenv is missing: run `make install`"
    env = dict(os.environ)
    if host.startswith("https"):
        env["REQUESTS_CA_BUNDLE"] = service.ca
    try:
        done = subprocess.run([PYTHON, DRIVER, *args], capture_output=True, text=True, env=env, timeout=CLIENT_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the DWT 18 client did not finish within {CLIENT_TIMEOUT} s: the service answered a status it loops on")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["version"] == "1.0.0"
    return result


def verify(service, host):
    return service.ca if host.startswith("https") else True


def error(response, status, code):
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["statusCode"] == status and body["code"] == code and body["message"], body
    return body


def size_at(dpi):
    """The test backend's page (test.conf: 80 x 100 mm) at `dpi`."""
    return int(80 / 25.4 * dpi), int(100 / 25.4 * dpi)


def listed_device(service, host):
    devices = legacy_client(service, host, "list", host)["devices"]
    match = [d for d in devices if d["device"] == DEVICE]
    assert match, devices
    return match[0]


def scan(service, host, body, mode):
    outdir = tempfile.mkdtemp(prefix="scanbridge-dwt18-")
    try:
        result = legacy_client(service, host, "scan", host, outdir, json.dumps(body), mode)
        pages = []
        for path in result["files"]:
            with open(path, "rb") as f:
                pages.append(f.read())
        return result["job"], pages
    finally:
        shutil.rmtree(outdir, ignore_errors=True)


def test_lists_the_sane_scanner_by_type(service, host):
    entry = listed_device(service, host)
    assert entry["type"] == 0x100 and entry["name"].startswith("Noname frontend-tester")
    everything = legacy_client(service, host, "list", host)["devices"]
    assert legacy_client(service, host, "list", host, str(0x100))["devices"] == everything
    # Only SANE scanners exist here: the TWAIN mask of the client's own example lists none.
    assert legacy_client(service, host, "list", host, str(0x10 | 0x40))["devices"] == []


def test_scans_adf_pages_to_jpeg_files(service, host):
    device = listed_device(service, host)["device"]
    config = {"IfShowUI": False, "PixelType": 2, "Resolution": 75, "IfFeederEnabled": True,
              "IfDuplexEnabled": False, "XferCount": 3}
    job, pages = scan(service, host, {"license": "any", "device": device, "config": config}, "files")
    assert job and len(pages) == 3
    for data in pages:
        assert data[:3] == b"\xff\xd8\xff"
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and image.mode == "RGB" and image.size == size_at(75)
    # The client deleted its job: the current API knows it as deleted.
    gone = requests.get(f"{host}/api/device/scanners/jobs/{job}", verify=verify(service, host))
    error(gone, 410, -1034)


def test_page_streams_end_on_410(service, host):
    config = {"PixelType": 1, "Resolution": 100, "IfFeederEnabled": True, "XferCount": 4}
    job, pages = scan(service, host, {"device": DEVICE, "config": config}, "streams")
    assert job and len(pages) == 4
    for data in pages:
        image = Image.open(io.BytesIO(data))
        assert image.format == "JPEG" and image.mode == "L" and image.size == size_at(100)


def test_scanner_named_by_name_or_listed_entry(service, host):
    entry = listed_device(service, host)
    for device in (entry["name"], json.dumps(entry)):
        config = {"PixelType": 0, "Resolution": 50, "IfFeederEnabled": True, "XferCount": 1}
        job, pages = scan(service, host, {"device": device, "config": config}, "streams")
        assert job and len(pages) == 1
        image = Image.open(io.BytesIO(pages[0]))
        assert image.format == "JPEG" and image.size == size_at(50)


def test_job_statuses_and_bodies(service, host):
    tls = verify(service, host)
    config = {"PixelType": 2, "Resolution": 50, "IfFeederEnabled": True, "XferCount": 2}
    # The client sends JSON labelled application/text.
    created = requests.post(f"{host}/DWTAPI/ScanJobs", data=json.dumps({"device": DEVICE, "config": config}),
                            headers={"Content-Type": "application/text"}, verify=tls)
    assert created.status_code == 201, created.text
    assert created.headers["Content-Type"].startswith("text/plain")
    job = created.text
    # Created and started in one call: the current API sees it past pending.
    state = requests.get(f"{host}/api/device/scanners/jobs/{job}", verify=tls).json()
    assert state["status"] in ("running", "completed"), state
    next_document = f"{host}/DWTAPI/ScanJobs/{job}/NextDocument"
    first = requests.get(next_document, verify=tls)
    assert first.status_code == 200 and first.headers["Content-Type"] == "image/jpeg"
    second = requests.get(next_document, params={"type": "image/png"}, verify=tls)
    assert second.status_code == 200 and second.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(io.BytesIO(second.content)).size == Image.open(io.BytesIO(first.content)).size == size_at(50)
    # No more documents, and asking again changes nothing.
    error(requests.get(next_document, verify=tls), 410, 0)
    error(requests.get(next_document, verify=tls), 410, 0)
    deleted = requests.delete(f"{host}/DWTAPI/ScanJobs/{job}", verify=tls)
    assert deleted.status_code == 200 and deleted.content == b""
    error(requests.get(next_document, verify=tls), 410, -1034)
    error(requests.delete(f"{host}/DWTAPI/ScanJobs/{job}", verify=tls), 410, -1034)


def test_unknown_jobs_and_devices(service, host):
    tls = verify(service, host)
    error(requests.get(f"{host}/DWTAPI/ScanJobs/no-such-job/NextDocument", verify=tls), 410, -1034)
    error(requests.delete(f"{host}/DWTAPI/ScanJobs/no-such-job", verify=tls), 404, -1034)
    # The client's page loop ends on an unknown job rather than asking forever.
    assert legacy_client(service, host, "streams", host, "no-such-job")["count"] == 0
    missing = requests.post(f"{host}/DWTAPI/ScanJobs", json={"device": "sane:nothing:9"}, verify=tls)
    assert missing.status_code == 404, missing.text
    job, pages = scan(service, host, {"device": "sane:nothing:9"}, "streams")
    assert job == "" and pages == []


@pytest.mark.parametrize("body", [
    "not json",
    json.dumps({"device": 5}),
    json.dumps({"device": DEVICE, "config": {"PixelType": "colour"}}),
    json.dumps({"device": DEVICE, "scannerFailureTimeout": 0}),
])
def test_bad_bodies_are_400(service, body):
    error(requests.post(f"{service.http}/DWTAPI/ScanJobs", data=body, headers={"Content-Type": "application/text"}), 400, -2113)


def test_jobs_answer_only_their_origin(service):
    mine, theirs = {"Origin": "https://app.example"}, {"Origin": "https://evil.example"}
    config = {"PixelType": 2, "Resolution": 50, "IfFeederEnabled": True, "XferCount": 1}
    created = requests.post(f"{service.http}/DWTAPI/ScanJobs", json={"device": DEVICE, "config": config}, headers=mine)
    assert created.status_code == 201, created.text
    job = created.text
    next_document = f"{service.http}/DWTAPI/ScanJobs/{job}/NextDocument"
    error(requests.get(next_document, headers=theirs), 403, -2801)
    error(requests.delete(f"{service.http}/DWTAPI/ScanJobs/{job}", headers=theirs), 403, -2801)
    assert requests.get(next_document, headers=mine).status_code == 200
    assert requests.delete(f"{service.http}/DWTAPI/ScanJobs/{job}", headers=mine).status_code == 200


def test_product_key_in_the_body_or_a_header():
    home = tempfile.mkdtemp(prefix="scanbridge-dwt18-keys-")
    keyed = start_service(home, ["--set", "ProductKeys=alpha, beta"])
    try:
        url = f"{keyed.http}/DWTAPI/ScanJobs"
        body = {"device": DEVICE, "config": {"Resolution": 50, "IfFeederEnabled": True, "XferCount": 1}}
        error(requests.post(url, json=body), 403, -2800)
        error(requests.post(url, json={**body, "license": "gamma"}), 403, -2800)
        # One after the other: each job holds the scanner until it is deleted.
        for extra, headers in (({"license": "beta"}, {}), ({}, {"DWT-PRODUCT-KEY": "alpha"})):
            accepted = requests.post(url, json={**body, **extra}, headers=headers)
            assert accepted.status_code == 201, accepted.text
            assert requests.delete(f"{url}/{accepted.text}").status_code == 200
        # The client itself, with its license field.
        job, pages = scan(keyed, keyed.http, {**body, "license": "alpha"}, "streams")
        assert job and len(pages) == 1
    finally:
        stop_service(keyed)
        shutil.rmtree(home, ignore_errors=True)
