"""The prediction API as a client sees it: a real `python -m income_mlops.api` process (gunicorn, 2 workers) on 127.0.0.1,
driven with `requests`, serving a real bundle trained by the project's own code (the `small_bundle` fixture in conftest.py).

Covers: health, model info, the example request round trip, a high- and a low-income person (real hold-out rows whose
probability is far from the threshold), batches (checked against in-process scoring), explanations, every class of bad input
(400, 401, 404, 405, 413, 415, 422), start-up refusals (missing, tampered, unregistered model), the default MLflow-registry path,
request logging and the prediction log (flushed on SIGTERM), Prometheus metrics across workers, and schemathesis against the
live /openapi.json.
"""
import json, os, re, shutil, signal, socket, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import requests

from income_mlops.config import EXAMPLE_RECORD, FEATURES, FEATURE_NAMES, MODEL_NAME

pytestmark = pytest.mark.timeout(600)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]


class Server:
    "One `python -m income_mlops.api` process on 127.0.0.1 with its log in a file."
    def __init__(self, tmp: Path, *args, env: dict | None = None, name: str = "api"):
        self.args, self.env, self.log_path, self.binds_left = args, env, tmp / f"{name}.log", 3
        self._start()

    def _start(self):
        "Start on a free port. Another process may take the port before gunicorn binds it: `wait_ready` then retries."
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "income_mlops.api", "--host", "127.0.0.1", "--port", str(self.port),
                                      *map(str, self.args)], env={**os.environ, **(self.env or {})}, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.binds_left -= 1

    def url(self, path: str) -> str: return self.base + path

    @property
    def log(self) -> str: return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 240) -> "Server":
        "Wait until /health answers 200; on any failure stop the process (never leave a server behind) and fail."
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    if "Address already in use" in self.log and self.binds_left > 0:
                        self._log.close(); self._start(); continue
                    pytest.fail(f"server exited with {self.proc.returncode}:\n{self.log[-4000:]}")
                try:
                    if requests.get(self.url("/health"), timeout=5).status_code == 200: return self
                except requests.RequestException: pass
                time.sleep(0.3)
            pytest.fail(f"server not healthy within {timeout} s:\n{self.log[-4000:]}")
        except BaseException:
            self.stop(); raise

    def stop(self, timeout: float = 60) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try: self.proc.wait(timeout)
            except subprocess.TimeoutExpired: self.proc.kill(); self.proc.wait()
        self._log.close()
        return self.proc.returncode


def to_record(row: pd.Series) -> dict:
    "A hold-out row as a JSON record: ints for numbers, strings for categories, None for missing."
    rec = {}
    for f in FEATURES:
        v = row[f.name]
        rec[f.name] = None if pd.isna(v) else (int(v) if f.kind == "numeric" else str(v))
    return rec


@pytest.fixture(scope="module")
def holdout(small_bundle):
    "Hold-out records with their true labels and the bundle's in-process probabilities (pandas path)."
    test = small_bundle.test.head(2000).reset_index(drop=True)
    return test, [to_record(r) for _, r in test.iterrows()], small_bundle.bundle.predict_proba(test)


@pytest.fixture(scope="module")
def server(small_bundle, tmp_path_factory):
    "The server used by most tests: the small bundle, 2 workers, a prediction log in a temp SQLite file."
    tmp = tmp_path_factory.mktemp("api")
    s = Server(tmp, "--model", small_bundle.path, "--workers", 2, "--predictions-url", f"sqlite:///{tmp / 'predictions.db'}",
               "--max-records", 500)
    yield s.wait_ready()
    s.stop()


def check_error(r: requests.Response, status: int, code: str | None = None) -> dict:
    "A JSON error with this status: message, details list, request id; never a traceback."
    assert r.status_code == status, (r.status_code, r.text[:500])
    assert r.headers["Content-Type"].startswith("application/json"), r.headers
    assert "Traceback" not in r.text and 'File "' not in r.text
    body = r.json()
    assert body["status"] == status and body["message"] and isinstance(body["details"], list) and body["request_id"]
    if code: assert body["error"] == code, body
    return body


# ---------------------------------------------------------------------------------------------------------------- happy paths
def test_health(server, small_bundle):
    r = requests.get(server.url("/health"), timeout=10)
    assert r.status_code == 200
    h = r.json()
    assert h["status"] == "ok" and h["model"] == MODEL_NAME and h["version"]
    assert h["threshold"] == pytest.approx(small_bundle.bundle.threshold)


