"""Run every notebook's tests with `nbdev_test`, one pytest test per notebook, so one command runs the whole suite.

`INCOME_MLOPS_TEST_FLAGS` chooses which `tst_flags` cells run (default: all of them, as CI does); set it to "" for the quick loop.
Notebooks whose name is listed in NEEDS_PREFECT wait for the session's shared Prefect server first. A flag named after a system
tool (TOOL_FLAGS: `wrk`) marks the cells that need it: when the tool is missing those cells are left out, the rest of the
notebook runs, and the test reports itself skipped with the tool's one-line reason (a failure under INCOME_MLOPS_REQUIRE_TOOLS=1).
"""
import itertools, json, os, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "nbs").glob("[0-9]*.ipynb"))
FLAGS = os.environ.get("INCOME_MLOPS_TEST_FLAGS", "slow train server wrk")
NEEDS_PREFECT = ("flow",)
TOOL_FLAGS = ("wrk",)   # test flags that name the system tool their cells need


def cell_flags(nb: str) -> set:
    "The bare `#| name` directives (no value) at the top of the code cells of notebook `nb`: test flags and the like."
    used = set()
    for c in json.loads((ROOT / "nbs" / nb).read_text())["cells"]:
        src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
        lines = src.splitlines() if c["cell_type"] == "code" else []
        for line in itertools.takewhile(lambda l: l.startswith("#|"), lines):
            m = re.fullmatch(r"#\|\s*([\w-]+)\s*", line)
            if m: used.add(m.group(1))
    return used


NOTEBOOK_TIMEOUT = 600  # seconds for one notebook (the slowest takes about 80 s on a quiet 2-core machine)


@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook(nb, request, tools):
    if any(k in nb for k in NEEDS_PREFECT): request.getfixturevalue("prefect_api_url")
    flags = FLAGS.split()
    missing = [t for t in TOOL_FLAGS if t in flags and t in cell_flags(nb) and not tools.find(t)]
    flags = [f for f in flags if f not in missing]
    nbdev_test = Path(sys.executable).with_name("nbdev_test")
    cmd = [str(nbdev_test), "--path", f"nbs/{nb}", "--flags", " ".join(flags), "--do_print"]
    try: r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=NOTEBOOK_TIMEOUT)
    except subprocess.TimeoutExpired as e:   # fail with what the notebook printed, before pytest-timeout kills us blind
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        pytest.fail(f"{nb} still running after {NOTEBOOK_TIMEOUT} s; it printed:\n{out[-3000:]}")
    assert r.returncode == 0, f"nbdev_test failed on {nb}:\n{r.stdout[-3000:]}\n{r.stderr[-12000:]}"
    if missing:
        pytest.skip(tools.reason(*missing) + " (the rest of the notebook passed)")


def test_test_flags_declared():
    """settings.ini declares each test flag as its own word (nbdev splits `tst_flags` on whitespace: `slow|train|server` would be
    one unknown flag and nothing would ever be skipped), and every flag a notebook cell uses is declared."""
    import configparser
    cfg = configparser.ConfigParser(); cfg.read(ROOT / "settings.ini")
    declared = set(cfg["DEFAULT"]["tst_flags"].split())
    assert declared == {"slow", "train", "server", "wrk"}, declared
    assert set(FLAGS.split()) <= declared or "INCOME_MLOPS_TEST_FLAGS" in os.environ
    directives = {"export", "exports", "exporti", "hide", "eval", "default_exp", "echo", "output", "code-fold", "include",
                  "label", "fig-cap", "export_", "hide_input", "hide_output", "filter_stream", "exec_doc", "tbl-cap"}
    used = set().union(*(cell_flags(nb) for nb in NOTEBOOKS))
    undeclared = used - directives - declared
    assert not undeclared, f"flags used in notebooks but not declared in settings.ini: {undeclared}"
