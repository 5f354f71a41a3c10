#!/usr/bin/env python3
"""The per-page CPU overhead of a scan job: the service against the least the job must do.

    swift build -c release --product scanbridge
    (cd Benchmarks && swift build -c release --product batch-ceiling)
    .venv/bin/python Benchmarks/job_bench.py [--rounds 5] [--modes colour,gray,bw]   (make job-bench)

One `scanbridge serve` (release) with the SANE test backend set to real A4 pages at 300 dpi (the
batch benchmark's configuration). Each round, for each mode, in turns:
- the service: DWT scan jobs of 10 pages (the test feeder's 10 sheets) through the REST API,
  every page fetched with `next-page` (as JPEG for colour and gray, the stored form; as the
  stored PNG for BW); its CPU seconds a page are the service's utime + stime over the jobs;
- the same jobs on a second service with the page journal off (`PageJournal=false`), which
  tells what journaling each page (sealing its stored form, writing and fsyncing it) costs
  (`--no-journal-compare` leaves it out);
- the floor (Benchmarks' `batch-ceiling --acquire`): the same number of pages acquired from the
  same backend with ScanBridgeDevices and encoded once (TurboJPEG q85; for BW CCITT G4, and PNG
  level 3, the stored form), in one process: its CPU seconds a page, and acquisition's alone;
  and the same again under the service's allocation policy (MemoryPolicy: fresh memory for
  every page buffer), which tells what that part of the service's overhead costs.
Writes the medians and spread as JSON under Benchmarks/results/ (job-bench-*.json) and prints
the table. The target is the service at most 1.10× the floor (ratio floor ÷ service ≥ 0.91)."""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import batch_bench
from batch_bench import ROOT, Service, write_sane_config, expect, Connection
from bench_results import Record

MODE_FETCH = {"colour": "image/jpeg", "gray": "image/jpeg", "bw": "image/png"}
JOBS_PER_ROUND = {"colour": 2, "gray": 2, "bw": 5}   # BW pages cost little CPU: more of them per sample


def service_job_cpu(service, mode, jobs):
    """CPU seconds a page of `jobs` DWT jobs of 10 pages, each page fetched once."""
    http = Connection(service.base)
    pages = 0
    before = service.cpu_seconds()
    for _ in range(jobs):
        options = {"device": batch_bench.DEVICE, "config": {"IfFeederEnabled": True, "PixelType": batch_bench.MODES[mode][0],
                                                             "Resolution": batch_bench.DPI, "PageSize": 1, "XferCount": -1}}
        # The scanner is released a moment after the previous job's DELETE answered (423 until then).
        deadline = time.monotonic() + 15
        while (created := http.post(f"{service.base}/api/device/scanners/jobs", json=options)).status_code == 423 \
                and time.monotonic() < deadline:
            time.sleep(0.05)
        uid = expect(created, 201, "create job").json()["jobuid"]
        while True:
            page = http.get(f"{service.base}/api/device/scanners/jobs/{uid}/next-page", params={"type": MODE_FETCH[mode]})
            if page.status_code == 204:
                break
            expect(page, 200, "next-page")
            if page.headers.get("Content-Type") != MODE_FETCH[mode]:
                raise batch_bench.HarnessError(f"{mode}: next-page answered {page.headers.get('Content-Type')}")
            pages += 1
        http.delete(f"{service.base}/api/device/scanners/jobs/{uid}")
    used = service.cpu_seconds() - before
    if pages != 10 * jobs:
        raise batch_bench.HarnessError(f"{mode}: {pages} pages from {jobs} jobs")
    return used / pages