def test_model_info(server, small_bundle):
    info = requests.get(server.url("/model_info"), timeout=10).json()
    md = small_bundle.bundle.metadata
    assert info["name"] == MODEL_NAME and info["threshold"] == pytest.approx(small_bundle.bundle.threshold)
    assert info["version"] == small_bundle.bundle.digest[:12]          # no registry: the manifest's digest
    assert info["source"] == str(Path(small_bundle.path).resolve()) and info["created"] == md["created"]
    assert [f["name"] for f in info["features"]] == list(FEATURE_NAMES)
    sex = next(f for f in info["features"] if f["name"] == "sex")
    assert sex["categories"] == ["Female", "Male"]
    assert info["limits"] == {"max_records": 500, "max_body": 2 * 1024 * 1024}
    assert "threshold" in info["confidence"] and info["metadata"]["num_trees"] == md["num_trees"]


def test_example_request_round_trip(server, small_bundle):
    example = requests.get(server.url("/example_request"), timeout=10).json()
    assert set(example) == set(FEATURE_NAMES)
    r = requests.post(server.url("/predict"), json=example, timeout=10)
    assert r.status_code == 200, r.text
    p = r.json()
    assert set(p) == {"label", "class", "probability", "threshold", "confidence", "model_version"}
    expected = float(small_bundle.bundle.predict_proba_records([example])[0])
    assert p["probability"] == pytest.approx(expected, abs=2e-6)
    assert p["class"] == int(expected >= small_bundle.bundle.threshold) and p["label"] == (">50K" if p["class"] else "<=50K")
    assert 0 <= p["confidence"] <= 1 and p["model_version"] == small_bundle.bundle.digest[:12]


def test_high_and_low_income(server, holdout):
    "Real hold-out people the model is sure about, one on each side: the API gives the right label, with high confidence."
    test, records, proba = holdout
    y = test["income"].to_numpy()
    hi = int(np.argmax(np.where(y == 1, proba, -1)))
    lo = int(np.argmin(np.where(y == 0, proba, 2)))
    assert proba[hi] > 0.9 and proba[lo] < 0.05, (proba[hi], proba[lo])
    for i, label in ((hi, ">50K"), (lo, "<=50K")):
        r = requests.post(server.url("/predict"), json=records[i], timeout=10)
        assert r.status_code == 200, r.text
        p = r.json()
        assert p["label"] == label and p["class"] == int(label == ">50K"), (records[i], p)
        assert p["probability"] == pytest.approx(float(proba[i]), abs=2e-6) and p["confidence"] > 0.8


def test_batch_matches_in_process_scoring(server, holdout):
    test, records, proba = holdout
    r = requests.post(server.url("/predict"), json={"records": records[:300]}, timeout=30)
    assert r.status_code == 200, r.text[:500]
    body = r.json()
    assert body["count"] == 300 and len(body["predictions"]) == 300
    got = np.array([p["probability"] for p in body["predictions"]])
    np.testing.assert_allclose(got, proba[:300], atol=2e-6)               # same order, same numbers as the pandas path
    assert {p["model_version"] for p in body["predictions"]} == {body["model_version"]}


def test_missing_values_and_underscore_names(server, small_bundle):
    rec = {k.replace("-", "_"): v for k, v in EXAMPLE_RECORD.items() if k not in ("workclass", "occupation")}
    rec["native_country"] = None
    r = requests.post(server.url("/predict"), json=rec, timeout=10)
    assert r.status_code == 200, r.text
    hyph = {**EXAMPLE_RECORD, "workclass": None, "occupation": None, "native-country": None}
    assert r.json()["probability"] == pytest.approx(float(small_bundle.bundle.predict_proba_records([hyph])[0]), abs=2e-6)


def test_explain(server, small_bundle):
    r = requests.post(server.url("/predict?explain=true&top=3"), json={"records": [EXAMPLE_RECORD] * 2}, timeout=10)
    assert r.status_code == 200, r.text
    for p in r.json()["predictions"]:
        c = p["contributions"]
        assert len(c) == 3 and all(set(x) == {"feature", "value", "contribution"} for x in c)
        assert [abs(x["contribution"]) for x in c] == sorted((abs(x["contribution"]) for x in c), reverse=True)
        for x in c:
            if x["feature"] in EXAMPLE_RECORD: assert x["value"] == EXAMPLE_RECORD[x["feature"]]
    plain = requests.post(server.url("/predict?explain=false"), json=EXAMPLE_RECORD, timeout=10).json()
    assert "contributions" not in plain


