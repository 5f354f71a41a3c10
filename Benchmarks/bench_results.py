#!/usr/bin/env python3
"""Benchmark results as JSON, the performance docs' tables rendered from them, and the ratio check.

Every benchmark (the Swift executables through BenchmarkSupport's BenchmarkRecord, the Python
harnesses through `Record` here) writes one file per run under Benchmarks/results/ (or
$BENCH_RESULTS_DIR): `<benchmark>-<UTC time>.json` with the machine, its load average before and
after, the commit, the date, the command, and tables of rows holding each contender's samples
(median, min, max) and the ratio of ours to each reference (above 1: ours is better).

    bench_results.py report [--doc docs/PERFORMANCE.md]   (make bench-report)
        Replaces, in the doc, the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`
        with the tables of the newest result of benchmark NAME.
    bench_results.py check [--targets Benchmarks/targets.json]   (make bench-check)
        Exits 1 when a ratio in the newest run of its table is below its target, or missing. Targets
        are ratios only (absolute figures are too noisy on shared machines):
        {"BENCHMARK": {"TABLE/ROW/REFERENCE": minimum ratio, …}, …}.
"""
import argparse
import glob
import json
import os
import platform
import re
import statistics
import subprocess
import sys
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def results_dir():
    return os.environ.get("BENCH_RESULTS_DIR", os.path.join(HERE, "results"))


def samples(values):
    return {"values": list(values), "median": statistics.median(values), "min": min(values), "max": max(values)}


def load_average():
    return [round(x, 2) for x in os.getloadavg()]


def machine():
    cpu = "unknown CPU"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // (1 << 30)
    return {"description": f"{cpu}, {os.cpu_count()} cores, {memory} GiB, Linux {platform.release()}",
            "cpu": cpu, "cores": os.cpu_count(), "memory_gib": memory, "kernel": platform.release()}


def git(*arguments):
    done = subprocess.run(["git", "-C", ROOT, *arguments], capture_output=True, text=True)
    return done.stdout.strip() if done.returncode == 0 else ""


class Record:
    """One run of a Python harness, in the schema of BenchmarkSupport's BenchmarkRecord."""

    def __init__(self, benchmark, rounds, command):
        self.data = {"schema": 1, "benchmark": benchmark, "rounds": rounds, "command": command,
                     "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                     "commit": git("rev-parse", "--short", "HEAD") or "unknown",
                     "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
                     "machine": machine(), "load_before": load_average(), "load_after": [], "notes": [], "tables": []}
        self.data["quiet"] = self.data["load_before"][0] < 0.5 * os.cpu_count()

    def table(self, id, title, contenders, ours, higher_is_better=True):
        table = {"id": id, "title": title, "contenders": contenders, "ours": ours,
                 "higher_is_better": higher_is_better, "rows": []}
        self.data["tables"].append(table)
        return table

    @staticmethod
    def add(table, id, label, unit, values):
        """`values`: contender → list of samples."""
        stats = {name: samples(v) for name, v in values.items() if v}
        ratios = {}
        mine = stats.get(table["ours"], {}).get("median")
        for name, s in stats.items():
            if name != table["ours"] and mine and s["median"]:
                ratios[name] = mine / s["median"] if table["higher_is_better"] else s["median"] / mine
        table["rows"].append({"id": id, "label": label, "unit": unit, "values": stats, "ratios": ratios})

    def note(self, text):
        self.data["notes"].append(text)

    def finish(self):
        self.data["load_after"] = load_average()
        folder = results_dir()
        os.makedirs(folder, exist_ok=True)
        stamp = self.data["date"].replace(":", "").replace("-", "")
        path = os.path.join(folder, f"{self.data['benchmark']}-{stamp}.json")
        with open(path, "w") as f:
            json.dump(self.data, f, indent=2, sort_keys=True)
        print(render(self.data))
        print(f"results: {path}")
        return path


# ---------------------------------------------------------------- reading


def all_records(folder=None):
    """Every result, oldest first."""
    records = []
    for path in glob.glob(os.path.join(folder or results_dir(), "*.json")):
        with open(path) as f:
            record = json.load(f)
        if record.get("benchmark"):
            record["_path"] = path
            records.append(record)
    return sorted(records, key=lambda r: r["date"])


def newest(folder=None):
    """The newest result of each benchmark: {benchmark: record}."""
    return {record["benchmark"]: record for record in all_records(folder)}