def floor_cpu(tool, mode, pages, sane_dir, service_memory_policy=False):
    done = subprocess.run([tool, "--acquire", mode, "--pages", str(pages)] + (["--service-memory-policy"] if service_memory_policy else []),
                          capture_output=True, text=True,
                          env=dict(os.environ, SANE_CONFIG_DIR=sane_dir), timeout=300)
    if done.returncode != 0:
        raise batch_bench.HarnessError(f"batch-ceiling --acquire {mode}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--modes", default="colour,gray,bw")
    parser.add_argument("--binary", default=os.path.join(ROOT, ".build", "release", "scanbridge"))
    parser.add_argument("--ceiling-tool", default=os.path.join(ROOT, "Benchmarks", ".build", "release", "batch-ceiling"))
    parser.add_argument("--no-journal-compare", action="store_true",
                        help="leave out the second service with PageJournal=false (the journal's cost)")
    parser.add_argument("--perf-record", metavar="FILE",
                        help="also sample the service's stacks with `perf record -e cpu-clock -g` over the measured rounds "
                             "into FILE (read it with `perf report -i FILE`)")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    record = Record("job-bench", args.rounds, "make job-bench" + (f" JOB_ARGS=\"{' '.join(sys.argv[1:])}\"" if sys.argv[1:] else ""))
    folder = tempfile.mkdtemp(prefix="scanbridge-job-bench-")
    sane_dir = os.path.join(folder, "sane.d")
    write_sane_config(sane_dir, "Color pattern")
    service = Service(args.binary, os.path.join(folder, "home"), sane_dir, None)
    unjournaled = None if args.no_journal_compare else \
        Service(args.binary, os.path.join(folder, "home-no-journal"), sane_dir, None, extra=("--set", "PageJournal=false"))
    values = {mode: {} for mode in modes}
    profiler = None
    try:
        for mode in modes:   # warm-up: SANE's first open, the compute pool's threads
            service_job_cpu(service, mode, 1)
            if unjournaled:
                service_job_cpu(unjournaled, mode, 1)
        if args.perf_record:
            profiler = subprocess.Popen(["perf", "record", "-q", "-e", "cpu-clock", "-F", "997", "-g",
                                         "-p", str(service.process.pid), "-o", args.perf_record],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for round in range(args.rounds):
            for mode in modes:
                jobs = JOBS_PER_ROUND[mode]
                turns = [("service", lambda: service_job_cpu(service, mode, jobs)),
                         ("", lambda: floor_cpu(args.ceiling_tool, mode, 10 * jobs, sane_dir)),
                         ("policy_", lambda: floor_cpu(args.ceiling_tool, mode, 10 * jobs, sane_dir, service_memory_policy=True))]
                if unjournaled:
                    turns.insert(1, ("unjournaled", lambda: service_job_cpu(unjournaled, mode, jobs)))
                for name, run in turns if round % 2 == 0 else reversed(turns):
                    result = run()
                    if name in ("service", "unjournaled"):
                        values[mode].setdefault(name, []).append(result)
                    else:
                        for key, value in result.items():
                            if key.endswith("_cpu_per_page"):
                                values[mode].setdefault(name + key, []).append(value)
    finally:
        if profiler:
            profiler.send_signal(signal.SIGINT)
            profiler.wait(timeout=60)
        service.stop()
        if unjournaled:
            unjournaled.stop()
        shutil.rmtree(folder, ignore_errors=True)

    table = record.table("per-page-cpu", "CPU seconds a page in a scan job (A4 300 dpi, SANE test backend): the service against "
                         "acquisition + one encode of the page, in the same run", 
                         ["ScanBridge service", "acquisition + one encode", "the same under the service's allocation policy",
                          "acquisition alone"] + ([] if unjournaled is None else ["the service, PageJournal=false"]),
                         "ScanBridge service", higher_is_better=False)
    journal = (lambda v: {}) if unjournaled is None else (lambda v: {"the service, PageJournal=false": v["unjournaled"]})
    for mode in modes:
        v = values[mode]
        encode = "acquire_g4_cpu_per_page" if mode == "bw" else "acquire_jpeg_cpu_per_page"
        label = {"colour": "colour, page fetched as JPEG; floor: TurboJPEG q85",
                 "gray": "gray, page fetched as JPEG; floor: TurboJPEG q85",
                 "bw": "BW, page fetched as its stored PNG; floor: CCITT G4"}[mode]
        Record.add(table, mode, label, "CPU s/page",
                   {"ScanBridge service": v["service"], "acquisition + one encode": v[encode],
                    "the same under the service's allocation policy": v["policy_" + encode], "acquisition alone": v["acquire_cpu_per_page"],
                    **journal(v)})
        if mode == "bw":
            Record.add(table, "bw-png3", "BW; floor: PNG level 3 (the stored form's encode)", "CPU s/page",
                       {"ScanBridge service": v["service"], "acquisition + one encode": v["acquire_png3_cpu_per_page"],
                        "the same under the service's allocation policy": v["policy_acquire_png3_cpu_per_page"],
                        "acquisition alone": v["acquire_cpu_per_page"], **journal(v)})
    record.note("Target: the service at most 1.10× acquisition + one encode, i.e. a ratio (floor ÷ service) of at least 0.91.")
    if unjournaled:
        record.note("The ratio to the service with PageJournal=false is the page journal's CPU cost: 0.95 means 5 % more CPU a "
                    "page with the journal.")
    record.finish()
    return 0


if __name__ == "__main__":
    sys.exit(main())
