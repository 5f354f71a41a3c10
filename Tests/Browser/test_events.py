"""GET /api/events (server-sent events) and the ScanBridge extension routes the SDK uses:
thumbnails, buffer rotate/delete/reorder, document order/rotate, uploads through the service."""
import io
import json
import queue
import subprocess
import tempfile
import threading
import http.server

import pytest
import requests
from PIL import Image

DEVICE = "sane:test:0"
ADF = {"IfFeederEnabled": True, "PixelType": 2, "Resolution": 50}


class EventReader:
    """Reads an SSE stream on a thread; events (and heartbeat comments) land in a queue."""

    def __init__(self, url, headers=None):
        self.response = requests.get(url, headers=headers or {}, stream=True, timeout=(10, 60))
        assert self.response.status_code == 200, self.response.text
        assert self.response.headers["Content-Type"].startswith("text/event-stream")
        self.items = queue.Queue()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        event = {}
        try:
            for line in self.response.iter_lines(decode_unicode=True):
                if line is None:
                    continue
                if line == "":
                    if event:
                        if "data" in event:
                            event["json"] = json.loads(event["data"])
                        self.items.put(event)
                    event = {}
                elif line.startswith(":"):
                    self.items.put({"comment": line[1:].strip()})
                else:
                    name, _, value = line.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    event[name] = event[name] + "\n" + value if name == "data" and name in event else value
        except Exception:  # the stream was closed by the test
            pass

    def next(self, predicate, timeout=60):
        while True:
            item = self.items.get(timeout=timeout)
            if predicate(item):
                return item

    def close(self):
        self.response.close()


def scan_job(api, count, origin=None):
    headers = {"Origin": origin} if origin else {}
    response = requests.post(f"{api}/api/device/scanners/jobs", headers=headers, timeout=60,
                             json={"device": DEVICE, "config": {**ADF, "XferCount": count}})
    assert response.status_code == 201, response.text
    return response.json()["jobuid"]


def pages_of(api, job, origin=None):
    headers = {"Origin": origin} if origin else {}
    pages = []
    while True:
        response = requests.get(f"{api}/api/device/scanners/jobs/{job}/next-page-info", headers=headers, timeout=120)
        if response.status_code == 204:
            return pages
        assert response.status_code == 200, response.text
        pages.append(response.json()[0])


