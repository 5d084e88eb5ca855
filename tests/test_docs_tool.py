"""Unit tests of the docs tooling, `tools/docs.py` (moved with it from the notebook it was written in).

The tiny one-notebook project is processed and built in a subprocess, because nbdev finds its project from the working directory
and caches the configuration per process. The browser check of a tiny site needs Chromium (skipped without it, with one line
saying how to install it; a failure under INCOME_MLOPS_REQUIRE_TOOLS=1).
"""
import dataclasses, importlib.util, os, re, subprocess, sys, types, urllib.request
from pathlib import Path
import nbformat
import pytest
from bs4 import BeautifulSoup
import income_mlops.config as _cfg
import income_mlops.data as _data
from tools import docs

ROOT = Path(__file__).resolve().parents[1]
new_nb, md_cell, code_cell, raw_cell = (nbformat.v4.new_notebook, nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell,
                                         nbformat.v4.new_raw_cell)


def test_project_root(tmp_path):
    assert (docs.project_root() / "nbs").is_dir()
    with pytest.raises(FileNotFoundError, match="no settings.ini"):
        docs.project_root(tmp_path)


def test_read_sidebar():
    sidebar = docs.read_sidebar(ROOT / "nbs" / "sidebar.yml")
    assert [s for s, _ in sidebar] == ["Get started", "Explore", "Pipeline", "Serve", "Reference", "Benchmarks"]
    assert sidebar[0] == ("Get started", ["index.ipynb"])
    assert sidebar[4][1][0] == "reference.ipynb"


def test_pandoc_slug():
    assert docs.pandoc_slug("load_adult") == "load_adult"
    assert docs.pandoc_slug("Workspace.ensure") == "workspace.ensure"
    assert docs.pandoc_slug("2. The sidebar: where it lives!") == "the-sidebar-where-it-lives"
    seen = {}
    assert [docs.pandoc_slug("Feature", seen), docs.pandoc_slug("feature", seen)] == ["feature", "feature-1"]


def test_rewrite_link():
    pages = {"02_data.ipynb": "data.html", "index.ipynb": "index.html"}
    site = "https://income-mlops.github.io/income-mlops"
    assert docs.rewrite_link("02_data.ipynb#load_adult", pages) == "data.html#load_adult"
    assert docs.rewrite_link(f"{site}/data.html#x", pages, site) == "data.html#x"
    assert docs.rewrite_link("https://pandera.readthedocs.io", pages) == "https://pandera.readthedocs.io"
    assert docs.rewrite_link("#cleaning", pages) == "#cleaning"


def test_front_matter_and_cell_options():
    nb = new_nb(cells=[raw_cell("---\ntitle: Data\noutput-file: data.html\n---"), code_cell("x = 1")])
    assert docs.front_matter(nb) == {"title": "Data", "output-file": "data.html"}
    assert docs.front_matter(new_nb(cells=[code_cell("x = 1")])) == {}
    assert docs.cell_options("#| echo: false\n#| output: asis\nshow_doc(f)") == {"echo": "false", "output": "asis"}
    assert docs.cell_options("#| hide\nx = 1\n#| not: an option") == {"hide": ""}
    assert docs.cell_options("x = 1") == {}


def test_prepare_notebook():
    nb = new_nb(cells=[raw_cell("---\ntitle: Data\ndescription: Loading it\noutput-file: data.html\n---"),
                       code_cell("#| echo: false\n#| output: asis\nshow_doc(f)"),
                       code_cell("#| include: false\nsecret = 1"),
                       code_cell("x = 1")])
    p = docs.prepare_notebook(nb)
    assert [c.cell_type for c in p.cells] == ["markdown", "code", "code"]
    assert p.cells[0].source.splitlines()[0] == "# Data"
    assert (p.cells[1].source, p.cells[1].metadata.tags) == ("show_doc(f)", ["remove_input"])


