"""The page journal against SIGKILL: a client scans 20-page batches through the REST API (two
loads of the SANE test backend's 10-sheet feeder), reads each announced page, appends it to a
document and renders the document as PDF, while the service is killed at a random moment:
between pages, while a page is read, while an append runs, while the PDF renders. After each
restart every page any client saw announced is served byte-identical under the ids it was
announced with, no page comes twice, the document passes `qpdf --check`, the service answers
within a second of starting, and an interrupted job resumes with the next page number."""
import hashlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import threading
import time

import pytest
import requests

from conftest import BINARY, free_ports

RUNS = 30
SHEETS = 10                  # the test backend's feeder is empty after 10 scans
BATCH_JOBS = 2               # so a batch is 20 pages
MOMENTS = ("between pages", "mid-page", "mid-append", "mid-PDF-render")
DEVICE = "sane:test:0"
CONFIG = {"PixelType": 2, "Resolution": 150, "IfFeederEnabled": True, "XferCount": SHEETS}
TIMEOUT = 20
STARTUP_LIMIT = 3.0


def spawn(home, ports):
    dcp, dwt, dcp_tls, dwt_tls = ports
    started = time.monotonic()
    process = subprocess.Popen([BINARY, "serve", "--home", home,
                                "--set", f"Port_mp_0={dcp}", "--set", f"Port_mp_1={dwt}",
                                "--set", f"SSLPort_mp_0={dcp_tls}", "--set", f"SSLPort_mp_1={dwt_tls}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{dwt}/api"
    while time.monotonic() - started < 20:
        assert process.poll() is None, f"scanbridge exited with {process.returncode}"
        try:
            if requests.get(f"{base}/server/version", timeout=1).ok:
                return process, base, time.monotonic() - started
        except requests.RequestException:
            time.sleep(0.02)
    process.kill()
    raise AssertionError("scanbridge did not answer within 20 s")


class Client:
    """One application scanning a batch: what it was told (pages announced, bytes read) is
    what the service must still have after the crash."""

    def __init__(self, base, document, moment, rng):
        self.base, self.document, self.moment = base, document, moment
        self.jobs = []
        self.announced = {}          # image uid → (job, imageId, PageNumber)
        self.read = {}               # image uid → SHA-256 of the JPEG served
        self.appended = []           # image uids whose append was answered 200
        self.trigger = threading.Event()
        self.trigger_at = rng.randrange(1, BATCH_JOBS * SHEETS - 1)
        self.done = threading.Event()
        self.count = 0

    def arm(self, moment):
        if self.moment == moment and self.count >= self.trigger_at:
            self.trigger.set()

    def run(self):
        try:
            for _ in range(BATCH_JOBS):
                response = requests.post(f"{self.base}/device/scanners/jobs", json={"device": DEVICE, "config": CONFIG}, timeout=TIMEOUT)
                assert response.status_code == 201, response.text
                job = response.json()["jobuid"]
                self.jobs.append(job)
                while True:
                    self.arm("mid-page")
                    response = requests.get(f"{self.base}/device/scanners/jobs/{job}/next-page-info", timeout=TIMEOUT)
                    if response.status_code == 204:
                        break
                    assert response.status_code == 200, response.text
                    page = response.json()[0]
                    uid = page["imageuid"]
                    self.announced[uid] = (job, page["imageId"], page["imageInfo"]["ImageLayout"]["PageNumber"])
                    self.count += 1
                    self.arm("between pages")
                    image = requests.get(page["url"], params={"type": "image/jpeg"}, timeout=TIMEOUT)
                    assert image.status_code == 200, image.text
                    self.read[uid] = hashlib.sha256(image.content).hexdigest()
                    self.arm("mid-append")
                    response = requests.post(f"{self.base}/storage/documents/{self.document}/pages", json={"source": page["url"]}, timeout=TIMEOUT)
                    assert response.status_code == 200, response.text
                    self.appended.append(uid)
                    if self.count % 3 == 0:
                        self.arm("mid-PDF-render")
                        pdf = requests.get(f"{self.base}/storage/documents/{self.document}/content", timeout=TIMEOUT)
                        assert pdf.status_code == 200
        except requests.RequestException:
            pass                      # the service was killed under the client
        finally:
            self.done.set()


def drain(base, job):
    pages = []
    while True:
        response = requests.get(f"{base}/device/scanners/jobs/{job}/next-page-info", timeout=TIMEOUT)
        if response.status_code == 204:
            return pages
        assert response.status_code == 200, response.text
        pages.append(response.json()[0])


def check_pdf(base, document, home):
    path = os.path.join(home, "check.pdf")
    response = requests.get(f"{base}/storage/documents/{document}/content", timeout=60)
    assert response.status_code == 200, response.text
    with open(path, "wb") as f:
        f.write(response.content)
    result = subprocess.run(["qpdf", "--check", path], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sigkill_loses_no_announced_page():
    assert os.environ.get("SANE_CONFIG_DIR"), "run through `make test`, which points SANE at its test backend"
    rng = random.Random(int(os.environ.get("JOURNAL_CRASH_SEED", "20261203")))
    home = tempfile.mkdtemp(prefix="scanbridge-journal-crash-")
    ports = tuple(free_ports(4))
    process, base, _ = spawn(home, ports)
    startups = []
    announced_total = 0
    try:
        for run in range(RUNS):
            moment = MOMENTS[run % len(MOMENTS)]
            document = requests.post(f"{base}/storage/documents", json={}, timeout=TIMEOUT).json()["uid"]
            client = Client(base, document, moment, rng)
            thread = threading.Thread(target=client.run, daemon=True)
            thread.start()
            # Kill when the client reaches the chosen moment (a little later, at random), or at
            # a random time if the batch ends first.
            if client.trigger.wait(timeout=60):
                time.sleep(rng.uniform(0, 0.03))
            process.send_signal(signal.SIGKILL)
            process.wait()
            thread.join(timeout=TIMEOUT)

            process, base, startup = spawn(home, ports)
            startups.append(startup)
            # One second is the bound; a shared, loaded machine can delay a single start past
            # it, so each start gets a few seconds and the median must be under one.
            assert startup < STARTUP_LIMIT, f"run {run}: the service took {startup:.2f} s to answer after the restart"

            served = {}
            numbers_by_job = {}
            for job in client.jobs:
                status = requests.get(f"{base}/device/scanners/jobs/{job}", timeout=TIMEOUT).json()["status"]
                assert status in ("interrupted", "completed"), f"run {run} ({moment}): job {job} is {status}"
                pages = drain(base, job)
                uids = [page["imageuid"] for page in pages]
                assert len(uids) == len(set(uids)), f"run {run} ({moment}): a page is listed twice in job {job}"
                numbers = [page["imageInfo"]["ImageLayout"]["PageNumber"] for page in pages]
                assert numbers == sorted(set(numbers)), f"run {run} ({moment}): page numbers {numbers}"
                numbers_by_job[job] = numbers
                for page in pages:
                    served[page["imageuid"]] = (job, page["imageId"], page["imageInfo"]["ImageLayout"]["PageNumber"], page["url"])
            for uid, (job, image_id, number) in client.announced.items():
                assert uid in served, f"run {run} ({moment}): announced page {uid} of job {job} is lost"
                assert served[uid][:3] == (job, image_id, number), f"run {run} ({moment}): page {uid} changed ids"
                if uid in client.read:
                    image = requests.get(served[uid][3], params={"type": "image/jpeg"}, timeout=TIMEOUT)
                    assert image.status_code == 200, image.text
                    assert hashlib.sha256(image.content).hexdigest() == client.read[uid], f"run {run} ({moment}): page {uid} changed bytes"
            announced_total += len(client.announced)

            stored = requests.get(f"{base}/storage/documents/{document}", timeout=TIMEOUT).json()["pages"]
            assert len(stored) >= len(client.appended), f"run {run} ({moment}): an acknowledged append is lost"
            if stored:
                check_pdf(base, document, home)

            # Every fourth run resumes its interrupted job: the scan goes on after the journaled pages.
            interrupted = [job for job in client.jobs
                           if requests.get(f"{base}/device/scanners/jobs/{job}", timeout=TIMEOUT).json()["status"] == "interrupted"]
            if interrupted and run % 4 == 1:
                job = interrupted[0]
                before = numbers_by_job[job]
                response = requests.patch(f"{base}/device/scanners/jobs/{job}", json={"status": "running"}, timeout=TIMEOUT)
                assert response.status_code == 200, response.text
                after = [page["imageInfo"]["ImageLayout"]["PageNumber"] for page in drain(base, job)]
                assert after == list(range(max(before, default=0) + 1, max(before, default=0) + 1 + len(after))), (before, after)
                assert len(before) + len(after) == SHEETS, (before, after)
            for job in client.jobs:
                requests.delete(f"{base}/device/scanners/jobs/{job}", timeout=TIMEOUT)
            requests.delete(f"{base}/storage/documents/{document}", timeout=TIMEOUT)
        median = sorted(startups)[len(startups) // 2]
        assert median < 1.0, f"the service took a median {median:.2f} s to answer after a restart: {startups}"
        assert announced_total > RUNS, "hardly any page was announced before the kills: the test proved nothing"
        print(f"start-up after SIGKILL: max {max(startups):.2f} s, median {sorted(startups)[len(startups) // 2]:.2f} s; "
              f"{announced_total} announced pages checked")
    finally:
        process.kill()
        process.wait()
        shutil.rmtree(home, ignore_errors=True)

