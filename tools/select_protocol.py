"""The second protocol of issue 13: model selection measured on rows the 60/40 hold-out never sees.

Inside the seed-42 training part only, for each inner seed: a stratified 60/40 inner split (inner training rows, inner test
rows); every arm trains on the inner training rows and is scored once on the inner test rows (ROC-AUC, log loss, F1 at the
arm's own threshold). Arms: the 5-fold cross-validated search (log loss or ROC-AUC objective; final model averaged or refit),
the former single-split search (income_mlops/model.py at commit f9130bf, loaded from git: 100 trials, one 80/20 validation
part), and untuned XGBoost (single split, and 5-fold averaged).

    uv run python tools/select_protocol.py 1,2,3      # about 30 minutes of wall time on a busy 2-core machine
"""
import importlib.util, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import f1_score, log_loss, roc_auc_score

import income_mlops.model as M
from income_mlops.data import load_adult, split_data
from income_mlops.utils import markdown_table

BEFORE = "f9130bf"  # the last commit with the single-split search


def before_module():
    "income_mlops/model.py as of `BEFORE`, imported as income_mlops._model_before (its relative imports resolve in the package)."
    root = Path(__file__).resolve().parents[1]
    src = subprocess.run(["git", "-C", str(root), "show", f"{BEFORE}:income_mlops/model.py"], check=True, capture_output=True,
                         text=True).stdout
    path = Path(tempfile.mkdtemp()) / "model_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("income_mlops._model_before", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def score(rows, seed, arm, y, p, threshold, cpu):
    rows.append({"seed": seed, "arm": arm, "roc_auc": roc_auc_score(y, p), "log_loss": log_loss(y, p),
                 "f1": f1_score(y, p >= threshold), "cpu_s": cpu})
    print(rows[-1], flush=True)


def run(seeds):
    old = before_module()
    train, _ = split_data(load_adult("bundled"))   # the hold-out is dropped here and never used
    rows = []
    for seed in seeds:
        itrain, itest = split_data(train, 0.4, seed)
        y = itest["income"].to_numpy()
        data = M.TrainingData.build(itrain, 5, seed)
        X = data.preprocessor.transform(itest)
        t = time.process_time()
        b, cv = M.final_model(M.booster_params(None, seed), data, "average")
        score(rows, seed, "untuned, 5 folds averaged", y, b.inplace_predict(X), M.choose_threshold(data.y, cv.oof), time.process_time() - t)
        for objective in ("log_loss", "roc_auc"):
            t = time.process_time()
            study = M.tune(None, n_trials=M.DEFAULT_TRIALS, timeout=None, seed=seed, storage=optuna.storages.InMemoryStorage(),
                           data=data, objective=objective, show_progress_bar=False)
            tuned = time.process_time() - t
            for final in M.FINAL_MODELS:
                t = time.process_time()
                b, cv = M.final_model(M.best_params(study), data, final)
                score(rows, seed, f"CV search, {objective}, {final}", y, b.inplace_predict(X), M.choose_threshold(data.y, cv.oof),
                      tuned + time.process_time() - t)
        t = time.process_time()
        bundle, _ = old.train_model(itrain, n_trials=100, timeout=None, seed=seed, storage=optuna.storages.InMemoryStorage(),
                                    show_progress_bar=False)
        score(rows, seed, "single-split search (before)", y, bundle.predict_proba(itest), bundle.threshold, time.process_time() - t)
        fit, valid = old.validation_split(itrain, seed=seed)
        d = old.TrainingData.build(fit, valid)
        t = time.process_time()
        b = old.fit_booster(old.booster_params(None, seed), d)
        score(rows, seed, "untuned, single split", y, b.inplace_predict(d.preprocessor.transform(itest)),
              old.choose_threshold(d.y_valid, b.inplace_predict(d.X_valid)), time.process_time() - t)
    df = pd.DataFrame(rows)
    print(markdown_table(df.groupby("arm")[["roc_auc", "log_loss", "f1", "cpu_s"]].mean().sort_values("log_loss"), index=True))
    return df


if __name__ == "__main__":
    run([int(s) for s in (sys.argv[1] if len(sys.argv) > 1 else "1,2,3").split(",")])
