"""Cameras end to end, through a STAND-IN FOR ABSENT HARDWARE: this machine has no camera and its
kernel no virtual video driver, so the real `scanbridge` binary (service and command line) runs
with Tests/Support/v4l2-standin/standin.c preloaded (LD_PRELOAD). That library answers
open/ioctl/mmap/poll for one device node with MJPEG frames (JPEG files Pillow writes here) and
YUYV frames of a documented pattern; removing the node unplugs the camera. What the tests check
in the captured images is decoded by Pillow, never by ScanBridge."""
import importlib.util
import io
import json
import os
import shutil
import subprocess
import tempfile
import urllib.parse

import pytest
import requests
from PIL import Image

from conftest import BINARY, ROOT, start_service, stop_service

_spec = importlib.util.spec_from_file_location(
    "v4l2_standin_device", os.path.join(ROOT, "Tests", "Support", "v4l2-standin", "standin_device.py"))
standin_device = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(standin_device)
assert_yuyv_bars, assert_jpeg_pattern = standin_device.assert_yuyv_bars, standin_device.assert_jpeg_pattern


@pytest.fixture(scope="module")
def standin():
    folder = tempfile.mkdtemp(prefix="scanbridge-v4l2-standin-")
    yield standin_device.StandIn(folder)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def camera_service(standin):
    home = tempfile.mkdtemp(prefix="scanbridge-camera-")
    service = standin_device.start_with_standin(start_service, standin, home)
    yield service
    stop_service(service)
    shutil.rmtree(home, ignore_errors=True)


def camera_url(service, reference):
    return f"{service.http}/api/cameras/{urllib.parse.quote(reference, safe='')}"


