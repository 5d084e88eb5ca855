"""Session-wide set-up shared by every test: an isolated workspace, one real Prefect server for all flow tests, and the
`tools` fixture through which a test asks for a system tool (wrk, Chromium) it cannot run without.

The Prefect 3 API server takes 35-45 s to start on a 2-core machine, so it is started once, in the background, when the session
starts (unless `PREFECT_API_URL` already points at one), and every notebook and test that needs it waits on `prefect_api_url`.
"""
import os, shutil, socket, subprocess, sys, tempfile, time
from pathlib import Path
import pytest
from tools.docs import CHROMIUM_INSTALL, find_chromium

ROOT = Path(__file__).resolve().parents[1]
_SERVER = {}
REQUIRE_TOOLS = "INCOME_MLOPS_REQUIRE_TOOLS"   # =1 (CI sets it): a missing system tool fails its tests instead of skipping them
INSTALL = {"wrk": "apt-get install wrk",      # the benchmark's load generator
           "chromium": CHROMIUM_INSTALL}      # the docs' browser check


class Tools:
    """The one place that decides what a test does without a system tool (a key of INSTALL): skip with one line naming the
    tool and how to install it, or, with INCOME_MLOPS_REQUIRE_TOOLS=1 (as `.ci/run` sets), fail, so CI never passes with a
    check skipped."""

    def find(self, name: str) -> str | None:
        "Path of `name` (chromium: `$CHROMIUM` first, then the usual names), or None; fails if it is missing but required."
        path = _which(name)
        if path is None and os.environ.get(REQUIRE_TOOLS) == "1":
            pytest.fail(f"{self.reason(name)} ({REQUIRE_TOOLS}=1)", pytrace=False)
        return path

    def require(self, name: str) -> str:
        "Path of `name`; skips the calling test with `reason(name)` if it is missing (fails if required)."
        path = self.find(name)
        if path is None:
            pytest.skip(self.reason(name))
        return path

    @staticmethod
    def reason(*names: str) -> str:
        "The one line saying which tools are missing and how to install them."
        return "; ".join(f"{n} not found: {INSTALL[n]}" for n in names)


def _which(name: str) -> str | None:
    if name != "chromium":
        return shutil.which(name)
    try:
        return find_chromium()
    except FileNotFoundError:
        return None


@pytest.fixture(scope="session")
def tools() -> Tools:
    "How a test asks for a system tool: `tools.require(\"wrk\")` returns its path or skips; `tools.find` returns None instead."
    return Tools()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0)); return s.getsockname()[1]

def pytest_sessionstart(session):
    home = Path(tempfile.mkdtemp(prefix="income-mlops-test-"))
    _SERVER["home"] = home
    os.environ["INCOME_MLOPS_HOME"] = str(home / "workspace")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    os.environ.setdefault("MPLBACKEND", "Agg")

def pytest_collection_modifyitems(session, config, items):
    "Start the shared Prefect server in the background as soon as we know a selected test needs it."
    if os.environ.get("PREFECT_API_URL") or "proc" in _SERVER: return
    if any("prefect_api_url" in getattr(i, "fixturenames", ()) or "flow" in i.name for i in items): _start_prefect()

def _start_prefect():
    home = _SERVER["home"]
    port = _free_port()
    prefect_home = home / "prefect"
    env = {**os.environ, "PREFECT_HOME": str(prefect_home), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
           "PREFECT_SERVER_UI_ENABLED": "false", "PREFECT_LOGGING_LEVEL": "WARNING"}
    log = open(home / "prefect-server.log", "w")
    prefect = Path(sys.executable).with_name("prefect")
    _SERVER["proc"] = subprocess.Popen([str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                                        "--no-services"], env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
    _SERVER["url"] = f"http://127.0.0.1:{port}/api"
    os.environ["PREFECT_HOME"] = str(prefect_home)
    os.environ["PREFECT_API_URL"] = _SERVER["url"]

def pytest_sessionfinish(session, exitstatus):
    proc = _SERVER.get("proc")
    if proc and proc.poll() is None:
        proc.terminate()
        try: proc.wait(30)
        except subprocess.TimeoutExpired: proc.kill()
    if "home" in _SERVER: shutil.rmtree(_SERVER["home"], ignore_errors=True)

@pytest.fixture(scope="session")
def prefect_api_url():
    "The URL of the session's Prefect server, once it answers `/health`."
    import urllib.request
    url = os.environ["PREFECT_API_URL"]
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        proc = _SERVER.get("proc")
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"Prefect server exited with {proc.returncode}: {(_SERVER['home'] / 'prefect-server.log').read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as r:
                if r.status == 200: return url
        except OSError: time.sleep(0.5)
    pytest.fail(f"Prefect server at {url} did not answer within 180 s")

@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory):
    """A real `ModelBundle` trained by the project's own code on a small budget (10,000 training rows, 2 Optuna trials, 2 folds) and
    saved to a temp dir. Returns a namespace: bundle, path (the saved bundle directory), train and test (the full split)."""
    from types import SimpleNamespace
    from income_mlops.data import load_adult, split_data
    from income_mlops.model import train_model
    train, test = split_data(load_adult("bundled"))
    d = tmp_path_factory.mktemp("small-bundle")
    bundle, _ = train_model(train.sample(10_000, random_state=0), n_trials=2, folds=2, timeout=120,
                            storage=f"sqlite:///{d / 'optuna.db'}", show_progress_bar=False)
    path = bundle.save(d / "bundle")
    return SimpleNamespace(bundle=bundle, path=path, train=train, test=test)
