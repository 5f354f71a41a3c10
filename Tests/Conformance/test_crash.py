"""Crash safety of the running service: pages are written through the REST API while the
service is killed with SIGKILL at random moments; after each restart every page whose write was
acknowledged is intact, and nothing half-written is visible."""
import io
import random
import shutil
import signal
import tempfile
import threading
import time

import requests
from PIL import Image

from conftest import start_service

ROUNDS = 12


def page_bytes(number):
    picture = io.BytesIO()
    Image.new("RGB", (400, 300), ((number * 37) % 256, (number * 91) % 256, 128)).save(picture, "PNG")
    return picture.getvalue()


def test_kill_9_loses_no_acknowledged_page():
    home = tempfile.mkdtemp(prefix="scanbridge-crash-")
    rng = random.Random(20261124)
    service = start_service(home)
    api = service.http + "/api"
    document = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    acknowledged = []          # (page uid, colour number) in document order
    try:
        for round_number in range(ROUNDS):
            stop = threading.Event()

            def writer():
                number = len(acknowledged)
                while not stop.is_set():
                    try:
                        response = requests.post(f"{api}/storage/documents/{document}/import",
                                                 data=page_bytes(number), timeout=5)
                    except requests.RequestException:
                        return
                    if response.status_code != 200:
                        return
                    acknowledged.append((response.json()["pages"][-1]["uid"], number))
                    number += 1

            thread = threading.Thread(target=writer)
            thread.start()
            time.sleep(rng.uniform(0.05, 0.6))
            service.process.send_signal(signal.SIGKILL)
            service.process.wait()
            stop.set()
            thread.join()

            # Restart on the same folder and ports: every acknowledged page is there and reads back.
            service = start_service(home, ports=service.ports)
            info = requests.get(f"{api}/storage/documents/{document}").json()
            stored = [page["uid"] for page in info["pages"]]
            expected = [uid for uid, _ in acknowledged]
            assert stored[:len(expected)] == expected, f"round {round_number}: lost or reordered pages"
            # At most the one write in flight at the kill may have committed without its answer.
            assert len(stored) - len(expected) <= 1, f"round {round_number}: {len(stored)} pages for {len(expected)} writes"
            for uid in stored[len(expected):]:
                acknowledged.append((uid, None))
            for uid, number in rng.sample(acknowledged, min(5, len(acknowledged))):
                image = Image.open(io.BytesIO(requests.get(f"{api}/storage/documents/{document}/pages/{uid}").content))
                assert image.size == (400, 300)
                if number is not None:
                    # Colour pages are stored as JPEG (quality 85): each channel within a few levels.
                    expected = ((number * 37) % 256, (number * 91) % 256, 128)
                    assert all(abs(a - b) <= 4 for a, b in zip(image.getpixel((10, 10)), expected)), (image.getpixel((10, 10)), expected)
        assert len(acknowledged) > ROUNDS, "the writer never got a page in: the test proved nothing"
    finally:
        service.process.kill()
        service.process.wait()
        shutil.rmtree(home, ignore_errors=True)

