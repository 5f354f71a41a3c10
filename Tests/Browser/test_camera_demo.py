"""The demo captures from a camera in real headless Chromium, from another origin. The camera is
a STAND-IN FOR ABSENT HARDWARE (no camera or virtual video driver exists here): the service runs
with Tests/Support/v4l2-standin/standin.c preloaded, which answers the V4L2 calls for one device
node. The captured page is decoded by Pillow and checked against the stand-in's YUYV pattern."""
import importlib.util
import io
import os
import shutil
import tempfile

import pytest
import requests
from PIL import Image
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from conftest import ARTIFACTS, ROOT, StaticSite, free_ports, start_service, stop_service
from test_demo import browser, downloads, figures, decoded_thumbnails, wait  # noqa: F401 (fixtures)

_spec = importlib.util.spec_from_file_location(
    "v4l2_standin_device", os.path.join(ROOT, "Tests", "Support", "v4l2-standin", "standin_device.py"))
standin_device = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standin_device)


@pytest.fixture(scope="module")
def camera_site():
    """A service with the stand-in camera, and the demo on an origin it allows."""
    folder = tempfile.mkdtemp(prefix="scanbridge-camera-demo-")
    standin = standin_device.StandIn(os.path.join(folder, "standin"))
    (port,) = free_ports(1)
    origin = f"http://localhost:{port}"
    home = os.path.join(folder, "home")
    os.makedirs(home)
    service = standin_device.start_with_standin(start_service, standin, home, ["--set", f"AllowedOrigins={origin}"])
    site_folder = os.path.join(folder, "site")
    os.makedirs(site_folder)
    html = requests.get(f"http://127.0.0.1:{service.service_port}/demo", timeout=10).text
    with open(os.path.join(site_folder, "index.html"), "w", encoding="utf-8") as f:
        f.write(html)
    site = StaticSite(site_folder, port)
    yield {"service": service, "origin": origin, "standin": standin}
    site.close()
    stop_service(service)
    shutil.rmtree(folder, ignore_errors=True)


def test_the_demo_captures_a_still_from_the_stand_in_camera(camera_site, browser):
    browser.get(f"{camera_site['origin']}/index.html")
    wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "true", 60,
         "the demo did not connect")
    assert browser.find_element(By.ID, "cameraBar").is_displayed()
    camera = Select(browser.find_element(By.ID, "camera"))
    assert camera.first_selected_option.text == f"ScanBridge V4L2 stand-in ({camera_site['standin'].node})"
    media = Select(browser.find_element(By.ID, "mediaType"))
    # Only the formats ScanBridge reads are offered (the stand-in's H.264 is not).
    assert [option.get_attribute("value") for option in media.options] == ["MJPG", "YUYV"]
    media.select_by_value("YUYV")
    size = Select(browser.find_element(By.ID, "cameraSize"))
    assert [option.get_attribute("value") for option in size.options] == ["320x240", "160x120"]
    size.select_by_value("160x120")
    browser.find_element(By.ID, "capture").click()
    wait(browser, lambda d: "Captured" in d.find_element(By.ID, "progressText").text, 60, "the capture did not finish")
    assert browser.find_element(By.ID, "error").is_displayed() is False
    assert len(figures(browser)) == 1
    wait(browser, lambda d: decoded_thumbnails(d) == [160], 60, "the thumbnail did not decode")
    os.makedirs(ARTIFACTS, exist_ok=True)
    browser.save_screenshot(os.path.join(ARTIFACTS, "browser-demo-after-capture.png"))

    # The page the demo holds is the stand-in's frame, converted: check it outside the browser.
    page = browser.execute_script("return window.scanbridgeDemo.pages[0]")
    response = requests.get(page["url"], params={"type": "png"}, headers={"Origin": camera_site["origin"]}, timeout=30)
    assert response.status_code == 200, response.text
    standin_device.assert_yuyv_bars(Image.open(io.BytesIO(response.content)), 160, 120)
