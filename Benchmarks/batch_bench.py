#!/usr/bin/env python3
"""ScanBridge's batch-scan harness (`make batch-bench`): what a day of batch scanning looks like,
measured end to end through the DWT REST API, against the scripted command-line pipeline.

For each mode (colour, gray, black and white; A4 at 300 dpi from SANE's `test` backend with its
"Color pattern" picture) it:
1. starts `scanbridge serve` (release build) with its own temp service folder, free ports and a
   SANE configuration written here (test.conf copy whose geometry_max is raised to 297 mm so
   that a real A4 page, 210 × 297 mm, fits);
2. drives it the way a browser does: one document; then ADF batches of 10 pages (the test
   backend's feeder holds 10 sheets): create a job, then poll `next-page-info` and for each page
   load the page `url` as a preview (JPEG for colour and gray, PNG for black and white: the
   formats the scripted baseline writes too) and `/dwt/dwt_<v>/img?index=…&width=…&height=…`
   (thumbnail), and `POST /api/storage/documents/{uid}/pages`. As in a browser these overlap:
   images load on up to 4 connections while polling goes on, and the appends run one after
   another in page order on a connection of their own (6 connections, a browser's per-host
   limit). The job is deleted once drained and its loads are done (its pages are in the
   document); finally the document as PDF;
3. measures pages/min end to end, time to first thumbnail, p50/p99 latency per API call, the
   service's peak RSS (VmHWM, reset per mode through /proc/PID/clear_refs) and CPU seconds per
   page (utime+stime from /proc/PID/stat), and PDF bytes per page;
4. runs the baselines on the same pages: `scanimage --batch` (the same ADF batches of 10) then
   `img2pdf`, and the same scanned files through ImageMagick `convert` (as scanservjs does), and
   the ceiling: the raw encode rate of the same page × cores (TurboJPEG q85 for colour and gray,
   CCITT G4 of the 1-bit page for BW: what each flow must do at least; Benchmarks' batch-ceiling,
   built on ScanBridgeImaging's RawLibraryCalls);
5. runs the same browser flow once more against a second service with the page journal off
   (`PageJournal=false`), right before or after the first in each mode (alternating), so that the journal's cost in
   pages/min and CPU s/page is measured in the same run on the same machine state
   (`--no-journal-compare` skips it);
6. decodes every output page (pdfinfo page count, pdfimages extraction, every image decoded with
   Pillow and its size checked) of every PDF and exits non-zero if a page is lost or corrupted.

Prints a Markdown table (and writes JSON with --json)."""
import argparse
import glob
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit

import requests
from PIL import Image

from bench_results import Record, machine

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEVICE = "sane:test:0"
ADF_SHEETS = 10          # the test backend's feeder is empty after 10 scans
DPI = 300
A4 = (210, 297)          # mm; TWAIN PageSize 1
THUMB_BOX = (200, 260)   # thumbnail box in pixels
REQUEST_TIMEOUT = (10, 120)  # connect, read (s): a hung service fails the run instead of stalling it
MODES = {
    #        DWT PixelType, scanimage options, baseline file format, PIL modes accepted
    "colour": (2, ["--mode", "Color", "--depth", "8"], "jpeg", {"RGB"}),
    "gray": (1, ["--mode", "Gray", "--depth", "8"], "jpeg", {"L"}),
    "bw": (0, ["--mode", "Gray", "--depth", "1"], "png", {"1", "L"}),
}
# ImageMagick's Debian policy forbids writing PDF; this override (only for the baseline's own
# process, through MAGICK_CONFIGURE_PATH) allows it and raises the resource limits so that a long
# batch spills to disk instead of failing.
MAGICK_POLICY = """<?xml version="1.0" encoding="UTF-8"?>
<policymap>
  <policy domain="resource" name="memory" value="2GiB"/>
  <policy domain="resource" name="map" value="4GiB"/>
  <policy domain="resource" name="area" value="1GP"/>
  <policy domain="resource" name="disk" value="64GiB"/>
  <policy domain="resource" name="width" value="64KP"/>
  <policy domain="resource" name="height" value="64KP"/>
  <policy domain="coder" rights="read|write" pattern="PDF"/>
</policymap>
"""


class HarnessError(Exception):
    pass


class Hung(HarnessError):
    """A command that did not finish within its time limit and was killed."""