def test_render_page():
    nb = new_nb(cells=[
        raw_cell("---\ntitle: Data\ndescription: Loading it\noutput-file: data.html\n---"),
        md_cell("## Cleaning\n\nSee [the EDA](01_eda.ipynb#missing-values) and "
                "[`load_adult`](https://income-mlops.github.io/income-mlops/data.html#load_adult).\n\n"
                "```{mermaid}\nflowchart LR\n  a --> b\n```"),
        code_cell("#| echo: false\nprint('hello')", outputs=[nbformat.v4.new_output("stream", text="hello\n")])])
    pages = {"02_data.ipynb": "data.html", "01_eda.ipynb": "eda.html"}
    out = docs.render_page(nb, "data.html", pages, [("Pipeline", ["01_eda.ipynb", "02_data.ipynb"])],
                           {"02_data.ipynb": "Data", "01_eda.ipynb": "EDA"},
                           site_url="https://income-mlops.github.io/income-mlops")
    s = BeautifulSoup(out, "html.parser")
    assert s.title.string == "Data – income-mlops"
    assert s.find("h2")["id"] == "cleaning"
    assert [a["href"] for a in s.select("#content a")] == ["eda.html#missing-values", "data.html#load_adult"]
    assert [a.get_text() for a in s.select("#sidebar li a")] == ["EDA", "Data"]
    assert s.select_one("#sidebar a.active")["href"] == "data.html"
    assert s.select_one("pre.mermaid").get_text().strip() == "flowchart LR\n  a --> b"
    assert "hello" in s.get_text() and "print(" not in s.get_text()
    assert not s.find("script", src=re.compile("^https?:"))


def test_hoist_imports():
    "A cell mixing imports and code is split (directives kept on both); export cells and pure-import cells are left alone."
    nb = new_nb(cells=[
        code_cell("#| slow\nimport multiprocessing as mp\nfrom pathlib import Path\n\nx = Path('.')\nimport os"),
        code_cell("#| export\nimport re\ny = 1"),
        code_cell("import math"),
        md_cell("import nothing"),
        code_cell("%time import sys\nprint(1)")])
    assert docs.hoist_imports(nb) == 1
    sources = [c.source for c in nb.cells]
    assert sources[:2] == ["#| slow\nimport multiprocessing as mp\nfrom pathlib import Path\nimport os", "#| slow\nx = Path('.')"]
    assert sources[2:] == ["#| export\nimport re\ny = 1", "import math", "import nothing", "%time import sys\nprint(1)"]


def test_package_modules_and_symbol_doc(tmp_path):
    mods = docs.package_modules()
    assert {"income_mlops.config", "income_mlops.data", "income_mlops.testing"} <= set(mods), mods
    assert "income_mlops.docs" not in mods
    assert docs.symbol_doc(_data, "load_adult")[0] == "function"
    assert docs.symbol_doc(_data, "DataError") == (
        "class", "The data cannot be used: bad labels, a schema violation, a truncated download, a checksum mismatch.")

    @dataclasses.dataclass
    class _Undocumented:
        x: int = 0

    class _Documented(ValueError):
        "Mine."

    m = types.SimpleNamespace(_Undocumented=_Undocumented, _Documented=_Documented, __name__="m")
    assert docs.symbol_doc(m, "_Undocumented") == ("class", "")
    assert docs.symbol_doc(m, "_Documented") == ("class", "Mine.")
    assert docs.symbol_doc(_cfg, "SEED") == ("constant", "the one random seed: splits, Optuna's sampler, XGBoost")
    assert docs.symbol_doc(_data, "log") == ("logger", "the `logging` logger `income_mlops.data`")
    assert docs.symbol_doc(_data, "COLUMNS") == ("constant", "the 15 columns of the UCI layout, in order")
    source = "X, Y = 1, 2  # two numbers\n# the answer\nZ: int = 42\n# %% cell marker\nW = 0\n"
    mod = _import_file(tmp_path / "_consts.py", source)
    assert [docs.symbol_doc(mod, n)[1] for n in "XYZW"] == ["two numbers", "two numbers", "the answer", ""]


def _import_file(path: Path, source: str):
    "A real module file (inspect and docments read the source), imported."
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


