"""Every endpoint's error paths, with the DWT error body {code, message, statusCode}, over real
HTTP against the live service."""
import json
import os
import shutil
import tempfile
import threading

import pytest
import requests

from conftest import start_service, stop_service

DEVICE = "sane:test:0"


def error(response, status, code):
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert body["statusCode"] == status and body["code"] == code and body["message"], body
    return body


@pytest.fixture()
def api(service):
    return service.http + "/api"


def job(api, **options):
    response = requests.post(f"{api}/device/scanners/jobs", json={"device": DEVICE, **options})
    assert response.status_code == 201, response.text
    return response.json()["jobuid"]


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/server", "GET, PATCH"),
    ("POST", "/server/version", "GET"),
    ("PUT", "/device/scanners", "GET"),
    ("GET", "/device/scanners/jobs", "POST"),
    ("PUT", "/storage/documents/x", "GET, PATCH, DELETE"),
    ("GET", "/process/check-blank", "POST"),
])
def test_405_names_the_allowed_methods(api, method, path, allowed):
    response = requests.request(method, api + path)
    body = error(response, 405, -2112)
    assert response.headers["Allow"] == allowed and allowed in body["message"]


@pytest.mark.parametrize("body", ["{", "[]", '{"logLevel": "loud"}', '{"logLevel": 1000}'])
def test_400_bad_server_settings(api, body):
    error(requests.patch(f"{api}/server", data=body), 400, -2113)


def test_400_bad_inputs(api):
    error(requests.get(f"{api}/device/scanners", params={"type": "many"}), 400, -2113)
    error(requests.post(f"{api}/device/scanners/jobs", data="not json"), 400, -2113)
    error(requests.post(f"{api}/device/scanners/jobs", json={"device": DEVICE, "scannerFailureTimeout": 0}), 400, -2113)
    error(requests.post(f"{api}/storage/documents", json={"password": "x" * 33}), 400, -2113)
    doc = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    error(requests.get(f"{api}/storage/documents/{doc}/content", params={"type": "text/html"}), 400, -2113)
    error(requests.get(f"{api}/storage/documents/{doc}/content", params={"quality": "0"}), 400, -2113)
    error(requests.get(f"{api}/storage/documents/{doc}/content"), 400, -2113)       # no pages yet
    error(requests.post(f"{api}/storage/documents/{doc}/pages", json={"source": "http://example.com/x.png"}), 400, -2113)
    error(requests.post(f"{api}/storage/documents/{doc}/pages", data=""), 400, -2113)
    error(requests.post(f"{api}/storage/documents/{doc}/import", data=b"not an image"), 400, -2113)
    error(requests.post(f"{api}/process/check-blank", json={}), 400, -2113)
    error(requests.post(f"{api}/process/read-barcode", json={"source": "nonsense"}), 400, -2113)
    assert requests.delete(f"{api}/storage/documents/{doc}").status_code == 204


def test_404_unknown_things(api):
    error(requests.get(f"{api}/device/scanners/jobs/no-such-job"), 404, -1034)
    error(requests.get(f"{api}/device/scanners/jobs/no-such-job/next-page"), 404, -1034)
    error(requests.post(f"{api}/device/scanners/jobs", json={"device": "sane:nonexistent:9"}), 404, -1003)
    error(requests.get(f"{api}/storage/documents/nosuchdocument"), 404, -1040)
    error(requests.delete(f"{api}/storage/documents/nosuchdocument"), 404, -1040)
    error(requests.get(f"{api}/storage/documents/..%2F..%2Fetc"), 404, -1040)
    uid = job(api, config={"IfFeederEnabled": True, "XferCount": 1, "Resolution": 50})
    source = f"http://127.0.0.1/api/device/scanners/jobs/{uid}/next-page?page=nosuchpage"
    doc = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    error(requests.post(f"{api}/storage/documents/{doc}/pages", json={"source": source}), 404, -2847)
    requests.delete(f"{api}/device/scanners/jobs/{uid}")
    requests.delete(f"{api}/storage/documents/{doc}")


def test_403_wrong_password_and_foreign_origin(api):
    doc = requests.post(f"{api}/storage/documents", json={"password": "pw"}).json()["uid"]
    error(requests.get(f"{api}/storage/documents/{doc}"), 403, -1043)
    error(requests.get(f"{api}/storage/documents/{doc}", headers={"X-DICS-DOC-PASSWORD": "nope"}), 403, -1043)
    assert requests.get(f"{api}/storage/documents/{doc}", headers={"X-DICS-DOC-PASSWORD": "pw"}).ok
    assert requests.delete(f"{api}/storage/documents/{doc}", headers={"DWT-DOC-PASSWORD": "pw"}).status_code == 204
    mine = {"Origin": "https://app.example"}
    response = requests.post(f"{api}/device/scanners/jobs", headers=mine,
                             json={"device": DEVICE, "autoRun": False, "config": {"Resolution": 50}})
    uid = response.json()["jobuid"]
    error(requests.get(f"{api}/device/scanners/jobs/{uid}", headers={"Origin": "https://evil.example"}), 403, -2801)
    error(requests.get(f"{api}/device/scanners/jobs/{uid}"), 403, -2801)
    error(requests.delete(f"{api}/device/scanners/jobs/{uid}", headers={"Origin": "https://evil.example"}), 403, -2801)
    assert requests.get(f"{api}/device/scanners/jobs/{uid}", headers=mine).json()["status"] == "pending"
    assert requests.delete(f"{api}/device/scanners/jobs/{uid}", headers=mine).status_code == 204


