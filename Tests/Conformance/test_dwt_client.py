"""The DWT Service REST API driven by Dynamsoft's own Python client (PyPI
`twain-wia-sane-scanner`, module `dynamsoftservice`), against the real service and SANE's test
backend, on HTTP and HTTPS. Every result is checked, not just "no exception"."""
import base64
import io
import json
import subprocess
import tempfile
import time

from dynamsoftservice import ScannerType, JobStatus
from PIL import Image

DEVICE = "sane:test:0"
ADF_COLOUR = {"PixelType": 2, "Resolution": 75, "IfFeederEnabled": True}


def scanner(controller, host):
    """The test scanner's entry. Its `device` is a JSON string of the scanner's details (as in
    Dynamsoft's OpenAPI document); the id inside is the bare identity jobs also accept."""
    devices = controller.getDevices(host, ScannerType.SANESCANNER)
    match = [d for d in devices if json.loads(d["device"]).get("id") == DEVICE]
    assert match, devices
    return match[0]


def test_server_info_and_settings(controller, host):
    assert controller.getServerInfo(host) == {"version": "20240719", "compatible": True}
    settings = controller.getServerSettings(host)
    assert settings["logLevel"] == 1
    assert settings["ioEngine"] in ("io_uring", "epoll")
    assert controller.updateServerSettings(host, {"logLevel": 30})["logLevel"] == 30
    assert controller.getServerSettings(host)["logLevel"] == 30
    assert controller.updateServerSettings(host, {"logLevel": 1})["logLevel"] == 1


def test_list_scanners_by_type(controller, host):
    entry = scanner(controller, host)
    assert entry["type"] == 0x100
    assert entry["name"].startswith("Noname frontend-tester")
    details = json.loads(entry["device"])
    assert details["name"] == entry["name"] and details["deviceType"] == 0x100
    # Only SANE scanners exist here: a TWAIN-only mask lists none.
    assert controller.getDevices(host, ScannerType.TWAINSCANNER) == []


def test_autorun_job_drains_pages_as_png(controller, host):
    # The device string from the list, passed back unchanged as Dynamsoft's clients do.
    device = scanner(controller, host)["device"]
    job = controller.createJob(host, {"device": device, "config": {**ADF_COLOUR, "XferCount": 3}})
    assert job["status"] in (JobStatus.RUNNING, JobStatus.COMPLETED), job
    assert job["scanner"]["device"] == device
    pages = controller.getImageStreams(host, job["jobuid"], "image/png")
    assert len(pages) == 3
    for data in pages:
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG" and image.mode == "RGB"
        assert image.size[0] > 100 and image.size[1] > 100
    assert controller.checkJob(host, job["jobuid"]) == {"status": "completed", "code": 0, "message": "Successful"}
    assert controller.deleteJob(host, job["jobuid"])


def test_pending_job_capabilities_settings_then_running_as_jpeg(controller, host):
    job = controller.createJob(host, {"device": DEVICE, "autoRun": False,
                                      "config": {"PixelType": 1, "Resolution": 100, "IfFeederEnabled": True, "XferCount": 2}})
    uid = job["jobuid"]
    try:
        assert job["status"] == JobStatus.PENDING
        assert controller.checkJob(host, uid)["status"] == JobStatus.PENDING
        caps = controller.getScannerCapabilities(host, uid)
        by_number = {c["capability"]: c for c in caps}
        assert 0x1118 in by_number and "range" in by_number[0x1118]          # resolution
        assert set(by_number[0x0101]["values"]) >= {"0", "1", "2"}            # BW, gray, colour
        only = controller.getScannerCapabilities(host, uid, [0x1118])
        assert [c["capability"] for c in only] == [0x1118]
        blob = controller.getScannerSettings(host, uid)["settings"]
        assert json.loads(base64.b64decode(blob))["mode"] == "Gray"
        assert controller.updateJob(host, uid, {"status": JobStatus.RUNNING})["status"] in ("running", "completed")
        pages = controller.getImageStreams(host, uid, "image/jpeg")
        assert len(pages) == 2
        for data in pages:
            image = Image.open(io.BytesIO(data))
            assert image.format == "JPEG" and image.mode == "L"
            assert image.size == (int(80 / 25.4 * 100), int(100 / 25.4 * 100))  # test.conf: 80 x 100 mm
        # A finished job is no longer pending.
        assert controller.getScannerSettings(host, uid) == {}
        assert controller.last_error["statusCode"] == 409 and controller.last_error["code"] == -1011
    finally:
        controller.deleteJob(host, uid)


