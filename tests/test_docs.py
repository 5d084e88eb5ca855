"""The documentation site: built without Quarto (`tools/docs.py`), checked in headless Chromium, and complete.

Two session-wide fixtures, so that a test needs only what it checks:
- `built_site`: nbdev's processing of every notebook, rendered into `_docs_local/` (gitignored); no browser;
- `checked_site`: the built site opened page by page in headless Chromium, screenshots left in `_docs_local/screenshots/` for a
  person to look at. Without Chromium its tests skip with one line saying how to install it (they fail under
  INCOME_MLOPS_REQUIRE_TOOLS=1, as in CI).
The completeness checks (docstrings, parameter comments, an example after every export) need neither.
"""
import importlib, os, subprocess, sys
from pathlib import Path
import pytest
from bs4 import BeautifulSoup
from tools import docs

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_site():
    "Build the local site once: nbdev's processing of every notebook, then the rendering."
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        return docs.build_site(ROOT / "_docs_local")
    finally:
        os.chdir(cwd)


@pytest.fixture(scope="session")
def checked_site(tools, built_site):
    "The browser check of the built site (Chromium required): `docs.check_site`'s report."
    chromium = tools.require("chromium")
    return docs.check_site(built_site.out, screenshots=docs.screenshot_plan(built_site.out), chromium=chromium)


def _page(build, page: str) -> BeautifulSoup:
    return BeautifulSoup((build.out / page).read_text(encoding="utf-8"), "html.parser")


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


def test_site_builds_every_notebook(built_site):
    nbs = sorted(p.name for p in (ROOT / "nbs").glob("*.ipynb"))
    assert sorted(built_site.pages) == nbs
    assert built_site.pages["index.ipynb"] == "index.html" and built_site.pages["01_eda.ipynb"] == "eda.html"
    proc_config = (ROOT / "_proc" / "_quarto.yml").read_text()
    assert proc_config == (ROOT / "_quarto.yml").read_text(), "nbdev copied the symlinked _quarto.yml"
    collisions = built_site.collisions
    assert not collisions, f"notebooks rendered to the same page (nbdev drops the number prefix; rename one): {collisions}"


def test_every_page_loads_in_chromium(built_site, checked_site):
    assert sorted(checked_site["pages"]) == sorted(built_site.pages.values())
    assert not checked_site["problems"], "\n".join(checked_site["problems"])
    for name, r in checked_site["pages"].items():
        assert r.status == 200 and r.title, name
        assert "income-mlops" in r.text.splitlines()[0], f"{name}: no sidebar"


def test_no_broken_internal_links(checked_site):
    assert not checked_site["broken_links"], "broken internal links:\n" + "\n".join(checked_site["broken_links"])


def test_sidebar_navigation_reaches_every_page(checked_site):
    "From the home page, the sidebar links alone reach every page of the site."
    home = checked_site["pages"]["index.html"]
    reached = {u.split("/")[-1].split("#")[0] for u in home.links}
    assert set(checked_site["pages"]) <= reached, f"not in the sidebar: {set(checked_site['pages']) - reached}"


def test_eda_figures_present(checked_site):
    eda = checked_site["pages"]["eda.html"]
    assert eda.images >= 8 and not eda.broken_images, (eda.images, eda.broken_images)
    for heading in ("Missing values", "Class balance", "Fairness-relevant imbalances", "The two original files"):
        assert heading in eda.text, heading


def test_screenshots_saved(built_site, checked_site):
    for shot in docs.screenshot_plan(built_site.out):
        assert shot.stat().st_size > 10_000, shot


MODULES = docs.package_modules("income_mlops")


@pytest.mark.parametrize("modname", MODULES)
def test_exports_documented(modname):
    "Every name in the module's `__all__` has a one-line doc (docstring, or trailing comment for a constant)."
    mod = importlib.import_module(modname)
    undocumented = []
    for name in mod.__all__:
        kind, doc = docs.symbol_doc(mod, name)
        if not doc:
            undocumented.append(f"{name} ({kind})")
    why = "exported without a one-line doc (docstring; for a constant, a trailing comment)"
    assert not undocumented, f"{modname}: {why}: {undocumented}"


@pytest.mark.parametrize("modname", MODULES)
def test_exports_on_the_site(modname, built_site):
    "Every exported name is in the API reference page, and a function or class has its own entry (anchor) on its module's page."
    mod = importlib.import_module(modname)
    page = docs.module_page(mod)
    assert page in built_site.pages.values(), f"{modname}: no page {page}"
    ref_text = _page(built_site, "reference.html").get_text(" ")
    ids = {t["id"] for t in _page(built_site, page).find_all(id=True)}
    not_in_ref = [name for name in mod.__all__ if name not in ref_text]
    entries = [(name, docs.symbol_doc(mod, name)[0]) for name in mod.__all__]
    no_entry = [name for name, kind in entries if kind in ("class", "function") and docs.pandoc_slug(name) not in ids]
    assert not not_in_ref, f"{modname}: missing from the API reference page: {not_in_ref}"
    assert not no_entry, f"{modname}: no documentation entry (show_doc) on {page}: {no_entry}"


@pytest.mark.parametrize("modname", MODULES)
def test_parameters_documented(modname):
    "Every parameter of the module's exported functions and class constructors has an nbdev (docments) comment."
    missing = docs.undocumented_params(importlib.import_module(modname))
    assert not missing, f"{modname}: parameters without a comment: {missing}"


@pytest.mark.parametrize("nb", sorted(p.name for p in (ROOT / "nbs").glob("[0-9]*.ipynb")))
def test_every_export_has_an_example(nb):
    "Every exported cell with public functions or classes is followed by a code cell that shows or tests them."
    missing = docs.exports_without_example(ROOT / "nbs" / nb)
    assert not missing, f"{nb}: exported without an example cell right after: {missing}"


def test_cli_builds_and_checks(checked_site):
    "The README's command (here reusing the processed notebooks) exits 0 and reports a clean check."
    r = subprocess.run([sys.executable, "tools/docs.py", "--no-proc", "--check", "--out", str(ROOT / "_docs_local")],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "0 broken links, 0 other problems" in r.stdout, r.stdout