def test_events_job_state_pages_and_buffer(api):
    reader = EventReader(f"{api}/api/events?heartbeat=1")
    hello = reader.next(lambda e: e.get("event") == "hello")
    assert hello["retry"] == "2000" and hello["json"]["heartbeat"] == 1
    job = scan_job(api, 2)
    running = reader.next(lambda e: e.get("event") == "job" and e["json"]["job"] == job)
    assert running["json"]["status"] in ("pending", "running")
    pages = [reader.next(lambda e: e.get("event") == "page" and e["json"]["job"] == job) for _ in range(2)]
    for page in pages:
        data = page["json"]
        assert data["thumbnail"] == f"/api/buffer/{data['id']}/thumbnail"
        assert data["url"].startswith(f"/api/device/scanners/jobs/{job}/next-page?page=")
        thumbnail = requests.get(api + data["thumbnail"], timeout=30)
        assert thumbnail.status_code == 200 and thumbnail.headers["Content-Type"] == "image/jpeg"
        image = Image.open(io.BytesIO(thumbnail.content))
        image.load()
        assert image.size == (min(data["width"], 240), min(data["height"], 240)) or max(image.size) == 240
    added = reader.next(lambda e: e.get("event") == "buffer")
    assert added["json"]["change"] == "added"
    done = reader.next(lambda e: e.get("event") == "job" and e["json"]["status"] == "completed")
    assert done["json"]["pages"] == 2
    ids = [int(e["id"].split("-")[1]) for e in [running, *pages, done]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert reader.next(lambda e: "comment" in e, timeout=5)["comment"] == "heartbeat"
    reader.close()

    # Resume: Last-Event-ID replays exactly what came after it.
    resumed = EventReader(f"{api}/api/events", headers={"Last-Event-ID": running["id"]})
    resumed.next(lambda e: e.get("event") == "hello")
    first = resumed.next(lambda e: "id" in e, timeout=10)
    assert int(first["id"].split("-")[1]) == ids[0] + 1
    replayed = [first]
    while replayed[-1]["id"] != done["id"]:
        replayed.append(resumed.next(lambda e: "id" in e, timeout=10))
    assert [e["id"] for e in replayed if e.get("event") == "page"] == [p["id"] for p in pages]
    resumed.close()
    # The same through the query (for clients that can't set the header).
    by_query = EventReader(f"{api}/api/events?lastEventId={done['id']}")
    by_query.next(lambda e: e.get("event") == "hello")
    requests.delete(f"{api}/api/device/scanners/jobs/{job}", timeout=30)
    deleted = by_query.next(lambda e: e.get("event") == "job")
    assert deleted["json"]["status"] == "deleted"
    assert by_query.next(lambda e: e.get("event") == "buffer")["json"]["change"] == "removed"
    by_query.close()


def test_events_unknown_last_event_id_asks_for_reset(api):
    reader = EventReader(f"{api}/api/events", headers={"Last-Event-ID": "otherrun-5"})
    reader.next(lambda e: e.get("event") == "hello")
    assert reader.next(lambda e: "event" in e, timeout=10)["event"] == "reset"
    reader.close()
    assert requests.get(f"{api}/api/events?heartbeat=0", timeout=10).status_code == 400


def test_events_of_a_job_reach_only_its_origin(api, allowed_origin, service):
    own = f"http://127.0.0.1:{service.service_port}"
    mine = EventReader(f"{api}/api/events", headers={"Origin": allowed_origin})
    other = EventReader(f"{api}/api/events", headers={"Origin": own})
    assert mine.response.headers["Access-Control-Allow-Origin"] == allowed_origin
    job = scan_job(api, 1, origin=allowed_origin)
    assert mine.next(lambda e: e.get("event") == "page")["json"]["job"] == job
    mine.next(lambda e: e.get("event") == "job" and e["json"]["status"] == "completed")
    requests.delete(f"{api}/api/device/scanners/jobs/{job}", headers={"Origin": allowed_origin}, timeout=30)
    mine.next(lambda e: e.get("event") == "job" and e["json"]["status"] == "deleted")
    with pytest.raises(queue.Empty):
        other.next(lambda e: e.get("event") in ("page", "job", "buffer"), timeout=2)
    mine.close()
    other.close()


def test_buffer_routes_rotate_delete_reorder_and_origin_binding(api, allowed_origin, service):
    job = scan_job(api, 3, origin=allowed_origin)
    origin = {"Origin": allowed_origin}
    pages = pages_of(api, job, origin=allowed_origin)
    ids = [p["imageId"] for p in pages]
    width, height = pages[0]["imageInfo"]["ImageWidth"], pages[0]["imageInfo"]["ImageLength"]
    # Another origin (or none) can't see or touch this job's pages.
    assert requests.get(f"{api}/api/buffer/{ids[0]}/thumbnail", timeout=10).status_code == 403
    assert requests.delete(f"{api}/api/buffer/{ids[0]}", headers={"Origin": f"http://127.0.0.1:{service.service_port}"},
                           timeout=10).status_code == 403
    rotated = requests.post(f"{api}/api/buffer/{ids[1]}/rotate", json={"degrees": 90}, headers=origin, timeout=30)
    assert rotated.status_code == 200, rotated.text
    assert (rotated.json()["width"], rotated.json()["height"]) == (height, width)
    assert requests.post(f"{api}/api/buffer/{ids[1]}/rotate", json={"degrees": 45}, headers=origin, timeout=10).status_code == 400
    thumb = Image.open(io.BytesIO(requests.get(f"{api}/api/buffer/{ids[1]}/thumbnail?size=100", headers=origin, timeout=30).content))
    assert (thumb.width > thumb.height) == (height > width)
    assert requests.post(f"{api}/api/buffer/reorder", json={"ids": [ids[2], ids[1], ids[0]]}, headers=origin, timeout=10).status_code == 204
    listed = [p["id"] for p in requests.get(f"{api}/api/buffer", headers=origin, timeout=10).json() if p["job"] == job]
    assert listed == [ids[2], ids[1], ids[0]]
    assert requests.delete(f"{api}/api/buffer/{ids[0]}", headers=origin, timeout=10).status_code == 204
    assert requests.get(f"{api}/api/buffer/{ids[0]}/thumbnail", headers=origin, timeout=10).status_code == 404
    # The job's page URL now serves the rotated page.
    doc = requests.post(f"{api}/api/storage/documents", json={}, headers=origin, timeout=10).json()["uid"]
    url = f"{api}/api/device/scanners/jobs/{job}/next-page?page={pages[1]['imageuid']}"
    info = requests.post(f"{api}/api/storage/documents/{doc}/pages", json={"source": url}, headers=origin, timeout=30).json()
    stored = Image.open(io.BytesIO(requests.get(f"{api}/api/storage/documents/{doc}/pages/0", headers=origin, timeout=30).content))
    assert stored.size == (height, width)
    requests.delete(f"{api}/api/storage/documents/{doc}", timeout=10)
    requests.delete(f"{api}/api/device/scanners/jobs/{job}", headers=origin, timeout=30)
    assert info["pages"]


def test_document_order_and_rotate(api, tmp_path):
    job = scan_job(api, 3)
    pages = pages_of(api, job)
    doc = requests.post(f"{api}/api/storage/documents", json={}, timeout=10).json()["uid"]
    for page in pages:
        assert requests.post(f"{api}/api/storage/documents/{doc}/pages", json={"source": page["url"]}, timeout=30).ok
    uids = [p["uid"] for p in requests.get(f"{api}/api/storage/documents/{doc}", timeout=10).json()["pages"]]
    reordered = requests.post(f"{api}/api/storage/documents/{doc}/order", json={"pages": [uids[2], uids[0], uids[1]]}, timeout=30)
    assert [p["uid"] for p in reordered.json()["pages"]] == [uids[2], uids[0], uids[1]]
    assert requests.post(f"{api}/api/storage/documents/{doc}/order", json={"pages": uids[:2]}, timeout=30).status_code >= 400
    rotated = requests.post(f"{api}/api/storage/documents/{doc}/pages/1/rotate", json={"degrees": -90}, timeout=30)
    assert rotated.status_code == 200, rotated.text
    assert len(rotated.json()["pages"]) == 3
    pdf = tmp_path / "doc.pdf"
    pdf.write_bytes(requests.get(f"{api}/api/storage/documents/{doc}/content?type=application/pdf", timeout=60).content)
    subprocess.run(["qpdf", "--check", str(pdf)], check=True, capture_output=True)
    sizes = page_sizes(pdf)
    assert len(sizes) == 3
    assert [w > h for w, h in sizes] == [False, True, False]
    requests.delete(f"{api}/api/storage/documents/{doc}", timeout=10)
    requests.delete(f"{api}/api/device/scanners/jobs/{job}", timeout=30)


def page_sizes(pdf):
    """(width, height) in points of every page, from pdfinfo."""
    out = subprocess.run(["pdfinfo", "-f", "1", "-l", "1000", str(pdf)], check=True, capture_output=True, text=True).stdout
    sizes = []
    for line in out.splitlines():
        if line.startswith("Page") and "size:" in line:
            numbers = line.split("size:")[1].split()
            sizes.append((float(numbers[0]), float(numbers[2])))
    return sizes


class Receiver(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        length = int(self.headers["Content-Length"])
        Receiver.received.append((self.headers["Content-Type"], self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def test_upload_through_the_service_reports_progress(api, allowed_origin):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = {"Origin": allowed_origin}
    try:
        reader = EventReader(f"{api}/api/events", headers=origin)
        job = scan_job(api, 2, origin=allowed_origin)
        pages = pages_of(api, job, origin=allowed_origin)
        doc = requests.post(f"{api}/api/storage/documents", json={}, headers=origin, timeout=10).json()["uid"]
        for page in pages:
            assert requests.post(f"{api}/api/storage/documents/{doc}/pages", json={"source": page["url"]}, headers=origin, timeout=30).ok
        target = f"http://127.0.0.1:{server.server_address[1]}/upload"
        started = requests.post(f"{api}/api/storage/documents/{doc}/upload", headers=origin, timeout=60,
                                json={"url": target, "type": "application/pdf", "fileName": "scan.pdf", "formFields": {"note": "x"}})
        assert started.status_code == 202, started.text
        upload = started.json()["upload"]
        states = []
        while not states or states[-1] not in ("succeeded", "failed"):
            event = reader.next(lambda e: e.get("event") == "upload" and e["json"]["upload"] == upload, timeout=60)
            states.append(event["json"]["state"])
        assert states[0] == "queued" and states[-1] == "succeeded", states
        assert requests.get(f"{api}/api/uploads/{upload}", timeout=10).json()["state"] == "succeeded"
        content_type, body = Receiver.received[-1]
        assert content_type.startswith("multipart/form-data")
        start = body.index(b"%PDF-")
        end = body.rindex(b"%%EOF") + 5
        with tempfile.NamedTemporaryFile(suffix=".pdf") as f:
            f.write(body[start:end])
            f.flush()
            subprocess.run(["qpdf", "--check", f.name], check=True, capture_output=True)
            assert len(page_sizes(f.name)) == 2
        reader.close()
        requests.delete(f"{api}/api/device/scanners/jobs/{job}", headers=origin, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
