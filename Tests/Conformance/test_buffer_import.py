"""Import into the image buffer (`POST /api/buffer/import`) over real HTTP, with files made by
programs ScanBridge did not write: img2pdf, Pillow, pdftocairo and qpdf. The pages belong to the
importing origin like scanned pages; a PDF page that is one JPEG keeps it byte for byte, other
pages are rendered and compared with poppler's own pdftoppm; a refused file adds nothing."""
import io
import os
import subprocess
import time

import requests
from PIL import Image

from conftest import listen_to_events
from test_pdf_import import api, folder, drawing, mean_difference, pdftoppm, vector_pdf  # noqa: F401 (fixtures)

ORIGIN = {"Origin": "https://app.example"}
OTHER = {"Origin": "https://evil.example"}


def import_file(api, data, headers=ORIGIN, **query):
    return requests.post(f"{api}/buffer/import", data=data, params=query, headers=headers, timeout=120)


def buffer_ids(api, headers=ORIGIN):
    response = requests.get(f"{api}/buffer", headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return [entry["id"] for entry in response.json()]


def page_bytes(api, entry, kind, headers=ORIGIN):
    """A buffered page as the service hands it out: through its URL (its job's next-page?page=)."""
    response = requests.get(f"{api[:-4]}{entry['url']}", params={"type": kind}, headers=headers, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


def jpeg_pdf(folder, sizes, name="img2pdf.pdf"):
    """A PDF of JPEG pages made by img2pdf: (its path, the JPEG files in page order)."""
    jpegs = []
    for index, (width, height, mode) in enumerate(sizes):
        path = os.path.join(folder, f"{name}-page{index}.jpg")
        drawing(width, height, mode).save(path, quality=75, dpi=(100, 100))
        jpegs.append(path)
    pdf = os.path.join(folder, name)
    subprocess.run(["img2pdf", "-o", pdf] + jpegs, check=True)
    return pdf, jpegs


def test_img2pdf_jpeg_pages_keep_their_exact_bytes(api, folder):
    pdf, jpegs = jpeg_pdf(folder, [(420, 300, "RGB"), (450, 300, "L")])
    before = buffer_ids(api)
    response = import_file(api, open(pdf, "rb").read())
    assert response.status_code == 201, response.text
    entries = response.json()
    assert len(entries) == 2
    assert [(e["width"], e["height"]) for e in entries] == [(420, 300), (450, 300)]
    assert entries[0]["job"] == entries[1]["job"], "one import job"
    assert entries[1]["index"] == entries[0]["index"] + 1
    assert buffer_ids(api) == before + [e["id"] for e in entries], "added at the end of this origin's pages"
    for entry, path in zip(entries, jpegs):
        assert entry["thumbnail"] == f"/api/buffer/{entry['id']}/thumbnail"
        assert page_bytes(api, entry, "image/jpeg") == open(path, "rb").read(), "the JPEG byte for byte"
    # The import job is a job of this origin: completed, its pages readable by next-page-info.
    job = requests.get(f"{api}/device/scanners/jobs/{entries[0]['job']}", headers=ORIGIN, timeout=30).json()
    assert job["status"] == "completed", job
    info = requests.get(f"{api}/device/scanners/jobs/{entries[0]['job']}/next-page-info", headers=ORIGIN, timeout=30).json()
    assert info[0]["imageId"] == entries[0]["id"] and info[0]["imageuid"] == entries[0]["uid"]


def test_vector_pages_are_rendered_like_pdftoppm(api, folder):
    vector = vector_pdf(folder)
    for dpi in [100, 150]:
        response = import_file(api, open(vector, "rb").read(), dpi=str(dpi))
        assert response.status_code == 201, response.text
        [entry] = response.json()
        ours = Image.open(io.BytesIO(page_bytes(api, entry, "image/png")))
        poppler = pdftoppm(vector, dpi)
        assert (entry["width"], entry["height"]) == poppler.size
        # Stated tolerance: cairo's anti-aliasing against poppler's own, and the stored JPEG.
        assert mean_difference(ours, poppler) < 4, (dpi, mean_difference(ours, poppler))


def test_encrypted_pdfs_need_their_password(api, folder):
    plain, _ = jpeg_pdf(folder, [(300, 200, "RGB")])
    locked = os.path.join(folder, "locked.pdf")
    subprocess.run(["qpdf", "--encrypt", "user-pw", "owner-pw", "256", "--", plain, locked], check=True)
    data = open(locked, "rb").read()
    before = buffer_ids(api)
    for password in [None, "wrong"]:
        response = import_file(api, data, **({"password": password} if password else {}))
        assert response.status_code == 403 and response.json()["code"] == -1043, response.text
    assert buffer_ids(api) == before, "a refused PDF adds nothing"
    # At 4× the image's own resolution both renderers replicate its pixels rather than interpolate.
    response = import_file(api, data, password="user-pw", dpi="400")
    assert response.status_code == 201, response.text
    [entry] = response.json()
    ours = Image.open(io.BytesIO(page_bytes(api, entry, "image/png")))
    assert mean_difference(ours, pdftoppm(locked, 400, "user-pw")) < 4


def test_a_damaged_pdf_adds_nothing(api, folder):
    pdf, jpegs = jpeg_pdf(folder, [(300, 200, "RGB"), (300, 200, "RGB")])
    data = open(pdf, "rb").read()
    before = buffer_ids(api)
    cut = data.replace(open(jpegs[1], "rb").read()[600:1600], b"\0" * 1000)
    for broken in [b"%PDF-1.7\n" + os.urandom(4000), data[:9] + bytes(len(data) - 9), cut]:
        response = import_file(api, broken)
        assert response.status_code == 400 and response.json()["code"] == -2113, response.text
        assert response.json()["message"]
    assert buffer_ids(api) == before, "not even the intact first page"


def test_every_page_of_a_multi_page_tiff_is_added(api, folder):
    sizes = [(320, 200), (200, 320), (256, 256)]
    frames = [drawing(w, h, "L").point(lambda v: 0 if v < 128 else 255).convert("1") for w, h in sizes]
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:], compression="group4", dpi=(200, 200))
    response = import_file(api, out.getvalue())
    assert response.status_code == 201, response.text
    entries = response.json()
    assert [(e["width"], e["height"]) for e in entries] == sizes
    for entry, frame in zip(entries, frames):
        page = Image.open(io.BytesIO(page_bytes(api, entry, "image/png"))).convert("L")
        assert page.tobytes() == frame.convert("L").tobytes(), "black and white pages keep their pixels"


