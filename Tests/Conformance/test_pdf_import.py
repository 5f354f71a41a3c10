"""PDF import (`POST /api/storage/documents/{uid}/import` with a PDF body) over real HTTP, with
PDFs made by programs ScanBridge did not write: img2pdf, Pillow, pdftocairo and qpdf. Pages that
are one JPEG or G4 image keep it byte for byte; other pages are rendered and compared with
poppler's own pdftoppm."""
import io
import os
import re
import subprocess
import tempfile

import pytest
import requests
from PIL import Image, ImageChops, ImageDraw, ImageStat


@pytest.fixture()
def api(service):
    return service.http + "/api"


@pytest.fixture()
def folder():
    with tempfile.TemporaryDirectory(prefix="sb-pdf-import-") as path:
        yield path


def new_document(api):
    return requests.post(f"{api}/storage/documents", json={}).json()["uid"]


def page_count(api, doc):
    return len(requests.get(f"{api}/storage/documents/{doc}").json()["pages"])


def import_pdf(api, doc, data, **query):
    return requests.post(f"{api}/storage/documents/{doc}/import", data=data, params=query)


def page_image(api, doc, index):
    response = requests.get(f"{api}/storage/documents/{doc}/pages/{index}", params={"type": "image/png"})
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


def drawing(width, height, mode):
    """A page with text-like bars, a frame and a gradient: not blank, not uniform."""
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    for row in range(12, height - 40, 18):
        for column in range(16, width - 30, 37):
            draw.rectangle((column, row, column + 22 + (row * column) % 9, row + 7), fill=(20, 30, 90))
    draw.rectangle((4, 4, width - 5, height - 5), outline=(180, 20, 20), width=3)
    for x in range(width):
        draw.line((x, height - 30, x, height - 10), fill=(x * 255 // width, 120, 255 - x * 255 // width))
    return image.convert(mode)


def pdftoppm(path, dpi, password=None):
    """poppler's rendering of page 1 as RGB."""
    prefix = path + "-ppm"
    command = ["pdftoppm", "-r", str(dpi), "-f", "1", "-l", "1", "-singlefile", "-png"]
    if password:
        command += ["-upw", password]
    subprocess.run(command + [path, prefix], check=True)
    return Image.open(prefix + ".png").convert("RGB")


def mean_difference(a, b):
    assert a.size == b.size, (a.size, b.size)
    return sum(ImageStat.Stat(ImageChops.difference(a.convert("RGB"), b.convert("RGB"))).mean) / 3


def image_streams(pdf, filter_name):
    """The raw data of every image stream with `filter_name` in an uncompressed-object PDF."""
    found = []
    for match in re.finditer(rb"stream\r?\n", pdf):
        head = pdf[max(0, match.start() - 600):match.start()]
        head = head[head.rfind(b" obj") + 4:]
        length = re.search(rb"/Length\s+(\d+)(?!\s+\d+\s+R)", head)
        if filter_name.encode() in head and length:
            found.append(pdf[match.end():match.end() + int(length.group(1))])
    return found


def test_img2pdf_jpeg_pages_keep_their_exact_bytes(api, folder):
    jpegs = []
    for index, mode in enumerate(["RGB", "L"]):
        path = os.path.join(folder, f"page{index}.jpg")
        drawing(420 + index * 30, 300, mode).save(path, quality=75, dpi=(150, 150))
        jpegs.append(path)
    pdf = os.path.join(folder, "img2pdf.pdf")
    subprocess.run(["img2pdf", "-o", pdf] + jpegs, check=True)
    doc = new_document(api)
    response = import_pdf(api, doc, open(pdf, "rb").read())
    assert response.status_code == 200, response.text
    pages = response.json()["pages"]
    assert len(pages) == 2
    for index, path in enumerate(jpegs):
        stored = requests.get(f"{api}/storage/documents/{doc}/pages/{index}", params={"type": "image/jpeg"})
        assert stored.status_code == 200
        assert stored.content == open(path, "rb").read(), f"page {index + 1}: the JPEG byte for byte"
    # A PDF made from the document embeds the same JPEGs again.
    out = requests.get(f"{api}/storage/documents/{doc}/content", params={"type": "application/pdf"}).content
    for path in jpegs:
        assert open(path, "rb").read() in out


def test_pages_in_object_streams_keep_their_jpeg(api, folder):
    # qpdf moves the page tree and image dictionaries into compressed object streams (PDF 1.5).
    jpeg = os.path.join(folder, "page.jpg")
    drawing(360, 240, "RGB").save(jpeg, quality=70, dpi=(120, 120))
    plain, packed = os.path.join(folder, "plain.pdf"), os.path.join(folder, "packed.pdf")
    subprocess.run(["img2pdf", "-o", plain, jpeg], check=True)
    subprocess.run(["qpdf", "--object-streams=generate", plain, packed], check=True)
    assert b"/ObjStm" in open(packed, "rb").read()
    doc = new_document(api)
    assert import_pdf(api, doc, open(packed, "rb").read()).status_code == 200
    stored = requests.get(f"{api}/storage/documents/{doc}/pages/0", params={"type": "image/jpeg"})
    assert stored.content == open(jpeg, "rb").read()


@pytest.mark.parametrize("maker", ["img2pdf", "pillow"])
def test_g4_pages_stay_g4(api, folder, maker):
    # img2pdf copies a G4 TIFF's strip; Pillow codes white runs as black (BlackIs1 true).
    source = drawing(611, 389, "L").point(lambda v: 0 if v < 128 else 255).convert("1")
    pdf = os.path.join(folder, "fax.pdf")
    if maker == "img2pdf":
        tiff = os.path.join(folder, "fax.tif")
        source.save(tiff, compression="group4", dpi=(200, 200))
        subprocess.run(["img2pdf", "-o", pdf, tiff], check=True)
    else:
        source.save(pdf, resolution=200)
    strips = image_streams(open(pdf, "rb").read(), "/CCITTFaxDecode")
    assert len(strips) == 1
    doc = new_document(api)
    assert import_pdf(api, doc, open(pdf, "rb").read()).status_code == 200
    assert ImageChops.difference(page_image(api, doc, 0).convert("L"), source.convert("L")).getbbox() is None, "same pixels"
    out = requests.get(f"{api}/storage/documents/{doc}/content", params={"type": "application/pdf"}).content
    assert strips[0] in out, "the G4 data is embedded again as it came"
    ours = os.path.join(folder, "ours.pdf")
    open(ours, "wb").write(out)
    # poppler interpolates images drawn at less than 4× their size: render at 4× and take the
    # centre of each 4×4 block.
    shown = pdftoppm(ours, 800).resize(source.size, Image.NEAREST).convert("L")
    assert ImageChops.difference(shown, source.convert("L")).getbbox() is None, "poppler shows it the same"


def vector_pdf(folder):
    """A page of vector drawing and text, rewritten by pdftocairo: a page that is rendered."""
    vector = os.path.join(folder, "vector.pdf")
    with open(vector + ".src", "wb") as out:
        content = b"0.1 0.2 0.6 rg 36 36 200 100 re f 0 0 0 RG 4 w 20 20 m 280 180 l S BT /F1 24 Tf 40 150 Td (ScanBridge) Tj ET"
        objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
                   b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
                   b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 300 200] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
                   b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
                   b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
        data = b"%PDF-1.4\n"
        offsets = []
        for number, body in enumerate(objects, 1):
            offsets.append(len(data))
            data += b"%d 0 obj\n" % number + body + b"\nendobj\n"
        xref = len(data)
        data += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
        data += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        data += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
        out.write(data)
    subprocess.run(["pdftocairo", "-pdf", vector + ".src", vector], check=True)
    return vector


def test_other_pages_are_rendered_like_pdftoppm(api, folder):
    vector = vector_pdf(folder)
    for path, dpi in [(vector, 100), (vector, 150)]:
        doc = new_document(api)
        response = import_pdf(api, doc, open(path, "rb").read(), dpi=str(dpi))
        assert response.status_code == 200, response.text
        ours, poppler = page_image(api, doc, 0), pdftoppm(path, dpi)
        assert ours.size == poppler.size
        # Stated tolerance: cairo's anti-aliasing against poppler's own, and the stored JPEG.
        assert mean_difference(ours, poppler) < 4, (path, mean_difference(ours, poppler))


def test_encrypted_pdfs_need_their_password(api, folder):
    jpeg = os.path.join(folder, "page.jpg")
    drawing(300, 200, "RGB").save(jpeg, quality=80, dpi=(100, 100))
    plain, locked = os.path.join(folder, "plain.pdf"), os.path.join(folder, "locked.pdf")
    subprocess.run(["img2pdf", "-o", plain, jpeg], check=True)
    subprocess.run(["qpdf", "--encrypt", "user-pw", "owner-pw", "256", "--", plain, locked], check=True)
    data = open(locked, "rb").read()
    doc = new_document(api)
    for password in [None, "wrong"]:
        response = import_pdf(api, doc, data, **({"password": password} if password else {}))
        assert response.status_code == 403 and response.json()["code"] == -1043, response.text
    assert page_count(api, doc) == 0
    # Encrypted pages are rendered (their streams are encrypted); at 4× the image's own
    # resolution both renderers replicate its pixels rather than interpolate them.
    response = import_pdf(api, doc, data, password="user-pw", dpi="400")
    assert response.status_code == 200, response.text
    assert mean_difference(page_image(api, doc, 0), pdftoppm(locked, 400, "user-pw")) < 4


def test_a_damaged_pdf_imports_nothing(api, folder):
    jpegs = []
    for index in range(2):
        path = os.path.join(folder, f"p{index}.jpg")
        drawing(300, 200, "RGB").save(path, quality=80)
        jpegs.append(path)
    pdf = os.path.join(folder, "two.pdf")
    subprocess.run(["img2pdf", "-o", pdf] + jpegs, check=True)
    data = open(pdf, "rb").read()
    doc = new_document(api)
    assert import_pdf(api, doc, data).status_code == 200
    for broken in [b"%PDF-1.7\n" + os.urandom(4000), data[:9] + bytes(len(data) - 9)]:
        response = import_pdf(api, doc, broken)
        assert response.status_code == 400 and response.json()["code"] == -2113, response.text
        assert response.json()["message"]
    # A JPEG cut short in the second page: the whole file is refused, the first page too.
    cut = data.replace(open(jpegs[1], "rb").read()[600:1600], b"\0" * 1000)
    response = import_pdf(api, doc, cut)
    assert response.status_code == 400, response.text
    assert page_count(api, doc) == 2, "only the first, intact import's pages"
