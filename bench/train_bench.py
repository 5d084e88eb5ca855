"""Default training wall time and seconds per Optuna trial, as a Markdown table.

    uv run python bench/train_bench.py [--trials N] [--timeout S] [--nthreads 1,2] [--repeats K]

Trains from scratch (fresh in-memory Optuna studies, nothing resumed) on the seed's 60% training split of the bundled data, once
per thread count and repeat, side by side, and prints one row per run plus the median per thread count.
"""
import argparse, sys, time

def main(argv=None):
    from income_mlops.model import DEFAULT_TRIALS, DEFAULT_TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=DEFAULT_TRIALS)
    ap.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    ap.add_argument("--nthreads", default="1,2", help="comma-separated XGBoost thread counts")
    ap.add_argument("--repeats", type=int, default=1)
    a = ap.parse_args(argv)
    t0 = time.perf_counter()
    from income_mlops.data import load_adult, split_data
    from income_mlops.model import benchmark, markdown_table
    import_s = time.perf_counter() - t0
    train, _ = split_data(load_adult("bundled"))
    runs = benchmark(train, a.trials, a.timeout, tuple(int(x) for x in a.nthreads.split(",")), a.repeats)
    print(f"default budget: n_trials={a.trials}, timeout={a.timeout:g}s; imports {import_s:.1f}s\n")
    print(markdown_table(runs))
    if a.repeats > 1:
        med = runs.drop(columns="run").groupby("nthread").median().reset_index()
        print("\nmedian per thread count:\n"); print(markdown_table(med))

if __name__ == "__main__":
    sys.exit(main())
