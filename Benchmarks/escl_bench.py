#!/usr/bin/env python3
"""eSCL against the DWT REST API on the same service, in the same run.

    swift build -c release --product scanbridge && .venv/bin/python Benchmarks/escl_bench.py


One `scanbridge serve` (the given binary, release by default) with its own service folder, free
ports, eSCL enabled and SANE's test backend set to real A4 pages (geometry_max raised to 297 mm,
the "Color pattern" picture). For each round it runs one 10-page ADF job at 300 dpi in colour,
JPEG, over each API, alternating which goes first:
- eSCL: POST /eSCL/ScanJobs (Feeder, RGB24, 300 dpi, A4 region, image/jpeg), then
  NextDocument until 404, then DELETE;
- DWT: POST /api/device/scanners/jobs (IfFeederEnabled, PixelType 2, 300 dpi, PageSize A4),
  then next-page?type=image/jpeg (the stored form) until 204, then DELETE.
Pages/s is 10 pages over the wall time from the job's POST to its last page; CPU seconds a
page is the service's utime+stime (/proc/PID/stat) over the same span / 10. Prints a Markdown
table with the median of the rounds and writes the run as JSON under Benchmarks/results/
(escl-bench-*.json); exits non-zero if a job delivers other than 10 A4 JPEGs."""
import argparse
import io
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone

import requests
from PIL import Image

from bench_results import Record, load_average

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
DEVICE = "sane:test:0"
PAGES = 10
TIMEOUT = (10, 120)
A4_300 = (2480, 3507)  # 210 × 297 mm in 1/300 inch
SETTINGS = f"""<?xml version="1.0" encoding="UTF-8"?>
<scan:ScanSettings xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03" xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
  <pwg:Version>2.63</pwg:Version>
  <pwg:ScanRegions><pwg:ScanRegion>
    <pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
    <pwg:XOffset>0</pwg:XOffset><pwg:YOffset>0</pwg:YOffset>
    <pwg:Width>{A4_300[0]}</pwg:Width><pwg:Height>{A4_300[1]}</pwg:Height>
  </pwg:ScanRegion></pwg:ScanRegions>
  <pwg:InputSource>Feeder</pwg:InputSource>
  <scan:ColorMode>RGB24</scan:ColorMode>
  <scan:XResolution>300</scan:XResolution><scan:YResolution>300</scan:YResolution>
  <scan:DocumentFormatExt>image/jpeg</scan:DocumentFormatExt>
</scan:ScanSettings>"""


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def is_a4_jpeg(body):
    """A JPEG of an A4 page at 300 dpi (within a pixel or two of rounding)."""
    if body[:3] != b"\xff\xd8\xff":
        return False
    with Image.open(io.BytesIO(body)) as image:
        return abs(image.width - A4_300[0]) <= 2 and abs(image.height - A4_300[1]) <= 2


