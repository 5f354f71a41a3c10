#!/usr/bin/env python3
"""OCR throughput (`make ocr-bench`): pages a minute for A4 300 dpi text pages, black and white and
colour, read by ScanBridge into one searchable PDF (`GET …/content?ocr=eng`, a fresh document so
nothing is reused) against the `tesseract` command line on the same pages and the same cores in
the same run: one `tesseract page.png out -l eng --psm 1 pdf` per core at a time (OMP_THREAD_LIMIT=1,
its fastest way through a batch; `--psm 1` detects orientation as ScanBridge does), then the page
PDFs joined with qpdf, so both sides end with one searchable PDF. Runs alternate (ScanBridge, tesseract, ScanBridge, …) so that other load on a shared
machine falls on both; every output PDF is checked with pdftotext for the pages' words.

Prints a Markdown table with the machine, its load and the command (and writes JSON with --json)."""
import argparse
import io
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Conformance"))
from conftest import start_service, stop_service   # noqa: E402  (the conformance suite's launcher)
from ocr_pages import DPI, text_page                # noqa: E402


def recall(expected, found):
    pool = {}
    for word in found:
        pool[word] = pool.get(word, 0) + 1
    hits = 0
    for word in expected:
        if pool.get(word, 0) > 0:
            pool[word] -= 1
            hits += 1
    return hits / max(1, len(expected))


def words_in(pdf_path):
    return subprocess.run(["pdftotext", pdf_path, "-"], capture_output=True, text=True, check=True).stdout.split()


def scanbridge_run(api, files, folder, label):
    uid = requests.post(f"{api}/storage/documents", json={}).json()["uid"]
    for path in files:
        with open(path, "rb") as f:
            requests.post(f"{api}/storage/documents/{uid}/import", data=f.read()).raise_for_status()
    started = time.monotonic()
    r = requests.get(f"{api}/storage/documents/{uid}/content", params={"ocr": "eng"}, timeout=3600)
    r.raise_for_status()
    seconds = time.monotonic() - started
    out = os.path.join(folder, f"scanbridge-{label}.pdf")
    with open(out, "wb") as f:
        f.write(r.content)
    requests.delete(f"{api}/storage/documents/{uid}")
    return seconds, out


def tesseract_run(files, folder, label, cores):
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    outputs = [os.path.join(folder, f"tesseract-{label}-{i}") for i in range(len(files))]

    def one(pair):
        path, out = pair
        subprocess.run(["tesseract", path, out, "-l", "eng", "--psm", "1", "pdf"], env=env, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=cores) as pool:
        list(pool.map(one, zip(files, outputs)))
    joined = os.path.join(folder, f"tesseract-{label}.pdf")
    subprocess.run(["qpdf", "--empty", "--pages", *[o + ".pdf" for o in outputs], "--", joined], check=True)
    return time.monotonic() - started, joined


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=4, help="pages per kind (default 4)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds per kind (default 1)")
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    binary = os.environ.get("SCANBRIDGE_BINARY", os.path.join(ROOT, ".build", "debug", "scanbridge"))
    os.environ["SCANBRIDGE_BINARY"] = binary
    folder = tempfile.mkdtemp(prefix="scanbridge-ocr-bench-")
    home = tempfile.mkdtemp(prefix="scanbridge-ocr-bench-home-")
    load_before = open("/proc/loadavg").read().split()[:3]
    service = start_service(home)
    api = f"{service.http}/api"
    results = []
    try:
        for kind, mode in (("BW", "bw"), ("colour", "rgb")):
            files, expected = [], []
            for i in range(args.pages):
                page, words = text_page(mode, lines=24, seed=100 + i)
                path = os.path.join(folder, f"{mode}-{i}.png")
                page.save(path, dpi=(DPI, DPI))
                files.append(path)
                expected += [w for w, _ in words]
            for round_number in range(args.rounds):
                for engine in ("scanbridge", "tesseract"):
                    label = f"{mode}-{round_number}"
                    if engine == "scanbridge":
                        seconds, pdf = scanbridge_run(api, files, folder, label)
                    else:
                        seconds, pdf = tesseract_run(files, folder, label, cores)
                    found = recall(expected, words_in(pdf))
                    results.append({"kind": kind, "engine": engine, "round": round_number, "pages": args.pages,
                                    "seconds": round(seconds, 2), "pagesPerMinute": round(args.pages * 60 / seconds, 1),
                                    "wordsFound": round(found, 4)})
                    print(f"{kind} {engine} round {round_number}: {args.pages} pages in {seconds:.1f} s, words {found:.1%}",
                          file=sys.stderr)
                    if found < 0.95:
                        raise SystemExit(f"{engine} lost words on {kind} pages: {found:.1%}")
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    load_after = open("/proc/loadavg").read().split()[:3]
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), platform.machine())
    print(f"Machine: {cpu}, {cores} cores; load average {' '.join(load_before)} before, {' '.join(load_after)} after "
          f"(a shared machine); {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; "
          f"`make ocr-bench` (`Benchmarks/ocr_bench.py --pages {args.pages} --rounds {args.rounds}`), "
          f"ScanBridge binary {os.path.relpath(binary, ROOT)}, tesseract {subprocess.run(['tesseract', '--version'], capture_output=True, text=True).stdout.split()[1]}\n")
    print("| page | engine | round | pages | seconds | pages/min | words found |")
    print("|---|---|---|---|---|---|---|")
    for r in results:
        engine = "ScanBridge (`ocr=eng`, one PDF)" if r["engine"] == "scanbridge" else f"tesseract CLI (`--psm 1`) × {cores} + qpdf join"
        print(f"| A4 300 dpi {r['kind']} | {engine} | {r['round'] + 1} | {r['pages']} | {r['seconds']} | {r['pagesPerMinute']} | {r['wordsFound']:.1%} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cores": cores, "loadBefore": load_before, "loadAfter": load_after, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