def test_next_page_info_and_its_url(controller, host):
    job = controller.createJob(host, {"device": DEVICE, "config": {**ADF_COLOUR, "XferCount": 2}})
    uid = job["jobuid"]
    first = controller.getImageInfo(host, uid)
    info = first["imageInfo"]
    assert first["imageId"] >= 1 and first["imageuid"]
    assert info["PixelType"] == 2 and info["BitsPerPixel"] == 24 and info["SamplesPerPixel"] == 3
    assert info["BitsPerSample"] == [8, 8, 8, 0, 0, 0, 0, 0]
    assert info["XResolution"] == 75 and info["ImageLayout"]["PageNumber"] == 1
    assert first["url"].startswith(host + "/api/device/scanners/jobs/" + uid + "/next-page?page=")
    data = controller.getStreamFromUrl(first["url"])
    assert Image.open(io.BytesIO(data)).size == (info["ImageWidth"], info["ImageLength"])
    # The url does not advance: next-page still starts at page 1, and the same bytes come back.
    assert controller.getImageStream(host, uid) == data
    second = controller.getImageInfo(host, uid)
    assert second["imageInfo"]["ImageLayout"]["PageNumber"] == 2
    assert controller.getImageInfo(host, uid) == {}        # 204: no more pages
    controller.deleteJob(host, uid)


def test_cancel_then_delete_then_gone(controller, host):
    # read-delay keeps the job running long enough to cancel it mid-batch.
    job = controller.createJob(host, {"device": DEVICE, "autoRun": False, "config": {**ADF_COLOUR, "XferCount": -1}})
    uid = job["jobuid"]
    blob = json.loads(base64.b64decode(controller.getScannerSettings(host, uid)["settings"]))
    controller.deleteJob(host, uid)
    blob.update({"read-delay": "true", "read-delay-duration": "200000"})
    job = controller.createJob(host, {"device": DEVICE, "settings": base64.b64encode(json.dumps(blob).encode()).decode(),
                                      "config": {**ADF_COLOUR, "XferCount": -1}})
    uid = job["jobuid"]
    assert controller.updateJob(host, uid, {"status": JobStatus.CANCELED})["status"] == JobStatus.CANCELED
    assert controller.checkJob(host, uid)["status"] == JobStatus.CANCELED
    assert controller.updateJob(host, uid, {"status": JobStatus.RUNNING}) == {}
    assert controller.last_error["statusCode"] == 409 and controller.last_error["code"] == -1011
    assert controller.deleteJob(host, uid)
    assert controller.checkJob(host, uid) == {} and controller.last_error["statusCode"] == 410
    assert controller.deleteJob(host, uid) is False and controller.last_error["statusCode"] == 410


def test_a_jobs_settings_do_not_reach_the_next_job(controller, host):
    """SANE backends keep option values from one session to the next; each job starts from the
    scanner's own defaults, so what one client set (a slow read, another picture) is not the
    next client's starting point."""
    def pending_settings():
        job = controller.createJob(host, {"device": DEVICE, "autoRun": False, "config": {**ADF_COLOUR, "XferCount": 1}})
        blob = json.loads(base64.b64decode(controller.getScannerSettings(host, job["jobuid"])["settings"]))
        return job["jobuid"], blob

    uid, before = pending_settings()
    controller.deleteJob(host, uid)
    changed = {**before, "read-delay": "true", "read-delay-duration": "1000", "test-picture": "Grid"}
    job = controller.createJob(host, {"device": DEVICE, "autoRun": False, "config": {**ADF_COLOUR, "XferCount": 1},
                                      "settings": base64.b64encode(json.dumps(changed).encode()).decode()})
    uid = job["jobuid"]
    applied = json.loads(base64.b64decode(controller.getScannerSettings(host, uid)["settings"]))
    assert (applied["read-delay"], applied["test-picture"]) == ("yes", "Grid"), applied
    controller.updateJob(host, uid, {"status": JobStatus.RUNNING})
    assert controller.getImageInfo(host, uid)["url"]
    assert controller.deleteJob(host, uid)
    uid, after = pending_settings()
    controller.deleteJob(host, uid)
    assert after == before


