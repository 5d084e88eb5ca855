"""Serve one model bundle with two versions of the API, side by side in one run, and compare them under the same wrk load.

    uv run python tools/compare_serving.py --baseline edbd1ec [--runs 5] [--duration 8] [--workers 2]

The baseline revision is checked out in a temporary git worktree with its own `uv sync --locked` environment; the candidate is
this checkout. Both serve the same bundle (trained here on 10,000 rows with 2 Optuna trials: what is measured is the service,
not the model), with their default options (prediction log on, access log on), and the rounds alternate so that each ratio is
taken within a round. Medians with min-max; requests that fail abort the run (wrk `check`).
"""
from __future__ import annotations
import argparse, json, os, shutil, subprocess, sys, tempfile
from pathlib import Path

from income_mlops.bench import Server, free_port, run_wrk, summarize
from income_mlops.config import EXAMPLE_RECORD

ROOT = Path(__file__).resolve().parents[1]


def checkout(rev: str, dest: Path) -> Path:
    "A worktree of `rev` at `dest` with its own environment; returns its Python."
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(dest), rev], check=True, capture_output=True)
    subprocess.run(["uv", "sync", "--locked", "--quiet"], cwd=dest, check=True)
    return dest / ".venv" / "bin" / "python"


def small_bundle(dest: Path) -> Path:
    "A real bundle trained by the project's code on a small budget."
    from income_mlops.data import load_adult, split_data
    from income_mlops.model import train_model
    train, _ = split_data(load_adult("bundled"))
    bundle, _ = train_model(train.sample(10_000, random_state=0), n_trials=2, folds=2, timeout=120,
                            storage=f"sqlite:///{dest / 'optuna.db'}", show_progress_bar=False)
    return bundle.save(dest / "bundle")


def server(python: Path, cwd: Path, bundle: Path, workers: int, home: Path) -> Server:
    "`python -m income_mlops.api` of one checkout, serving `bundle`."
    port = free_port()
    cmd = [str(python), "-m", "income_mlops.api", "--model", str(bundle), "--port", str(port), "--workers", str(workers)]
    env = {"INCOME_MLOPS_HOME": str(home), "PYTHONPATH": str(cwd)}
    return Server(cmd, f"http://127.0.0.1:{port}/health", env=env)


def compare(base: Server, cand: Server, runs: int, duration: float, concurrencies=(1, 4, 16)) -> str:
    "A Markdown table: req/s, p50 and p99 of both servers at each concurrency, and the candidate/baseline ratio."
    body = json.dumps(EXAMPLE_RECORD)
    rows = ["| connections | baseline req/s | candidate req/s | ratio | baseline p50 / p99 ms | candidate p50 / p99 ms |",
            "|---|---|---|---|---|---|"]
    for c in concurrencies:
        b, k = [], []
        for _ in range(runs):
            b.append(run_wrk(base.ready_url.replace("/health", "/predict"), body, c, duration))
            k.append(run_wrk(cand.ready_url.replace("/health", "/predict"), body, c, duration))
        rb, rk = summarize(x["rps"] for x in b), summarize(x["rps"] for x in k)
        ratio = summarize(y["rps"] / x["rps"] for x, y in zip(b, k))
        lat = lambda xs: f"{summarize(x['p50_ms'] for x in xs).fmt()} / {summarize(x['p99_ms'] for x in xs).fmt()}"
        rows.append(f"| {c} | {rb.fmt(4)} | {rk.fmt(4)} | {ratio.fmt(3)} | {lat(b)} | {lat(k)} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="tools/compare_serving.py", description=__doc__.splitlines()[0])
    p.add_argument("--baseline", required=True, help="git revision of the baseline API")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--duration", type=float, default=8)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="income-compare-"))
    try:
        base_py = checkout(a.baseline, tmp / "baseline")
        bundle = small_bundle(tmp)
        with server(base_py, tmp / "baseline", bundle, a.workers, tmp / "home-base") as base, \
             server(Path(sys.executable), ROOT, bundle, a.workers, tmp / "home-cand") as cand:
            print(f"baseline {a.baseline} vs candidate {ROOT} (HEAD), {a.workers} workers each, {a.runs} rounds of "
                  f"{a.duration:g} s, one record per request\n")
            print(compare(base, cand, a.runs, a.duration))
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tmp / "baseline")], capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
