"""The training command against real components: the session's Prefect server, a real MLflow SQLite store and Optuna storage in a
temporary workspace, real `python -m income_mlops.train` processes, and a real `mlflow models serve` process on 127.0.0.1.

Budgets are tiny (a few trials on a few thousand training rows); the hold-out is always the full 40% split, so runs compare.
"""
import json, os, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
MODEL = "income-classifier"
RECORDS = [
    {"age": 52, "workclass": "Self-emp-inc", "fnlwgt": 287927, "education": "HS-grad", "education-num": 9,
     "marital-status": "Married-civ-spouse", "occupation": "Exec-managerial", "relationship": "Wife", "race": "White",
     "sex": "Female", "capital-gain": 15024, "capital-loss": 0, "hours-per-week": 40, "native-country": "United-States"},
    {"age": 39, "workclass": None, "fnlwgt": 77516, "education": "Bachelors", "education-num": 13,
     "marital-status": "Never-married", "occupation": "Adm-clerical", "relationship": "Not-in-family", "race": "White",
     "sex": "Male", "capital-gain": 2174, "capital-loss": 0, "hours-per-week": 40, "native-country": None},
    {"age": 23, "fnlwgt": 122272, "education": "HS-grad", "education-num": 9, "marital-status": "Never-married",
     "relationship": "Own-child", "race": "White", "sex": "Female", "capital-gain": 0, "capital-loss": 0, "hours-per-week": 30},
]  # a likely >50K, a record with nulls, a record with absent nullable fields


