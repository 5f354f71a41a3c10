"""Chrome's Local Network Access in headless Chromium: a page on a public origin that ships the SDK
from its own origin and connects on a click. Chromium's --ip-address-space-overrides makes the
test origins (local web servers) public, so every request to the service on 127.0.0.1 crosses
from the public into the loopback address space, as from a real web site.

What headless Chromium does (checked on Chromium 156): a request that needs the permission, while
it is still to be asked, is denied as if the user had blocked it (the permission then reads
"denied"), so "not granted" is deterministic. The loopback permission is "loopback-network"
(CDP PermissionType loopbackNetwork; granting only localNetworkAccess does not open loopback).
CDP grants (Browser.grantPermissions/setPermission) reach a cross-origin iframe even when the
embedding page did not delegate the permission, unlike a user's grant; the iframe tests grant
the way the user's "Allow" does, as a content setting in the browser profile."""
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest
import requests
from selenium import webdriver
from selenium.webdriver.chrome.service import Service as DriverService
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from conftest import ARTIFACTS, StaticSite, free_ports, start_service, stop_service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"

# An application's page: the SDK next to it (./scanbridge.js), connect() on a click, a scan of
# `pages` pages from the test scanner's feeder saved as a PDF, live events counted.
APPLICATION_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>An application</title></head>
<body>
<button id="connect">Connect scanner</button> <button id="scan" disabled>Scan</button>
<p id="status">Not connected</p>
<p id="error" hidden></p>
<script type="module">
import { connect, localNetworkAccess } from "./scanbridge.js";
const params = new URLSearchParams(location.search);
const ports = { httpPort: Number(params.get("http")), httpsPort: Number(params.get("https")) };
const $ = (id) => document.getElementById(id);
const app = { bridge: null, events: [], permissionAtLoad: await localNetworkAccess(), permissionAtClick: null };
window.application = app;
function fail(error) {
  $("error").hidden = false;
  $("error").textContent = error.message;
  $("error").dataset.kind = error.kind ?? "";
  $("error").dataset.reason = error.reason ?? "";
}
$("connect").addEventListener("click", async () => {
  app.permissionAtClick = await localNetworkAccess();
  try { app.bridge = await connect(ports); } catch (error) { fail(error); return; }
  app.bridge.subscribe((event) => app.events.push(event.type), { types: ["job", "page"] });
  $("status").textContent = `Connected to ${app.bridge.base}`;
  $("scan").disabled = false;
});
$("scan").addEventListener("click", async () => {
  try {
    const pages = [];
    const config = { IfFeederEnabled: true, XferCount: Number(params.get("pages")), Resolution: 50, PixelType: 2 };
    for await (const page of app.bridge.scan({ device: "sane:test:0", config })) pages.push(page);
    const document = await app.bridge.createDocument();
    await document.insert(pages);
    await document.save("scan.pdf", { type: "application/pdf" });
    $("status").textContent = `Saved ${pages.length} page(s)`;
  } catch (error) { fail(error); }
});
document.body.dataset.ready = "true";
</script>
</body></html>
"""

# Another site that embeds the application in an iframe, delegating Local Network Access or not.
EMBEDDING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A portal</title></head>
<body>
<script>
const params = new URLSearchParams(location.search);
const frame = document.createElement("iframe");
frame.id = "application";
frame.width = 800;
frame.height = 400;
if (params.get("allow")) frame.allow = params.get("allow");
frame.src = params.get("src");
document.body.append(frame);
</script>
</body></html>
"""


@pytest.fixture(scope="module")
def lna_ports():
    application, portal = free_ports(2)
    return {"application": application, "portal": portal}


