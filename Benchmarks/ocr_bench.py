#!/usr/bin/env python3
"""OCR throughput (`make ocr-bench`): pages a minute for A4 300 dpi text pages, black and white and
colour, read by ScanBridge into one searchable PDF (`GET …/content?ocr=eng`, a fresh document so
nothing is reused) against the `tesseract` command line on the same pages and the same cores in
the same run: one `tesseract page.png out -l eng --psm 1 pdf` per core at a time (OMP_THREAD_LIMIT=1,
its fastest way through a batch; `--psm 1` detects orientation as ScanBridge does), then the page
PDFs joined with qpdf, so both sides end with one searchable PDF. Runs alternate (ScanBridge, tesseract, ScanBridge, …) so that other load on a shared
machine falls on both; every output PDF is checked with pdftotext for the pages' words.

Before the measured rounds each side reads one page untimed (the service loads an English engine on
each OCR thread once; the command line loads it in every process, which is its way of working).
Writes the medians and spread as JSON under Benchmarks/results/ (ocr-bench-*.json, rendered into
docs/PERFORMANCE.md by `make bench-report`) and prints the table."""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "Tests", "Conformance"))
from conftest import start_service, stop_service   # noqa: E402  (the conformance suite's launcher)
from ocr_pages import DPI, text_page                # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_results import Record                    # noqa: E402


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


SCANBRIDGE = "ScanBridge (`ocr=eng`, one PDF)"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=4, help="pages per kind (default 4)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per kind (default 3)")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    tesseract = "tesseract CLI (`--psm 1`), a process per core, + qpdf join"
    binary = os.environ.get("SCANBRIDGE_BINARY", os.path.join(ROOT, ".build", "debug", "scanbridge"))
    os.environ["SCANBRIDGE_BINARY"] = binary
    version = subprocess.run(["tesseract", "--version"], capture_output=True, text=True).stdout.split()[1]
    record = Record("ocr-bench", args.rounds, "make ocr-bench" + (f" OCR_ARGS=\"{' '.join(sys.argv[1:])}\"" if sys.argv[1:] else ""))
    table = record.table("searchable-pdf", f"Pages a minute into one searchable PDF, A4 300 dpi text pages, {args.pages} a run",
                         [SCANBRIDGE, tesseract], SCANBRIDGE)
    folder = tempfile.mkdtemp(prefix="scanbridge-ocr-bench-")
    home = tempfile.mkdtemp(prefix="scanbridge-ocr-bench-home-")
    service = start_service(home)
    api = f"{service.http}/api"
    try:
        for kind, mode in (("BW", "bw"), ("colour", "rgb")):
            files, expected = [], []
            for i in range(args.pages):
                page, words = text_page(mode, lines=24, seed=100 + i)
                path = os.path.join(folder, f"{mode}-{i}.png")
                page.save(path, dpi=(DPI, DPI))
                files.append(path)
                expected += [w for w, _ in words]
            scanbridge_run(api, files[:1], folder, f"{mode}-warm-up")
            tesseract_run(files[:1], folder, f"{mode}-warm-up", cores)
            rates = {SCANBRIDGE: [], tesseract: []}
            for round_number in range(args.rounds):
                engines = ("scanbridge", "tesseract") if round_number % 2 == 0 else ("tesseract", "scanbridge")
                for engine in engines:
                    label = f"{mode}-{round_number}"
                    if engine == "scanbridge":
                        seconds, pdf = scanbridge_run(api, files, folder, label)
                    else:
                        seconds, pdf = tesseract_run(files, folder, label, cores)
                    found = recall(expected, words_in(pdf))
                    rates[SCANBRIDGE if engine == "scanbridge" else tesseract].append(args.pages * 60 / seconds)
                    print(f"{kind} {engine} round {round_number + 1}: {args.pages} pages in {seconds:.1f} s, words {found:.1%}",
                          file=sys.stderr)
                    if found < 0.95:
                        raise SystemExit(f"{engine} lost words on {kind} pages: {found:.1%}")
            Record.add(table, mode, f"A4 300 dpi {kind}", "pages/min", rates)
    finally:
        stop_service(service)
        shutil.rmtree(home, ignore_errors=True)
        shutil.rmtree(folder, ignore_errors=True)
    record.note(f"ScanBridge binary {os.path.relpath(binary, ROOT)}, tesseract {version}; every PDF held at least 95 % of "
                "its pages' words (pdftotext), or the run fails.")
    record.finish()


if __name__ == "__main__":
    main()
