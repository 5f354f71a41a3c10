"""GET /metrics on the service port of the live service: Prometheus text that `promtool check
metrics` accepts without a lint problem, page and request counters that move by exactly what
was done (a scan, an upload), and the same Host/Origin policy as the rest of the listener."""
import re
import shutil
import subprocess
import time

import requests

from test_uploads import document_with_a_page

DEVICE = "sane:test:0"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
JOBS = "/api/device/scanners/jobs"
# A sample line: the series (name and labels; label values may hold braces) and its value.
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[^"}]|"(?:[^"\\]|\\.)*")*\})?) (\S+)$')


def metrics_url(service):
    return f"http://127.0.0.1:{service.service_port}/metrics"


def scrape(service):
    """The exposition's text and its samples by series, as written (`name{label="v",…}`)."""
    response = requests.get(metrics_url(service), timeout=10)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"] == CONTENT_TYPE
    samples = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            match = SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            samples[match.group(1)] = float(match.group(2))
    return response.text, samples


def requests_total(route, method, status):
    return f'scanbridge_http_requests_total{{route="{route}",method="{method}",status="{status}"}}'


def scan(api, pages, pixel_type):
    """A job of `pages` pages read to its end through next-page, then deleted; returns the pages
    read and the job's uid."""
    created = requests.post(f"{api}{JOBS}", json={
        "device": DEVICE, "config": {"IfFeederEnabled": True, "XferCount": pages, "Resolution": 50, "PixelType": pixel_type}})
    assert created.status_code == 201, created.text
    uid = created.json()["jobuid"]
    read = 0
    while True:
        page = requests.get(f"{api}{JOBS}/{uid}/next-page", timeout=60)
        if page.status_code == 204:
            break
        assert page.status_code == 200, page.text
        read += 1
    assert requests.delete(f"{api}{JOBS}/{uid}").status_code == 204
    return read, uid


def test_metrics_count_a_scan_and_pass_promtool(service):
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing: `make install` installs Debian's prometheus package, which has it"
    _, before = scrape(service)

    colour_pages, colour_job = scan(service.http, 3, 2)
    gray_pages, gray_job = scan(service.http, 1, 1)
    assert (colour_pages, gray_pages) == (3, 1)

    text, after = scrape(service)
    check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0 and check.stdout == "" and check.stderr == "", (check.returncode, check.stdout, check.stderr)

    def delta(series):
        return after.get(series, 0) - before.get(series, 0)

    assert delta('scanbridge_pages_scanned_total{mode="color"}') == 3
    assert delta('scanbridge_pages_scanned_total{mode="gray"}') == 1
    assert delta('scanbridge_pages_scanned_total{mode="bw"}') == 0
    assert delta('scanbridge_scan_job_duration_seconds_count{status="completed"}') == 2
    assert delta(requests_total(JOBS, "POST", 201)) == 2
    assert delta(requests_total(JOBS + "/{jobuid}/next-page", "GET", 200)) == 4
    assert delta(requests_total(JOBS + "/{jobuid}/next-page", "GET", 204)) == 2
    assert delta(requests_total(JOBS + "/{jobuid}", "DELETE", 204)) == 2
    assert colour_job not in text and gray_job not in text, "raw paths never become labels"

    engine = requests.get(f"{service.http}/api/server").json()["ioEngine"]
    assert after[f'scanbridge_io_engine_info{{engine="{engine}"}}'] == 1
    assert after["scanbridge_buffer_memory_limit_bytes"] > 0
    for gauge in ("scanbridge_buffer_memory_bytes", "scanbridge_buffer_spilled_bytes", "scanbridge_buffer_pages"):
        assert after[gauge] >= 0


def test_metrics_pass_the_security_policy(service):
    url = metrics_url(service)
    assert requests.get(url, headers={"Host": "evil.example"}).status_code == 403
    assert requests.get(url, headers={"Origin": "https://not-allowed.example"}).status_code == 403
    own = f"http://127.0.0.1:{service.service_port}"
    allowed = requests.get(url, headers={"Origin": own})
    assert allowed.status_code == 200 and allowed.headers["Access-Control-Allow-Origin"] == own
    # The API port does not serve it: metrics belong to the service listener.
    assert requests.get(f"{service.http}/metrics").status_code == 404


def test_metrics_count_an_upload_by_result(service, receiver):
    process, port = receiver
    api = service.http + "/api"
    _, before = scrape(service)
    started = requests.post(f"{api}/uploads", json={
        "document": document_with_a_page(api), "format": "image/png",
        "target": {"type": "http-post", "url": f"http://127.0.0.1:{port}/receive"}})
    assert started.status_code == 202, started.text
    events = requests.get(f"{api}/uploads/{started.json()['id']}/events", stream=True, timeout=30)
    names = [line.split(":", 1)[1].strip() for line in events.iter_lines(decode_unicode=True) if line.startswith("event:")]
    assert names[-1] == "upload-succeeded", names
    process.stdout.readline()
    succeeded = 'scanbridge_uploads_total{result="succeeded"}'
    # The events route follows the uploader itself; the count is taken by the service's own
    # follower of the same events, which may see the end a moment later.
    deadline = time.time() + 10
    _, after = scrape(service)
    while after[succeeded] == before[succeeded] and time.time() < deadline:
        time.sleep(0.05)
        _, after = scrape(service)
    assert after[succeeded] - before[succeeded] == 1
    assert after['scanbridge_uploads_total{result="failed"}'] == before['scanbridge_uploads_total{result="failed"}']