def newest_tables(folder=None):
    """The newest run of each table of each benchmark (a run may measure only some sections):
    {(benchmark, table id): (record, table)}."""
    return {(record["benchmark"], table["id"]): (record, table) for record in all_records(folder) for table in record["tables"]}


def number(value, digits):
    return f"{value:.{digits}f}"


def digits_for(value):
    return 0 if value >= 1000 else 1 if value >= 10 else 2 if value >= 0.1 else 3


def render(record):
    """The record's tables as Markdown, headed by where and how they were measured."""
    load = lambda values: " ".join(f"{x:.2f}" for x in values)
    lines = [f"{record['date'][:16].replace('T', ' ')} UTC, commit `{record['commit']}`"
             f"{' (+ uncommitted changes)' if record.get('dirty') else ''}, {record['machine']['description']}; "
             f"load average before {load(record['load_before'])}, after {load(record['load_after'])}"
             f"{'' if record.get('quiet') else ' — **not a quiet run: other work shared the cores; these figures are loaded**'}. "
             f"Command: `{record['command']}`. Median (min–max) of {record['rounds']} interleaved rounds.", ""]
    for table in record["tables"]:
        references = [c for c in table["contenders"] if c != table["ours"]]
        lines += [f"**{table['title']}**", ""]
        lines.append("| row | " + " | ".join(table["contenders"]) + "".join(f" | {table['ours']} ÷ {r}" for r in references) + " |")
        lines.append("|" + "---|" * (1 + len(table["contenders"]) + len(references)))
        for row in table["rows"]:
            cells = []
            for name in table["contenders"]:
                s = row["values"].get(name)
                if not s:
                    cells.append("—")
                    continue
                d = digits_for(s["median"])
                cells.append(f"{number(s['median'], d)} ({number(s['min'], d)}–{number(s['max'], d)})")
            cells += [f"{row['ratios'][r]:.2f}×" if r in row["ratios"] else "—" for r in references]
            lines.append(f"| {row['label']} ({row['unit']}) | " + " | ".join(cells) + " |")
        lines.append("")
    for note in record.get("notes", []):
        lines.append(f"- {note}")
    return "\n".join(lines).rstrip() + "\n"


def report(doc):
    records = newest()
    with open(doc) as f:
        text = f.read()
    found = []
    for name, record in records.items():
        pattern = re.compile(rf"(<!-- bench:{re.escape(name)} -->\n)(.*?)(<!-- /bench:{re.escape(name)} -->)", re.S)
        if pattern.search(text):
            text = pattern.sub(lambda m: m.group(1) + render(record) + m.group(3), text)
            found.append(name)
    with open(doc, "w") as f:
        f.write(text)
    for name in sorted(records):
        print(f"{name}: {os.path.relpath(records[name]['_path'], ROOT)}" + ("" if name in found else f" (no markers in {doc})"))
    return 0


def check(targets_path):
    with open(targets_path) as f:
        targets = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    tables = newest_tables()
    failures = checked = 0
    for benchmark, wanted in targets.items():
        for key, minimum in wanted.items():
            table_id, row_id, reference = key.split("/", 2)
            checked += 1
            if (benchmark, table_id) not in tables:
                print(f"FAIL {benchmark} {key}: no result in {results_dir()} (run it first)")
                failures += 1
                continue
            record, table = tables[(benchmark, table_id)]
            row = next((r for r in table["rows"] if r["id"] == row_id), {})
            ratio = row.get("ratios", {}).get(reference)
            if ratio is None:
                print(f"FAIL {benchmark} {key}: not in {os.path.basename(record['_path'])}")
                failures += 1
            elif ratio < minimum:
                print(f"FAIL {benchmark} {key}: {ratio:.2f}× < target {minimum:.2f}×"
                      f"{'' if record.get('quiet') else ' (loaded run)'}")
                failures += 1
            else:
                print(f"ok   {benchmark} {key}: {ratio:.2f}× ≥ {minimum:.2f}×")
    print(f"{checked} ratios checked, {failures} below target or missing")
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("report")
    r.add_argument("--doc", default=os.path.join(ROOT, "docs", "PERFORMANCE.md"))
    c = sub.add_parser("check")
    c.add_argument("--targets", default=os.path.join(HERE, "targets.json"))
    args = parser.parse_args()
    return report(args.doc) if args.command == "report" else check(args.targets)


if __name__ == "__main__":
    sys.exit(main())