_PARAMS = '''
import dataclasses
__all__ = ['f', 'g', 'h', 'P', 'E', 'C']
def f(a,  # documented
      b): pass
def g(*args,  # the values
      **kw): pass
def h(x,  # documented
      **kw,  # documented too
     ): pass
@dataclasses.dataclass
class P:
    x: int = 0  # documented
    y: int = 1
class E(ValueError): "Inherits its constructor: nothing to document."
class C:
    def __init__(self, z): pass
'''


def test_undocumented_params(tmp_path):
    try:
        assert docs.undocumented_params(_import_file(tmp_path / "_params.py", _PARAMS)) == ["f.b", "g.kw", "P.y", "C.z"]
    finally:
        sys.modules.pop("_params", None)


def test_exports_without_example(tmp_path):
    nb = new_nb(cells=[code_cell("#| export\ndef shown(): pass"), md_cell("prose may sit between"), code_cell("shown()"),
                       code_cell("#| export\ndef lonely(): pass\nclass Alone: pass"),
                       code_cell("#| export\ndef _private(): pass"),
                       code_cell("#| export\nX = 1"),
                       code_cell("#| export\ndef last(): pass")])
    nbformat.write(nb, tmp_path / "nb.ipynb")
    assert docs.exports_without_example(tmp_path / "nb.ipynb") == [["lonely", "Alone"], ["last"]]


def test_page_names_and_reference():
    assert [docs.page_name(n) for n in ("02_data.ipynb", "07b_train.ipynb", "index.ipynb", "90_Testing.ipynb")] == \
        ["data.html", "train.html", "index.html", "testing.html"]
    assert (docs.module_page(_data), docs.module_page(_cfg)) == ("data.html", "config.html")
    rows = docs.reference_rows()
    assert {r["name"] for r in rows if r["module"] == "income_mlops.data"} == set(_data.__all__)
    md = docs.api_reference()
    assert "## income_mlops.data" in md and "[`load_adult`](data.html#load_adult) | function |" in md, md[:500]


def test_site_build_and_screenshot_plan():
    b = docs.SiteBuild(Path("_docs_local"))
    assert (b.pages, b.missing, b.collisions) == ({}, [], {})
    b.pages["index.ipynb"] = "index.html"
    assert docs.SiteBuild(Path("_docs_local")).pages == {}    # every build has dicts of its own
    assert docs.screenshot_plan("site") == {Path("site/screenshots/index.png"): "index.html",
                                            Path("site/screenshots/eda.png"): "eda.html",
                                            Path("site/screenshots/eda-figure.png"): "eda.html#img"}
    assert [f.name for f in dataclasses.fields(docs.PageReport)] == [     # `_visit` fills them by position
        "page", "status", "title", "ids", "links", "images", "broken_images", "errors", "text"]


def test_find_chromium(tmp_path, monkeypatch):
    exe = tmp_path / "my-chromium"
    exe.write_text("#!/bin/sh\n")
    exe.chmod(0o755)
    monkeypatch.setenv("CHROMIUM", str(exe))
    assert docs.find_chromium() == str(exe)                 # $CHROMIUM wins
    monkeypatch.delenv("CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))      # no chromium on the PATH
    with pytest.raises(FileNotFoundError, match=re.escape("chromium not found: apt-get install chromium (or set $CHROMIUM)")):
        docs.find_chromium()


def test_serve_site(tmp_path):
    (tmp_path / "index.html").write_text("<title>home</title>")
    srv = docs.serve_site(tmp_path)
    get = urllib.request.build_opener(urllib.request.ProxyHandler({})).open
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    try:
        assert get(base + "index.html", timeout=30).read() == b"<title>home</title>"
        with pytest.raises(OSError, match="404"):
            get(base + "gone.html", timeout=30)
    finally:
        srv.shutdown()
        srv.server_close()


_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def test_check_site_finds_problems(tools, tmp_path):
    "A tiny two-page site with a broken anchor, a missing page, a missing image and a JavaScript error: all reported."
    chromium = tools.require("chromium")
    (tmp_path / "index.html").write_text(
        '<title>home</title><h1 id="top">Home</h1><a href="eda.html#figs">ok</a><a href="eda.html#nope">bad anchor</a>'
        f'<a href="gone.html">gone</a><img src="data:image/png;base64,{_PNG}"><img src="missing.png">')
    (tmp_path / "eda.html").write_text('<title>eda</title><h2 id="figs">Figures</h2><a href="index.html#top">back</a>'
                                      '<script>undefined_function()</script>')
    res = docs.check_site(tmp_path, screenshots={tmp_path / "shots" / "index.png": "index.html"}, chromium=chromium)
    assert sorted(res["pages"]) == ["eda.html", "index.html"]
    assert res["broken_links"] == ["index.html -> eda.html#nope (no such anchor)", "index.html -> gone.html (no such page)"]
    broken = res["pages"]["index.html"].broken_images
    assert len(broken) == 1 and "missing.png" in broken[0]
    assert any("undefined_function" in e for e in res["pages"]["eda.html"].errors)
    assert (tmp_path / "shots" / "index.png").stat().st_size > 1000


def test_cli_outside_the_repository(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "docs.py")], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("tools/docs.py: error: no settings.ini") and len(r.stderr.splitlines()) == 1, r.stderr