def escl_job(session, root):
    response = session.post(f"{root}/ScanJobs", data=SETTINGS, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    location = response.headers["Location"]
    pages = []
    while (page := session.get(f"{location}/NextDocument", timeout=TIMEOUT)).status_code == 200:
        pages.append(page.content)
    assert page.status_code == 404, page.text
    session.delete(location, timeout=TIMEOUT)
    return pages


def dwt_job(session, api):
    config = {"IfFeederEnabled": True, "PixelType": 2, "Resolution": 300, "PageSize": 1, "XferCount": -1}
    response = session.post(f"{api}/device/scanners/jobs", json={"device": DEVICE, "config": config}, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    uid = response.json()["jobuid"]
    pages = []
    while (page := session.get(f"{api}/device/scanners/jobs/{uid}/next-page", params={"type": "image/jpeg"},
                                timeout=TIMEOUT)).status_code == 200:
        pages.append(page.content)
    assert page.status_code == 204, page.text  # the DWT API says "no more pages" with 204
    session.delete(f"{api}/device/scanners/jobs/{uid}", timeout=TIMEOUT)
    return pages


def measure(pid, run):
    cpu, start = cpu_seconds(pid), time.monotonic()
    pages = run()
    wall, used = time.monotonic() - start, cpu_seconds(pid) - cpu
    if len(pages) != PAGES or not all(map(is_a4_jpeg, pages)):
        raise SystemExit(f"a job delivered {len(pages)} pages, {sum(map(is_a4_jpeg, pages))} of them A4 JPEGs; expected {PAGES}")
    return PAGES / wall, used / PAGES


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "scanbridge"))
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    load_before = load_average()
    work = tempfile.mkdtemp(prefix="scanbridge-escl-bench-")
    sane = os.path.join(work, "sane.d")
    subprocess.run([os.path.join(ROOT, "scripts", "sane-test-config.sh"), sane], check=True)
    conf = os.path.join(sane, "test.conf")
    with open(conf) as f:
        text = f.read()
    with open(conf, "w") as f:
        f.write(re.sub(r"(?m)^geometry_max .*$", "geometry_max 297.0", text))
    ports = free_ports(5)
    home = os.path.join(work, "home")
    os.makedirs(home)
    command = [args.binary, "serve", "--home", home, "--set", f"Port_mp_0={ports[0]}", "--set", f"Port_mp_1={ports[1]}",
               "--set", f"SSLPort_mp_0={ports[2]}", "--set", f"SSLPort_mp_1={ports[3]}",
               "--set", "ESCLEnabled=true", "--set", f"ESCLPort={ports[4]}"]
    process = subprocess.Popen(command, env={**os.environ, "SANE_CONFIG_DIR": sane},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    api, root = f"http://127.0.0.1:{ports[1]}/api", f"http://127.0.0.1:{ports[4]}/eSCL"
    try:
        deadline = time.time() + 30
        while True:
            try:
                if requests.get(f"{api}/server/version", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            if time.time() > deadline or process.poll() is not None:
                raise SystemExit("scanbridge did not start")
            time.sleep(0.1)
        results = {"eSCL": [], "DWT REST": []}
        with requests.Session() as session:
            # One warm-up job each (SANE discovery, first opens, the compute pool's threads).
            escl_job(session, root)
            dwt_job(session, api)
            for round in range(args.rounds):
                order = [("eSCL", lambda: escl_job(session, root)), ("DWT REST", lambda: dwt_job(session, api))]
                for name, run in order if round % 2 == 0 else reversed(order):
                    results[name].append(measure(process.pid, run))
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(work, ignore_errors=True)

    record = Record("escl-bench", args.rounds, "Benchmarks/escl_bench.py" + "".join(f" {a}" for a in sys.argv[1:]))
    record.data["load_before"] = load_before
    record.data["quiet"] = load_before[0] < 0.5 * os.cpu_count()
    rate = record.table("pages-per-second", "10-page ADF job, A4 300 dpi colour, JPEG: eSCL against the DWT REST API of the same service",
                        ["eSCL", "DWT REST"], "eSCL")
    Record.add(rate, "job", "pages from the job's POST to its last page", "pages/s", {name: [r for r, _ in rows] for name, rows in results.items()})
    cpu = record.table("cpu-per-page", "the service's CPU seconds a page over the same span", ["eSCL", "DWT REST"], "eSCL", higher_is_better=False)
    Record.add(cpu, "job", "service CPU", "CPU s/page", {name: [c for _, c in rows] for name, rows in results.items()})
    record.finish()
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, commit {commit}, {platform.node()} "
          f"({os.cpu_count()} cores), load average {load}, {args.rounds} rounds after one warm-up, "
          f"binary {os.path.relpath(args.binary, ROOT)}")
    print()
    print("| API (10-page ADF job, A4 300 dpi colour, JPEG) | pages/s (median) | CPU s/page (median) | pages/s (min–max) |")
    print("|---|---|---|---|")
    for name, rows in results.items():
        rates, cpus = [r for r, _ in rows], [c for _, c in rows]
        print(f"| {name} | {statistics.median(rates):.2f} | {statistics.median(cpus):.3f} | {min(rates):.2f}–{max(rates):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
