"""The demo's PDF parts in headless Chromium, from another origin: scan black-and-white pages,
pick JBIG2 and see its expected size, import a PDF made by img2pdf through the file input, and
save one PDF of all of it with JBIG2."""
import os
import re
import subprocess
import tempfile

from PIL import Image, ImageDraw
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from test_demo import browser, captions, downloaded, downloads, figures, wait  # noqa: F401 (fixtures)


def test_demo_imports_a_pdf_and_saves_jbig2_with_its_expected_size(service, sites, browser, downloads, allowed_origin):
    browser.get(f"{allowed_origin}/index.html")
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60,
         "the demo did not connect")
    Select(browser.find_element(By.ID, "pixelType")).select_by_value("0")
    browser.find_element(By.ID, "count").clear()
    browser.find_element(By.ID, "count").send_keys("3")
    browser.find_element(By.ID, "scan").click()
    wait(browser, lambda d: "Scan finished" in d.find_element(By.ID, "progressText").text, 300, "the scan did not finish")
    assert len(figures(browser)) == 3

    # The chosen compression with the size it is expected to give.
    Select(browser.find_element(By.ID, "compression")).select_by_value("7")
    wait(browser, lambda d: d.find_element(By.ID, "expectedSize").text.startswith("JBIG2: ≈"), 60,
         "no expected size for JBIG2")
    jbig2_expected = int(browser.find_element(By.ID, "expectedSize").get_attribute("data-bytes"))
    Select(browser.find_element(By.ID, "compression")).select_by_value("3")
    wait(browser, lambda d: d.find_element(By.ID, "expectedSize").text.startswith("Lossless: ≈"), 60,
         "no expected size for lossless")
    assert int(browser.find_element(By.ID, "expectedSize").get_attribute("data-bytes")) > jbig2_expected

    # Import PDF: a two-page img2pdf file, chosen in the file input.
    with tempfile.TemporaryDirectory(prefix="sb-demo-pdf-") as folder:
        jpegs = []
        for index in range(2):
            path = os.path.join(folder, f"page{index}.jpg")
            image = Image.new("RGB", (400, 560), "white")
            ImageDraw.Draw(image).rectangle((40, 40 + index * 100, 300, 120 + index * 100), fill=(10, 10, 10))
            image.save(path, quality=85, dpi=(100, 100))
            jpegs.append(path)
        source = os.path.join(folder, "import.pdf")
        subprocess.run(["img2pdf", "-o", source] + jpegs, check=True)
        browser.find_element(By.ID, "importPdf").send_keys(source)
        wait(browser, lambda d: len(figures(d)) == 5, 120, "the PDF's pages did not appear")
    assert [c.split(" · ")[1] for c in captions(browser)][3:] == ["PDF", "PDF"]
    # The PDF's pages are in the buffer: Rotate works on them as on scanned pages.
    figures(browser)[4].click()
    wait(browser, lambda d: d.find_element(By.ID, "rotate").is_enabled(), 10, "selecting an imported page did not enable Rotate")
    browser.find_element(By.ID, "rotate").click()
    wait(browser, lambda d: "90°" in captions(d)[4], 60, "the imported page's rotation did not show")

    Select(browser.find_element(By.ID, "compression")).select_by_value("7")
    wait(browser, lambda d: "× 5" in d.find_element(By.ID, "expectedSize").text, 60, "the expected size did not follow")
    browser.find_element(By.ID, "savePdf").click()
    pdf = downloaded(browser, downloads, "scan.pdf")
    assert "JBIG2" in browser.find_element(By.ID, "progressText").text
    check = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    info = subprocess.run(["pdfinfo", pdf], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+5$", info, re.M), info
    last = subprocess.run(["pdfinfo", "-f", "5", "-l", "5", pdf], check=True, capture_output=True, text=True).stdout
    width, height = map(float, re.search(r"^Page\s+5 size:\s+([\d.]+) x ([\d.]+)", last, re.M).groups())
    assert width > height, last  # the rotated imported page, landscape now
    assert open(pdf, "rb").read().count(b"/JBIG2Decode") == 5