def scan_one(controller, host, extra_settings=None, config=None):
    """Scans one page and returns (job uid, page url)."""
    job = controller.createJob(host, {"device": DEVICE, "autoRun": False,
                                      "config": config or {**ADF_COLOUR, "XferCount": 1}})
    uid = job["jobuid"]
    if extra_settings:
        blob = json.loads(base64.b64decode(controller.getScannerSettings(host, uid)["settings"]))
        controller.deleteJob(host, uid)
        blob.update(extra_settings)
        job = controller.createJob(host, {"device": DEVICE, "settings": base64.b64encode(json.dumps(blob).encode()).decode(),
                                          "config": config or {**ADF_COLOUR, "XferCount": 1}})
        uid = job["jobuid"]
    else:
        controller.updateJob(host, uid, {"status": JobStatus.RUNNING})
    url = controller.getImageInfo(host, uid)["url"]
    # The scanner is free again once the job has finished (the next scan needs it).
    deadline = time.time() + 10
    while controller.checkJob(host, uid)["status"] == JobStatus.RUNNING and time.time() < deadline:
        time.sleep(0.02)
    return uid, url


def run(*command):
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_document_without_password(controller, host):
    uid, url = scan_one(controller, host)
    uid2, url2 = scan_one(controller, host, config={"PixelType": 0, "Resolution": 100, "IfFeederEnabled": True, "XferCount": 1})
    document = controller.createDocument(host, {})
    doc = document["uid"]
    assert document["pages"] == []
    info = controller.insertPage(host, doc, {"source": url})
    assert len(info["pages"]) == 1
    info = controller.insertPage(host, doc, {"source": url2, "insertPos": 0})
    assert len(info["pages"]) == 2
    first_page = info["pages"][0]["uid"]
    assert controller.getDocumentInfo(host, doc) == info
    with tempfile.TemporaryDirectory() as folder:
        pdf = controller.getDocumentStream(host, doc, {"type": "application/pdf", "title": "Conformance", "author": "pytest"})
        path = f"{folder}/doc.pdf"
        open(path, "wb").write(pdf)
        assert run("qpdf", "--check", path).returncode == 0
        pdfinfo = dict(line.split(":", 1) for line in run("pdfinfo", path).stdout.splitlines() if ":" in line)
        assert pdfinfo["Pages"].strip() == "2"
        assert pdfinfo["Title"].strip() == "Conformance" and pdfinfo["Author"].strip() == "pytest"
        tiff = controller.getDocumentStream(host, doc, {"type": "image/tiff"})
        open(f"{folder}/doc.tif", "wb").write(tiff)
        tiffinfo = run("tiffinfo", f"{folder}/doc.tif")
        assert tiffinfo.returncode == 0 and tiffinfo.stdout.count("TIFF Directory") == 2
        png = controller.getDocumentStream(host, doc, {"type": "image/png", "pages": "1"})
        assert Image.open(io.BytesIO(png)).mode == "RGB"
        locked = controller.getDocumentStream(host, doc, {"type": "application/pdf", "password": "secret"})
        open(f"{folder}/locked.pdf", "wb").write(locked)
        assert run("qpdf", "--check", f"{folder}/locked.pdf").returncode != 0
        assert run("qpdf", "--password=secret", "--check", f"{folder}/locked.pdf").returncode == 0
    assert controller.deletePage(host, doc, first_page)
    assert [p["uid"] for p in controller.getDocumentInfo(host, doc)["pages"]] == [info["pages"][1]["uid"]]
    assert controller.deletePage(host, doc, "0")
    assert controller.getDocumentInfo(host, doc)["pages"] == []
    assert controller.deleteDocument(host, doc)
    assert controller.getDocumentInfo(host, doc) == {} and controller.last_error["code"] == -1040
    controller.deleteJob(host, uid)
    controller.deleteJob(host, uid2)


