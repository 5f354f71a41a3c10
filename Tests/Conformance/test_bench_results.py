"""Benchmarks/bench_results.py: `make bench-check` fails when a ratio is below its target, and
`make bench-report` rewrites only the text between a benchmark's markers, from its newest run."""
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(ROOT, "Benchmarks", "bench_results.py")


def write_result(folder, date, ratio, median=100.0):
    """One run of a benchmark "demo" whose table "t" has a row "r" with the given ratio to "ref"."""
    record = {
        "schema": 1, "benchmark": "demo", "date": date, "commit": "abc1234", "dirty": False, "command": "demo-bench",
        "machine": {"description": "test machine", "cpu": "cpu", "cores": 2, "memory_gib": 1, "kernel": "6"},
        "load_before": [0.1, 0.1, 0.1], "load_after": [0.2, 0.1, 0.1], "quiet": True, "rounds": 5, "notes": [],
        "tables": [{"id": "t", "title": "Demo table", "higher_is_better": True, "contenders": ["ours", "ref"], "ours": "ours",
                    "rows": [{"id": "r", "label": "demo row", "unit": "ops/s",
                              "values": {"ours": {"values": [median], "median": median, "min": median, "max": median},
                                         "ref": {"values": [median / ratio], "median": median / ratio,
                                                 "min": median / ratio, "max": median / ratio}},
                              "ratios": {"ref": ratio}}]}],
    }
    with open(os.path.join(folder, f"demo-{date.replace(':', '')}.json"), "w") as f:
        json.dump(record, f)


def run(tmp_path, *arguments):
    return subprocess.run([sys.executable, TOOL, *arguments], capture_output=True, text=True,
                          env=dict(os.environ, BENCH_RESULTS_DIR=str(tmp_path / "results")))


def test_check_fails_below_target_and_passes_at_or_above(tmp_path):
    (tmp_path / "results").mkdir()
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"demo": {"t/r/ref": 1.0}}))
    write_result(tmp_path / "results", "2026-01-01T00:00:00Z", 1.5)
    write_result(tmp_path / "results", "2026-01-02T00:00:00Z", 0.8)   # the newest run counts
    failed = run(tmp_path, "check", "--targets", str(targets))
    assert failed.returncode == 1, failed.stdout
    assert "0.80× < target 1.00×" in failed.stdout
    write_result(tmp_path / "results", "2026-01-03T00:00:00Z", 1.0)
    passed = run(tmp_path, "check", "--targets", str(targets))
    assert passed.returncode == 0, passed.stdout


def test_check_fails_when_a_target_has_no_result(tmp_path):
    (tmp_path / "results").mkdir()
    targets = tmp_path / "targets.json"
    targets.write_text(json.dumps({"demo": {"t/missing-row/ref": 1.0}}))
    write_result(tmp_path / "results", "2026-01-01T00:00:00Z", 2.0)
    assert run(tmp_path, "check", "--targets", str(targets)).returncode == 1


def test_report_replaces_only_between_the_markers(tmp_path):
    (tmp_path / "results").mkdir()
    write_result(tmp_path / "results", "2026-01-01T00:00:00Z", 1.25, median=200.0)
    doc = tmp_path / "PERFORMANCE.md"
    doc.write_text("before\n<!-- bench:demo -->\nold table\n<!-- /bench:demo -->\nafter\n")
    done = run(tmp_path, "report", "--doc", str(doc))
    assert done.returncode == 0, done.stderr
    text = doc.read_text()
    assert text.startswith("before\n<!-- bench:demo -->\n") and text.endswith("<!-- /bench:demo -->\nafter\n")
    assert "old table" not in text
    assert "| demo row (ops/s) | 200.0 (200.0–200.0) | 160.0 (160.0–160.0) | 1.25× |" in text
    assert "commit `abc1234`" in text and "Median (min–max) of 5 interleaved rounds" in text