@pytest.fixture(scope="module")
def lna_service(lna_ports):
    assert os.environ.get("SANE_CONFIG_DIR"), "run through `make test`, which points SANE at its test backend"
    home = tempfile.mkdtemp(prefix="scanbridge-browser-lna-")
    running = start_service(home, ["--set", f"AllowedOrigins=http://127.0.0.1:{lna_ports['application']}"])
    yield running
    stop_service(running)
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture(scope="module")
def lna_sites(lna_service, lna_ports):
    """The application (with the SDK the service serves, copied next to it) and the portal."""
    folder = tempfile.mkdtemp(prefix="scanbridge-lna-site-")
    sdk = requests.get(f"{lna_service.http}/scanbridge.js", timeout=10)
    assert sdk.ok and "localNetworkAccess" in sdk.text
    with open(os.path.join(folder, "scanbridge.js"), "w", encoding="utf-8") as f:
        f.write(sdk.text)
    with open(os.path.join(folder, "index.html"), "w", encoding="utf-8") as f:
        f.write(APPLICATION_PAGE)
    with open(os.path.join(folder, "portal.html"), "w", encoding="utf-8") as f:
        f.write(EMBEDDING_PAGE)
    application = StaticSite(folder, lna_ports["application"])
    portal = StaticSite(folder, lna_ports["portal"])
    yield {"application": f"http://127.0.0.1:{application.port}",
           # Another site (another host name), on a port the override makes public too.
           "portal": f"http://localhost:{portal.port}"}
    application.close()
    portal.close()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def downloads():
    folder = tempfile.mkdtemp(prefix="scanbridge-lna-downloads-")
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def chromium(lna_ports, downloads):
    """Starts headless Chromium with both test origins public; `granted_to` writes the loopback
    permission into the new profile for those origins, as the user's "Allow" would."""
    drivers, profiles = [], []

    def start(granted_to=()):
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        overrides = ",".join(f"127.0.0.1:{port}=public" for port in lna_ports.values())
        for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1000,700",
                         "--disable-gpu", "--no-first-run", "--disable-extensions",
                         f"--ip-address-space-overrides={overrides}"]:
            options.add_argument(argument)
        profile = tempfile.mkdtemp(prefix="scanbridge-lna-chromium-")
        profiles.append(profile)
        options.add_argument(f"--user-data-dir={profile}")
        exceptions = {f"{origin},*": {"setting": 1} for origin in granted_to}  # 1: allow
        options.add_experimental_option("prefs", {
            "download.default_directory": downloads, "download.prompt_for_download": False,
            "profile": {"content_settings": {"exceptions": {"loopback_network": exceptions}}}})
        driver = webdriver.Chrome(service=DriverService(executable_path=CHROMEDRIVER), options=options)
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()
    for profile in profiles:
        shutil.rmtree(profile, ignore_errors=True)


def wait(driver, condition, timeout=60, message=""):
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda d: condition(d), message)


def application_url(sites, service, pages=10):
    return f"{sites['application']}/index.html?http={service.http_port}&https={service.https_port}&pages={pages}"


def open_application(driver, url):
    driver.get(url)
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 30,
         "the application page did not load")


def outcome(driver, timeout=60):
    """Waits for the click on Connect to end: (status text, error kind, error reason)."""
    def settled(d):
        error = d.find_element(By.ID, "error")
        if error.is_displayed():
            return ("error", error.get_attribute("data-kind"), error.get_attribute("data-reason"), error.text)
        status = d.find_element(By.ID, "status").text
        return ("connected", status, "", "") if status.startswith("Connected") else None
    return wait(driver, settled, timeout, "connect() neither connected nor failed")


def test_without_the_permission_connect_reports_the_browser_block(lna_service, lna_sites, chromium):
    driver = chromium()
    open_application(driver, application_url(lna_sites, lna_service))
    assert driver.execute_script("return window.application.permissionAtLoad") == "prompt"
    driver.find_element(By.ID, "connect").click()
    state, kind, reason, message = outcome(driver)
    assert (state, kind, reason) == ("error", "network-blocked", "permission-denied"), message
    assert "site settings" in message and "LocalNetworkAccessAllowedForUrls" in message, message
    # The service never saw the page: nothing was scanned or allowed, and it still runs.
    assert requests.get(f"{lna_service.http}/api/server", timeout=10).ok


def test_a_permission_denied_beforehand_is_reported_without_asking(lna_service, lna_sites, chromium):
    driver = chromium()
    driver.execute_cdp_cmd("Browser.setPermission", {"origin": lna_sites["application"],
                                                      "permission": {"name": "loopback-network"}, "setting": "denied"})
    open_application(driver, application_url(lna_sites, lna_service))
    assert driver.execute_script("return window.application.permissionAtLoad") == "denied"
    driver.find_element(By.ID, "connect").click()
    state, kind, reason, message = outcome(driver)
    assert (state, kind, reason) == ("error", "network-blocked", "permission-denied"), message