# ---------------------------------------------------------------------------------------------------------------- bad input
BAD = [  # (id, method, path, requests kwargs, status, error code)
    ("malformed-json", "post", "/predict", dict(data=b'{"age": 39,', headers={"Content-Type": "application/json"}), 400, "bad_request"),
    ("empty-body", "post", "/predict", dict(data=b"", headers={"Content-Type": "application/json"}), 400, "bad_request"),
    ("not-utf8", "post", "/predict", dict(data=b"\xff\xfe\x00", headers={"Content-Type": "application/json"}), 400, "bad_request"),
    ("text-plain", "post", "/predict", dict(data=json.dumps(EXAMPLE_RECORD), headers={"Content-Type": "text/plain"}), 415, "unsupported_media_type"),
    ("form", "post", "/predict", dict(data={"age": "39"}), 415, "unsupported_media_type"),
    ("unknown-category", "post", "/predict", dict(json={**EXAMPLE_RECORD, "education": "PhD"}), 422, "validation_error"),
    ("out-of-range", "post", "/predict", dict(json={**EXAMPLE_RECORD, "age": 250}), 422, "validation_error"),
    ("wrong-type", "post", "/predict", dict(json={**EXAMPLE_RECORD, "hours-per-week": "forty"}), 422, "validation_error"),
    ("missing-field", "post", "/predict", dict(json={k: v for k, v in EXAMPLE_RECORD.items() if k != "age"}), 422, "validation_error"),
    ("unknown-field", "post", "/predict", dict(json={**EXAMPLE_RECORD, "salary": 1}), 422, "validation_error"),
    ("null-not-nullable", "post", "/predict", dict(json={**EXAMPLE_RECORD, "sex": None}), 422, "validation_error"),
    ("json-array", "post", "/predict", dict(json=[EXAMPLE_RECORD]), 422, "validation_error"),
    ("empty-batch", "post", "/predict", dict(json={"records": []}), 422, "validation_error"),
    ("batch-too-large", "post", "/predict", dict(json={"records": [EXAMPLE_RECORD] * 501}), 422, "validation_error"),
    ("bad-record-in-batch", "post", "/predict", dict(json={"records": [EXAMPLE_RECORD, {**EXAMPLE_RECORD, "race": "Martian"}]}), 422, "validation_error"),
    ("bad-explain", "post", "/predict?explain=please", dict(json=EXAMPLE_RECORD), 422, "validation_error"),
    ("bad-top", "post", "/predict?explain=true&top=99", dict(json=EXAMPLE_RECORD), 422, "validation_error"),
    ("unknown-route", "get", "/predictions", {}, 404, "not_found"),
    ("get-predict", "get", "/predict", {}, 405, "method_not_allowed"),
    ("post-health", "post", "/health", dict(json={}), 405, "method_not_allowed"),
]

@pytest.mark.parametrize("name,method,path,kw,status,code", BAD, ids=[b[0] for b in BAD])
def test_bad_input(server, name, method, path, kw, status, code):
    body = check_error(getattr(requests, method)(server.url(path), timeout=30, **kw), status, code)
    if name == "unknown-category":
        d = body["details"][0]
        assert d["field"] == "education" and d["input"] == "PhD" and "Doctorate" in d["allowed"]
    if name == "bad-record-in-batch": assert body["details"][0]["field"] == "records.1.race"
    if name == "missing-field": assert body["details"][0] == {"field": "age", "message": "Field required", "type": "missing"}


def test_body_too_large(server):
    "A body over --max-body is refused with 413 before it is parsed; the server stays healthy."
    big = json.dumps({"records": [EXAMPLE_RECORD] * 7000}).encode()       # ~2.7 MB > 2 MiB
    check_error(requests.post(server.url("/predict"), data=big, headers={"Content-Type": "application/json"}, timeout=30),
                413, "payload_too_large")
    def chunks():                                                           # no Content-Length: chunked transfer
        for i in range(0, len(big), 65536): yield big[i:i + 65536]
    check_error(requests.post(server.url("/predict"), data=chunks(), headers={"Content-Type": "application/json"}, timeout=30),
                413, "payload_too_large")
    assert requests.get(server.url("/health"), timeout=10).status_code == 200