def test_document_with_password(controller, host):
    uid, url = scan_one(controller, host)
    doc = controller.createDocument(host, {"password": "s3cret"})["uid"]
    assert controller.insertPage(host, doc, {"source": url, "password": "s3cret"})["pages"]
    assert controller.getDocumentInfo(host, doc) == {}
    assert controller.last_error["statusCode"] == 403 and controller.last_error["code"] == -1043
    assert controller.getDocumentInfo(host, doc, "wrong") == {} and controller.last_error["code"] == -1043
    assert len(controller.getDocumentInfo(host, doc, "s3cret")["pages"]) == 1
    pdf = controller.getDocumentStream(host, doc, {"type": "application/pdf"}, documentPassword="s3cret")
    assert pdf.startswith(b"%PDF-")
    assert controller.deleteDocument(host, doc, "wrong") is False
    assert controller.deleteDocument(host, doc, "s3cret")
    controller.deleteJob(host, uid)


def test_check_blank(controller, host):
    blank_job, blank = scan_one(controller, host, {"test-picture": "Solid white"})
    busy_job, busy = scan_one(controller, host, {"test-picture": "Color pattern"})
    assert controller.checkBlank(host, {"source": blank}) == {"result": True}
    assert controller.checkBlank(host, {"source": busy}) == {"result": False}
    controller.deleteJob(host, blank_job)
    controller.deleteJob(host, busy_job)


def test_read_barcode_on_an_imported_page(controller, host, service):
    import barcode
    from barcode.writer import ImageWriter
    import requests
    picture = io.BytesIO()
    barcode.get("code128", "SCANBRIDGE-42", writer=ImageWriter()).write(picture, {"module_width": 0.4, "dpi": 200})
    doc = controller.createDocument(host, {})["uid"]
    verify = service.ca if host.startswith("https") else True
    imported = requests.post(f"{host}/api/storage/documents/{doc}/import", data=picture.getvalue(),
                             headers={"Content-Type": "image/png"}, verify=verify).json()
    page = imported["pages"][0]["uid"]
    results = controller.readBarcode(host, {"source": f"{host}/api/storage/documents/{doc}/pages/{page}"})
    assert len(results) == 1, results
    assert results[0]["barcodeText"] == "SCANBRIDGE-42"
    assert results[0]["barcodeFormatString"] == "CODE-128"
    assert bytes(results[0]["barcodeBytes"]) == b"SCANBRIDGE-42"
    assert controller.deleteDocument(host, doc)


