"""Two scanners of one SANE backend scanning at the same time, against the real service.

SANE's `test` backend (like most backends) starts a reader thread per page through
sanei_thread, which hands the thread its device through one variable shared by every device of
the backend: two `sane_start` calls close together gave both readers the same device, and the
other device's `sane_read` waited for data that no thread would ever write. Both jobs must
complete, every time."""
import threading

import pytest
import requests

RUNS = 20
PAGES = 3


@pytest.fixture()
def api(service):
    return service.http + "/api"


def pending_job(api, device, pixel_type, resolution):
    response = requests.post(f"{api}/device/scanners/jobs", json={
        "device": device, "autoRun": False, "scannerFailureTimeout": 5,
        "config": {"PixelType": pixel_type, "Resolution": resolution,
                   "IfFeederEnabled": True, "XferCount": PAGES}})
    assert response.status_code == 201, response.text
    return response.json()["jobuid"]


def drain(api, uid, start, outcome):
    """Starts the job when `start` opens, then takes every page until the job ends."""
    start.wait()
    started = requests.patch(f"{api}/device/scanners/jobs/{uid}", json={"status": "running"}, timeout=30)
    pages = 0
    if started.ok:
        while True:
            page = requests.get(f"{api}/device/scanners/jobs/{uid}/next-page-info", timeout=30)
            if page.status_code != 200:
                break
            pages += 1
    status = requests.get(f"{api}/device/scanners/jobs/{uid}", timeout=30).json()
    outcome[uid] = (started.status_code, pages, status)


@pytest.mark.parametrize("run", range(RUNS))
def test_two_scanners_of_one_backend_both_complete(api, run):
    jobs = [pending_job(api, "sane:test:0", 2, 75), pending_job(api, "sane:test:1", 1, 50)]
    start = threading.Barrier(len(jobs))
    outcome = {}
    threads = [threading.Thread(target=drain, args=(api, uid, start, outcome)) for uid in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        for uid in jobs:
            started, pages, status = outcome[uid]
            assert started == 200 and status["status"] == "completed" and pages == PAGES, (run, uid, outcome[uid])
    finally:
        for uid in jobs:
            requests.delete(f"{api}/device/scanners/jobs/{uid}", timeout=30)