def test_request_logging_and_metrics(server):
    "Each request is one JSON line in the server log (with its request id); /metrics adds up both workers."
    ids, pids = [], set()
    with ThreadPoolExecutor(4) as ex:   # until both workers have answered (each request opens its own connection)
        for k in range(0, 400, 20):
            batch = [f"test-log-{i}" for i in range(k, k + 20)]
            rs = list(ex.map(lambda rid: requests.post(server.url("/predict"), json=EXAMPLE_RECORD, timeout=10,
                                                       headers={"X-Request-ID": rid}), batch))
            assert [r.status_code for r in rs] == [200] * 20
            ids += batch
            pids |= {int(m) for m in re.findall(r"\[(\d+)\] income_mlops\.api\.access", server.log)}
            if len(pids) == 2: break
    r = requests.post(server.url("/predict"), data=b"{", headers={"Content-Type": "application/json", "X-Request-ID": "test-log-bad"}, timeout=10)
    assert r.headers["X-Request-ID"] == "test-log-bad" and r.json()["request_id"] == "test-log-bad"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and "test-log-bad" not in server.log: time.sleep(0.2)
    lines = [json.loads(l.split("income_mlops.api.access: ", 1)[1]) for l in server.log.splitlines() if "income_mlops.api.access: " in l]
    by_id = {l["request_id"]: l for l in lines}
    assert all(by_id[i]["status"] == 200 and by_id[i]["path"] == "/predict" and by_id[i]["records"] == 1 for i in ids)
    assert by_id["test-log-bad"]["status"] == 400 and by_id["test-log-bad"]["ms"] >= 0
    metrics = requests.get(server.url("/metrics"), timeout=10).text
    n = sum(float(m) for m in re.findall(r'income_api_requests_total\{endpoint="/predict",method="POST",status="200"\} (\S+)', metrics))
    total_logged = sum(1 for l in lines if l["path"] == "/predict" and l["status"] == 200)
    assert n == total_logged, (n, total_logged)          # every worker's count is in the sum
    assert len(pids) == 2, pids                           # and both workers did serve
    assert re.search(r'income_api_errors_total\{endpoint="/predict",error="bad_request"\} [1-9]', metrics)
    assert re.search(r'income_api_predictions_total\{label="(>50K|<=50K)"\} [1-9]', metrics)
    assert 'income_api_request_duration_seconds_bucket{endpoint="/predict",le="0.001"}' in metrics


def test_auth(small_bundle, tmp_path):
    s = Server(tmp_path, "--model", small_bundle.path, "--workers", 1, "--no-record",
               env={"INCOME_MLOPS_API_TOKEN": "s3cret-token"}).wait_ready()
    try:
        check_error(requests.post(s.url("/predict"), json=EXAMPLE_RECORD, timeout=10), 401, "unauthorized")
        check_error(requests.post(s.url("/predict"), json=EXAMPLE_RECORD, headers={"Authorization": "Bearer nope"}, timeout=10), 401)
        check_error(requests.get(s.url("/model_info"), headers={"Authorization": "s3cret-token"}, timeout=10), 401)
        check_error(requests.get(s.url("/metrics"), timeout=10), 401)
        ok = requests.post(s.url("/predict"), json=EXAMPLE_RECORD, headers={"Authorization": "Bearer s3cret-token"}, timeout=10)
        assert ok.status_code == 200, ok.text
        assert requests.get(s.url("/health"), timeout=10).status_code == 200            # probes need no token
        doc = requests.get(s.url("/openapi.json"), timeout=10).json()
        assert doc["paths"]["/predict"]["post"]["security"] == [{"bearerAuth": []}]
    finally: s.stop()


# ---------------------------------------------------------------------------------------------------------------- lifecycle
def test_prediction_log_flushed_on_shutdown(small_bundle, holdout, tmp_path):
    "Every prediction served is in the prediction log after a SIGTERM (graceful shutdown flushes each worker's queue)."
    from income_mlops.store import PredictionLog
    test, records, proba = holdout
    url = f"sqlite:///{tmp_path / 'predictions.db'}"
    s = Server(tmp_path, "--model", small_bundle.path, "--workers", 2, "--predictions-url", url).wait_ready()
    with ThreadPoolExecutor(4) as ex:
        singles = list(ex.map(lambda rec: requests.post(s.url("/predict"), json=rec, timeout=10).json(), records[:60]))
    batch = requests.post(s.url("/predict"), json={"records": records[60:260]}, timeout=30).json()
    assert s.stop() == 0
    assert "Traceback" not in s.log
    logged = PredictionLog(url).read()
    assert len(logged) == 260
    assert set(logged["model_version"]) == {small_bundle.bundle.digest[:12]}
    np.testing.assert_allclose(np.sort(logged["probability"].to_numpy()), np.sort(proba[:260]), atol=2e-6)
    assert sorted(logged["age"].astype(int)) == sorted(r["age"] for r in records[:260])
    assert len(singles) == 60 and batch["count"] == 200