def log(message):
    print(f"[batch-bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def write_sane_config(folder, picture):
    subprocess.run([os.path.join(ROOT, "scripts", "sane-test-config.sh"), folder], check=True)
    path = os.path.join(folder, "test.conf")
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text, n = re.subn(r"(?m)^geometry_max .*$", "geometry_max 297.0", text)
    if n != 1:
        raise HarnessError(f"{path}: no geometry_max line to raise to A4")
    text = re.sub(r'(?m)^test-picture .*$', f'test-picture "{picture}"', text)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def run_measured(command, env=None, stdout=subprocess.DEVNULL, timeout=None):
    """Runs a command; returns (wall s, cpu s, peak RSS bytes) from wait4's rusage of that child.
    Past `timeout` seconds the command is killed and `Hung` raised."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=stdout, stderr=subprocess.PIPE)
    killed = threading.Event()

    def kill():
        killed.set()
        process.kill()

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.start()
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    if timer:
        timer.cancel()
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - start
    if killed.is_set():
        raise Hung(f"{command[0]} did not finish within {timeout} s and was killed")
    if process.returncode != 0:
        raise HarnessError(f"{command[0]} failed ({process.returncode}): {stderr.decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024


# ---------------------------------------------------------------- the service


def die_with_parent():
    """In the child before exec: SIGTERM it when the harness dies (PR_SET_PDEATHSIG)."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


class Service:
    def __init__(self, binary, home, sane_dir, buffer_mb, extra=()):
        self.home = home
        dcp, dwt, dcp_tls, dwt_tls = free_ports(4)
        args = [binary, "serve", "--home", home,
                "--set", f"Port_mp_0={dcp}", "--set", f"Port_mp_1={dwt}",
                "--set", f"SSLPort_mp_0={dcp_tls}", "--set", f"SSLPort_mp_1={dwt_tls}"]
        if buffer_mb is not None:
            args += ["--set", f"BufferMemoryLimit={buffer_mb}"]
        args += list(extra)
        env = dict(os.environ, SANE_CONFIG_DIR=sane_dir)
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        preexec_fn=die_with_parent)
        self.base = f"http://127.0.0.1:{dwt}"
        self.http = requests.Session()
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(f"scanbridge exited with {self.process.returncode}; see {home}/log")
            try:
                if self.http.get(f"{self.base}/api/server/version", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.1)
        self.stop()
        raise HarnessError("scanbridge did not answer within 30 s")

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # After the command name: state is field 3, utime 14 and stime 15 (1-based) in proc(5).
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def status_kb(self, key):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
        raise HarnessError(f"no {key} in /proc/{self.process.pid}/status")

    def reset_peak(self):
        """Resets VmHWM to the current RSS (Linux ≥ 4.0): per-mode peaks."""
        with open(f"/proc/{self.process.pid}/clear_refs", "w") as f:
            f.write("5")


class Reply:
    """What `Connection` answers: the parts of a `requests.Response` the flow reads."""

    def __init__(self, status, headers, content):
        self.status_code, self.headers, self.content = status, headers, content

    @property
    def text(self):
        return self.content.decode(errors="replace")

    def json(self):
        return json.loads(self.content)


class Connection:
    """One keep-alive HTTP/1.1 connection of the browser, on `http.client`. The client shares
    the two cores with the service, and `requests` spent 0.73 ms of CPU a call here against
    `http.client`'s 0.14 (1000 small GETs each): with four calls a page, that was half the
    service's CPU for a BW page, which a browser's native HTTP stack does not spend."""

    encode = staticmethod(json.dumps)   # the `json` module, which `request`'s argument hides

    def __init__(self, base):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.connection = None

    def request(self, method, url, params=None, json=None, timeout=REQUEST_TIMEOUT):
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params)
        body, headers = None, {}
        if json is not None:
            body, headers = self.encode(json).encode(), {"Content-Type": "application/json"}
        for attempt in (1, 2):
            reused = self.connection is not None
            if not reused:
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout[1])
            try:
                self.connection.request(method, target, body=body, headers=headers)
                response = self.connection.getresponse()
                return Reply(response.status, response.headers, response.read())
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # A keep-alive connection the service closed while idle: open a new one, as a
                # browser does. A fresh connection failing is an error.
                self.connection.close()
                self.connection = None
                if not reused or attempt == 2:
                    raise

    def get(self, url, params=None, timeout=REQUEST_TIMEOUT):
        return self.request("GET", url, params=params, timeout=timeout)

    def post(self, url, json=None, timeout=REQUEST_TIMEOUT):
        return self.request("POST", url, json=json, timeout=timeout)

    def delete(self, url, timeout=REQUEST_TIMEOUT):
        return self.request("DELETE", url, timeout=timeout)


class Latencies:
    """Per-call latencies, recorded from several threads (the browser's connections)."""

    def __init__(self):
        self.by_call = {}
        self.lock = threading.Lock()

    def record(self, call, seconds):
        with self.lock:
            self.by_call.setdefault(call, []).append(seconds)

    def timed(self, call, function, *args, **kwargs):
        start = time.perf_counter()
        try:
            response = function(*args, timeout=REQUEST_TIMEOUT, **kwargs)
        except (requests.Timeout, TimeoutError):
            raise HarnessError(f"{call}: no answer within {REQUEST_TIMEOUT[1]} s: the service hung "
                               "(see the service log in the kept temp folder)") from None
        _ = response.content
        self.record(call, time.perf_counter() - start)
        return response

    def all(self):
        with self.lock:
            return [value for values in self.by_call.values() for value in values]


def percentile(values, fraction):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(fraction * (len(ordered) - 1)))))
    return ordered[index]


def expect(response, status, what):
    if response.status_code != status:
        raise HarnessError(f"{what}: HTTP {response.status_code} (expected {status}): {response.text[:500]}")
    return response


# A browser holds up to 6 connections to one host (Chromium, Firefox): the page images load side by
# side while the app polls for the next page, and the app appends pages to the document in order.
BROWSER_CONNECTIONS = 6


class Browser:
    """The calls a web page makes, each on one of a browser's keep-alive connections: the image
    loads (preview, thumbnail) of several pages at once, the document appends one after another
    in page order (an app chains them), and the polling loop on the caller's own connection."""

    def __init__(self, base):
        self.base = base
        self.images = ThreadPoolExecutor(BROWSER_CONNECTIONS - 2, thread_name_prefix="image")
        self.appends = ThreadPoolExecutor(1, thread_name_prefix="append")
        self.sessions = threading.local()
        self.first_lock = threading.Lock()

    def http(self):
        if not hasattr(self.sessions, "http"):
            self.sessions.http = Connection(self.base)
        return self.sessions.http

    def close(self):
        self.images.shutdown(cancel_futures=True)
        self.appends.shutdown(cancel_futures=True)


