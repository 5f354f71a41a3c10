"""PDF/A-2b output (pdfa=true): each structural requirement checked in the file itself with
pikepdf (qpdf) and fontTools, since no PDF/A validator ships in Debian: the XMP identification
and its agreement with the Info dictionary, the sRGB output intent with its ICC profile, the
trailer's document ID, no encryption, every font embedded."""
import io
import re
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone

import pikepdf
import pytest
import requests
from fontTools.ttLib import TTFont
from PIL import Image

from conftest import start_service, stop_service
from ocr_pages import DPI, text_page


@pytest.fixture(scope="module")
def api():
    home = tempfile.mkdtemp(prefix="scanbridge-pdfa-")
    running = start_service(home)
    yield f"{running.http}/api"
    stop_service(running)
    shutil.rmtree(home, ignore_errors=True)


def document(api, images):
    uid = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    for image in images:
        data = io.BytesIO()
        image.save(data, format="PNG", dpi=(DPI, DPI))
        assert requests.post(f"{api}/storage/documents/{uid}/import", data=data.getvalue()).status_code == 200
    return uid


def info_date(text):
    """An Info date (D:YYYYMMDDHHmmSSZ) as a datetime."""
    return datetime.strptime(str(text)[2:16], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("ocr", [None, "eng"])
def test_pdfa_structure(api, tmp_path, ocr):
    colour, _ = text_page("rgb", lines=2, seed=3)
    bw, _ = text_page("bw", lines=2, seed=4)
    uid = document(api, [colour, bw])
    params = {"pdfa": "true", "title": "Ledger <2026> & more", "author": "Records Office", "subject": "Archive test",
              "keyWords": "ledger, archive"}
    if ocr:
        params["ocr"] = ocr
    r = requests.get(f"{api}/storage/documents/{uid}/content", params=params)
    assert r.status_code == 200, r.text
    path = tmp_path / "archive.pdf"
    path.write_bytes(r.content)
    assert subprocess.run(["qpdf", "--check", str(path)], capture_output=True).returncode == 0

    pdf = pikepdf.open(path)
    # PDF 1.7 at most, not encrypted, a document ID of two strings in the trailer.
    assert pdf.pdf_version <= "1.7"
    assert not pdf.is_encrypted and "/Encrypt" not in pdf.trailer
    ids = pdf.trailer.ID
    assert len(ids) == 2 and all(len(bytes(i)) == 16 for i in ids)

    # XMP metadata: a Metadata stream of the catalog, pdfaid part 2 conformance B, and the same
    # values as the Info dictionary.
    stream = pdf.Root.Metadata
    assert stream.Type == "/Metadata" and stream.Subtype == "/XML"
    xmp = stream.read_bytes().decode("utf-8")
    assert xmp.startswith("<?xpacket begin=") and xmp.rstrip().endswith('<?xpacket end="w"?>')
    assert re.search(r"<pdfaid:part>2</pdfaid:part>", xmp) and re.search(r"<pdfaid:conformance>B</pdfaid:conformance>", xmp)
    with pdf.open_metadata() as meta:
        assert meta["pdfaid:part"] == "2" and meta["pdfaid:conformance"] == "B"
        info = pdf.docinfo
        assert meta["dc:title"] == str(info.Title) == params["title"]
        assert meta["dc:creator"] == [str(info.Author)] == [params["author"]]
        assert meta["dc:description"] == str(info.Subject)
        assert meta["pdf:Producer"] == str(info.Producer)
        assert meta["pdf:Keywords"] == str(info.Keywords)
        assert meta["xmp:CreatorTool"] == str(info.Creator)
        created = datetime.fromisoformat(meta["xmp:CreateDate"].replace("Z", "+00:00"))
        assert created == info_date(info.CreationDate)

    # An sRGB output intent with its ICC profile embedded.
    intents = pdf.Root.OutputIntents
    assert len(intents) == 1
    intent = intents[0]
    assert intent.Type == "/OutputIntent" and intent.S == "/GTS_PDFA1"
    assert "sRGB" in str(intent.OutputConditionIdentifier)
    profile = intent.DestOutputProfile
    assert int(profile.N) == 3
    icc = profile.read_bytes()
    assert icc[36:40] == b"acsp" and icc[16:20] == b"RGB " and int.from_bytes(icc[0:4], "big") == len(icc)

    # Every font embedded: the text layer's Type 0 font has its TrueType program, which parses
    # and whose glyph advances are the widths the PDF declares.
    fonts = [font for page in pdf.pages for font in (page.Resources.get("/Font") or {}).values()]
    assert len(fonts) == (2 if ocr else 0)
    for font in fonts:
        assert font.Subtype == "/Type0"
        cid = font.DescendantFonts[0]
        program = cid.FontDescriptor.FontFile2.read_bytes()
        ttf = TTFont(io.BytesIO(program))
        assert ttf.getGlyphOrder()[:1] == [".notdef"] and len(ttf.getGlyphOrder()) == 2
        assert {advance for advance, _ in ttf["hmtx"].metrics.values()} == {int(cid.DW)}
    listed = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
    assert all(line.split()[-5] == "yes" for line in listed)


def test_pdfa_refuses_what_it_forbids(api):
    uid = document(api, [Image.new("L", (300, 300), 255)])
    r = requests.get(f"{api}/storage/documents/{uid}/content", params={"pdfa": "true", "password": "secret"})
    assert r.status_code == 400 and "encryption" in r.json()["message"]
    r = requests.get(f"{api}/storage/documents/{uid}/content", params={"pdfa": "true", "type": "image/tiff"})
    assert r.status_code == 400
    r = requests.get(f"{api}/storage/documents/{uid}/content", params={"pdfa": "maybe"})
    assert r.status_code == 400


def test_document_created_with_pdfa_renders_pdfa(api, tmp_path):
    r = requests.post(f"{api}/storage/documents", json={"pdfa": True})
    assert r.status_code == 201
    uid = r.json()["uid"]
    data = io.BytesIO()
    Image.new("L", (600, 800), 200).save(data, format="PNG", dpi=(DPI, DPI))
    assert requests.post(f"{api}/storage/documents/{uid}/import", data=data.getvalue()).status_code == 200
    path = tmp_path / "default.pdf"
    path.write_bytes(requests.get(f"{api}/storage/documents/{uid}/content").content)
    with pikepdf.open(path) as pdf:
        assert "/OutputIntents" in pdf.Root and pdf.open_metadata()["pdfaid:part"] == "2"
    path.write_bytes(requests.get(f"{api}/storage/documents/{uid}/content", params={"pdfa": "false"}).content)
    with pikepdf.open(path) as pdf:
        assert "/OutputIntents" not in pdf.Root
    assert requests.get(f"{api}/storage/documents/{uid}/content", params={"password": "x"}).status_code == 400
    assert requests.post(f"{api}/storage/documents", json={"pdfa": True, "password": "x"}).status_code == 400