def fetch_png(url):
    response = requests.get(url, params={"type": "png"}, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"] == "image/png", response.text
    return Image.open(io.BytesIO(response.content))


def test_the_stand_in_camera_is_listed_with_its_formats_and_sizes(camera_service, standin):
    cameras = requests.get(f"{camera_service.http}/api/cameras").json()
    assert len(cameras) == 1
    camera = cameras[0]
    assert camera["path"] == standin.node and camera["driver"] == "sb-standin" and camera["id"].startswith("v4l2:")
    media = {entry["mediaType"]: entry for entry in camera["mediaTypes"]}
    assert media["MJPG"]["resolutions"] == [{"width": 640, "height": 480}, {"width": 320, "height": 240}]
    assert media["YUYV"]["resolutions"] == [{"width": 320, "height": 240}, {"width": 160, "height": 120}]
    assert media["MJPG"]["supported"] and media["YUYV"]["supported"] and not media["H264"]["supported"]
    # One camera, by identity or by path.
    assert requests.get(camera_url(camera_service, camera["id"])).json() == camera
    assert requests.get(camera_url(camera_service, standin.node)).json() == camera


def test_the_openapi_document_describes_the_camera_routes(camera_service):
    paths = requests.get(f"{camera_service.http}/api/openapi.json").json()["paths"]
    assert set(paths["/api/cameras/{cameraid}/capture"]["post"]["responses"]) >= {"201", "400", "404", "423", "503"}
    assert "post" in paths["/api/cameras/jobs"] and "get" in paths["/api/cameras"]
    for suffix in ["", "/next-page-info", "/next-page", "/content"]:
        assert "get" in paths["/api/cameras/jobs/{jobuid}" + suffix], suffix


@pytest.mark.parametrize("width,height", [(320, 240), (160, 120)])
def test_a_yuyv_still_goes_into_the_buffer_converted_to_rgb(camera_service, standin, width, height):
    response = requests.post(f"{camera_url(camera_service, standin.node)}/capture",
                             json={"mediaType": "YUYV", "width": width, "height": height})
    assert response.status_code == 201, response.text
    still = response.json()
    assert (still["mediaType"], still["width"], still["height"]) == ("YUYV", width, height)
    page = still["page"]
    assert page["imageInfo"]["ImageWidth"] == width and page["imageInfo"]["ImageLength"] == height
    assert_yuyv_bars(fetch_png(page["url"]), width, height)
    # A buffer page like a scanned one: listed, with a thumbnail.
    listed = [entry for entry in requests.get(f"{camera_service.http}/api/buffer").json() if entry["id"] == page["imageId"]]
    assert listed and listed[0]["job"] == still["jobuid"]
    thumbnail = requests.get(camera_service.http + listed[0]["thumbnail"])
    assert thumbnail.status_code == 200 and thumbnail.headers["Content-Type"] == "image/jpeg"
    assert requests.delete(f"{camera_service.http}/api/cameras/jobs/{still['jobuid']}").status_code == 204
    assert requests.get(f"{camera_service.http}/api/buffer/{page['imageId']}/thumbnail").status_code in (403, 404)


def test_an_mjpeg_still_is_the_camera_frame_unchanged(camera_service, standin):
    # No format asked for: JPEG first, at the largest size.
    response = requests.post(f"{camera_url(camera_service, standin.node)}/capture", json={})
    assert response.status_code == 201, response.text
    still = response.json()
    assert (still["mediaType"], still["width"], still["height"]) == ("MJPG", 640, 480)
    frame = requests.get(still["page"]["url"], params={"type": "jpeg"})
    assert frame.status_code == 200 and frame.content == standin.jpeg(640, 480)
    assert_jpeg_pattern(fetch_png(still["page"]["url"]), 640, 480)
    requests.delete(f"{camera_service.http}/api/cameras/jobs/{still['jobuid']}")


def test_a_camera_job_streams_pages_like_a_scan_job(camera_service, standin):
    created = requests.post(f"{camera_service.http}/api/cameras/jobs",
                            json={"device": standin.node, "mediaType": "MJPG", "width": 320, "height": 240, "maxPages": 3, "interval": 10})
    assert created.status_code == 201, created.text
    job = created.json()
    assert (job["status"], job["mediaType"], job["width"], job["height"]) == ("running", "MJPG", 320, 240)
    base = f"{camera_service.http}/api/cameras/jobs/{job['jobuid']}"
    infos = []
    for _ in range(3):
        answer = requests.get(f"{base}/next-page-info", timeout=30)
        assert answer.status_code == 200, answer.text
        infos.append(answer.json()[0])
    assert [info["imageInfo"]["ImageLayout"]["PageNumber"] for info in infos] == [1, 2, 3]
    assert requests.get(f"{base}/next-page-info", timeout=30).status_code == 204
    for _ in range(3):
        page = requests.get(f"{base}/next-page", params={"type": "jpeg"}, timeout=30)
        assert page.status_code == 200 and page.content == standin.jpeg(320, 240)
    assert requests.get(f"{base}/next-page", timeout=30).status_code == 204
    assert requests.get(base).json()["status"] == "completed"
    assert requests.delete(base).status_code == 204
    assert requests.get(base).status_code == 410


def test_unknown_cameras_and_unsupported_formats_and_sizes_are_refused(camera_service, standin):
    unknown = requests.post(f"{camera_url(camera_service, 'v4l2:nothing')}/capture", json={})
    assert unknown.status_code == 404 and unknown.json()["code"] == -1003
    assert requests.get(camera_url(camera_service, "/dev/nothing")).status_code == 404
    job = requests.post(f"{camera_service.http}/api/cameras/jobs", json={"device": "v4l2:nothing"})
    assert job.status_code == 404 and job.json()["code"] == -1003
    unreadable = requests.post(f"{camera_url(camera_service, standin.node)}/capture", json={"mediaType": "H264"})
    assert unreadable.status_code == 400 and unreadable.json()["code"] == -1006
    assert "MJPG, YUYV" in unreadable.json()["message"]
    absent = requests.post(f"{camera_url(camera_service, standin.node)}/capture", json={"mediaType": "NV12"})
    assert absent.status_code == 400 and "MJPG, YUYV" in absent.json()["message"]
    size = requests.post(f"{camera_url(camera_service, standin.node)}/capture", json={"mediaType": "YUYV", "width": 640, "height": 480})
    assert size.status_code == 400 and size.json()["code"] == -1010
    assert "320x240, 160x120" in size.json()["message"]
    for body in [{"device": standin.node, "maxPages": 0}, {"device": standin.node, "interval": -5}, {}]:
        answer = requests.post(f"{camera_service.http}/api/cameras/jobs", json=body)
        assert answer.status_code == 400, (body, answer.text)


def test_a_camera_in_use_is_busy_for_the_service_and_for_other_programs(camera_service, standin, tmp_path):
    created = requests.post(f"{camera_service.http}/api/cameras/jobs",
                            json={"device": standin.node, "mediaType": "YUYV", "maxPages": -1, "interval": 100})
    assert created.status_code == 201, created.text
    base = f"{camera_service.http}/api/cameras/jobs/{created.json()['jobuid']}"
    try:
        busy = requests.post(f"{camera_url(camera_service, standin.node)}/capture", json={})
        assert busy.status_code == 423 and busy.json()["code"] == -1004
        # Another process (the command line) is refused by the device itself.
        result = subprocess.run([BINARY, "capture", "--device", standin.node, "--output", str(tmp_path / "x.png")],
                                env={**os.environ, **standin.environment}, capture_output=True, text=True, timeout=60)
        assert result.returncode == 1 and "busy" in result.stderr, result.stderr
        canceled = requests.patch(base, json={"status": "canceled"})
        assert canceled.status_code == 200 and canceled.json()["status"] == "canceled", canceled.text
    finally:
        assert requests.delete(base).status_code == 204
    # Deleting the job freed the camera.
    again = requests.post(f"{camera_url(camera_service, standin.node)}/capture", json={"mediaType": "YUYV"})
    assert again.status_code == 201, again.text
    requests.delete(f"{camera_service.http}/api/cameras/jobs/{again.json()['jobuid']}")


def test_a_camera_unplugged_mid_stream_faults_the_job_and_keeps_its_pages(camera_service, standin):
    created = requests.post(f"{camera_service.http}/api/cameras/jobs",
                            json={"device": standin.node, "mediaType": "YUYV", "width": 160, "height": 120, "maxPages": -1, "interval": 20})
    assert created.status_code == 201, created.text
    base = f"{camera_service.http}/api/cameras/jobs/{created.json()['jobuid']}"
    try:
        for _ in range(2):
            assert requests.get(f"{base}/next-page-info", timeout=30).status_code == 200
        standin.unplug()
        kept = 2
        while True:
            answer = requests.get(f"{base}/next-page-info", timeout=30)
            if answer.status_code == 204:
                break
            assert answer.status_code == 200
            kept += 1
        status = requests.get(base).json()
        assert status["status"] == "faulted" and status["code"] == -1023
        assert "gone" in status["message"] and "unplugged" in status["message"], status
        assert requests.get(f"{base}/next-page", timeout=30).status_code == 200
        # Unplugged, the camera is no longer listed.
        assert requests.get(f"{camera_service.http}/api/cameras").json() == []
    finally:
        standin.plug_in()
        requests.delete(base)
    assert len(requests.get(f"{camera_service.http}/api/cameras").json()) == 1


def test_a_camera_that_sends_no_frame_fails_the_still_after_its_time_out(camera_service, standin):
    standin.stall()
    try:
        answer = requests.post(f"{camera_url(camera_service, standin.node)}/capture", json={"mediaType": "YUYV"}, timeout=60)
    finally:
        standin.stall(False)
    assert answer.status_code == 503 and answer.json()["code"] == -1023, answer.text
    assert "no frame within 5000 ms" in answer.json()["message"]
    # The failed still left no job holding the camera.
    retry = requests.post(f"{camera_url(camera_service, standin.node)}/capture", json={"mediaType": "YUYV"})
    assert retry.status_code == 201, retry.text
    requests.delete(f"{camera_service.http}/api/cameras/jobs/{retry.json()['jobuid']}")


def test_the_service_stops_cleanly_while_a_camera_streams(standin):
    home = tempfile.mkdtemp(prefix="scanbridge-camera-stop-")
    service = standin_device.start_with_standin(start_service, standin, home)
    try:
        created = requests.post(f"{service.http}/api/cameras/jobs",
                                json={"device": standin.node, "mediaType": "YUYV", "maxPages": -1, "interval": 0})
        assert created.status_code == 201, created.text
        assert requests.get(f"{service.http}/api/cameras/jobs/{created.json()['jobuid']}/next-page-info", timeout=30).status_code == 200
    finally:
        stop_service(service)  # SIGTERM: exits 0 within 20 s, having closed the camera
        shutil.rmtree(home, ignore_errors=True)
    # The camera is free again for another program.
    assert run_capture(standin, "--device", standin.node, "--output", os.path.join(standin.folder, "after.png")).returncode == 0


def run_capture(standin, *arguments):
    return subprocess.run([BINARY, "capture", *arguments], env={**os.environ, **standin.environment},
                          capture_output=True, text=True, timeout=60)


def test_the_capture_command_writes_a_still(standin, tmp_path):
    png = tmp_path / "still.png"
    result = run_capture(standin, "--device", standin.node, "--output", str(png), "--format", "YUYV", "--width", "160", "--height", "120")
    assert result.returncode == 0, result.stderr
    assert_yuyv_bars(Image.open(png), 160, 120)
    jpeg = tmp_path / "still.jpg"
    result = run_capture(standin, "--device", standin.node, "--output", str(jpeg))
    assert result.returncode == 0, result.stderr
    assert jpeg.read_bytes() == standin.jpeg(640, 480)
    # By identity, found in SCANBRIDGE_CAMERADEVICEFOLDER; an MJPEG frame decoded for a PNM.
    camera_id = [line for line in result.stdout.split() if line.startswith("v4l2:")][0]
    pnm = tmp_path / "still.ppm"
    result = run_capture(standin, "--device", camera_id, "--output", str(pnm), "--format", "MJPG", "--width", "320", "--height", "240")
    assert result.returncode == 0, result.stderr
    assert_jpeg_pattern(Image.open(pnm), 320, 240)


def test_the_capture_command_takes_a_node_of_any_name(standin, tmp_path):
    # As /dev/v4l/by-id/… names are: the stand-in answers for this path instead of video0.
    node = tmp_path / "usb-Stand-In_Camera-video-index0"
    node.touch()
    output = tmp_path / "still.png"
    result = subprocess.run([BINARY, "capture", "--device", str(node), "--output", str(output), "--format", "YUYV"],
                            env={**os.environ, **standin.environment, "SB_V4L2_STANDIN_DEVICE": str(node)},
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert_yuyv_bars(Image.open(output), 320, 240)


def test_the_devices_command_lists_the_camera_with_its_formats(standin):
    result = subprocess.run([BINARY, "devices", "--json", "--no-capabilities"], env={**os.environ, **standin.environment},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    cameras = json.loads(result.stdout)["cameras"]
    assert [camera["path"] for camera in cameras] == [standin.node]
    assert [entry["fourcc"] for entry in cameras[0]["formats"]] == ["MJPG", "YUYV", "H264"]


def test_the_capture_command_reports_what_it_cannot_do(standin, tmp_path):
    output = str(tmp_path / "x.png")
    for arguments, message in [(["--device", "v4l2:nothing"], "No camera"),
                               (["--device", standin.node, "--format", "H264"], "cannot read"),
                               (["--device", standin.node, "--format", "YUYV", "--width", "640", "--height", "480"], "320x240, 160x120")]:
        result = run_capture(standin, *arguments, "--output", output)
        assert result.returncode == 1 and message in result.stderr, (arguments, result.stderr)
        assert not os.path.exists(output)
    assert run_capture(standin, "--device", standin.node, "--output", str(tmp_path / "x.gif")).returncode != 0
