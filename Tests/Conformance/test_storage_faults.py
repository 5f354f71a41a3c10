"""Storage faults against the real service: a full disk (the service folder on a small tmpfs),
and bytes changed on disk in the page journal and in the buffer's spill files."""
import glob
import os
import shutil
import signal
import struct
import subprocess
import tempfile
import time

import pytest
import requests

from conftest import BINARY, free_ports, start_service, stop_service

DEVICE = "sane:test:0"
TIMEOUT = 30


def scan(base, pages, resolution=150):
    response = requests.post(f"{base}/api/device/scanners/jobs", json={"device": DEVICE, "config": {
        "PixelType": 2, "Resolution": resolution, "IfFeederEnabled": True, "XferCount": pages}}, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    job = response.json()["jobuid"]
    announced = []
    while True:
        response = requests.get(f"{base}/api/device/scanners/jobs/{job}/next-page-info", timeout=TIMEOUT)
        if response.status_code == 204:
            break
        assert response.status_code == 200, response.text
        announced.append(response.json()[0])
    return job, announced


def jpeg(page):
    return requests.get(page["url"], params={"type": "image/jpeg"}, timeout=TIMEOUT)


def free_bytes(path):
    stats = os.statvfs(path)
    return stats.f_bavail * stats.f_frsize


@pytest.fixture()
def small_disk():
    """A 16 MiB tmpfs owned by the user running the tests (mounted as root, or through `sudo -n`)."""
    as_root = [] if os.geteuid() == 0 else ["sudo", "-n"]
    if as_root and shutil.which("sudo") is None:
        pytest.fail("mounting a tmpfs for the disk-full test needs root or sudo (run `make test` as root or with sudo rights)")
    folder = tempfile.mkdtemp(prefix="scanbridge-full-")
    options = f"size=16m,mode=0755,uid={os.getuid()},gid={os.getgid()}"
    subprocess.run(as_root + ["mount", "-t", "tmpfs", "-o", options, "tmpfs", folder], check=True)
    try:
        yield folder
    finally:
        subprocess.run(as_root + ["umount", "-l", folder], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def test_disk_full_faults_the_job_keeps_every_page_and_recovers(small_disk):
    home = os.path.join(small_disk, "home")
    log_path = tempfile.mktemp(prefix="scanbridge-full-log-")
    dcp, dwt, dcp_tls, dwt_tls = free_ports(4)
    with open(log_path, "wb") as log:
        process = subprocess.Popen([BINARY, "serve", "--home", home, "--set", f"Port_mp_0={dcp}", "--set", f"Port_mp_1={dwt}",
                                    "--set", f"SSLPort_mp_0={dcp_tls}", "--set", f"SSLPort_mp_1={dwt_tls}"],
                                   stdout=subprocess.DEVNULL, stderr=log)
    base = f"http://127.0.0.1:{dwt}"
    try:
        deadline = time.time() + 20
        while True:
            try:
                if requests.get(f"{base}/api/server/version", timeout=1).ok:
                    break
            except requests.RequestException:
                assert time.time() < deadline and process.poll() is None, "the service did not start"
                time.sleep(0.1)
        # A document made before the disk fills, and the size of a journaled page.
        document = requests.post(f"{base}/api/storage/documents", json={}, timeout=TIMEOUT).json()["uid"]
        job, pages = scan(base, 3)
        assert len(pages) == 3
        for page in pages:
            response = requests.post(f"{base}/api/storage/documents/{document}/pages", json={"source": page["url"]}, timeout=TIMEOUT)
            assert response.status_code == 200, response.text
        stored = requests.get(f"{base}/api/storage/documents/{document}", timeout=TIMEOUT).json()["pages"]
        before = [requests.get(f"{base}/api/storage/documents/{document}/pages/{p['uid']}", timeout=TIMEOUT).content for p in stored]
        page_size = max(len(jpeg(page).content) for page in pages)
        assert requests.delete(f"{base}/api/device/scanners/jobs/{job}", timeout=TIMEOUT).status_code == 204

        # Fill the disk until about two and a half pages fit.
        filler = os.path.join(small_disk, "filler")
        with open(filler, "wb") as f:
            f.write(b"\0" * max(0, free_bytes(small_disk) - int(page_size * 2.5) - 8192))
        job, pages = scan(base, 10)
        status = requests.get(f"{base}/api/device/scanners/jobs/{job}", timeout=TIMEOUT).json()
        assert status["status"] == "faulted" and status["code"] == -1022, status
        assert 1 <= len(pages) < 10, f"{len(pages)} pages announced on a nearly full disk"
        for page in pages:
            assert jpeg(page).status_code == 200
        # A document change that does not fit: 507 with -1022, and the document is unchanged.
        response = requests.post(f"{base}/api/storage/documents/{document}/pages", json={"source": pages[0]["url"]}, timeout=TIMEOUT)
        if response.status_code == 200:   # it happened to fit: the next one cannot
            response = requests.post(f"{base}/api/storage/documents/{document}/pages", json={"source": pages[-1]["url"]}, timeout=TIMEOUT)
        assert response.status_code == 507, response.text
        assert response.json()["code"] == -1022 and response.json()["cause"]["code"] == 28, response.text
        stored_now = requests.get(f"{base}/api/storage/documents/{document}", timeout=TIMEOUT).json()["pages"]
        after = [requests.get(f"{base}/api/storage/documents/{document}/pages/{p['uid']}", timeout=TIMEOUT).content for p in stored_now[:len(stored)]]
        assert after == before, "a document changed while the disk was full"
        with open(log_path, encoding="utf-8", errors="replace") as f:
            log_text = f.read()
        assert "Answered 507 -1022" in log_text, log_text[-3000:]
        assert "could not be journaled" in log_text, log_text[-3000:]

        # Space again: scanning and appending work.
        os.unlink(filler)
        assert requests.delete(f"{base}/api/device/scanners/jobs/{job}", timeout=TIMEOUT).status_code == 204
        job, pages = scan(base, 4)
        assert len(pages) == 4
        assert requests.get(f"{base}/api/device/scanners/jobs/{job}", timeout=TIMEOUT).json()["status"] == "completed"
        response = requests.post(f"{base}/api/storage/documents/{document}/pages", json={"source": pages[0]["url"]}, timeout=TIMEOUT)
        assert response.status_code == 200, response.text
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        os.unlink(log_path)


def journal_records(path):
    """(kind, meta, body offset, body length) of each record of a journal file."""
    with open(path, "rb") as f:
        data = f.read()
    records, offset = [], 0
    while offset + 28 <= len(data):
        magic, kind, meta_length, body_length = struct.unpack_from("<4sIIQ", data, offset)
        assert magic == b"SBJ1"
        meta = data[offset + 28: offset + 28 + meta_length]
        records.append((kind, meta, offset + 28 + meta_length, body_length))
        offset += 28 + meta_length + body_length
    return records


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        byte = f.read(1)
        f.seek(offset)
        f.write(bytes([byte[0] ^ 0x20]))


def test_damaged_journal_page_is_reported_and_never_served():
    home = tempfile.mkdtemp(prefix="scanbridge-damage-")
    service = start_service(home)
    try:
        job, pages = scan(service.http, 6)
        originals = {page["imageuid"]: jpeg(page).content for page in pages}
        service.process.send_signal(signal.SIGKILL)
        service.process.wait()

        path = os.path.join(home, "journal", f"{job}.journal")
        page_records = [record for record in journal_records(path) if record[0] == 2]
        assert len(page_records) == 6
        _, _, body, length = page_records[2]
        flip(path, body + length // 2)

        service = start_service(home, ports=service.ports)
        damaged = pages[2]["imageuid"]
        for page in pages:
            response = jpeg(page)
            if page["imageuid"] == damaged:
                assert response.status_code == 500, response.status_code
                error = response.json()
                assert error["code"] == -1036 and "Page 3" in error["message"] and damaged in error["message"], error
                assert not response.headers.get("Content-Type", "").startswith("image/")
            else:
                assert response.status_code == 200 and response.content == originals[page["imageuid"]]
        # The document made of the job's pages refuses the damaged one rather than including it.
        document = requests.post(f"{service.http}/api/storage/documents", json={}, timeout=TIMEOUT).json()["uid"]
        response = requests.post(f"{service.http}/api/storage/documents/{document}/pages", json={"source": pages[2]["url"]}, timeout=TIMEOUT)
        assert response.status_code == 500 and response.json()["code"] == -1036, response.text
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)


def test_damaged_spill_file_is_reported_and_never_served():
    home = tempfile.mkdtemp(prefix="scanbridge-spill-damage-")
    # Every page spills to cache/ (limit 0), so reading one reads its file.
    service = start_service(home, ["--set", "BufferMemoryLimit=0", "--set", "PageJournal=false"])
    try:
        job, pages = scan(service.http, 4)
        files = sorted(glob.glob(os.path.join(home, "cache", "buffer-*", "*.page")))
        assert len(files) == 4, files
        # Files are named <buffer id>-<ticket>.page.
        victim = next(path for path in files if os.path.basename(path).startswith(f"{pages[1]['imageId']}-"))
        flip(victim, os.path.getsize(victim) // 2)
        for page in pages:
            response = requests.get(page["url"], timeout=TIMEOUT)
            if page is pages[1]:
                assert response.status_code == 500 and response.json()["code"] == -1036, response.text
            else:
                assert response.status_code == 200 and response.headers["Content-Type"] == "image/png"
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)