def test_empty_and_unreadable_bodies_are_clear_400s(api):
    before = buffer_ids(api)
    empty = import_file(api, b"")
    assert empty.status_code == 400 and empty.json()["code"] == -2113, empty.text
    assert "image file" in empty.json()["message"] and "PDF" in empty.json()["message"]
    text = import_file(api, b"these are not the pages you are looking for\n" * 20)
    assert text.status_code == 400 and text.json()["code"] == -2113, text.text
    assert "not a JPEG, PNG, TIFF, BMP or PDF" in text.json()["message"]
    png = io.BytesIO()
    drawing(64, 48, "RGB").save(png, format="PNG")
    for position in ["abc", "-2", "999999"]:
        response = import_file(api, png.getvalue(), insertPos=position)
        assert response.status_code == 400 and "insertPos" in response.json()["message"], (position, response.text)
    assert buffer_ids(api) == before


def test_insert_pos_counts_this_origins_pages(api, folder):
    first, _ = jpeg_pdf(folder, [(200, 100, "RGB"), (210, 100, "RGB")], "first.pdf")
    second, _ = jpeg_pdf(folder, [(220, 100, "RGB")], "second.pdf")
    # Another origin's page in between must not shift where this origin's position points.
    assert import_file(api, open(second, "rb").read(), headers=OTHER).status_code == 201
    added = import_file(api, open(first, "rb").read()).json()
    mine = buffer_ids(api)
    position = mine.index(added[1]["id"])
    inserted = import_file(api, open(second, "rb").read(), insertPos=str(position)).json()
    assert buffer_ids(api) == mine[:position] + [inserted[0]["id"]] + mine[position:]
    # -1 is the end, as for documents.
    last = import_file(api, open(second, "rb").read(), insertPos="-1").json()
    assert buffer_ids(api)[-1] == last[0]["id"]


