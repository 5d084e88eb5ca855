"""Smoke test of the benchmark command: `python -m income_mlops.bench --quick` runs end to end on a tiny budget.

It trains a model through the real train command (on the session's shared Prefect server), serves it with both our API and
`mlflow models serve`, drives both with wrk, and prints the report. No figure is asserted: timings are never tested, only that every
table is produced from real measurements.
"""
import re, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

def test_bench_quick(tools, prefect_api_url, tmp_path):
    tools.require("wrk")
    out = tmp_path / "bench.md"
    r = subprocess.run([sys.executable, "-m", "income_mlops.bench", "--quick", "--out", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-5000:]
    md = out.read_text()
    for section in ("Serving, single record", "Serving, batch", "In-process floor", "Memory after the load", "Training"):
        assert f"## {section}" in md, md
    row = re.search(r"^\| 1 \| ([\d.e+]+) .*\| ([\d.e+]+) .*\|", md, re.M)
    assert row and float(row.group(1)) > 0, md          # our req/s at concurrency 1 was measured
    assert "total wall time" in md

def test_bench_bad_args():
    r = subprocess.run([sys.executable, "-m", "income_mlops.bench", "--workers", "many"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr == "income-mlops-bench: error: argument --workers: 'many' is not a whole number\n", r.stderr