def test_409_out_of_sequence_410_deleted_423_busy(api):
    pending = job(api, autoRun=False, config={"IfFeederEnabled": True, "XferCount": 1, "Resolution": 50})
    error(requests.get(f"{api}/device/scanners/jobs/{pending}/next-page"), 409, -1011)
    # The scanner is locked to the pending job.
    busy = requests.post(f"{api}/device/scanners/jobs", json={"device": DEVICE})
    error(busy, 423, -1004)
    error(requests.patch(f"{api}/device/scanners/jobs/{pending}", json={"status": "paused"}), 400, -2113)
    assert requests.patch(f"{api}/device/scanners/jobs/{pending}", json={"status": "running"}).ok
    assert requests.get(f"{api}/device/scanners/jobs/{pending}/next-page").status_code == 200
    assert requests.get(f"{api}/device/scanners/jobs/{pending}/next-page").status_code == 204
    error(requests.patch(f"{api}/device/scanners/jobs/{pending}", json={"status": "running"}), 409, -1011)
    error(requests.get(f"{api}/device/scanners/jobs/{pending}/scanner/capabilities"), 409, -1011)
    error(requests.get(f"{api}/device/scanners/jobs/{pending}/scanner/settings"), 409, -1011)
    assert requests.delete(f"{api}/device/scanners/jobs/{pending}").status_code == 204
    error(requests.get(f"{api}/device/scanners/jobs/{pending}"), 410, -1034)
    error(requests.get(f"{api}/device/scanners/jobs/{pending}/next-page-info"), 410, -1034)
    error(requests.delete(f"{api}/device/scanners/jobs/{pending}"), 410, -1034)


@pytest.mark.parametrize("run", range(5))
def test_two_starts_of_one_pending_job_at_once(api, run):
    """Both PATCHes reach the job while its journal is being created: one starts it, the other
    gets 409 -1011, and the job scans every sheet with its journal intact."""
    pending = job(api, autoRun=False, config={"IfFeederEnabled": True, "XferCount": 3, "Resolution": 50})
    barrier = threading.Barrier(2)
    answers = []

    def start():
        barrier.wait()
        answers.append(requests.patch(f"{api}/device/scanners/jobs/{pending}", json={"status": "running"}, timeout=30))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert sorted(answer.status_code for answer in answers) == [200, 409], [answer.text for answer in answers]
        error(next(answer for answer in answers if answer.status_code == 409), 409, -1011)
        pages = 0
        while requests.get(f"{api}/device/scanners/jobs/{pending}/next-page", timeout=30).status_code == 200:
            pages += 1
        assert pages == 3
        assert requests.get(f"{api}/device/scanners/jobs/{pending}").json()["status"] == "completed"
    finally:
        # A job left pending would keep the scanner from the tests after this one.
        assert requests.delete(f"{api}/device/scanners/jobs/{pending}").status_code == 204


def test_product_keys_when_configured():
    home = tempfile.mkdtemp(prefix="scanbridge-keys-")
    service = start_service(home, ["--set", "ProductKeys=alpha, beta"])
    try:
        api = service.http + "/api"
        options = {"device": DEVICE, "autoRun": False, "config": {"Resolution": 50}}
        error(requests.post(f"{api}/device/scanners/jobs", json=options), 403, -2800)
        error(requests.post(f"{api}/device/scanners/jobs", json=options, headers={"DWT-PRODUCT-KEY": "gamma"}), 403, -2800)
        accepted = requests.post(f"{api}/device/scanners/jobs", json=options, headers={"X-DICS-LICENSE-KEY": "beta"})
        assert accepted.status_code == 201
        assert requests.delete(f"{api}/device/scanners/jobs/{accepted.json()['jobuid']}").status_code == 204
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)


