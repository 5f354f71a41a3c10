"""Memory an import may take, against a real service of its own (so that its peak memory is
this test's): a multi-page TIFF is decoded a page at a time under a total pixel budget, and
request bodies held in memory by all clients together stay under MaxBodyBytesInFlightMB; the
buffer import takes the same limits from the same budget as the document import."""
import io
import shutil
import socket
import tempfile
import time

import pytest
import requests
from PIL import Image

from conftest import start_service, stop_service

IN_FLIGHT_MB = 32


@pytest.fixture(scope="module")
def own_service():
    home = tempfile.mkdtemp(prefix="scanbridge-import-limits-")
    service = start_service(home, ["--set", f"MaxBodyBytesInFlightMB={IN_FLIGHT_MB}"])
    yield service
    stop_service(service)
    shutil.rmtree(home, ignore_errors=True)


def peak_kib(service):
    with open(f"/proc/{service.process.pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM"))


def gray_tiff(pages, size=10000):
    """`pages` pages of size×size 8-bit gray, deflate-compressed (a few hundred KB on disk)."""
    page = Image.new("L", (size, size), 200)
    out = io.BytesIO()
    page.save(out, "TIFF", compression="tiff_adobe_deflate", save_all=True, append_images=[page] * (pages - 1))
    return out.getvalue()


def import_into_new_document(service, tiff):
    """Imports `tiff` into a new document: (answer, document uid, growth of peak RSS in KiB)."""
    api = service.http + "/api"
    uid = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    before = peak_kib(service)
    answer = requests.post(f"{api}/storage/documents/{uid}/import", data=tiff)
    return answer, uid, peak_kib(service) - before


def test_an_import_over_the_pixel_budget_is_refused_before_decoding(own_service):
    refused, uid, grown = import_into_new_document(own_service, gray_tiff(12))
    assert refused.status_code == 400, refused.text
    body = refused.json()
    assert body["code"] == -2113 and "1200 megapixels" in body["message"] and "ImportMaxMegapixels" in body["message"]
    # Twelve 100-megapixel pages were never decoded (one alone is 100 MB).
    assert grown < 50_000, f"peak grew by {grown} KiB"
    assert requests.get(f"{own_service.http}/api/storage/documents/{uid}").json()["pages"] == []


def test_a_multi_page_tiff_is_decoded_one_page_at_a_time(own_service):
    imported, _, grown = import_into_new_document(own_service, gray_tiff(3))
    assert imported.status_code == 200, imported.text
    assert len(imported.json()["pages"]) == 3
    # One decoded page is 100 MB; all three at once would be 300 MB before any encoding.
    assert grown < 250_000, f"peak grew by {grown} KiB"


def send_chunked(port, path, megabytes):
    """Opens a chunked upload and sends `megabytes` MiB of it without ending it."""
    connection = socket.create_connection(("127.0.0.1", port))
    connection.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
    chunk = b"%x\r\n" % (1 << 20) + b"\0" * (1 << 20) + b"\r\n"
    try:
        for _ in range(megabytes):
            connection.sendall(chunk)
    except OSError:
        pass  # refused meanwhile: the answer is waiting
    return connection


def answer_status(connection, timeout=10):
    connection.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = connection.recv(65536)
        if not piece:
            break
        data += piece
    return int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else None, data


def assert_over_budget(connection):
    """The answer on `connection` is 503 with -2116 (MaxBodyBytesInFlightMB); closes it."""
    try:
        status, head = answer_status(connection)
        assert status == 503, head[:300]
        assert b"-2116" in head + connection.recv(4096), head[:300]
    finally:
        connection.close()


def test_bodies_in_flight_stay_under_the_service_wide_limit(own_service):
    api = own_service.http + "/api"
    uid = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    path = f"/api/storage/documents/{uid}/import"
    # Two clients that never end their bodies hold 20 MiB each: the second goes past 32 MiB.
    holder = send_chunked(own_service.http_port, path, 20)
    assert_over_budget(send_chunked(own_service.http_port, path, 20))
    # While the first still holds its share, a small import fits in what is left …
    picture = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 200, 10)).save(picture, "PNG")
    assert requests.post(f"{api}/storage/documents/{uid}/import", data=picture.getvalue()).status_code == 200
    # … and once it gives up, its share is free again: a 20 MiB body fits (not beside it).
    uncompressed = io.BytesIO()
    Image.new("L", (4600, 4600), 90).save(uncompressed, "TIFF")
    assert len(uncompressed.getvalue()) > 20 << 20
    holder.close()
    deadline = time.time() + 10
    while True:
        large = requests.post(f"{api}/storage/documents/{uid}/import", data=uncompressed.getvalue())
        if large.status_code != 503 or time.time() > deadline:
            break
        time.sleep(0.2)
    assert large.status_code == 200, large.text


def test_the_buffer_import_has_the_same_limits_from_the_same_budget(own_service):
    api = own_service.http + "/api"
    before = requests.get(f"{api}/buffer").json()
    refused = requests.post(f"{api}/buffer/import", data=gray_tiff(12))
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == -2113 and "ImportMaxMegapixels" in refused.json()["message"]
    # A document import's body in flight counts against the buffer import too: one budget.
    uid = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    holder = send_chunked(own_service.http_port, f"/api/storage/documents/{uid}/import", 20)
    try:
        assert_over_budget(send_chunked(own_service.http_port, "/api/buffer/import", 20))
    finally:
        holder.close()
    assert requests.get(f"{api}/buffer").json() == before, "nothing added"