def test_another_origins_imported_pages_are_not_visible(api, folder):
    pdf, _ = jpeg_pdf(folder, [(300, 200, "RGB")])
    response = import_file(api, open(pdf, "rb").read(), headers=OTHER)
    assert response.status_code == 201, response.text
    [entry] = response.json()
    assert entry["id"] in buffer_ids(api, OTHER)
    assert entry["id"] not in buffer_ids(api, ORIGIN)
    assert entry["id"] not in buffer_ids(api, {})
    for method, path, body in [("GET", f"/buffer/{entry['id']}/thumbnail", None), ("DELETE", f"/buffer/{entry['id']}", None),
                               ("POST", f"/buffer/{entry['id']}/rotate", {"degrees": 90})]:
        answer = requests.request(method, f"{api}{path}", json=body, headers=ORIGIN, timeout=30)
        assert answer.status_code == 403 and answer.json()["code"] == -2801, (path, answer.text)
    answer = requests.get(f"{api[:-4]}{entry['url']}", headers=ORIGIN, timeout=30)
    assert answer.status_code == 403, answer.text
    assert entry["id"] in buffer_ids(api, OTHER), "still there for its own origin"


def test_imported_pages_rotate_delete_and_go_into_documents_like_scanned_ones(api, folder):
    pdf, jpegs = jpeg_pdf(folder, [(360, 240, "RGB"), (300, 200, "RGB"), (280, 200, "RGB")])
    entries = import_file(api, open(pdf, "rb").read()).json()
    rotated = requests.post(f"{api}/buffer/{entries[0]['id']}/rotate", json={"degrees": 90}, headers=ORIGIN, timeout=30)
    assert rotated.status_code == 200, rotated.text
    assert (rotated.json()["width"], rotated.json()["height"]) == (240, 360)
    thumbnail = requests.get(f"{api}/buffer/{entries[0]['id']}/thumbnail?size=120", headers=ORIGIN, timeout=30)
    assert Image.open(io.BytesIO(thumbnail.content)).size == (80, 120)

    doc = requests.post(f"{api}/storage/documents", json={}, timeout=30).json()["uid"]
    for entry in entries[1:]:
        inserted = requests.post(f"{api}/storage/documents/{doc}/pages", json={"source": f"{api[:-4]}{entry['url']}"},
                                 headers=ORIGIN, timeout=30)
        assert inserted.status_code == 200, inserted.text
    stored = requests.get(f"{api}/storage/documents/{doc}/pages/0", params={"type": "image/jpeg"}, timeout=30)
    assert stored.content == open(jpegs[1], "rb").read(), "a document keeps the imported JPEG as it is"
    # Another origin cannot use the page's URL as a source.
    foreign = requests.post(f"{api}/storage/documents/{doc}/pages", json={"source": f"{api[:-4]}{entries[2]['url']}"},
                            headers=OTHER, timeout=30)
    assert foreign.status_code == 403, foreign.text

    assert requests.delete(f"{api}/buffer/{entries[1]['id']}", headers=ORIGIN, timeout=30).status_code == 204
    remaining = [e["id"] for e in entries if e["id"] in buffer_ids(api)]
    assert remaining == [entries[0]["id"], entries[2]["id"]]
    # Deleting the import job frees the pages it still holds.
    assert requests.delete(f"{api}/device/scanners/jobs/{entries[0]['job']}", headers=ORIGIN, timeout=30).status_code == 204
    assert not set(remaining) & set(buffer_ids(api))
    assert len(requests.get(f"{api}/storage/documents/{doc}", timeout=30).json()["pages"]) == 2, "the document keeps its copies"


def test_imported_pages_are_announced_like_scanned_ones(api, folder):
    events = []
    stream = listen_to_events(api, lambda name, data: events.append((name, data)), ORIGIN)
    pdf, _ = jpeg_pdf(folder, [(300, 200, "RGB"), (320, 200, "RGB")])
    entries = import_file(api, open(pdf, "rb").read()).json()
    job = entries[0]["job"]
    deadline = time.time() + 30
    while time.time() < deadline and not any(n == "job" and d["job"] == job for n, d in events):
        time.sleep(0.2)
    stream.close()
    pages = [d for n, d in events if n == "page" and d["job"] == job]
    assert [(p["id"], p["uid"], p["pageNumber"], p["width"]) for p in pages] == \
        [(e["id"], e["uid"], n, e["width"]) for n, e in enumerate(entries, 1)]
    assert [p["url"] for p in pages] == [e["url"] for e in entries]
    added = [d["ids"] for n, d in events if n == "buffer" and d["change"] == "added"]
    assert all([e["id"]] in added for e in entries), events
    state = [d for n, d in events if n == "job" and d["job"] == job]
    assert state[-1]["status"] == "completed" and state[-1]["pages"] == 2 and state[-1]["scanner"] == "import"