def worker_pids(pid: int) -> set[int]:
    "The gunicorn workers of master `pid` (its child processes, from /proc)."
    kids = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        kids |= {int(k) for k in (task / "children").read_text().split()}
    return kids


def test_worker_restart_keeps_serving(small_bundle, tmp_path):
    """A worker that exits gracefully (as on max-requests or a TERM to that worker) must not take the server's shared state
    with it: the replacement boots, metrics and predictions keep working, and the server still shuts down cleanly.
    (Regression: the master's clean-up of its temp dirs ran in every forked worker at exit.)"""
    s = Server(tmp_path, "--model", small_bundle.path, "--workers", 2, "--no-record").wait_ready()
    try:
        before = worker_pids(s.proc.pid)
        assert len(before) == 2
        os.kill(min(before), signal.SIGTERM)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and (len(worker_pids(s.proc.pid)) < 2 or min(before) in worker_pids(s.proc.pid)):
            assert s.proc.poll() is None, f"the server died when one worker exited:\n{s.log[-4000:]}"
            time.sleep(0.2)
        after = worker_pids(s.proc.pid)
        assert len(after) == 2 and min(before) not in after, s.log[-4000:]
        time.sleep(1)   # let the new worker finish booting
        for _ in range(20):   # both workers answer (connections are spread by the kernel)
            assert requests.post(s.url("/predict"), json=EXAMPLE_RECORD, timeout=10).status_code == 200
            assert requests.get(s.url("/metrics"), timeout=10).status_code == 200
    finally:
        code = s.stop()
    assert code == 0, s.log[-4000:]
    assert "Traceback" not in s.log, s.log[-4000:]


def run_cli(*args, env=None, timeout=240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "income_mlops.api", "--port", str(free_port()), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})


