"""The monitor as a real process: `python -m income_mlops.monitor` exit statuses and messages, and the Prefect flow and schedule
against the session's real Prefect server.

The logs are filled through the real `PredictionLog`, with held-out rows of the Adult data (no drift) or the same rows shifted
by `simulate_drift` (drift on exactly three features). `--model none` keeps these tests independent of a trained champion; the
notebook's worked example covers the prediction-shift part with a real model.
"""
import os, subprocess, sys
from pathlib import Path

import numpy as np
import pytest

from income_mlops.config import workspace
from income_mlops.data import load_adult, split_data
from income_mlops.store import PredictionLog
from income_mlops.monitor_stats import simulate_drift, to_records
from income_mlops.store import latest_status

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def logs(tmp_path_factory):
    "Two prediction logs: held-out rows as they are, and the same number of held-out rows drifted."
    d = tmp_path_factory.mktemp("monitor-logs")
    _, test = split_data(load_adult("bundled"))
    urls = {}
    for name, rows in (("held_out", test.sample(2000, random_state=11)), ("drifted", simulate_drift(test.sample(2000, random_state=12)))):
        urls[name] = f"sqlite:///{d / name}.db"
        with PredictionLog(urls[name]) as pl:
            pl.record(to_records(rows), np.full(len(rows), 0.3), np.zeros(len(rows), int), "test")
    urls["empty"] = f"sqlite:///{d / 'empty'}.db"
    return urls


def monitor(*args, env=None, home=None):
    env = {**os.environ, **(env or {})}
    if home: env["INCOME_MLOPS_HOME"] = str(home)
    return subprocess.run([sys.executable, "-m", "income_mlops.monitor", "--model", "none", "--source", "bundled", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


def one_line_error(r, code, text):
    assert r.returncode == code, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout, r.stderr
    lines = [l for l in r.stderr.splitlines() if l.startswith("income-mlops-monitor: error: ")]
    assert len(lines) == 1 and text in lines[0], r.stderr


def test_cli_no_drift(logs, tmp_path):
    r = monitor("--predictions-url", logs["held_out"], "--no-mlflow", home=tmp_path)
    assert r.returncode == 0, r.stderr
    assert "status: OK" in r.stdout and "drifted features: 0/14" in r.stdout
    st = latest_status(workspace(tmp_path))
    assert st["status"] == "ok" and st["drifted_features"] == [] and Path(st["report"]).is_file()


def test_cli_drift(logs, tmp_path):
    r = monitor("--predictions-url", logs["drifted"], "--no-mlflow", home=tmp_path)
    assert r.returncode == 1, r.stderr
    assert "status: DRIFT" in r.stdout and "ALERT: 3 of 14 features drifted" in r.stdout
    drifted = [l.split()[0] for l in r.stdout.splitlines() if l.rstrip().endswith("DRIFT") and not l.startswith("income-mlops")]
    assert drifted == ["age", "education", "capital-gain"], r.stdout


def test_cli_empty_window(logs, tmp_path):
    one_line_error(monitor("--predictions-url", logs["empty"], "--no-mlflow", home=tmp_path), 2, "no predictions in sqlite:///")
    one_line_error(monitor("--predictions-url", logs["held_out"], "--since", "2099-01-01", "--no-mlflow", home=tmp_path), 2,
                   "no predictions in sqlite:///")
    one_line_error(monitor("--predictions-url", logs["held_out"], "--window", "50", "--no-mlflow", home=tmp_path), 2,
                   "only 50 predictions")
    assert latest_status(workspace(tmp_path))["status"] == "unknown"   # no verdict: no report written


def test_cli_bad_arguments(logs, tmp_path):
    one_line_error(monitor("--predictions-url", logs["held_out"], "--since", "soon", home=tmp_path), 2, "cannot read 'soon' as a time")
    one_line_error(monitor("--alpha", "lots", home=tmp_path), 2, "argument --alpha: invalid float value: 'lots'")
    one_line_error(monitor("--window", "0", home=tmp_path), 2, "argument --window: must be at least 1")
    one_line_error(monitor("--model", str(tmp_path / "no-model"), "--predictions-url", logs["held_out"], home=tmp_path), 2,
                   "cannot load the model")


def test_cli_verdict_survives_a_failed_report(logs, tmp_path):
    "A drifted window still exits 1 when the report cannot be written (here: a file where reports/ should be)."
    (tmp_path / "reports").write_text("not a directory")
    r = monitor("--predictions-url", logs["drifted"], "--no-mlflow", home=tmp_path)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "status: DRIFT" in r.stdout and "WARNING: report not written" in r.stdout and "Traceback" not in r.stderr


def test_cli_verdict_survives_mlflow_down(logs, tmp_path):
    "A drifted window still exits 1 when the MLflow tracking server cannot be reached; the report is written."
    env = {"MLFLOW_TRACKING_URI": "http://127.0.0.1:9", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
    r = monitor("--predictions-url", logs["drifted"], home=tmp_path, env=env)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "WARNING: not logged to MLflow" in r.stdout and "Traceback" not in r.stderr, r.stdout
    assert latest_status(workspace(tmp_path))["status"] == "drift"


def test_flow_and_schedule(logs, tmp_path, prefect_api_url):
    "As a Prefect flow: Failed on drift or no verdict, Completed without drift; the Markdown artifact; the cron deployment."
    r = monitor("--flow", "--predictions-url", logs["drifted"], "--no-mlflow", home=tmp_path)   # the CLI's exit status
    assert r.returncode == 1, r.stderr[-3000:]

    from income_mlops.monitor import _get_flow
    flow = _get_flow()
    kw = dict(model="none", source="bundled", mlflow=False, return_state=True)
    ok = flow(predictions_url=logs["held_out"], **kw)
    assert ok.is_completed() and ok.result()["status"] == "ok"
    empty = flow(predictions_url=logs["empty"], **kw)
    assert empty.is_failed() and empty.message.startswith("no verdict: no predictions in sqlite:///")

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    with get_client(sync_client=True) as client:
        arts = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=["income-monitor"])))
        assert sorted(a.data.splitlines()[0] for a in arts) == ["# Monitoring: **DRIFT**", "# Monitoring: no drift"]
        states = sorted(fr.state.type.value for fr in client.read_flow_runs() if fr.state)
        assert states.count("FAILED") >= 2 and states.count("COMPLETED") >= 1, states
        failed = [fr.state.message for fr in client.read_flow_runs() if fr.state and fr.state.is_failed()]
        assert any(m.startswith("drift: 3 of 14 features drifted") for m in failed), failed

    from prefect.flows import load_flow_from_entrypoint
    from income_mlops.monitor import schedule_deployment
    dep = schedule_deployment("0 6 * * *", since="24h", model="none")
    assert dep.entrypoint == "income_mlops.monitor.monitor_flow"
    assert load_flow_from_entrypoint(dep.entrypoint).name == "income-monitor"
    assert dep.schedules[0].schedule.cron == "0 6 * * *" and dep.parameters == {"since": "24h", "model": "none"}
    dep_id = dep.apply()
    with get_client(sync_client=True) as client:
        d = client.read_deployment(dep_id)
        assert d.name == "income-monitor-schedule" and d.schedules[0].schedule.cron == "0 6 * * *"
    from prefect.logging.handlers import APILogWorker
    APILogWorker.drain_all(timeout=30)   # send this process's flow-run logs now, while the server is still up
