"""The demo in real headless Chromium, loaded from a different origin than the service (a
second local web server), so every API call is a real cross-origin request with CORS
preflights: scan 10 pages from the SANE test ADF, check the thumbnails, rotate, delete,
reorder by drag and drop, save a PDF and check it with qpdf and pdfinfo; then a page from an
origin that is not allowed is refused."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, free_ports, start_service, stop_service
from test_events import page_sizes



def assert_test_scanner_selected(browser):
    """The scanner list shows the test scanner by name; its value is the scanner's `device`
    string (a JSON string of its details), which the demo passes back to scan."""
    select = browser.find_element(By.ID, "scanner")
    details = json.loads(select.get_attribute("value"))
    assert details["id"] == "sane:test:0", details
    shown = browser.execute_script("const s = arguments[0]; return s.options[s.selectedIndex].text;", select)
    assert shown == details["name"] and shown.startswith("Noname frontend-tester"), shown

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture()
def downloads():
    folder = tempfile.mkdtemp(prefix="scanbridge-downloads-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def browser(downloads):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1100",
                     "--disable-gpu", "--no-first-run", "--disable-extensions"]:
        options.add_argument(argument)
    profile = tempfile.mkdtemp(prefix="scanbridge-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.add_experimental_option("prefs", {"download.default_directory": downloads, "download.prompt_for_download": False})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def figures(driver):
    return driver.find_elements(By.CSS_SELECTOR, "#pages figure")


def wait(driver, condition, timeout=120, message=""):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d), message)


def downloaded(driver, folder, name, timeout=120):
    """The path of a file the browser saved into `folder`, once the download has finished."""
    path = os.path.join(folder, name)
    deadline = time.time() + timeout
    while time.time() < deadline and not (os.path.exists(path) and not any(n.endswith(".crdownload") for n in os.listdir(folder))):
        time.sleep(0.2)
    assert os.path.exists(path), (os.listdir(folder), driver.find_element(By.ID, "error").text)
    return path


def decoded_thumbnails(driver):
    return driver.execute_script(
        "return [...document.querySelectorAll('#pages figure img')].map(i => i.complete ? i.naturalWidth : 0)")


def captions(driver):
    # Read in one script: the demo re-renders the grid as it changes (no stale elements).
    return driver.execute_script("return [...document.querySelectorAll('#pages figcaption')].map(c => c.textContent)")


def page_ids(driver):
    return driver.execute_script("return [...document.querySelectorAll('#pages figure')].map(f => f.dataset.id)")


def drag(driver, source, target):
    """HTML5 drag and drop through the page's own handlers (synthetic DragEvents)."""
    driver.execute_script("""
        const [source, target] = arguments;
        const data = new DataTransfer();
        source.dispatchEvent(new DragEvent('dragstart', {bubbles: true, dataTransfer: data}));
        target.dispatchEvent(new DragEvent('dragover', {bubbles: true, cancelable: true, dataTransfer: data}));
        target.dispatchEvent(new DragEvent('drop', {bubbles: true, cancelable: true, dataTransfer: data}));
        source.dispatchEvent(new DragEvent('dragend', {bubbles: true, dataTransfer: data}));
    """, source, target)