def service_run(service, mode, pages, folder, dwt_version, drop_page=None, scanner_timeout=None):
    pixel_type = MODES[mode][0]
    http, base, lat = service.http, service.base, Latencies()
    service.reset_peak()
    cpu_before = service.cpu_seconds()
    start = time.perf_counter()
    first_thumbnail = []
    browser = Browser(base)
    poll = browser.http()   # the app's own connection: jobs, polling, document calls
    preview_type = f"image/{MODES[mode][2]}"

    def preview(number, url, size):
        response = expect(lat.timed("GET page (preview)", browser.http().get, url + f"&type={preview_type}"), 200, "page url")
        if response.headers.get("Content-Type") != preview_type or Image.open(io.BytesIO(response.content)).size != size:
            raise HarnessError(f"{mode} page {number}: the preview is not a {size[0]}×{size[1]} {preview_type}")

    def thumbnail(number, index):
        response = expect(lat.timed("GET dwt img (thumbnail)", browser.http().get, f"{base}/dwt/dwt_{dwt_version}/img",
                                    params={"id": "1", "index": index, "width": THUMB_BOX[0], "height": THUMB_BOX[1],
                                            "ticks": int(time.time() * 1000)}), 200, "thumbnail")
        picture = Image.open(io.BytesIO(response.content))
        picture.load()
        if picture.size[0] > THUMB_BOX[0] or picture.size[1] > THUMB_BOX[1] or max(picture.size) < min(THUMB_BOX) // 2:
            raise HarnessError(f"{mode} page {number}: thumbnail is {picture.size}, not fitted to {THUMB_BOX}")
        with browser.first_lock:
            if not first_thumbnail:
                first_thumbnail.append(time.perf_counter() - start)

    def append(url):
        expect(lat.timed("POST document pages", browser.http().post, f"{base}/api/storage/documents/{document}/pages",
                         json={"source": url}), 200, "append page")

    try:
        document = expect(lat.timed("POST documents", poll.post, f"{base}/api/storage/documents", json={}), 201, "create document").json()["uid"]
        received = 0
        expected_size = None
        for batch in range(pages // ADF_SHEETS):
            options = {"device": DEVICE, "config": {
                "PixelType": pixel_type, "Resolution": DPI, "IfFeederEnabled": True, "PageSize": 1,
                "XferCount": ADF_SHEETS, "IfShowUI": False}}
            if scanner_timeout is not None:
                options["scannerFailureTimeout"] = scanner_timeout
            job = expect(lat.timed("POST jobs", poll.post, f"{base}/api/device/scanners/jobs", json=options), 201, "create job").json()
            uid = job["jobuid"]
            in_batch = 0
            loads = []
            while True:
                info = lat.timed("GET next-page-info", poll.get, f"{base}/api/device/scanners/jobs/{uid}/next-page-info")
                if info.status_code == 204:
                    break
                page = expect(info, 200, "next-page-info").json()[0]
                width, height = page["imageInfo"]["ImageWidth"], page["imageInfo"]["ImageLength"]
                expected_size = expected_size or (width, height)
                if (width, height) != expected_size:
                    raise HarnessError(f"{mode} page {received + 1}: {width}×{height}, earlier pages {expected_size}")
                received += 1
                loads.append(browser.images.submit(preview, received, page["url"], (width, height)))
                # The job's pages are the only ones in the buffer (each drained job is deleted).
                loads.append(browser.images.submit(thumbnail, received, in_batch))
                if received != drop_page:
                    loads.append(browser.appends.submit(append, page["url"]))
                in_batch += 1
            if in_batch != ADF_SHEETS:
                status = poll.get(f"{base}/api/device/scanners/jobs/{uid}").text
                raise HarnessError(f"{mode} batch {batch + 1}: {in_batch} pages, expected {ADF_SHEETS} (pages lost); job: {status}")
            # The job's pages leave the buffer with it: its images and appends finish first.
            for load in loads:
                load.result()
            expect(lat.timed("DELETE job", poll.delete, f"{base}/api/device/scanners/jobs/{uid}"), 204, "delete job")
    finally:
        browser.close()
    # The PDF streams to a file (a 500-page colour PDF is gigabytes).
    path = os.path.join(folder, f"scanbridge-{mode}.pdf")
    requested = time.perf_counter()
    with http.get(f"{base}/api/storage/documents/{document}/content", params={"type": "application/pdf"}, stream=True,
                  timeout=(REQUEST_TIMEOUT[0], 600)) as response:
        if response.status_code != 200:
            raise HarnessError(f"document PDF: HTTP {response.status_code}: {response.text[:500]}")
        with open(path, "wb") as f:
            for chunk in response.iter_content(chunk_size=1 << 20):
                f.write(chunk)
    lat.record("GET document PDF", time.perf_counter() - requested)
    elapsed = time.perf_counter() - start
    cpu = service.cpu_seconds() - cpu_before
    peak = service.status_kb("VmHWM") * 1024
    pdf_bytes = os.path.getsize(path)
    expect(http.delete(f"{base}/api/storage/documents/{document}"), 204, "delete document")
    all_calls = lat.all()
    return {
        "pages": received, "seconds": elapsed, "ppm": received / elapsed * 60,
        "first_thumbnail": first_thumbnail[0] if first_thumbnail else None,
        "p50": percentile(all_calls, 0.5), "p99": percentile(all_calls, 0.99),
        "per_call": {name: {"count": len(v), "p50": percentile(v, 0.5), "p99": percentile(v, 0.99)} for name, v in lat.by_call.items()},
        "peak_rss": peak, "cpu_per_page": cpu / received, "bytes_per_page": pdf_bytes / received,
        "pdf": path, "page_size": expected_size,
    }


# ---------------------------------------------------------------- baselines


# A batch of 10 pages takes `scanimage` about a second. It can hang for good: the test backend's
# reader thread is cancelled asynchronously (sanei_thread) and may die holding a libc lock, and
# scanimage then blocks, e.g. in sane_exit's dlclose (seen here in a 500-page run and in a one-page
# scan). The service is protected against this (CDeferredCancellation); the baseline is not, so
# a hung batch is killed and scanned again, and its lost time is left out of the baseline's figures.
SCANIMAGE_BATCH_TIMEOUT = 30
SCANIMAGE_ATTEMPTS = 3


def run_scanimage(command, env, what, stdout=subprocess.DEVNULL, before_retry=None):
    """`run_measured` for scanimage: a run that hangs is killed and run again, up to
    SCANIMAGE_ATTEMPTS times. Returns (wall, cpu, peak, hangs) of the run that finished."""
    for attempt in range(1, SCANIMAGE_ATTEMPTS + 1):
        try:
            return (*run_measured(command, env=env, stdout=stdout, timeout=SCANIMAGE_BATCH_TIMEOUT), attempt - 1)
        except Hung:
            log(f"{what}: scanimage hung (attempt {attempt}); running it again")
            if attempt == SCANIMAGE_ATTEMPTS:
                raise
            if before_retry:
                before_retry()


def scanimage_batches(mode, pages, folder, sane_dir):
    """`scanimage --batch` in ADF batches of 10 (the same pages the service scanned).
    Returns (files, wall s, cpu s, peak RSS, batches that hung and were scanned again)."""
    _, options, fmt, _ = MODES[mode]
    os.makedirs(folder, exist_ok=True)
    env = dict(os.environ, SANE_CONFIG_DIR=sane_dir)
    wall = cpu = peak = 0.0
    hangs = 0
    for batch in range(pages // ADF_SHEETS):
        w, c, p, h = run_scanimage(["scanimage", "-d", "test", "--source", "Automatic Document Feeder", *options,
                                    "--resolution", str(DPI), "-l", "0", "-t", "0", "-x", str(A4[0]), "-y", str(A4[1]),
                                    f"--format={fmt}", f"--batch={folder}/page-%04d.{fmt}",
                                    f"--batch-start={batch * ADF_SHEETS + 1}"], env, f"{mode} batch {batch + 1}")
        wall, cpu, peak, hangs = wall + w, cpu + c, max(peak, p), hangs + h
    files = sorted(os.path.join(folder, name) for name in os.listdir(folder))
    if len(files) != pages:
        raise HarnessError(f"scanimage {mode}: {len(files)} files, expected {pages}")
    return files, wall, cpu, peak, hangs


def baseline_runs(mode, pages, folder, sane_dir, magick_dir, convert, convert_pages):
    scans, scan_wall, scan_cpu, scan_peak, hangs = scanimage_batches(mode, pages, os.path.join(folder, f"scan-{mode}"), sane_dir)
    results = {}
    pdf = os.path.join(folder, f"img2pdf-{mode}.pdf")
    w, c, p = run_measured(["img2pdf", "-o", pdf, *scans])
    results["img2pdf"] = summarize(pages, scan_wall + w, scan_cpu + c, max(scan_peak, p), pdf)
    results["img2pdf"]["scanimage_hangs"] = hangs
    if convert:
        pdf = os.path.join(folder, f"convert-{mode}.pdf")
        env = dict(os.environ, MAGICK_CONFIGURE_PATH=magick_dir, MAGICK_TMPDIR=folder)
        # convert holds every page in its pixel cache (8 bytes a pixel: 70 MB an A4 page), so
        # long runs use the first `convert_pages` pages, with their share of the scan time.
        count = min(pages, convert_pages)
        share = count / pages
        try:
            w, c, p = run_measured([*convert, *scans[:count], pdf], env=env)
            results["convert"] = summarize(count, scan_wall * share + w, scan_cpu * share + c, max(scan_peak, p), pdf)
        except HarnessError as error:
            results["convert"] = {"error": str(error)}
    shutil.rmtree(os.path.join(folder, f"scan-{mode}"))
    return results


def convert_command(convert, magick_dir, folder):
    """How to run ImageMagick so that it may write PDF, and how that was arranged.

    Debian's policy.xml denies the PDF coder, and ImageMagick 6 reads every policy file it finds
    with the system one last, so a MAGICK_CONFIGURE_PATH policy alone cannot lift the ban (it
    does set the resource limits). When the probe shows the ban still applies, the baseline runs
    in a private mount namespace (`unshare --mount`, or `unshare -rm` without root) in which the
    system policy.xml is bind-mounted over by ours: nothing outside that process changes.
    Returns (argv prefix, note) or (None, reason)."""
    probe_in, probe_out = os.path.join(folder, "probe.pgm"), os.path.join(folder, "probe.pdf")
    with open(probe_in, "wb") as f:
        f.write(b"P5 1 1 255\n\x80")
    env = dict(os.environ, MAGICK_CONFIGURE_PATH=magick_dir)

    def works(prefix):
        done = subprocess.run([*prefix, probe_in, probe_out], env=env, capture_output=True)
        return done.returncode == 0 and os.path.exists(probe_out) and os.path.getsize(probe_out) > 0

    if works([convert]):
        return [convert], "MAGICK_CONFIGURE_PATH policy override"
    policy = os.path.join(magick_dir, "policy.xml")
    system = next((p for p in sorted(glob.glob("/etc/ImageMagick-*/policy.xml"))), None)
    if system:
        script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
        for unshare in (["unshare", "--mount"], ["unshare", "-rm"]):
            prefix = [*unshare, "sh", "-c", script, "sh", policy, system, convert]
            if shutil.which("unshare") and works(prefix):
                return prefix, f"system {system} bind-mounted over by the harness's policy in a private mount namespace ({' '.join(unshare)})"
    return None, "ImageMagick's security policy forbids writing PDF and could not be overridden here"


def summarize(pages, wall, cpu, peak, pdf):
    return {"pages": pages, "seconds": wall, "ppm": pages / wall * 60, "cpu_per_page": cpu / pages,
            "peak_rss": peak, "bytes_per_page": os.path.getsize(pdf) / pages, "pdf": pdf}


def ceiling(mode, folder, sane_dir, tool):
    """The raw encode rate × cores on one page of the same kind (PNM from scanimage): TurboJPEG
    q85 for colour and gray, CCITT G4 of the 1-bit page for BW."""
    _, options, _, _ = MODES[mode]
    path = os.path.join(folder, f"ceiling-{mode}.pnm")
    with open(path, "wb") as out:
        run_scanimage(["scanimage", "-d", "test", *options, "--resolution", str(DPI), "-l", "0", "-t", "0",
                       "-x", str(A4[0]), "-y", str(A4[1]), "--format=pnm"],
                      dict(os.environ, SANE_CONFIG_DIR=sane_dir), f"{mode} ceiling page", stdout=out,
                      before_retry=lambda: (out.seek(0), out.truncate()))
    output = subprocess.run([tool, "--runs", "5", path], capture_output=True, text=True, check=True).stdout
    os.remove(path)
    result = json.loads(output.strip().splitlines()[-1])
    result["ppm_single_x_cores"] = result["pages_per_second_single_x_cores"] * 60
    result["ppm_all_cores"] = result["pages_per_second_all_cores"] * 60
    return result


# ---------------------------------------------------------------- verification


def verify_pdf(path, pages, mode=None, page_size=None):
    """Every page present and decodable: pdfinfo's page count, one image per page
    (`pdfimages -list`), then every image extracted with pdfimages (which decodes CCITT and Flate
    streams), JPEGs decoded strictly with djpeg, and every image decoded with Pillow (size and
    mode checked). Returns a list of problems."""
    problems = []
    info = subprocess.run(["pdfinfo", path], capture_output=True, text=True)
    match = re.search(r"(?m)^Pages:\s+(\d+)", info.stdout)
    if info.returncode != 0 or not match:
        return [f"{path}: pdfinfo failed: {info.stderr.strip()[:300]}"]
    if int(match.group(1)) != pages:
        problems.append(f"{path}: {match.group(1)} pages, expected {pages}")
    listing = subprocess.run(["pdfimages", "-list", path], capture_output=True, text=True)
    images_per_page = {}
    for line in listing.stdout.splitlines()[2:]:
        fields = line.split()
        if len(fields) > 3 and fields[2] == "image":
            images_per_page[int(fields[0])] = images_per_page.get(int(fields[0]), 0) + 1
    missing = [n for n in range(1, pages + 1) if images_per_page.get(n, 0) != 1]
    if missing:
        problems.append(f"{path}: pages without exactly one image: {missing[:20]}")
    # One pdfimages pass extracts every image (poppler decodes CCITT and Flate streams; -j keeps
    # JPEGs as they are): per-page calls reread the whole file each time, seconds a page for a
    # 2 GB PDF. Images come out in page order, one per page (checked above). The files are then
    # checked on every core at once.
    with tempfile.TemporaryDirectory(prefix="batch-bench-verify-", dir=os.path.dirname(path)) as folder:
        done = subprocess.run(["pdfimages", "-j", path, f"{folder}/p"], capture_output=True, text=True)
        if done.returncode != 0:
            return problems + [f"{path}: pdfimages failed ({done.returncode}): {done.stderr.strip()[:300]}"]
        if done.stderr.strip():
            # Poppler reports stream decoding errors (CCITT, Flate) here, not in the exit status.
            problems.append(f"{path}: pdfimages: {done.stderr.strip()[:300]}")
        files = sorted(os.listdir(folder))
        if len(files) != pages:
            problems.append(f"{path}: pdfimages extracted {len(files)} images, expected {pages}")
        with ThreadPoolExecutor(max_workers=os.cpu_count()) as pool:
            checks = pool.map(lambda item: verify_image(path, item[0] + 1, os.path.join(folder, item[1]), mode, page_size),
                              enumerate(files))
            for image_problems in checks:
                problems += image_problems
    return problems


def verify_image(path, number, file, mode, page_size):
    """The image pdfimages extracted for page `number`, decoded strictly; a list of problems."""
    problems = []
    if file.endswith(".jpg"):
        # Pillow decodes corrupt JPEG data with only a warning; djpeg exits non-zero on it.
        strict = subprocess.run(["djpeg", "-outfile", os.devnull, file], capture_output=True, text=True)
        if strict.returncode != 0:
            problems.append(f"{path} page {number}: djpeg: {strict.stderr.strip()[:200]}")
    try:
        with Image.open(file) as image:
            image.load()
            if mode and image.mode not in MODES[mode][3]:
                problems.append(f"{path} page {number}: decoded as {image.mode}")
            if page_size and image.size != tuple(page_size):
                problems.append(f"{path} page {number}: {image.size}, scanned {tuple(page_size)}")
    except Exception as error:  # noqa: BLE001 - any decoder failure is a corrupted page
        problems.append(f"{path} page {number}: does not decode: {error}")
    os.remove(file)
    return problems


# ---------------------------------------------------------------- report


def mb(value):
    return f"{value / 1e6:.1f} MB" if value >= 1e6 else f"{value / 1e3:.1f} kB"


def ratio(ours, theirs, higher_is_better=True):
    if not theirs or not ours:
        return "—"
    return f"{ours / theirs:.2f}×"


def render(report):
    lines = []
    lines.append(f"Machine: {report['machine']}; load average at start {report['load_start']}, at end {report['load_end']}"
                 f"{' (the machine was already busy when the run started: figures are noisier)' if report['under_load'] else ''}.")
    lines.append(f"Date: {report['date']}. Command: `{report['command']}`.")
    lines.append(f"Pages: {report['pages']} per mode, A4 ({A4[0]}×{A4[1]} mm) at {DPI} dpi, SANE test backend "
                 f"\"{report['picture']}\", ADF batches of {ADF_SHEETS}.")
    lines.append(f"ImageMagick PDF writing: {report['convert_note']}. Service BufferMemoryLimit: {report['buffer_limit']}.")
    lines.append("")
    head = ["mode", "pipeline", "pages/min", "vs img2pdf", "vs convert", "vs ceiling", "first thumbnail",
            "API p50 / p99", "peak RSS", "vs img2pdf", "CPU s/page", "vs img2pdf", "vs convert", "bytes/page", "vs img2pdf"]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "---|" * len(head))
    for mode, row in report["modes"].items():
        ours, base, ceil = row["scanbridge"], row["baselines"], row["ceiling"]
        i2p, conv = base.get("img2pdf", {}), base.get("convert", {})
        lines.append("| " + " | ".join([
            mode, "ScanBridge (REST, browser flow)", f"{ours['ppm']:.1f}",
            ratio(ours["ppm"], i2p.get("ppm")), ratio(ours["ppm"], conv.get("ppm")), ratio(ours["ppm"], ceil["ppm_all_cores"]),
            f"{ours['first_thumbnail'] * 1000:.0f} ms", f"{ours['p50'] * 1000:.0f} / {ours['p99'] * 1000:.0f} ms",
            mb(ours["peak_rss"]), ratio(ours["peak_rss"], i2p.get("peak_rss")),
            f"{ours['cpu_per_page']:.3f}", ratio(ours["cpu_per_page"], i2p.get("cpu_per_page")),
            ratio(ours["cpu_per_page"], conv.get("cpu_per_page")),
            mb(ours["bytes_per_page"]), ratio(ours["bytes_per_page"], i2p.get("bytes_per_page"))]) + " |")
        for name, label in (("img2pdf", "scanimage --batch + img2pdf"), ("convert", "scanimage --batch + convert")):
            b = base.get(name)
            if not b:
                continue
            if b.get("pages", report["pages"]) != report["pages"]:
                label += f" (first {b['pages']} pages)"
            if b.get("scanimage_hangs"):
                label += f" ({b['scanimage_hangs']} hung scanimage batch(es) killed after {SCANIMAGE_BATCH_TIMEOUT} s and rescanned, not counted)"
            if "error" in b:
                lines.append(f"| {mode} | {label} | failed: {b['error'][:120]} |" + " |" * (len(head) - 3))
                continue
            lines.append("| " + " | ".join([mode, label, f"{b['ppm']:.1f}", "", "", ratio(b["ppm"], ceil["ppm_all_cores"]),
                                            "—", "—", mb(b["peak_rss"]), "", f"{b['cpu_per_page']:.3f}", "", "",
                                            mb(b["bytes_per_page"]), ""]) + " |")
        lines.append("| " + " | ".join([mode, f"ceiling: raw {ceil['encoder']} × {ceil['cores']} cores", f"{ceil['ppm_all_cores']:.1f}",
                                        "", "", "", "—", "—", "—", "", "—", "", "", mb(ceil["encoded_bytes"]), ""]) + " |")
    lines.append("")
    limit = (report["buffer_mb"] if report["buffer_mb"] is not None else 800) * (1 << 20)
    lines.append(f"Targets (peak RSS bound: BufferMemoryLimit + the service's idle RSS of {mb(report['idle_rss'])} "
                 "as the documented overhead):")
    lines.append("")
    for mode, row in report["modes"].items():
        ours, base, ceil = row["scanbridge"], row["baselines"], row["ceiling"]
        checks = [f"≥ 85 % of ceiling: {'met' if ours['ppm'] >= 0.85 * ceil['ppm_all_cores'] else 'missed'} "
                  f"({ours['ppm'] / ceil['ppm_all_cores'] * 100:.0f} %)"]
        for name in ("img2pdf", "convert"):
            if "ppm" in base.get(name, {}):
                checks.append(f"faster than scanimage + {name}: {'met' if ours['ppm'] > base[name]['ppm'] else 'missed'}")
        checks.append(f"peak RSS within bound: {'met' if ours['peak_rss'] <= limit + report['idle_rss'] else 'missed'}")
        lines.append(f"- {mode}: " + "; ".join(checks))
    lines.append("")
    if report.get("journal"):
        lines.append("Page journal cost (the same flow against a second service with `PageJournal=false`, run "
                     "right before or after the first in each mode, alternating; target: at most 5 % slower and 5 % "
                     "more CPU a page):")
        lines.append("")
        lines.append("| mode | pages/min journal on | off | slower by | CPU s/page on | off | more CPU by | target |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for mode, pair in report["journal"].items():
            on, off = pair["on"], pair["off"]
            slower = (off["ppm"] - on["ppm"]) / off["ppm"] * 100
            more_cpu = (on["cpu_per_page"] - off["cpu_per_page"]) / off["cpu_per_page"] * 100
            met = "met" if slower <= 5 and more_cpu <= 5 else "missed"
            lines.append(f"| {mode} | {on['ppm']:.1f} | {off['ppm']:.1f} | {slower:+.1f} % | {on['cpu_per_page']:.3f} | "
                         f"{off['cpu_per_page']:.3f} | {more_cpu:+.1f} % | {met} |")
        lines.append("")
    lines.append("Per-call latency (ms, p50 / p99):")
    lines.append("")
    calls = sorted({name for row in report["modes"].values() for name in row["scanbridge"]["per_call"]})
    lines.append("| call | " + " | ".join(report["modes"]) + " |")
    lines.append("|---|" + "---|" * len(report["modes"]))
    for call in calls:
        cells = []
        for row in report["modes"].values():
            c = row["scanbridge"]["per_call"].get(call)
            cells.append(f"{c['p50'] * 1000:.0f} / {c['p99'] * 1000:.0f} (n={c['count']})" if c else "—")
        lines.append(f"| {call} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=500, help="pages per mode, a multiple of 10 (default 500)")
    parser.add_argument("--modes", default="colour,gray,bw", help="comma-separated: colour, gray, bw")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "scanbridge"))
    parser.add_argument("--ceiling-tool", default=os.path.join(ROOT, "Benchmarks", ".build", "release", "batch-ceiling"))
    parser.add_argument("--picture", default="Color pattern", help="SANE test backend test-picture")
    parser.add_argument("--buffer-mb", type=int, default=None, help="BufferMemoryLimit for the service (MB; default: the service's)")
    parser.add_argument("--convert-pages", type=int, default=100,
                        help="pages given to ImageMagick convert at most (its pixel cache needs 70 MB a page; default 100)")
    parser.add_argument("--no-convert", action="store_true", help="skip the ImageMagick baseline")
    parser.add_argument("--json", help="also write the results as JSON here")
    parser.add_argument("--scanner-timeout", type=int, default=None, metavar="S",
                        help="the jobs' scannerFailureTimeout in s (default: the service's, 15)")
    parser.add_argument("--keep", action="store_true", help="keep the temp folder (PDFs, service log)")
    parser.add_argument("--no-journal-compare", action="store_true",
                        help="skip the second service with PageJournal=false (the journal's cost)")
    parser.add_argument("--drop-page", type=int, default=None, metavar="N",
                        help="harness self-check: do not append page N (1-based) of each mode; the run must then fail")
    args = parser.parse_args()
    if args.pages <= 0 or args.pages % ADF_SHEETS:
        parser.error(f"--pages must be a positive multiple of {ADF_SHEETS} (ADF batches)")
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    for mode in modes:
        if mode not in MODES:
            parser.error(f"unknown mode {mode}; use colour, gray, bw")
    convert = None
    if not args.no_convert:
        # /usr/local/bin may hold a stand-in; Debian's ImageMagick 6 is convert-im6.q16.
        for candidate in ("/usr/bin/convert-im6.q16", "/usr/bin/convert", shutil.which("magick")):
            if candidate and os.path.exists(candidate):
                convert = candidate
                break
        if convert is None:
            raise HarnessError("ImageMagick is not installed (scripts/install.sh installs it); or pass --no-convert")
    for tool in ("scanimage", "img2pdf", "pdfinfo", "pdfimages", "djpeg"):
        if not shutil.which(tool):
            raise HarnessError(f"{tool} is missing: run scripts/install.sh")
    for path in (args.binary, args.ceiling_tool):
        if not os.access(path, os.X_OK):
            raise HarnessError(f"{path} is not built (make batch-bench builds it)")

    folder = tempfile.mkdtemp(prefix="scanbridge-batch-bench-")
    sane_dir, magick_dir = os.path.join(folder, "sane.d"), os.path.join(folder, "magick")
    write_sane_config(sane_dir, args.picture)
    os.makedirs(magick_dir)
    with open(os.path.join(magick_dir, "policy.xml"), "w") as f:
        f.write(MAGICK_POLICY)
    convert_note = "not run (--no-convert)"
    if convert:
        convert, convert_note = convert_command(convert, magick_dir, folder)
        log(f"ImageMagick baseline: {convert_note}")
    report = {"machine": machine()["description"], "convert_note": convert_note, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
              "command": " ".join(["make batch-bench", f"BATCH_ARGS=\"{' '.join(sys.argv[1:])}\""]) if sys.argv[1:] else "make batch-bench",
              "buffer_limit": f"{args.buffer_mb} MB" if args.buffer_mb is not None else "800 MB (the default)",
              "buffer_mb": args.buffer_mb,
              "pages": args.pages, "picture": args.picture, "load_start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
              "modes": {}}
    problems = []
    failed = True
    try:
        status = measure(args, modes, convert, folder, sane_dir, magick_dir, report, problems)
        failed = status != 0
        return status
    finally:
        if args.keep or failed:
            log(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def measure(args, modes, convert, folder, sane_dir, magick_dir, report, problems):
    service = Service(args.binary, os.path.join(folder, "home"), sane_dir, args.buffer_mb)
    report["idle_rss"] = service.status_kb("VmRSS") * 1024
    unjournaled = None
    if not args.no_journal_compare:
        os.makedirs(os.path.join(folder, "no-journal"))
        unjournaled = Service(args.binary, os.path.join(folder, "home-no-journal"), sane_dir, args.buffer_mb,
                              extra=["--set", "PageJournal=false"])
    report["journal"] = {}
    try:
        version = "_".join(p.strip() for p in service.http.get(f"{service.base}/fa/VersionInfo").json()["result"][0].split(","))
        for mode in modes:
            def journal_off():
                log(f"{mode}: ScanBridge with PageJournal=false, {args.pages} pages")
                return service_run(unjournaled, mode, args.pages, os.path.join(folder, "no-journal"), version, args.drop_page,
                                   args.scanner_timeout)

            # Which of the two services goes first alternates by mode, so that neither gains from
            # going first (or second) in every mode on a machine whose load drifts.
            off = journal_off() if unjournaled is not None and modes.index(mode) % 2 == 1 else None
            log(f"{mode}: ScanBridge, {args.pages} pages")
            ours = service_run(service, mode, args.pages, folder, version, args.drop_page, args.scanner_timeout)
            if unjournaled is not None:
                off = off or journal_off()
                report["journal"][mode] = {"on": ours, "off": off}
                problems += [f"PageJournal=false: {p}" for p in verify_pdf(off["pdf"], args.pages, mode, off["page_size"])]
            log(f"{mode}: {ours['ppm']:.1f} pages/min; baselines")
            base = baseline_runs(mode, args.pages, folder, sane_dir, magick_dir, convert, args.convert_pages)
            log(f"{mode}: ceiling")
            ceil = ceiling(mode, folder, sane_dir, args.ceiling_tool)
            report["modes"][mode] = {"scanbridge": ours, "baselines": base, "ceiling": ceil}
            log(f"{mode}: decoding every output page")
            problems += verify_pdf(ours["pdf"], args.pages, mode, ours["page_size"])
            for name, b in base.items():
                if "pdf" in b:
                    # Baselines choose their own image modes (convert writes BW pages as RGB).
                    problems += [f"baseline {name}: {p}" for p in verify_pdf(b["pdf"], b["pages"])]
    finally:
        service.stop()
        if unjournaled is not None:
            unjournaled.stop()
    report["load_end"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    # The run itself keeps about one core busy, so only the load before it says something else ran.
    report["under_load"] = float(report["load_start"].split()[0]) > 0.5 * os.cpu_count()
    report["problems"] = problems
    table = render(report)
    print(table)
    write_record(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2, default=str)
    if problems:
        print("LOST OR CORRUPTED PAGES:", *problems[:50], sep="\n  ", file=sys.stderr)
        return 1
    return 0


def write_record(report):
    """The run as JSON under Benchmarks/results/ (bench_results.Record), for `make bench-report`."""
    record = Record("batch-bench", 1, report["command"])
    record.data["load_before"] = [float(x) for x in report["load_start"].split()]
    record.data["quiet"] = not report["under_load"]
    rate = record.table("pages-per-minute", f"{report['pages']} A4 300 dpi pages a mode through the REST API as a browser drives it, first request to last PDF byte",
                        ["ScanBridge", "scanimage + img2pdf", "scanimage + convert", "ceiling"], "ScanBridge")
    cpu = record.table("cpu-per-page", "CPU seconds a page (the service's utime + stime; the baselines' processes')",
                       ["ScanBridge", "scanimage + img2pdf", "scanimage + convert"], "ScanBridge", higher_is_better=False)
    for mode, row in report["modes"].items():
        ours, base, ceil = row["scanbridge"], row["baselines"], row["ceiling"]
        i2p, conv = base.get("img2pdf", {}), base.get("convert", {})
        Record.add(rate, mode, f"{mode} (ceiling: raw {ceil['encoder']} on every core)", "pages/min",
                   {"ScanBridge": [ours["ppm"]], "scanimage + img2pdf": [i2p["ppm"]] if "ppm" in i2p else [],
                    "scanimage + convert": [conv["ppm"]] if "ppm" in conv else [], "ceiling": [ceil["ppm_all_cores"]]})
        Record.add(cpu, mode, mode, "CPU s/page",
                   {"ScanBridge": [ours["cpu_per_page"]], "scanimage + img2pdf": [i2p["cpu_per_page"]] if "cpu_per_page" in i2p else [],
                    "scanimage + convert": [conv["cpu_per_page"]] if "cpu_per_page" in conv else []})
    record.note("One run of each pipeline (a 500-page batch per mode): no spread.")
    record.finish()


def interrupted(signum, _frame):
    raise HarnessError(f"interrupted by signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, interrupted)
    try:
        sys.exit(main())
    except (HarnessError, requests.RequestException, http.client.HTTPException, OSError) as error:
        print(f"batch-bench: {error}", file=sys.stderr)
        sys.exit(1)