def _env(home: Path, api_url: str) -> dict:
    env = {**os.environ, "INCOME_MLOPS_HOME": str(home), "PREFECT_API_URL": api_url, "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env

def train(home: Path, api_url: str, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    "Run `python -m income_mlops.train ARGS` in workspace `home`; the completed process (text output)."
    cmd = [sys.executable, "-m", "income_mlops.train", "--no-progress", *args]
    return subprocess.run(cmd, cwd=ROOT, env=_env(home, api_url), capture_output=True, text=True, timeout=timeout)

def _client(home: Path):
    import mlflow
    return mlflow.MlflowClient(tracking_uri=f"sqlite:///{home / 'mlflow.db'}")

def _alias(home: Path, alias: str) -> str | None:
    from mlflow.exceptions import MlflowException
    try: return str(_client(home).get_model_version_by_alias(MODEL, alias).version)
    except MlflowException: return None

def _n_versions(home: Path) -> int:
    if not (home / "mlflow.db").exists(): return 0
    return len(_client(home).search_model_versions(f"name='{MODEL}'"))

def _ok(r: subprocess.CompletedProcess):
    assert r.returncode == 0, f"exit {r.returncode}\nstdout:\n{r.stdout[-4000:]}\nstderr:\n{r.stderr[-6000:]}"
    return r

def _stop(proc):
    "SIGTERM a process group started with `start_new_session=True`, SIGKILL after 30 s."
    try: os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError: pass
    try: proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL); proc.wait()

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


@pytest.fixture(scope="module")
def registry(tmp_path_factory, prefect_api_url):
    "A workspace where a first small run registered the champion and a deliberately worse one (300 rows, 1 trial) followed."
    home = tmp_path_factory.mktemp("registry")
    first = _ok(train(home, prefect_api_url, "--trials", "2", "--folds", "2", "--timeout", "0", "--max-train-rows", "3000", "--data-source", "bundled"))
    worse = _ok(train(home, prefect_api_url, "--trials", "1", "--folds", "2", "--timeout", "0", "--max-train-rows", "300", "--data-source", "bundled"))
    return home, first, worse


def test_first_run_registers_champion(registry):
    home, first, _ = registry
    assert "version 1 -> alias 'champion'" in first.stdout, first.stdout
    assert "mlflow ui --backend-store-uri sqlite:///" in first.stdout and "models:/income-classifier@champion" in first.stdout
    c = _client(home)
    mv = c.get_model_version(MODEL, "1")
    run = c.get_run(mv.run_id)
    m, p, t = run.data.metrics, run.data.params, run.data.tags
    for k in ("holdout.roc_auc", "holdout.f1", "holdout.accuracy", "holdout.log_loss", "threshold", "optuna.complete", "time.tuning_s"):
        assert k in m, (k, sorted(m))
    assert p["trials"] == "2" and p["max_train_rows"] == "3000" and p["data_source"] == "bundled" and "xgb.max_depth" in p
    assert t["data.source"] == "bundled" and len(t["data.digest"]) == 16 and "income_mlops.version" in t
    assert t["promotion.alias"] == "champion" and "prefect.flow_run_id" in t
    if (ROOT / ".git").exists(): assert len(t["mlflow.source.git.commit"]) == 40
    inputs = {i.tags[0].value: i.dataset for i in run.inputs.dataset_inputs}
    assert set(inputs) == {"dataset", "train", "holdout"} and inputs["dataset"].digest == t["data.digest"]
    arts = {a.path for a in c.list_artifacts(run.info.run_id)} | {a.path for a in c.list_artifacts(run.info.run_id, "optuna")}
    assert {"model_card.md", "optuna/trials.csv", "bundle_metadata.json"} <= arts, arts
    m0 = 0.85
    assert m["holdout.roc_auc"] > m0


def test_worse_run_does_not_take_champion(registry):
    home, first, worse = registry
    assert "version 2 -> alias 'challenger'" in worse.stdout, worse.stdout
    assert "does not beat champion's" in worse.stdout
    assert _alias(home, "champion") == "1" and _alias(home, "challenger") == "2"
    run = _client(home).get_run(_client(home).get_model_version(MODEL, "2").run_id)
    m = run.data.metrics
    assert m["promotion.candidate_roc_auc"] < m["promotion.champion_roc_auc"]
    assert run.data.tags["promotion.alias"] == "challenger"


def test_mlflow_models_serve_champion(registry):
    "The registered champion, served by `mlflow models serve` (a real process on 127.0.0.1), answers /invocations like its bundle."
    import requests, numpy as np, mlflow
    from income_mlops.bundle import ModelBundle
    home, *_ = registry
    port = _free_port()
    env = {**_env(home, ""), "MLFLOW_TRACKING_URI": f"sqlite:///{home / 'mlflow.db'}"}
    mlflow_cli = Path(sys.executable).with_name("mlflow")
    proc = subprocess.Popen([str(mlflow_cli), "models", "serve", "-m", f"models:/{MODEL}@champion", "--env-manager", "local",
                             "-h", "127.0.0.1", "-p", str(port)], cwd=home, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, f"mlflow models serve exited {proc.returncode}: {proc.stdout.read()[-3000:]}"
            try:
                if requests.get(f"{url}/ping", timeout=2).status_code == 200: break
            except requests.ConnectionError: pass
            assert time.monotonic() < deadline, "mlflow models serve did not answer /ping"
            time.sleep(0.5)
        r = requests.post(f"{url}/invocations", json={"dataframe_records": RECORDS}, timeout=30)
        assert r.status_code == 200, r.text
        preds = r.json()["predictions"]
        src = _client(home).get_run(_client(home).get_model_version(MODEL, "1").run_id).data.tags["bundle.path"]
        bundle = ModelBundle.load(src)
        want = bundle.predict_proba_records(RECORDS)
        assert len(preds) == 3
        np.testing.assert_allclose([p["probability"] for p in preds], want, rtol=1e-6)
        assert [p["class"] for p in preds] == [int(w >= bundle.threshold) for w in want]
        assert [p["label"] for p in preds] == [">50K" if w >= bundle.threshold else "<=50K" for w in want]
        assert preds[0]["probability"] > 0.5 > preds[2]["probability"]
        bad = requests.post(f"{url}/invocations", json={"dataframe_records": [{**RECORDS[0], "age": "old"}]}, timeout=30)
        assert bad.status_code == 400 and "age" in bad.json()["message"]
    finally:
        _stop(proc)


def test_bad_data_fails_in_one_line_and_registers_nothing(registry, tmp_path, prefect_api_url):
    from income_mlops.data import load_bundled
    home, *_ = registry
    before = _n_versions(home)
    bad = load_bundled().head(500)
    bad.loc[3, "race"] = "Martian"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    r = train(home, prefect_api_url, "--trials", "1", "--data-source", str(tmp_path / "bad.csv"))
    assert r.returncode == 1, (r.returncode, r.stdout[-2000:], r.stderr[-3000:])
    last = r.stderr.strip().splitlines()[-1]
    assert last.startswith("income-mlops-train: error: step 'load data' failed: DataError: schema validation failed"), last
    assert "Martian" in last
    assert "Traceback" not in r.stdout + r.stderr
    assert _n_versions(home) == before


@pytest.mark.parametrize("args,msg", [
    (["--trials", "0"], "argument --trials: must be at least 1"),
    (["--timeout", "soon"], "argument --timeout: 'soon' is not a number of seconds"),
    (["--data-source", "/no/such/file.csv"], "neither one of auto, uci, cache, bundled nor an existing file"),
    (["--promotion-metric", "auc"], "invalid choice: 'auc'"),
    (["--serve", "0 3 * * 1"], "--serve needs a Prefect server"),
])
def test_bad_arguments_exit_2_with_one_line(args, msg, tmp_path):
    env = _env(tmp_path, ""); env.pop("PREFECT_API_URL")
    r = subprocess.run([sys.executable, "-m", "income_mlops.train", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.count("\n") == 1 and r.stderr.startswith("income-mlops-train: error: ") and msg in r.stderr, r.stderr
    assert not (tmp_path / "mlflow.db").exists()


def _finished(storage: str) -> dict:
    import optuna
    try: (s,) = optuna.get_all_study_summaries(storage)
    except ValueError: return {}
    study = optuna.load_study(study_name=s.study_name, storage=storage)
    return {t.number: (t.state.name, t.params) for t in study.get_trials(deepcopy=False)}

def _n_finished_sql(db: Path) -> int:
    "Finished trials in an Optuna SQLite file, read directly (cheap enough to poll); 0 while it is being created."
    import sqlite3
    if not db.exists(): return 0
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as con:
            return con.execute("SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'PRUNED')").fetchone()[0]
    except sqlite3.Error: return 0

def _kill(proc):
    try: os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError: pass
    proc.wait()

def test_killed_run_resumes_its_study(tmp_path, prefect_api_url):
    "A run killed (SIGKILL) in the middle of tuning resumes the same Optuna study when the same command runs again."
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    home, storage = tmp_path / "ws", f"sqlite:///{tmp_path / 'ws' / 'optuna.db'}"
    args = ["--trials", "6", "--folds", "2", "--timeout", "0", "--max-train-rows", "2000", "--data-source", "bundled", "--no-register"]
    cmd = [sys.executable, "-m", "income_mlops.train", "--no-progress", *args]
    log = open(tmp_path / "killed-run.log", "w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(home, prefect_api_url), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    deadline = time.monotonic() + 400
    try:
        while _n_finished_sql(home / "optuna.db") < 2:
            assert proc.poll() is None, f"the run ended ({proc.returncode}) before it could be killed mid-tuning: " \
                                        f"{(tmp_path / 'killed-run.log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, "tuning did not finish two trials in time"
            time.sleep(0.2)
    finally:
        _kill(proc); log.close()
    before = _finished(storage)
    kept = {n: v for n, v in before.items() if v[0] in ("COMPLETE", "PRUNED")}
    assert 2 <= len(kept) < 6, before
    r = _ok(train(home, prefect_api_url, *args))
    after = _finished(storage)
    for n, v in kept.items(): assert after[n] == v          # earlier trials kept as they were
    for n, v in before.items():
        if v[0] == "RUNNING": assert after[n][0] == "FAIL"  # the trial the kill interrupted is marked failed
    assert sum(v[0] in ("COMPLETE", "PRUNED") for v in after.values()) == 6
    assert len(optuna.get_all_study_summaries(storage)) == 1  # the same study, not a new one
    assert "Model: not registered" in r.stdout


def test_serve_creates_a_cron_deployment(tmp_path, prefect_api_url):
    "`--serve CRON` registers a scheduled deployment of the flow on the Prefect server and waits for runs."
    import requests
    cron = "17 4 * * 2"
    old = requests.post(f"{prefect_api_url}/deployments/filter",
                        json={"deployments": {"name": {"any_": ["scheduled-retraining"]}}}, timeout=10).json()
    for d in old: requests.delete(f"{prefect_api_url}/deployments/{d['id']}", timeout=10)  # only a fresh one counts
    proc = subprocess.Popen([sys.executable, "-m", "income_mlops.train", "--serve", cron, "--trials", "2", "--folds", "2", "--data-source", "bundled"],
                            cwd=ROOT, env=_env(tmp_path, prefect_api_url), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, f"--serve exited {proc.returncode}: {proc.stdout.read()[-3000:]}"
            r = requests.post(f"{prefect_api_url}/deployments/filter",
                              json={"deployments": {"name": {"any_": ["scheduled-retraining"]}}}, timeout=10)
            deps = r.json() if r.status_code == 200 else []
            if deps: break
            assert time.monotonic() < deadline, "no deployment appeared"
            time.sleep(1)
        (d,) = deps
        assert [s["schedule"].get("cron") for s in d["schedules"]] == [cron]
        assert d["parameters"]["trials"] == 2 and d["parameters"]["data_source"] == "bundled"
    finally:
        _stop(proc)