def test_demo_scans_edits_and_saves_from_another_origin(service, sites, browser, downloads, allowed_origin):
    url = f"{allowed_origin}/index.html"
    browser.get(url)
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60,
         "the demo did not connect")
    status = browser.find_element(By.ID, "status").text
    assert f"127.0.0.1:{service.http_port}" in status, status
    assert_test_scanner_selected(browser)

    # Scan 10 pages from the test scanner's document feeder.
    browser.find_element(By.ID, "count").clear()
    browser.find_element(By.ID, "count").send_keys("10")
    browser.find_element(By.ID, "scan").click()
    wait(browser, lambda d: "Scan finished" in d.find_element(By.ID, "progressText").text, 300,
         "the scan did not finish")
    assert browser.find_element(By.ID, "error").is_displayed() is False
    assert len(figures(browser)) == 10
    wait(browser, lambda d: all(w > 0 for w in decoded_thumbnails(d)) and len(decoded_thumbnails(d)) == 10, 60,
         "thumbnails did not decode")
    sizes = browser.execute_script(
        "return [...document.querySelectorAll('#pages figure img')].map(i => [i.naturalWidth, i.naturalHeight])")
    assert all(w > 0 and h > 0 for w, h in sizes) and len(sizes) == 10
    assert all(h > w for w, h in sizes), sizes  # the test scanner's pages are portrait
    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTIFACTS, "browser-demo-after-scan.png"))

    # Rotate page 2 (select it, Rotate).
    figures(browser)[1].click()
    wait(browser, lambda d: d.find_element(By.ID, "rotate").is_enabled(), 10, "selecting a page did not enable Rotate")
    browser.find_element(By.ID, "rotate").click()
    wait(browser, lambda d: "90°" in captions(d)[1], 60, "the rotation did not show")
    wait(browser, lambda d: d.execute_script(
        "const i = document.querySelectorAll('#pages figure img')[1]; return i.complete && i.naturalWidth > i.naturalHeight"),
         60, "the rotated thumbnail is not landscape")
    rotated_id = page_ids(browser)[1]

    # Delete the last page.
    figures(browser)[9].click()
    wait(browser, lambda d: d.find_element(By.ID, "delete").is_enabled(), 10, "selecting a page did not enable Delete")
    browser.find_element(By.ID, "delete").click()
    wait(browser, lambda d: len(figures(d)) == 9, 60, "the page was not deleted")

    # Drag the rotated page (position 2) onto position 7.
    items = figures(browser)
    drag(browser, items[1], items[6])
    wait(browser, lambda d: page_ids(d)[6] == rotated_id, 30, "the page did not move")
    order = page_ids(browser)
    assert order.index(rotated_id) == 6
    browser.save_screenshot(os.path.join(ARTIFACTS, "browser-demo-after-edits.png"))

    # Save as a searchable PDF/A: the OCR language picker lists the service's languages; the
    # browser downloads scan.pdf (the test scanner's pages hold no text: its layer is empty).
    languages = [o.get_attribute("value") for o in browser.find_elements(By.CSS_SELECTOR, "#ocrLanguage option")]
    assert "eng" in languages and browser.find_element(By.ID, "ocrLanguage").get_attribute("value") == "eng"
    browser.find_element(By.ID, "searchable").click()
    browser.find_element(By.ID, "pdfa").click()
    browser.find_element(By.ID, "savePdf").click()
    pdf = downloaded(browser, downloads, "scan.pdf", 180)
    assert not browser.find_element(By.ID, "error").is_displayed()
    os.makedirs(ARTIFACTS, exist_ok=True)
    shutil.copy(pdf, os.path.join(ARTIFACTS, "browser-demo-scan.pdf"))
    check = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    info = subprocess.run(["pdfinfo", pdf], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+9$", info, re.M), info
    root = subprocess.run(["qpdf", "--show-object=1", pdf], capture_output=True, text=True, check=True).stdout
    assert "/OutputIntents" in root and "/Metadata" in root, root
    # The new order: only page 7 (the rotated one, moved there) is landscape.
    landscape = [w > h for w, h in page_sizes(pdf)]
    assert landscape == [False] * 6 + [True] + [False] * 2, landscape

    # Save as TIFF: the same 9 pages, one directory each.
    browser.find_element(By.ID, "saveTiff").click()
    tiff = downloaded(browser, downloads, "scan.tif")
    directories = subprocess.run(["tiffinfo", tiff], check=True, capture_output=True, text=True).stdout.count("TIFF Directory at")
    assert directories == 9

    # Every call was cross-origin and none was blocked. (Expected noise: the SDK tries https
    # first, whose certificate this throwaway profile does not trust, and the site has no favicon.)
    errors = [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"
              and "ERR_CERT_AUTHORITY_INVALID" not in entry["message"] and "favicon.ico" not in entry["message"]]
    assert not errors, errors


def test_demo_from_an_origin_that_is_not_allowed_is_refused(service, sites, browser, refused_origin):
    browser.get(f"{refused_origin}/index.html")
    error = wait(browser, lambda d: d.find_element(By.ID, "error") if d.find_element(By.ID, "error").is_displayed() else None,
                 60, "no error was shown")
    assert error.get_attribute("data-kind") == "origin-refused", error.text
    assert "is not allowed" in error.text and "AllowedOrigins" in error.text
    assert browser.find_element(By.ID, "scan").get_attribute("disabled") is not None
    # A page script can't go around the SDK either: the preflight of a JSON POST is refused,
    # so the browser never sends the request.
    outcome = browser.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(arguments[0] + '/api/device/scanners/jobs', {method: 'POST', headers: {'Content-Type': 'application/json'},
              body: JSON.stringify({device: 'sane:test:0', autoRun: false})})
          .then(r => done('answered ' + r.status), e => done('blocked ' + e.name));
    """, service.http)
    assert outcome == "blocked TypeError", outcome
    browser.save_screenshot(os.path.join(ARTIFACTS, "browser-demo-refused-origin.png"))


@pytest.fixture()
def small_buffer_service(allowed_origin):
    """A second service whose buffer holds 3 pages: a 10-page batch fails mid-way."""
    home = tempfile.mkdtemp(prefix="scanbridge-browser-small-")
    running = start_service(home, ["--set", f"AllowedOrigins={allowed_origin}", "--set", "BufferMaxPages=3"])
    yield running
    stop_service(running)
    shutil.rmtree(home, ignore_errors=True)


def test_demo_shows_a_failure_mid_batch_and_keeps_the_pages_before_it(small_buffer_service, sites, browser, allowed_origin):
    api = small_buffer_service.http
    browser.get(f"{allowed_origin}/index.html?service={api}&sdk={api}/scanbridge.js")
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60,
         "the demo did not connect")
    assert str(small_buffer_service.http_port) in browser.find_element(By.ID, "status").text
    browser.find_element(By.ID, "scan").click()
    error = wait(browser, lambda d: d.find_element(By.ID, "error") if d.find_element(By.ID, "error").is_displayed() else None,
                 120, "no error was shown")
    assert error.get_attribute("data-kind") == "scan", error.text
    assert "The scan stopped" in error.text
    assert "Scan stopped after 3 page(s)" in browser.find_element(By.ID, "progressText").text
    wait(browser, lambda d: len(decoded_thumbnails(d)) == 3 and all(w > 0 for w in decoded_thumbnails(d)), 60,
         "the pages before the failure are not shown")
    browser.save_screenshot(os.path.join(ARTIFACTS, "browser-demo-failure-mid-batch.png"))
    # They can still be saved.
    assert browser.find_element(By.ID, "savePdf").is_enabled()


def test_demo_without_a_service_says_how_to_install_it(service, sites, browser, allowed_origin):
    # The SDK loads from the running service, but the API root it is given answers nothing.
    closed = free_ports(1)[0]
    browser.get(f"{allowed_origin}/index.html?service=http://127.0.0.1:{closed}&sdk={service.http}/scanbridge.js")
    error = wait(browser, lambda d: d.find_element(By.ID, "error") if d.find_element(By.ID, "error").is_displayed() else None,
                 60, "no error was shown")
    assert error.get_attribute("data-kind") == "absent", error.text
    assert "not running" in error.text and "Install ScanBridge" in error.text
    assert browser.find_element(By.ID, "status").text == "Not connected"


def test_demo_served_by_the_service_itself_connects(service, browser):
    # The service's own pages are always allowed, whatever AllowedOrigins says.
    browser.get(f"http://127.0.0.1:{service.service_port}/demo")
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60,
         "the demo did not connect")
    assert_test_scanner_selected(browser)
    assert not browser.find_element(By.ID, "error").is_displayed()


def test_demo_served_by_the_core_port_scans(service, browser):
    # Same-origin: Chromium sends no Origin on the demo's GETs, only Sec-Fetch-Site: same-origin,
    # while the POST that creates the job carries Origin. The job must still be the page's own.
    browser.get(f"http://127.0.0.1:{service.http_port}/demo")
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60,
         "the demo did not connect")
    browser.find_element(By.ID, "count").clear()
    browser.find_element(By.ID, "count").send_keys("3")
    browser.find_element(By.ID, "scan").click()
    wait(browser, lambda d: "Scan finished" in d.find_element(By.ID, "progressText").text
         or d.find_element(By.ID, "error").is_displayed(), 120, "the scan did not finish")
    assert not browser.find_element(By.ID, "error").is_displayed(), browser.find_element(By.ID, "error").text
    assert len(figures(browser)) == 3
    wait(browser, lambda d: len(decoded_thumbnails(d)) == 3 and all(w > 0 for w in decoded_thumbnails(d)), 60,
         "thumbnails did not decode")