_SETTINGS = ("[DEFAULT]\nrepo = tiny\nlib_name = tinypkg\nlib_path = tinypkg\nnbs_path = nbs\ndoc_path = _docs\nversion = 0.0.1\n"
             "title = tiny\ndescription = tiny\nuser = tiny\nauthor = tiny\nauthor_email = tiny@example.invalid\n"
             "copyright = 2026\nlicense = apache2\nbranch = main\nmin_python = 3.11\ndoc_host = https://example.invalid\n"
             "doc_baseurl = /tiny\ngit_url = https://example.invalid/tiny\ncustom_sidebar = True\njupyter_hooks = False\n")


@pytest.fixture
def tiny_project(tmp_path) -> Path:
    "A one-notebook nbdev project (own settings.ini, sidebar and package name) that processes and builds in seconds."
    (tmp_path / "nbs").mkdir()
    (tmp_path / "settings.ini").write_text(_SETTINGS)
    (tmp_path / "nbs" / "sidebar.yml").write_text("website:\n  sidebar:\n    contents:\n      - 00_tiny.ipynb\n")
    nb = new_nb(cells=[md_cell("# Tiny\n\n> A one-page site"), code_cell("x = 1"), code_cell("import math\nprint(x)")])
    nbformat.write(nb, tmp_path / "nbs" / "00_tiny.ipynb")
    return tmp_path


def test_proc_notebooks_hoists_imports(tiny_project):
    "nbdev ran the hoisted `import math` without the `print(x)` that needs a cell it does not run."
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); from tools.docs import proc_notebooks; "
            "print(proc_notebooks(n_workers=0))")
    r = subprocess.run([sys.executable, "-c", code], cwd=tiny_project, capture_output=True, text=True, timeout=600)
    assert (r.returncode, r.stdout.strip()) == (0, str(tiny_project / "_proc")), r.stderr[-3000:]
    cells = nbformat.read(tiny_project / "_proc" / "00_tiny.ipynb", as_version=4).cells
    assert docs.front_matter(new_nb(cells=cells))["output-file"] == "tiny.html"
    assert [c.source for c in cells if c.cell_type == "code"] == ["x = 1", "import math", "print(x)"]


def test_cli_builds_a_tiny_site(tiny_project):
    r = subprocess.run([sys.executable, str(ROOT / "tools" / "docs.py"), "--out", str(tiny_project / "site")],
                       cwd=tiny_project, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"built 1 pages into {tiny_project / 'site'}" in r.stdout, r.stdout + r.stderr
    assert "<title>Tiny – tiny</title>" in (tiny_project / "site" / "tiny.html").read_text()


def test_cli_bad_option():
    r = subprocess.run([sys.executable, "tools/docs.py", "--serve", "soon"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.startswith("tools/docs.py: error: argument --serve: invalid int value") and len(r.stderr.splitlines()) == 1
