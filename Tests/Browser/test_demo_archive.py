"""A records office's document from the demo in headless Chromium: a 100-page black-and-white
PDF (CCITT G4 pages, made by Pillow and img2pdf) imported through "Import PDF", then saved with
JBIG2 as a searchable PDF/A. The saved file is checked with qpdf, poppler (pdfinfo, pdffonts,
pdfimages, pdftotext) and its own XMP packet."""
import os
import re
import subprocess
import tempfile

from PIL import Image, ImageDraw, ImageFont
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from test_demo import browser, downloaded, downloads, figures, wait  # noqa: F401 (fixtures)

PAGES = 100
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
WORDS = ["Archive", "record", "number", "ledger", "invoice", "customer", "payment", "received"]


def page_words(index):
    return WORDS[index % len(WORDS):] + WORDS[:index % len(WORDS)] + [f"{1000 + index}"]


def write_source_pdf(folder):
    """PAGES half-size A4 pages at 150 dpi, each two lines of known words, as G4 TIFFs in one PDF."""
    font = ImageFont.truetype(FONT, 44)
    tiffs = []
    for index in range(PAGES):
        image = Image.new("1", (1240, 877), 1)
        words = page_words(index)
        draw = ImageDraw.Draw(image)
        draw.text((90, 300), " ".join(words[:5]), font=font, fill=0)
        draw.text((90, 420), " ".join(words[5:]), font=font, fill=0)
        path = os.path.join(folder, f"page{index:03d}.tif")
        image.save(path, compression="group4", dpi=(150, 150))
        tiffs.append(path)
    source = os.path.join(folder, "archive.pdf")
    subprocess.run(["img2pdf", "-o", source] + tiffs, check=True, capture_output=True)
    return source


def test_a_100_page_bw_document_saves_as_a_searchable_pdfa_with_jbig2(service, sites, browser, downloads, allowed_origin):
    browser.get(f"{allowed_origin}/index.html")
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60,
         "the demo did not connect")
    with tempfile.TemporaryDirectory(prefix="sb-demo-archive-") as folder:
        source = write_source_pdf(folder)
        browser.find_element(By.ID, "importPdf").send_keys(source)
        wait(browser, lambda d: len(figures(d)) == PAGES, 300, "the PDF's pages did not appear")

    Select(browser.find_element(By.ID, "compression")).select_by_value("7")
    wait(browser, lambda d: d.find_element(By.ID, "expectedSize").text.startswith("JBIG2: ≈"), 120,
         "no expected size for JBIG2")
    wait(browser, lambda d: d.find_element(By.ID, "searchable").is_enabled(), 30, "no OCR language offered")
    Select(browser.find_element(By.ID, "ocrLanguage")).select_by_value("eng")
    browser.find_element(By.ID, "searchable").click()
    browser.find_element(By.ID, "pdfa").click()
    browser.find_element(By.ID, "savePdf").click()
    pdf = downloaded(browser, downloads, "scan.pdf", 600)

    check = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    info = subprocess.run(["pdfinfo", pdf], check=True, capture_output=True, text=True).stdout
    assert re.search(rf"^Pages:\s+{PAGES}$", info, re.M), info
    assert re.search(r"^Encrypted:\s+no", info, re.M), info

    # Every page's image is JBIG2 and 1-bit, at the imported size.
    images = subprocess.run(["pdfimages", "-list", pdf], check=True, capture_output=True, text=True).stdout.splitlines()[2:]
    assert len(images) == PAGES, images[:5]
    for line in images:
        fields = line.split()
        assert fields[3:6] == ["1240", "877", "gray"] and fields[7] == "1" and fields[8] == "jbig2", line

    # The text layer's font is embedded, and the words come back page by page.
    fonts = subprocess.run(["pdffonts", pdf], check=True, capture_output=True, text=True).stdout.splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts), fonts
    found = total = 0
    missed = []
    for index in range(PAGES):
        text = subprocess.run(["pdftotext", "-f", str(index + 1), "-l", str(index + 1), pdf, "-"],
                              check=True, capture_output=True, text=True).stdout.split()
        expected = page_words(index)
        total += len(expected)
        found += sum(1 for word in expected if word in text)
        missed += [(index, word, text) for word in expected if word not in text][:1]
    assert found / total >= 0.98, f"{found} of {total} words found; first misses: {missed[:3]}"

    # PDF/A-2b: the XMP packet says so, with an output intent in the catalog.
    data = open(pdf, "rb").read()
    assert re.search(rb"pdfaid:part(>|=\")2", data) and re.search(rb"pdfaid:conformance(>|=\")B", data)
    assert b"/OutputIntents" in data and b"/GTS_PDFA1" in data