def test_a_scanned_page_is_encoded_once(controller, host, service):
    """The scan pipeline encodes each page once: the url's JPEG is the very JPEG the document
    keeps, the url's PNG is the lossless page, and thumbnails come from the page reduced."""
    import requests
    verify = service.ca if host.startswith("https") else True
    uid, url = scan_one(controller, host, {"test-picture": "Color pattern"},
                        config={"PixelType": 2, "Resolution": 150, "IfFeederEnabled": True, "XferCount": 1})
    jpeg = requests.get(url + "&type=image/jpeg", verify=verify)
    assert jpeg.status_code == 200 and jpeg.headers["Content-Type"] == "image/jpeg"
    png = requests.get(url + "&type=image/png", verify=verify).content
    lossless, lossy = Image.open(io.BytesIO(png)), Image.open(io.BytesIO(jpeg.content))
    assert lossless.mode == "RGB" and lossless.size == lossy.size
    # JPEG q85 of the same pixels: close to the lossless page in brightness, not equal.
    luma_lossless, luma_lossy = lossless.convert("L").tobytes(), lossy.convert("L").tobytes()
    diff = sum(abs(a - b) for a, b in zip(luma_lossless, luma_lossy)) / len(luma_lossless)
    assert 0 < diff < 6, diff
    document = controller.createDocument(host, {})["uid"]
    info = controller.insertPage(host, document, {"source": url})
    stored = requests.get(f"{host}/api/storage/documents/{document}/pages/{info['pages'][0]['uid']}?type=image/jpeg", verify=verify)
    assert stored.status_code == 200, (stored.url, stored.text)
    assert stored.content == jpeg.content, "the document keeps the url's JPEG as it is"
    # The thumbnail of the buffer page (the only one: index 0 of this job's page in the buffer).
    version = requests.get(f"{host}/fa/VersionInfo", verify=verify).json()["result"][0]
    index = next(page["index"] for page in requests.get(f"{host}/api/buffer", verify=verify).json() if page["job"] == uid)
    thumb = requests.get(f"{host}/dwt/dwt_{'_'.join(p.strip() for p in version.split(','))}/img",
                         params={"id": "1", "index": index, "width": 200, "height": 260}, verify=verify)
    assert thumb.status_code == 200 and thumb.headers["Content-Type"] == "image/jpeg"
    small = Image.open(io.BytesIO(thumb.content))
    expected = lossless.copy()
    expected.thumbnail((200, 260))
    assert abs(small.size[0] - expected.size[0]) <= 1 and abs(small.size[1] - expected.size[1]) <= 1
    controller.deleteDocument(host, document)
    controller.deleteJob(host, uid)


def test_a_bw_page_goes_into_the_pdf_as_stored(controller, host, service):
    """Lossless compression (3) embeds a BW page's stored PNG stream as it is (Flate with PNG
    predictors, as img2pdf does): the PDF holds the PNG's IDAT bytes; automatic compression codes
    the page as CCITT G4. poppler decodes the same pixels from both."""
    import requests
    verify = service.ca if host.startswith("https") else True
    uid, url = scan_one(controller, host, {"test-picture": "Color pattern"},
                        config={"PixelType": 0, "Resolution": 100, "IfFeederEnabled": True, "XferCount": 1})
    png = requests.get(url + "&type=image/png", verify=verify)
    assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
    page = Image.open(io.BytesIO(png.content))
    assert page.mode == "1"
    idat, position = b"", 8
    while position < len(png.content):
        length = int.from_bytes(png.content[position:position + 4], "big")
        if png.content[position + 4:position + 8] == b"IDAT":
            idat += png.content[position + 8:position + 8 + length]
        position += 12 + length
    document = controller.createDocument(host, {})["uid"]
    controller.insertPage(host, document, {"source": url})
    with tempfile.TemporaryDirectory() as folder:
        for compression, encoding in (("3", "image"), ("0", "ccitt")):
            pdf = controller.getDocumentStream(host, document, {"type": "application/pdf", "compression": compression})
            open(f"{folder}/bw.pdf", "wb").write(pdf)
            assert run("qpdf", "--check", f"{folder}/bw.pdf").returncode == 0
            assert (idat in pdf) == (compression == "3"), "the PNG's zlib stream is in the lossless PDF byte for byte, and only there"
            listing = run("pdfimages", "-list", f"{folder}/bw.pdf").stdout.splitlines()[2].split()
            # page num type width height color comp bpc enc ...
            assert listing[3:9] == [str(page.width), str(page.height), "gray", "1", "1", encoding], listing
            extracted = run("pdfimages", "-png", f"{folder}/bw.pdf", f"{folder}/img-{compression}")
            assert extracted.returncode == 0, extracted.stderr
            decoded = Image.open(f"{folder}/img-{compression}-000.png")
            assert decoded.convert("L").tobytes() == page.convert("L").tobytes()
    controller.deleteDocument(host, document)
    controller.deleteJob(host, uid)