def test_startup_refuses_missing_and_tampered_models(small_bundle, tmp_path):
    r = run_cli("--model", tmp_path / "no-such-bundle")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "income-mlops-api: error: no model at" in r.stderr
    bad = Path(shutil.copytree(small_bundle.path, tmp_path / "tampered"))
    data = bytearray((bad / "model.ubj").read_bytes()); data[len(data) // 2] ^= 0xFF
    (bad / "model.ubj").write_bytes(bytes(data))
    r = run_cli("--model", bad)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "income-mlops-api: error: cannot load the model bundle" in r.stderr and "tampered" in r.stderr
    (bad / "model.ubj").unlink()
    r = run_cli("--model", bad)
    assert r.returncode == 2 and "model.ubj is missing" in r.stderr and "Traceback" not in r.stderr
    r = run_cli("--workers", "0")
    assert r.returncode == 2 and "must be at least 1" in r.stderr and "Traceback" not in r.stderr


def test_startup_refuses_unregistered_model(tmp_path):
    "The default model is the registry's champion; with none registered, start-up stops with a clear message."
    r = run_cli(env={"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'empty-mlflow.db'}"})
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert f"cannot fetch models:/{MODEL_NAME}@champion" in r.stderr and "income-mlops-train" in r.stderr


def test_serves_registry_champion(small_bundle, tmp_path):
    "Log the bundle as the flow does (pyfunc with the bundle as an artifact), register it as champion, serve the default."
    import mlflow
    from income_mlops.registry import log_pyfunc
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    try:
        exp = mlflow.create_experiment("api-test", artifact_location=(tmp_path / "artifacts").as_uri())
        with mlflow.start_run(experiment_id=exp) as run:
            info = log_pyfunc(small_bundle.path)
        mv = mlflow.register_model(info.model_uri, MODEL_NAME)
        mlflow.MlflowClient().set_registered_model_alias(MODEL_NAME, "champion", mv.version)
    finally: mlflow.set_tracking_uri(None)
    s = Server(tmp_path, "--workers", 1, "--no-record", env={"MLFLOW_TRACKING_URI": uri}).wait_ready()
    try:
        info = requests.get(s.url("/model_info"), timeout=10).json()
        assert (info["version"], info["alias"], info["run_id"]) == (str(mv.version), "champion", run.info.run_id)
        assert info["source"] == f"models:/{MODEL_NAME}@champion"
        p = requests.post(s.url("/predict"), json=EXAMPLE_RECORD, timeout=10).json()
        assert p["model_version"] == str(mv.version)
        assert p["probability"] == pytest.approx(float(small_bundle.bundle.predict_proba_records([EXAMPLE_RECORD])[0]), abs=2e-6)
    finally: s.stop()


# ---------------------------------------------------------------------------------------------------------------- imports
NOT_SERVED_WITH = ("prefect", "optuna", "sklearn", "seaborn", "matplotlib")
COMPILED_NOT_SERVED_WITH = re.compile(r"/(sklearn|scikit_learn\.libs|matplotlib|seaborn|optuna|prefect)/")


def imported_packages(text: str) -> set[str]:
    """The top-level packages of the modules that `python -v` says were loaded in `text` (its `import 'NAME' # <loader>`
    lines, one per module a process loads). An import refused because `sys.modules` holds None (how the server hides
    scikit-learn from xgboost) loads nothing and prints no such line."""
    return {m.group(1).split(".")[0] for m in re.finditer(r"^import '([\w.]+)' # <", text, re.M)}


def mapped_files(pid: int) -> set[str]:
    "The files mapped into process `pid`'s memory: its executable and every shared library and compiled extension loaded."
    rows = (line.split(None, 5) for line in Path(f"/proc/{pid}/maps").read_text().splitlines())
    return {r[5] for r in rows if len(r) == 6 and r[5].startswith("/")}


def test_serving_imports_only_what_it_serves_with(small_bundle, tmp_path):
    """After serving predictions, neither the gunicorn master nor any worker has imported prefect, optuna, scikit-learn,
    seaborn or matplotlib. Two witnesses of a real server: `PYTHONVERBOSE=1` (python -v) makes every process -- the
    master and, after the fork, each worker -- write a line to stderr for each module it loads; and /proc/PID/maps of the master and of each worker lists every compiled extension it has loaded."""
    s = Server(tmp_path, "--model", small_bundle.path, "--workers", 2, "--predictions-url", f"sqlite:///{tmp_path / 'p.db'}",
               env={"PYTHONVERBOSE": "1"}, name="imports").wait_ready()
    try:
        for k in range(40):   # single records, a batch and explanations, over fresh connections: both workers serve
            r = requests.post(s.url("/predict?explain=true" if k % 3 else "/predict"),
                              json={"records": [EXAMPLE_RECORD] * 3} if k % 2 else EXAMPLE_RECORD, timeout=10)
            assert r.status_code == 200, r.text
        assert requests.get(s.url("/model_info"), timeout=10).status_code == 200
        assert requests.get(s.url("/metrics"), timeout=10).status_code == 200
        log = s.log                    # read while serving: the master imports more once it is told to stop
        procs = {"master": s.proc.pid, **{f"worker {p}": p for p in worker_pids(s.proc.pid)}}
        maps = {name: mapped_files(pid) for name, pid in procs.items()}
    finally: s.stop()
    assert len(procs) == 3, procs
    before_fork, _, after_fork = log.partition("Booting worker with pid")
    # the witnesses see what they should: xgboost and flask imported (by the master), modules first imported after the
    # fork (by the workers: the prediction log's SQLite driver), and xgboost's library mapped in every process
    assert {"xgboost", "flask", "gunicorn"} <= imported_packages(before_fork), sorted(imported_packages(before_fork))
    assert "sqlite3" in imported_packages(after_fork), sorted(imported_packages(after_fork))
    for name, files in maps.items():
        assert any("libxgboost" in f for f in files), f"{name}: xgboost's library not mapped"
    assert not imported_packages(log) & set(NOT_SERVED_WITH), sorted(imported_packages(log) & set(NOT_SERVED_WITH))
    for name, files in maps.items():
        assert not [f for f in files if COMPILED_NOT_SERVED_WITH.search(f)], (name, sorted(files))


# ---------------------------------------------------------------------------------------------------------------- schemathesis
def test_schemathesis(server, tmp_path):
    "Property-based tests from the live OpenAPI document: no 5xx, every response conforms, bad data rejected, good accepted."
    st = Path(sys.executable).with_name("schemathesis")
    r = subprocess.run([str(st), "--no-color", "run", server.url("/openapi.json"), "--checks", "all", "--max-examples", "25", "--seed", "42",
                        "--workers", "2", "--generation-database", "none", "--phases", "examples,coverage,fuzzing",
                        "--request-timeout", "30"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=480)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-6000:]
    assert "5 selected / 5 total" in out and "No issues found" in out, out[-3000:]
    assert "Traceback" not in server.log