def test_seed_endpoints(service):
    base = service.http
    version = requests.get(f"{base}/fa/VersionInfo", params={"ts": "1"}).json()
    assert version["method"] == "VersionInfo" and version["cmdId"] == "" and version["id"]
    assert version["result"] == ["19, 0, 0, 1", "", "64"]
    api = base + "/api"
    uid = job(api, config={"PixelType": 2, "IfFeederEnabled": True, "XferCount": 2, "Resolution": 100})
    assert requests.get(f"{api}/device/scanners/jobs/{uid}/next-page-info").ok
    assert requests.get(f"{api}/device/scanners/jobs/{uid}/next-page-info").ok
    # The buffer is shared with earlier tests: this job's first page is at its own index.
    index = next(page["index"] for page in requests.get(f"{api}/buffer").json() if page["job"] == uid)
    image = requests.get(f"{base}/dwt/dwt_19000001/img", params={"id": "1", "index": str(index), "width": "100", "height": "80", "ticks": "5"})
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/jpeg"
    from PIL import Image
    import io
    picture = Image.open(io.BytesIO(image.content))
    assert picture.size[0] <= 100 and picture.size[1] <= 80 and max(picture.size[0] / 100, picture.size[1] / 80) > 0.95
    error(requests.get(f"{base}/dwt/dwt_19000001/img", params={"index": "0", "width": "0", "height": "80"}), 400, -2113)
    error(requests.get(f"{base}/dwt/dwt_19000001/img", params={"index": "99999", "width": "10", "height": "10"}), 400, -2352)
    removed = requests.get(f"{base}/f/RemoveAllImages?4").json()
    assert removed["method"] == "RemoveAllImages" and removed["result"] == [True]
    error(requests.get(f"{base}/dwt/dwt_19000001/img", params={"index": "0", "width": "10", "height": "10"}), 400, -2352)
    requests.delete(f"{api}/device/scanners/jobs/{uid}")


def test_a_client_that_gives_up_waiting_takes_no_page(api):
    """next-page-info blocks until the page exists; a client that disconnects meanwhile must not
    consume it: the next request still gets page 1."""
    import base64
    pending = job(api, autoRun=False, config={"PixelType": 2, "IfFeederEnabled": True, "XferCount": 2, "Resolution": 75})
    blob = json.loads(base64.b64decode(requests.get(f"{api}/device/scanners/jobs/{pending}/scanner/settings").json()["settings"]))
    requests.delete(f"{api}/device/scanners/jobs/{pending}")
    # 256 KiB per read, 0.2 s per read: about a second per 150 dpi page, long enough to give up.
    blob.update({"read-delay": "true", "read-delay-duration": "200000", "read-limit": "true", "read-limit-size": "262144"})
    uid = job(api, settings=base64.b64encode(json.dumps(blob).encode()).decode(),
              config={"PixelType": 2, "IfFeederEnabled": True, "XferCount": 2, "Resolution": 150})
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(f"{api}/device/scanners/jobs/{uid}/next-page-info", timeout=0.3)
    first = requests.get(f"{api}/device/scanners/jobs/{uid}/next-page-info", timeout=30).json()
    assert first[0]["imageInfo"]["ImageLayout"]["PageNumber"] == 1
    assert requests.get(f"{api}/device/scanners/jobs/{uid}/next-page-info", timeout=30).json()[0]["imageInfo"]["ImageLayout"]["PageNumber"] == 2
    assert requests.get(f"{api}/device/scanners/jobs/{uid}/next-page-info", timeout=30).status_code == 204
    requests.delete(f"{api}/device/scanners/jobs/{uid}")


def test_streamed_pdf_a_damaged_page_fails_clearly_and_loses_nothing(api, service):
    """A document's PDF streams as it is written. Whatever is wrong before the first page is out
    (the request, the document, page 1 itself) is a plain error response; a page damaged further
    on ends the body early (no final chunk), so no client takes a truncated PDF for a whole one.
    Either way every other page stays readable."""
    uid = job(api, config={"IfFeederEnabled": True, "XferCount": 3, "Resolution": 50})
    doc = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    for _ in range(3):
        page = requests.get(f"{api}/device/scanners/jobs/{uid}/next-page-info")
        assert page.status_code == 200, page.text
        added = requests.post(f"{api}/storage/documents/{doc}/pages", json={"source": page.json()[0]["url"]})
        assert added.status_code == 200, added.text
    pages = [p["uid"] for p in requests.get(f"{api}/storage/documents/{doc}").json()["pages"]]
    whole = requests.get(f"{api}/storage/documents/{doc}/content", params={"type": "application/pdf"})
    assert whole.status_code == 200 and whole.headers.get("Transfer-Encoding") == "chunked"
    assert whole.content.startswith(b"%PDF-") and whole.content.rstrip().endswith(b"%%EOF")
    error(requests.get(f"{api}/storage/documents/{doc}/content", params={"type": "application/pdf", "compression": "6"}), 400, -2113)

    def damage(page_uid):
        path = os.path.join(service.home, "storage", doc, page_uid + ".page")
        data = bytearray(open(path, "rb").read())
        data[len(data) // 2] ^= 0xFF
        open(path, "wb").write(bytes(data))

    damage(pages[1])
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        requests.get(f"{api}/storage/documents/{doc}/content", params={"type": "application/pdf"}).content
    damage(pages[0])
    first = requests.get(f"{api}/storage/documents/{doc}/content", params={"type": "application/pdf"})
    assert first.status_code >= 400 and "damaged" in first.json()["message"], first.text
    third = requests.get(f"{api}/storage/documents/{doc}/content", params={"type": "application/pdf", "pages": pages[2]})
    assert third.status_code == 200 and third.content.rstrip().endswith(b"%%EOF"), "the undamaged page is still whole"
    assert [p["uid"] for p in requests.get(f"{api}/storage/documents/{doc}").json()["pages"]] == pages
    requests.delete(f"{api}/device/scanners/jobs/{uid}")
    assert requests.delete(f"{api}/storage/documents/{doc}").status_code == 204
