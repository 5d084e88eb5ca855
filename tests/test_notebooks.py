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


def test_test_flags_declared():
    """settings.ini declares each test flag as its own word (nbdev splits `tst_flags` on whitespace: `slow|train|server` would be
    one unknown flag and nothing would ever be skipped), and every flag a notebook cell uses is declared."""
    import configparser, json, re
    cfg = configparser.ConfigParser(); cfg.read(ROOT / "settings.ini")
    declared = set(cfg["DEFAULT"]["tst_flags"].split())
    assert declared == {"slow", "train", "server"}, declared
    directives = {"export", "exports", "exporti", "hide", "eval", "default_exp", "echo", "output", "code-fold", "include",
                  "label", "fig-cap", "export_", "hide_input", "hide_output", "filter_stream", "exec_doc", "tbl-cap"}
    used = set()
    for nb in NOTEBOOKS:
        for c in json.loads((ROOT / "nbs" / nb).read_text())["cells"]:
            src = "".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            m = re.match(r"#\|\s*([\w-]+)\s*$", src.split("\n", 1)[0]) if c["cell_type"] == "code" else None
            if m and m.group(1) not in directives: used.add(m.group(1))
    assert used <= declared, f"flags used in notebooks but not declared in settings.ini: {used - declared}"
