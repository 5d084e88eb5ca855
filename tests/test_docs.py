"""The documentation site: built without Quarto (`income_mlops.docs`), checked in headless Chromium, and complete.

One session-wide build into `_docs_local/` (gitignored) runs nbdev's processing of every notebook and renders the pages; the
browser check opens every page and leaves screenshots in `_docs_local/screenshots/` for a person to look at.
"""
import importlib, inspect, os, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from income_mlops import docs  # noqa: E402


@pytest.fixture(scope="session")
def site():
    "Build the local site once (nbdev processing + rendering) and run the browser check on it."
    cwd = os.getcwd(); os.chdir(ROOT)
    try:
        build = docs.build_site(ROOT / "_docs_local")
        check = docs.check_site(build.out, screenshots=docs.screenshot_plan(build.out))
    finally: os.chdir(cwd)
    return build, check


def test_sidebar_lists_every_notebook():
    "Every notebook in nbs/ is in the sidebar (nothing orphaned), and every sidebar entry is a notebook file name."
    listed = [f for _, fs in docs.read_sidebar(ROOT / "nbs" / "sidebar.yml") for f in fs]
    assert len(listed) == len(set(listed)), f"listed twice: {sorted(f for f in listed if listed.count(f) > 1)}"
    orphans = sorted(p.name for p in (ROOT / "nbs").glob("*.ipynb") if p.name not in listed)
    assert not orphans, f"notebooks missing from nbs/sidebar.yml: {orphans}"
    assert all(f.endswith(".ipynb") for f in listed)


def test_quarto_config_is_shared_with_nbdev():
    "_quarto.yml lives at the top level; nbs/_quarto.yml is a relative symlink to it, so nbdev and Quarto read one file."
    link = ROOT / "nbs" / "_quarto.yml"
    assert (ROOT / "_quarto.yml").is_file()
    assert link.is_symlink() and os.readlink(link) == "../_quarto.yml"
    assert link.read_text() == (ROOT / "_quarto.yml").read_text()
    assert "sidebar.yml" in (ROOT / "_quarto.yml").read_text()


def test_site_builds_every_notebook(site):
    build, _ = site
    nbs = sorted(p.name for p in (ROOT / "nbs").glob("*.ipynb"))
    assert sorted(build.pages) == nbs
    assert build.pages["index.ipynb"] == "index.html" and build.pages["01_eda.ipynb"] == "eda.html"
    assert (ROOT / "_proc" / "_quarto.yml").read_text() == (ROOT / "_quarto.yml").read_text(), "nbdev copied the symlinked _quarto.yml"
    assert not build.collisions, f"notebooks rendered to the same page (nbdev drops the number prefix; rename one): {build.collisions}"


def test_every_page_loads_in_chromium(site):
    build, check = site
    assert sorted(check["pages"]) == sorted(build.pages.values())
    assert not check["problems"], "\n".join(check["problems"])
    for name, r in check["pages"].items():
        assert r.status == 200 and r.title, name
        assert "income-mlops" in r.text.splitlines()[0], f"{name}: no sidebar"


def test_no_broken_internal_links(site):
    _, check = site
    assert not check["broken_links"], "broken internal links:\n" + "\n".join(check["broken_links"])


def test_sidebar_navigation_reaches_every_page(site):
    "From the home page, the sidebar links alone reach every page of the site."
    _, check = site
    home = check["pages"]["index.html"]
    reached = {u.split("/")[-1].split("#")[0] for u in home.links}
    assert set(check["pages"]) <= reached, f"not in the sidebar: {set(check['pages']) - reached}"


def test_eda_figures_present(site):
    _, check = site
    eda = check["pages"]["eda.html"]
    assert eda.images >= 8 and not eda.broken_images, (eda.images, eda.broken_images)
    for heading in ("Missing values", "Class balance", "Fairness-relevant imbalances", "The two original files"):
        assert heading in eda.text, heading


def test_screenshots_saved(site):
    build, _ = site
    for shot in docs.screenshot_plan(build.out):
        assert shot.stat().st_size > 10_000, shot


def _modules():
    return docs.package_modules("income_mlops")


@pytest.mark.parametrize("modname", _modules())
def test_exports_documented(modname, site):
    """Every name in the module's `__all__` has a one-line doc (docstring, or trailing comment for a constant), is in the API
    reference page, and a function or class has its own entry (anchor) on the module's page."""
    _, check = site
    mod = importlib.import_module(modname)
    page = docs.module_page(mod)
    assert page in check["pages"], f"{modname}: no page {page}"
    ref, ids = check["pages"]["reference.html"], check["pages"][page].ids
    undocumented, not_in_ref, no_entry = [], [], []
    for name in mod.__all__:
        kind, doc = docs.symbol_doc(mod, name)
        if not doc: undocumented.append(f"{name} ({kind})")
        if name not in ref.text: not_in_ref.append(name)
        if kind in ("class", "function") and docs.pandoc_slug(name) not in ids: no_entry.append(name)
    problems = [f"exported without a one-line doc (docstring; for a constant, a trailing comment): {undocumented}" * bool(undocumented),
                f"missing from the API reference page: {not_in_ref}" * bool(not_in_ref),
                f"no documentation entry (show_doc) on {page}: {no_entry}" * bool(no_entry)]
    assert not any(problems), f"{modname}: " + "; ".join(p for p in problems if p)


@pytest.mark.parametrize("modname", _modules())
def test_parameters_documented(modname):
    "Every parameter of the module's exported functions and class constructors has an nbdev (docments) comment."
    missing = docs.undocumented_params(importlib.import_module(modname))
    assert not missing, f"{modname}: parameters without a comment: {missing}"


@pytest.mark.parametrize("nb", sorted(p.name for p in (ROOT / "nbs").glob("[0-9]*.ipynb")))
def test_every_export_has_an_example(nb):
    "Every exported cell with public functions or classes is followed by a code cell that shows or tests them."
    missing = docs.exports_without_example(ROOT / "nbs" / nb)
    assert not missing, f"{nb}: exported without an example cell right after: {missing}"


def test_cli_builds_and_checks(site):
    "The README's command (here reusing the processed notebooks) exits 0 and reports a clean check."
    r = subprocess.run([sys.executable, "-m", "income_mlops.docs", "--no-proc", "--check", "--out", str(ROOT / "_docs_local")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "0 broken links, 0 other problems" in r.stdout, r.stdout
