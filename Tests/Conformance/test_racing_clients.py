"""Clients racing each other on one scanner and one job, against the real service: exactly one
of three clients starting a job at once gets the scanner, the others 423; twenty clients
polling one job see one story (statuses only move forward, every page goes to exactly one
client, all of them, in order of page number, and everyone ends with the same final answer)."""
import shutil
import tempfile
import threading
import time

import pytest
import requests

from conftest import start_service, stop_service

DEVICE = "sane:test:0"
ORDER = {"pending": 0, "running": 1, "completed": 2, "faulted": 2, "canceled": 2}


@pytest.fixture(scope="module")
def api():
    """A service of this module's own, so that these races do not depend on what earlier tests
    left on the shared one."""
    home = tempfile.mkdtemp(prefix="scanbridge-racing-")
    running = start_service(home)
    yield running.http + "/api"
    stop_service(running)
    shutil.rmtree(home, ignore_errors=True)


def together(count, work):
    """Runs work(i) on `count` threads released at the same moment; returns their results, or
    raises the first failure of any of them (an assertion in a thread would otherwise only be
    printed)."""
    start = threading.Barrier(count)
    results = [None] * count
    failures = []

    def run(index):
        start.wait()
        try:
            results[index] = work(index)
        except BaseException as failure:   # noqa: B036 (re-raised on the test's thread)
            failures.append(failure)

    threads = [threading.Thread(target=run, args=(index,), daemon=True) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if failures:
        raise failures[0]
    assert not any(thread.is_alive() for thread in threads), "a client thread is still running after 120 s"
    return results


@pytest.mark.parametrize("round_", range(10))
def test_three_clients_racing_for_one_scanner(api, round_):
    # Pending jobs hold the scanner until deleted, so the race is decided by the lock alone, not
    # by how quickly a winner's scan ends.
    body = {"device": DEVICE, "autoRun": False,
            "config": {"PixelType": 1, "Resolution": 50, "IfFeederEnabled": True, "XferCount": 1}}
    answers = together(3, lambda _: requests.post(f"{api}/device/scanners/jobs", json=body, timeout=30))
    winners = [a for a in answers if a.status_code == 201]
    losers = [a for a in answers if a.status_code != 201]
    try:
        assert len(winners) == 1, [(a.status_code, a.text) for a in answers]
        for loser in losers:
            assert loser.status_code == 423 and loser.json()["code"] == -1004, loser.text
    finally:
        for winner in winners:
            assert requests.delete(f"{api}/device/scanners/jobs/{winner.json()['jobuid']}", timeout=30).status_code == 204


def test_twenty_clients_polling_one_job(api):
    pages = 6
    created = requests.post(f"{api}/device/scanners/jobs", json={
        "device": DEVICE, "autoRun": False,
        "config": {"PixelType": 1, "Resolution": 75, "IfFeederEnabled": True, "XferCount": pages}})
    assert created.status_code == 201, created.text
    uid = created.json()["jobuid"]
    job = f"{api}/device/scanners/jobs/{uid}"

    deadline = time.monotonic() + 60

    def poll(_):
        session = requests.Session()
        statuses, taken = [], []
        while True:
            # A client that never sees the job end fails here, with what it saw, instead of
            # spinning until the suite's own time-out.
            assert time.monotonic() < deadline, (statuses[-5:], taken)
            status = session.get(job, timeout=30)
            assert status.status_code == 200, status.text
            statuses.append(status.json()["status"])
            if statuses[-1] == "pending":
                continue
            page = session.get(f"{job}/next-page-info", timeout=30)
            if page.status_code == 204:
                break
            assert page.status_code == 200, page.text
            [info] = page.json()
            taken.append((info["imageInfo"]["ImageLayout"]["PageNumber"], info["imageuid"]))
        final = session.get(job, timeout=30).json()
        return statuses, taken, final

    def start_then_poll(index):
        if index == 0:
            started = requests.patch(job, json={"status": "running"}, timeout=30)
            assert started.ok, started.text
        return poll(index)

    results = together(20, start_then_poll)
    try:
        everything = []
        finals = set()
        for statuses, taken, final in results:
            ranks = [ORDER[s] for s in statuses]
            assert ranks == sorted(ranks), statuses
            # What one client took, it took in page order.
            assert [number for number, _ in taken] == sorted(number for number, _ in taken), taken
            everything += taken
            finals.add((final["status"], final.get("code")))
        assert sorted(number for number, _ in everything) == list(range(1, pages + 1)), everything
        assert len({uid for _, uid in everything}) == pages
        assert len(finals) == 1 and next(iter(finals))[0] == "completed", finals
    finally:
        requests.delete(job, timeout=30)
