"""Run every notebook's tests with `nbdev_test`, one pytest test per notebook, so one command runs the whole suite.

`INCOME_MLOPS_TEST_FLAGS` chooses which `tst_flags` cells run (default: all of them, as CI does); set it to "" for the quick loop.
Notebooks whose name is listed in NEEDS_PREFECT wait for the session's shared Prefect server first.
"""
import os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p.name for p in (ROOT / "nbs").glob("[0-9]*.ipynb"))
FLAGS = os.environ.get("INCOME_MLOPS_TEST_FLAGS", "slow train server")
NEEDS_PREFECT = ("flow",)

@pytest.mark.parametrize("nb", NOTEBOOKS)
def test_notebook(nb, request):
    if any(k in nb for k in NEEDS_PREFECT): request.getfixturevalue("prefect_api_url")
    nbdev_test = Path(sys.executable).with_name("nbdev_test")
    r = subprocess.run([str(nbdev_test), "--path", f"nbs/{nb}", "--flags", FLAGS, "--do_print"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0, f"nbdev_test failed on {nb}:\n{r.stdout[-3000:]}\n{r.stderr[-12000:]}"