def test_with_the_permission_a_ten_page_scan_is_saved_as_pdf(lna_service, lna_sites, chromium, downloads):
    driver = chromium()
    driver.execute_cdp_cmd("Browser.grantPermissions", {"origin": lna_sites["application"], "permissions": ["loopbackNetwork"]})
    open_application(driver, application_url(lna_sites, lna_service))
    assert driver.execute_script("return window.application.permissionAtLoad") == "granted"
    driver.find_element(By.ID, "connect").click()
    state, status, _, message = outcome(driver)
    assert state == "connected", message
    # The page is not HTTPS, so https stays first; this profile does not trust the service's
    # certificate, so the SDK ends on http.
    assert status == f"Connected to http://127.0.0.1:{lna_service.http_port}"

    driver.find_element(By.ID, "scan").click()
    wait(driver, lambda d: d.find_element(By.ID, "status").text.startswith("Saved")
         or d.find_element(By.ID, "error").is_displayed(), 300, "the scan did not finish")
    assert not driver.find_element(By.ID, "error").is_displayed(), driver.find_element(By.ID, "error").text
    assert driver.find_element(By.ID, "status").text == "Saved 10 page(s)"
    pdf = os.path.join(downloads, "scan.pdf")
    deadline = time.time() + 120
    while time.time() < deadline and not (os.path.exists(pdf) and not any(n.endswith(".crdownload") for n in os.listdir(downloads))):
        time.sleep(0.2)
    assert os.path.exists(pdf), os.listdir(downloads)
    os.makedirs(ARTIFACTS, exist_ok=True)
    shutil.copy(pdf, os.path.join(ARTIFACTS, "browser-lna-scan.pdf"))
    check = subprocess.run(["qpdf", "--check", pdf], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    info = subprocess.run(["pdfinfo", pdf], check=True, capture_output=True, text=True).stdout
    assert re.search(r"^Pages:\s+10$", info, re.M), info
    # Server-sent events reach the page under the permission too (EventSource has no
    # targetAddressSpace; the permission covers it).
    events = driver.execute_script("return window.application.events")
    assert events.count("page") == 10 and "job" in events, events


def framed(driver, sites, service, allow):
    src = application_url(sites, service, pages=3)
    query = requests.compat.urlencode({"src": src, **({"allow": allow} if allow else {})})
    driver.get(f"{sites['portal']}/portal.html?{query}")
    frame = wait(driver, lambda d: d.find_element(By.ID, "application"), 30, "no iframe")
    driver.switch_to.frame(frame)
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 30,
         "the framed application did not load")


def test_in_an_iframe_without_delegation_connect_is_blocked(lna_service, lna_sites, chromium):
    driver = chromium(granted_to=[lna_sites["portal"]])
    framed(driver, lna_sites, lna_service, allow=None)
    driver.find_element(By.ID, "connect").click()
    state, kind, reason, message = outcome(driver)
    assert (state, kind, reason) == ("error", "network-blocked", "frame-policy"), message
    assert 'allow="local-network-access"' in message, message


def test_in_an_iframe_with_allow_local_network_access_it_scans(lna_service, lna_sites, chromium):
    driver = chromium(granted_to=[lna_sites["portal"]])
    framed(driver, lna_sites, lna_service, allow="local-network-access")
    assert driver.execute_script("return window.application.permissionAtLoad") == "granted"
    driver.find_element(By.ID, "connect").click()
    state, status, _, message = outcome(driver)
    assert state == "connected", message
    driver.find_element(By.ID, "scan").click()
    wait(driver, lambda d: d.find_element(By.ID, "status").text.startswith("Saved")
         or d.find_element(By.ID, "error").is_displayed(), 120, "the scan did not finish")
    assert driver.find_element(By.ID, "status").text == "Saved 3 page(s)", driver.find_element(By.ID, "error").text


def test_in_an_iframe_with_delegation_but_no_grant_connect_is_blocked(lna_service, lna_sites, chromium):
    driver = chromium()
    framed(driver, lna_sites, lna_service, allow="local-network-access")
    driver.find_element(By.ID, "connect").click()
    state, kind, reason, message = outcome(driver)
    assert (state, kind, reason) == ("error", "network-blocked", "permission-denied"), message
