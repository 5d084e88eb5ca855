"""A local, Quarto-free build of the documentation site, and its check in headless Chromium.

Developer tooling, not part of the `income_mlops` package: run it from a checkout with the dev dependency group.

    uv run python tools/docs.py            # build _docs_local/
    uv run python tools/docs.py --check    # ... and open every page in headless Chromium
    uv run python tools/docs.py --serve 8000

The published site is built the nbdev way: `nbdev_docs` processes the notebooks (`show_doc` for every exported function,
hidden cells removed, front matter from the title cell) and renders them with Quarto, configured by `_quarto.yml` and
`nbs/sidebar.yml`. Quarto cannot be installed on the development machines or in CI here, so this builds the same site without it:

1. the same processing: `proc_notebooks` runs the steps of `nbdev_proc_nbs` (generate `nbs/nbdev.yml`, build the symbol
   index, process every notebook into `_proc/`) but not its first one, which tries to install Quarto with `sudo`;
2. rendering: every processed notebook is rendered with nbconvert's HTML exporter under the file name Quarto gives it
   (`02_data.ipynb` becomes `data.html`), with the cell options the notebooks use honoured, links made relative and heading
   anchors computed like Pandoc's, so nbdev's symbol links (`data.html#load_adult`) resolve;
3. navigation: a sidebar generated from `nbs/sidebar.yml` on every page, the current page marked;
4. a browser check: `check_site` serves the site on 127.0.0.1, opens every page in headless Chromium (driven through the
   DevTools protocol by Playwright), and reports a page that does not load, a broken internal link or anchor, an image that
   does not render, or a JavaScript error; it saves screenshots of the home page and the EDA page.

It also holds the completeness checks `tests/test_docs.py` runs over the package: `symbol_doc` (a one-line doc for every
export), `undocumented_params` (a comment for every parameter) and `exports_without_example` (an example cell after every
exported cell); and `api_reference`, which `nbs/reference.ipynb` calls to generate the API reference page.
"""
from __future__ import annotations

import ast
import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urldefrag, urlparse

from income_mlops.utils import UsageError, command_parser, fail

PROG = "tools/docs.py"


# ---------------------------------------------------------------------------------------------------------------------------
# Where things are

def project_root(start: str | os.PathLike | None = None) -> Path:
    "The directory holding `settings.ini`, searching upwards from `start` (default: the current directory)."
    p = Path(start or Path.cwd()).resolve()
    for d in (p, *p.parents):
        if (d / "settings.ini").is_file():
            return d
    raise FileNotFoundError(f"no settings.ini in {p} or any parent: run this inside the income-mlops repository")


def read_sidebar(path: str | os.PathLike) -> list[tuple[str, list[str]]]:
    "The sections of a Quarto `sidebar.yml` as `[(section title, [notebook file, ...]), ...]`, in order."
    import yaml
    contents = yaml.safe_load(Path(path).read_text())["website"]["sidebar"]["contents"]
    return [_sidebar_section(item) for item in contents]


def _sidebar_section(item) -> tuple[str, list[str]]:
    if isinstance(item, str):
        return "", [item]
    files = [c if isinstance(c, str) else c["href"] for c in item.get("contents", [])]
    return item.get("section", ""), files


# ---------------------------------------------------------------------------------------------------------------------------
# Anchors and links

def pandoc_slug(text: str, seen: dict | None = None) -> str:
    "The identifier Pandoc (hence Quarto) gives a heading with this text; `seen` (updated) numbers repeats `-1`, `-2`."
    s = re.sub(r"[^\w\s.-]", "", text.strip().lower(), flags=re.UNICODE).replace("\u00b6", "")
    s = re.sub(r"\s+", "-", s)
    s = re.sub(r"^[^a-z]+", "", s) or "section"
    if seen is None:
        return s
    n = seen.get(s, 0)
    seen[s] = n + 1
    return f"{s}-{n}" if n else s


def rewrite_link(href: str, pages: dict, site_url: str = "") -> str:
    "The local-site form of a link: notebooks to their pages (`pages`: notebook -> page), published-site URLs relative."
    prefix = site_url.rstrip("/") + "/"
    if site_url and href.startswith(prefix):
        href = href[len(prefix):]
    if urlparse(href).scheme or href.startswith(("#", "/", "mailto:")):
        return href
    path, frag = urldefrag(href)
    path = pages.get(Path(path).name, path)
    return path + (f"#{frag}" if frag else "")


# ---------------------------------------------------------------------------------------------------------------------------
# Rendering a page

def front_matter(nb) -> dict:
    "The YAML front matter of a processed notebook (its first raw cell between `---` lines), or `{}`."
    import yaml
    for c in nb.cells:
        if c.cell_type == "raw" and c.source.strip().startswith("---"):
            return yaml.safe_load(c.source.strip().strip("-")) or {}
    return {}


_OPT = re.compile(r"^#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$")


def cell_options(source: str) -> dict:
    "The Quarto/nbdev `#|` options at the top of a cell's source, e.g. `{'echo': 'false', 'hide': ''}`."
    opts = {}
    for line in source.splitlines():
        m = _OPT.match(line)
        if not m:
            break
        opts[m.group(1)] = m.group(2).lower()
    return opts


def _is_generated(c) -> bool:
    "The front matter cell and nbdev's 'autogenerated' warning: not shown on a page."
    if c.cell_type == "raw":
        return c.source.strip().startswith("---")
    return c.cell_type == "markdown" and c.source.startswith("<!-- WARNING: THIS FILE WAS AUTOGENERATED")


def _prepare_code_cell(c):
    "The cell with its `#|` options turned into nbconvert tags, or None when the page does not show it."
    o = cell_options(c.source)
    if o.get("include") == "false" or "hide" in o:
        return None
    tags = set(c.metadata.get("tags", []))
    if o.get("echo") == "false":
        tags.add("remove_input")
    if o.get("output") == "false":
        tags.add("remove_output")
    c.metadata["tags"] = sorted(tags)
    c.source = "\n".join(l for l in c.source.splitlines() if not _OPT.match(l)).strip("\n")
    if not c.source and not c.outputs:
        return None
    return c


def _title_cell(fm: dict):
    "A markdown cell with the page title and its description, like Quarto's title block."
    import nbformat
    desc = re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(str(fm.get("description") or "")))
    head = f"# {fm['title']}"
    if desc:
        head += f'\n\n<p class="description">{desc}</p>'
    return nbformat.v4.new_markdown_cell(head)


def prepare_notebook(nb):
    "Apply front matter and `#|` cell options for nbconvert (title cell; hidden inputs, outputs, cells); returns `nb`."
    fm = front_matter(nb)
    cells = []
    for c in nb.cells:
        if _is_generated(c):
            continue
        if c.cell_type == "code":
            c = _prepare_code_cell(c)
        if c is not None:
            cells.append(c)
    if fm.get("title"):
        cells.insert(0, _title_cell(fm))
    nb.cells = cells
    return nb


_CSS = """
body { margin: 0; }
#site { display: flex; align-items: flex-start; }
#sidebar { position: sticky; top: 0; flex: 0 0 15rem; height: 100vh; overflow-y: auto; padding: 1rem 1rem 2rem;
  box-sizing: border-box; background: #f7f7f9; border-right: 1px solid #ddd; font: 14px/1.5 system-ui, sans-serif; }
#sidebar .site-title { display: block; font-weight: 700; font-size: 1.15rem; margin-bottom: .8rem; color: #2c3e50;
  text-decoration: none; }
#sidebar .section { margin: .9rem 0 .2rem; font-weight: 600; color: #555; text-transform: uppercase; font-size: .75rem;
  letter-spacing: .05em; }
#sidebar ul { list-style: none; margin: 0; padding: 0; }
#sidebar li a { display: block; padding: .15rem .5rem; color: #2780e3; text-decoration: none; border-radius: 3px; }
#sidebar li a.active { background: #2780e3; color: #fff; }
#content { flex: 1 1 auto; min-width: 0; max-width: 70rem; padding: 0 1.5rem 3rem; }
p.description { font-style: italic; font-size: 1.2rem; opacity: .75; }
#content .jp-MarkdownOutput pre, #content .jp-RenderedMarkdown pre { background: #f4f4f4; padding: .5rem .7rem;
  overflow-x: auto; white-space: pre; }
pre.mermaid { background: #f4f4f4; padding: .5rem; border-left: 3px solid #8172b3; }
pre.mermaid::before { content: "Mermaid diagram (drawn on the published site)"; display: block; font-style: italic;
  color: #777; }
"""


def _sidebar_html(sidebar: list, pages: dict, titles: dict, current: str, title: str) -> str:
    "The sidebar's HTML: the site title, then each section's pages, the `current` one marked active."
    out = [f'<nav id="sidebar"><a class="site-title" href="index.html">{html.escape(title)}</a>']
    for section, files in sidebar:
        items = [(pages[f], titles.get(f, f)) for f in files if f in pages]
        if not items:
            continue
        if section:
            out.append(f'<div class="section">{html.escape(section)}</div>')
        links = [_sidebar_link(href, text, href == current) for href, text in items]
        out.append("<ul>" + "".join(links) + "</ul>")
    out.append("</nav>")
    return "".join(out)


def _sidebar_link(href: str, text, active: bool) -> str:
    cls = ' class="active"' if active else ""
    return f'<li><a href="{href}"{cls}>{html.escape(str(text))}</a></li>'


def _notebook_html(nb) -> str:
    "nbconvert's `lab` HTML of a prepared notebook, without prompts, tagged inputs and outputs removed."
    from nbconvert import HTMLExporter
    from traitlets.config import Config
    c = Config()
    c.TagRemovePreprocessor.enabled = True
    c.TagRemovePreprocessor.remove_input_tags = {"remove_input"}
    c.TagRemovePreprocessor.remove_all_outputs_tags = {"remove_output"}
    exporter = HTMLExporter(config=c, template_name="lab", exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    return body


def _drop_remote_scripts(soup):
    "Scripts loaded from the internet (MathJax, RequireJS): the notebooks need neither, and the preview works offline."
    for s in soup.find_all("script", src=True):
        if urlparse(s["src"]).scheme in ("http", "https"):
            s.decompose()
    for s in soup.find_all("script"):
        text = s.string or ""
        if "MathJax" in text or "require" in text[:200]:
            s.decompose()


def _set_heading_ids(soup):
    "Pandoc's identifiers on every heading, nbconvert's anchor links removed."
    seen = {}
    for h in soup.find_all(re.compile(r"^h[1-6]$")):
        for a in h.find_all("a", class_="anchor-link"):
            a.decompose()
        h["id"] = pandoc_slug(h.get_text(" ", strip=True), seen)


def _mark_mermaid(soup):
    "Mermaid sources as `pre.mermaid` (Quarto draws them on the published site)."
    for code in soup.select("code.language-\\{mermaid\\}"):
        pre = code.parent
        source = code.get_text().split("\n", 1)[-1]
        pre.clear()
        pre["class"] = "mermaid"
        pre.string = source


def _wrap_in_layout(soup, sidebar_html: str):
    "Move the page body into `<main id=content>` beside the sidebar, in `<div id=site>`."
    from bs4 import BeautifulSoup
    style = soup.new_tag("style")
    style.string = _CSS
    soup.head.append(style)
    main = soup.new_tag("main", id="content")
    for child in list(soup.body.children):
        main.append(child.extract())
    wrap = soup.new_tag("div", id="site")
    wrap.append(BeautifulSoup(sidebar_html, "html.parser"))
    wrap.append(main)
    soup.body.append(wrap)


def render_page(nb, page: str, pages: dict, sidebar: list, titles: dict | None = None,
                site_title: str = "income-mlops", site_url: str = "") -> str:
    "Render one processed notebook to a complete HTML page of the local site (sidebar, anchors, relative links)."
    from bs4 import BeautifulSoup
    fm = front_matter(nb)
    soup = BeautifulSoup(_notebook_html(prepare_notebook(nb)), "html.parser")
    _drop_remote_scripts(soup)
    _set_heading_ids(soup)
    for a in soup.find_all("a", href=True):
        a["href"] = rewrite_link(a["href"], pages, site_url)
    _mark_mermaid(soup)
    if soup.title:
        soup.title.string = f"{fm.get('title') or Path(page).stem} – {site_title}"
    _wrap_in_layout(soup, _sidebar_html(sidebar, pages, titles or {}, page, site_title))
    return str(soup)


# ---------------------------------------------------------------------------------------------------------------------------
# Processing the notebooks

def _is_directive(line: str) -> bool:
    return bool(re.match(r"^\s*#\|", line))


def _parse_cell(c):
    "The syntax tree of a code cell (directives and shell/magic lines blanked), or None for other cells and bad syntax."
    if c.cell_type != "code":
        return None
    lines = ["" if _is_directive(l) or l.lstrip().startswith(("%", "!")) else l for l in c.source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def _split_imports(c, imports: list) -> list:
    "`[imports cell, rest]` of cell `c`, both keeping its `#|` directives."
    lines = c.source.splitlines()
    import_lines = {i for s in imports for i in range(s.lineno - 1, s.end_lineno)}
    directives = [l for l in lines if _is_directive(l)]
    first = copy.deepcopy(c)
    first.outputs = []
    first.execution_count = None
    first.source = "\n".join(directives + [lines[i] for i in sorted(import_lines)])
    first.id = (c.get("id") or "cell")[:56] + "-imports"
    rest = [l for i, l in enumerate(lines) if i not in import_lines and not _is_directive(l)]
    c.source = "\n".join(directives + ["\n".join(rest).strip("\n")])
    return [first, c]


_EXPORTING = {"export", "exports", "exporti", "exec_doc"}


def hoist_imports(nb) -> int:
    "Split each non-exported code cell that mixes top-level imports with other code into an imports cell and the rest."
    cells = []
    n = 0
    for c in nb.cells:
        tree = _parse_cell(c)
        imports = [s for s in tree.body if isinstance(s, (ast.Import, ast.ImportFrom))] if tree else []
        mixed = imports and len(imports) < len(tree.body)
        if not mixed or cell_options(c.source).keys() & _EXPORTING:
            cells.append(c)
            continue
        cells += _split_imports(c, imports)
        n += 1
    nb.cells = cells
    return n


def proc_notebooks(force: bool = True, n_workers: int | None = None) -> Path:
    "nbdev's notebook processing for the docs (`nbdev_proc_nbs` minus installing Quarto) on import-hoisted copies."
    import nbdev.doclinks
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml
    cfg = get_config()
    if force:
        shutil.rmtree(cfg.config_path / "_proc", ignore_errors=True)
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    with tempfile.TemporaryDirectory(prefix="income-mlops-docs-") as tmp:
        src = _hoisted_copy(cfg.nbs_path, Path(tmp))
        return _run_proc_nbs(src, n_workers)


def _hoisted_copy(nbs: Path, tmp: Path) -> Path:
    "A copy of `nbs` (symlinks become files) with `hoist_imports` applied to every notebook."
    import nbformat
    src = tmp / nbs.name
    shutil.copytree(nbs, src, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    for p in src.rglob("*.ipynb"):
        nb = nbformat.read(p, as_version=4)
        if hoist_imports(nb):
            nbformat.write(nb, p)
    return src


def _run_proc_nbs(src: Path, n_workers: int | None) -> Path:
    from nbdev.serve import proc_nbs
    kw = {} if n_workers is None else {"n_workers": n_workers}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            return Path(proc_nbs(src, **kw))
        except Exception as e:
            hint = ("while building the docs nbdev runs the cells that export, call show_doc, or contain an import "
                    "anywhere (a nested one too): keep such imports in cells of their own")
            raise RuntimeError(f"{e}\nhint: {hint}") from e


# ---------------------------------------------------------------------------------------------------------------------------
# Completeness of the package's documentation, and the API reference page

def package_modules(package: str = "income_mlops") -> list[str]:
    "The public modules of `package` (names not starting with `_`), sorted."
    import importlib
    import pkgutil
    pkg = importlib.import_module(package)
    return sorted(f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_"))


def _assigned_names(node) -> set:
    "The names a module-level statement assigns (`A, B = ...` assigns both); empty for other statements."
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AnnAssign):
        targets = [node.target]
    else:
        return set()
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _comment_of(node, lines: list[str]) -> str:
    "A trailing comment on the statement's last or first line, else a comment on the line just above it."
    for ln in (node.end_lineno, node.lineno):
        m = re.search(r"\s#\s*(.+)$", lines[ln - 1])
        if m:
            return m.group(1).strip()
    above = lines[node.lineno - 2].strip() if node.lineno > 1 else ""
    if above.startswith("#") and not above.startswith(("# %%", "#|")):
        return above.lstrip("# ").strip()
    return ""


def _constant_comment(module, name: str) -> str:
    "The comment documenting the module-level assignment of `name`."
    import inspect
    try:
        src = inspect.getsource(module)
    except (OSError, TypeError):
        return ""
    for node in ast.parse(src).body:
        if name in _assigned_names(node):
            return _comment_of(node, src.splitlines())
    return ""


def symbol_doc(module, name: str) -> tuple[str, str]:
    "`(kind, one-line doc)` of `module.name`: kind is 'class', 'function', 'logger' or 'constant'; doc '' if undocumented."
    import inspect
    import logging
    obj = getattr(module, name)
    if isinstance(obj, logging.Logger):
        return "logger", f"the `logging` logger `{obj.name}`"
    if inspect.isclass(obj):
        doc = obj.__dict__.get("__doc__") or ""    # a class's own, not inherited
        if doc.startswith(f"{obj.__name__}("):       # the signature a dataclass writes when undocumented
            doc = ""
        return "class", _first_line(doc)
    if callable(obj):
        return "function", _first_line(obj.__doc__ or "")
    return "constant", _constant_comment(module, name)


def _first_line(doc: str) -> str:
    import inspect
    return (inspect.cleandoc(doc).splitlines() or [""])[0]


def _own_exports(module) -> list:
    "`(name, object)` of the module's exported functions and classes with a constructor of their own."
    import dataclasses
    import inspect
    out = []
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name, None)
        if getattr(obj, "__module__", None) != module.__name__:
            continue    # re-exported from elsewhere
        own_init = dataclasses.is_dataclass(obj) or hasattr(obj, "_fields") or "__init__" in vars(obj)
        if inspect.isfunction(obj) or (inspect.isclass(obj) and own_init):
            out.append((name, obj))
    return out


def undocumented_params(module) -> list[str]:
    "`name.param` for each parameter of the module's own exported functions and class constructors without a comment."
    from fastcore.docments import docments
    out = []
    for name, obj in _own_exports(module):
        params = docments(obj, full=True, args_kwargs=True).items()
        out += [f"{name}.{p}" for p, d in params if p not in ("self", "cls", "return") and not d["docment"]]
    return out


def _cell_source(c) -> str:
    return "".join(c["source"]) if isinstance(c["source"], list) else c["source"]


def _is_export(c) -> bool:
    return c["cell_type"] == "code" and bool(re.search(r"^#\|\s*export\s*$", _cell_source(c), re.M))


def exports_without_example(path: str | os.PathLike) -> list[list[str]]:
    "The public names of each `#| export` cell not followed by a code cell (before the next export) that shows them."
    cells = json.loads(Path(path).read_text())["cells"]
    out = []
    for i, c in enumerate(cells):
        if not _is_export(c):
            continue
        names = [n for n in re.findall(r"^(?:def|class) (\w+)", _cell_source(c), re.M) if not n.startswith("_")]
        nxt = next((d for d in cells[i + 1:] if d["cell_type"] == "code"), None)
        if names and (nxt is None or _is_export(nxt)):
            out.append(names)
    return out


def page_name(notebook: str) -> str:
    "The page nbdev names a notebook's docs: number prefix dropped, lower case (`07b_train.ipynb` -> `train.html`)."
    return re.sub(r"^\d+[a-zA-Z0-9]*_", "", Path(notebook).name.lower()).rsplit(".", 1)[0] + ".html"


def module_page(module) -> str:
    "The docs page of a module exported by nbdev: the page of its notebook (`income_mlops.data` -> `data.html`)."
    src = Path(module.__file__).read_text(encoding="utf-8")
    m = re.search(r"File to edit: \.\./nbs/(.+?\.ipynb)", src)
    return page_name(Path(m.group(1)).name if m else module.__name__.rsplit(".", 1)[-1] + ".ipynb")


def reference_rows(package: str = "income_mlops") -> list[dict]:
    "One row per exported symbol of every module: module, name, kind, one-line doc, and the page link."
    import importlib
    rows = []
    for modname in package_modules(package):
        mod = importlib.import_module(modname)
        page = module_page(mod)
        for name in getattr(mod, "__all__", []):
            kind, doc = symbol_doc(mod, name)
            link = f"{page}#{pandoc_slug(name)}" if kind in ("class", "function") else page
            rows.append(dict(module=modname, name=name, kind=kind, doc=doc, link=link))
    return rows


def api_reference(package: str = "income_mlops") -> str:
    "Markdown of the API reference: a section per module with a table of its exported names, kinds and one-line docs."
    out = []
    rows = reference_rows(package)
    for modname in dict.fromkeys(r["module"] for r in rows):
        out.append(f"## {modname}\n\n| name | kind | what it is |\n|---|---|---|")
        out += [_reference_row(r) for r in rows if r["module"] == modname]
        out.append("")
    return "\n".join(out)


def _reference_row(r: dict) -> str:
    doc = r["doc"].replace("|", "&#124;") or "*(undocumented)*"
    return f"| [`{r['name']}`]({r['link']}) | {r['kind']} | {doc} |"


# ---------------------------------------------------------------------------------------------------------------------------
# Building the site

@dataclass
class SiteBuild:
    "What `build_site` made: the output directory, the pages written, sidebar entries without a notebook, page collisions."
    out: Path
    pages: dict = field(default_factory=dict)       # notebook file name -> page name, for every page written
    missing: list = field(default_factory=list)     # sidebar entries without a notebook
    collisions: dict = field(default_factory=dict)  # page name -> the notebooks that would all be rendered to it


def _page_names(nbs: dict) -> tuple[dict, dict]:
    "`(pages, titles)`: notebook file name -> its page (front matter `output-file`) and its title."
    pages = {}
    titles = {}
    for name, nb in nbs.items():
        fm = front_matter(nb)
        pages[name] = fm.get("output-file") or page_name(name)
        titles[name] = fm.get("title") or Path(name).stem
    return pages, titles


def _collisions(pages: dict) -> dict:
    "Pages that several notebooks would be rendered to (nbdev names a page by its notebook's name minus the number)."
    by_page = {}
    for name, page in pages.items():
        by_page.setdefault(page, []).append(name)
    return {page: names for page, names in by_page.items() if len(names) > 1}


def build_site(out: str | os.PathLike | None = None, proc: bool = True, n_workers: int | None = None) -> SiteBuild:
    "Process the notebooks with nbdev (unless `proc` is False) and render them to a static HTML site in `out`."
    import nbformat
    from nbdev.config import get_config
    cfg = get_config()
    out = Path(out) if out else cfg.config_path / "_docs_local"
    procd = proc_notebooks(n_workers=n_workers) if proc else cfg.config_path / "_proc"
    nbs = {p.name: nbformat.read(p, as_version=4) for p in sorted(procd.glob("*.ipynb"))}
    pages, titles = _page_names(nbs)
    sidebar = read_sidebar(cfg.nbs_path / "sidebar.yml")
    missing = sorted({f for _, fs in sidebar for f in fs} - set(nbs))
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    site_url = f"{cfg.doc_host}{cfg.doc_baseurl}"
    for name, nb in nbs.items():
        page = render_page(nb, pages[name], pages, sidebar, titles, cfg.title, site_url)
        (out / pages[name]).write_text(page, encoding="utf-8")
    if (procd / "styles.css").exists():
        shutil.copy2(procd / "styles.css", out / "styles.css")
    return SiteBuild(out, pages, missing, _collisions(pages))


# ---------------------------------------------------------------------------------------------------------------------------
# The browser check

def screenshot_plan(site: str | os.PathLike) -> dict:
    "The screenshots a check saves for a person to look at: `site/screenshots/*.png` -> the page (and part) they show."
    shots = (("index.png", "index.html"), ("eda.png", "eda.html"), ("eda-figure.png", "eda.html#img"))
    return {Path(site) / "screenshots" / f: spec for f, spec in shots}


CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--disable-quic")   # a headless run on a server
CHROMIUM_INSTALL = "apt-get install chromium (or set $CHROMIUM)"   # how to get one, for messages


def find_chromium() -> str:
    "Path of a Chromium executable: `$CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on the PATH."
    for c in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if c and shutil.which(c):
            return shutil.which(c)
    raise FileNotFoundError(f"chromium not found: {CHROMIUM_INSTALL}")


class _Chromium:
    "A headless Chromium process with a fresh profile, its DevTools endpoint on 127.0.0.1."
    def __init__(self, exe: str | None = None, timeout: float = 60):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        cmd = [exe or find_chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}",
               "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0", "about:blank"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        self.endpoint = f"http://127.0.0.1:{self._wait_for_port(timeout)}"

    def _wait_for_port(self, timeout: float) -> str:
        "The DevTools port Chromium writes to its profile once it listens."
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode()[-2000:]
                raise RuntimeError(f"chromium exited with {self.proc.returncode}: {err}")
            if time.monotonic() > deadline:
                self.close()
                raise TimeoutError("chromium did not open its DevTools port")
            time.sleep(0.1)
        return port_file.read_text().split()[0]

    def close(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def serve_site(site: str | os.PathLike, port: int = 0):
    "Serve the directory `site` over HTTP on 127.0.0.1 in a daemon thread; returns the server (`.shutdown()` to stop)."
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", port), partial(Quiet, directory=str(site)))
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


@dataclass
class PageReport:
    "What the browser saw on one page."
    page: str            # page name, e.g. 'eda.html'
    status: int          # HTTP status of the page
    title: str           # the page's <title>
    ids: set             # element ids on the page (link anchors)
    links: list          # absolute URLs of all <a href> on the page
    images: int          # number of <img> elements
    broken_images: list  # src (shortened) of images that did not render
    errors: list         # JavaScript errors raised on the page
    text: str            # visible text (for content checks)


_PAGE_JS = """() => ({
  title: document.title,
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  images: Array.from(document.images).map(i => ({src: i.src.slice(0, 80), ok: i.complete && i.naturalWidth > 0})),
  text: document.body.innerText
})"""


def _visit(ctx, base: str, name: str, screenshots: dict) -> PageReport:
    "Open one page in the browser context, take the screenshots planned for it, and report what was seen."
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    resp = page.goto(base + name, wait_until="load", timeout=60_000)
    info = page.evaluate(_PAGE_JS)
    _screenshots(page, name, info, screenshots)
    page.close()
    broken = [i["src"] for i in info["images"] if not i["ok"]]
    status = resp.status if resp else 0
    return PageReport(name, status, info["title"], set(info["ids"]), info["links"], len(info["images"]), broken,
                      errors, info["text"])


def _screenshots(page, name: str, info: dict, screenshots: dict):
    "Save the screenshots of `name`: spec 'page.html' is the top of the page, 'page.html#img' its first figure."
    for shot, spec in screenshots.items():
        pname, _, what = spec.partition("#")
        if pname != name:
            continue
        Path(shot).parent.mkdir(parents=True, exist_ok=True)
        if what == "img" and info["images"]:
            page.locator("#content img").first.scroll_into_view_if_needed()
        page.screenshot(path=str(shot))


def _page_problems(reports: dict) -> list[str]:
    problems = []
    for name, r in reports.items():
        if r.status != 200:
            problems.append(f"{name}: HTTP {r.status}")
        if r.broken_images:
            problems.append(f"{name}: images did not render: {r.broken_images}")
        if r.errors:
            problems.append(f"{name}: JavaScript errors: {r.errors}")
    return problems


def _broken_links(reports: dict, base: str) -> list[str]:
    "Internal links that lead to no page of the site, or to an anchor the page does not have."
    broken = set()
    for name, r in reports.items():
        for url in r.links:
            if not url.startswith(base):
                continue
            path, frag = urldefrag(url)
            target = path[len(base):] or "index.html"
            if target not in reports:
                broken.add(f"{name} -> {url[len(base):]} (no such page)")
            elif frag and frag not in reports[target].ids:
                broken.add(f"{name} -> {url[len(base):]} (no such anchor)")
    return sorted(broken)


def check_site(site: str | os.PathLike, screenshots: dict | None = None, chromium: str | None = None) -> dict:
    "Open every page of `site` in headless Chromium: `{'pages': {name: PageReport}, 'broken_links': [..], 'problems': [..]}`."
    from playwright.sync_api import sync_playwright
    names = sorted(p.name for p in Path(site).glob("*.html"))
    srv = serve_site(site)
    base = f"http://127.0.0.1:{srv.server_address[1]}/"
    browser_proc = _Chromium(chromium)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.connect_over_cdp(browser_proc.endpoint)
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            reports = {name: _visit(ctx, base, name, screenshots or {}) for name in names}
            browser.close()
    finally:
        browser_proc.close()
        srv.shutdown()
        srv.server_close()
    return {"pages": reports, "broken_links": _broken_links(reports, base), "problems": _page_problems(reports)}


# ---------------------------------------------------------------------------------------------------------------------------
# Command line

def _parser():
    ap = command_parser(PROG, "Build the documentation site without Quarto, and check it.")
    ap.add_argument("--out", default=None, help="output directory (default: _docs_local/ in the repository)")
    ap.add_argument("--no-proc", action="store_true", help="reuse _proc/ instead of re-running nbdev's processing")
    ap.add_argument("--proc-only", action="store_true",
                    help="only run nbdev's processing into _proc/ (for `quarto render _proc`)")
    ap.add_argument("--check", action="store_true", help="open every page in headless Chromium and report problems")
    ap.add_argument("--serve", type=int, metavar="PORT", help="then serve the site on http://127.0.0.1:PORT until Ctrl-C")
    return ap


def _report_build(b: SiteBuild) -> int:
    msg = f"built {len(b.pages)} pages into {b.out}"
    if b.missing:
        msg += f"; sidebar entries without a notebook yet: {b.missing}"
    print(msg)
    for page, names in b.collisions.items():
        print(f"problem: {' and '.join(names)} are both rendered to {page} (nbdev drops the number prefix): rename one")
    return 1 if b.collisions else 0


def _report_check(b: SiteBuild) -> int:
    res = check_site(b.out, screenshots=screenshot_plan(b.out))
    for p in res["problems"] + res["broken_links"]:
        print("problem:", p)
    print(f"browser check: {len(res['pages'])} pages, {len(res['broken_links'])} broken links, "
          f"{len(res['problems'])} other problems; screenshots in {b.out / 'screenshots'}")
    return 1 if res["problems"] or res["broken_links"] else 0


def _serve_forever(site: Path, port: int):
    srv = serve_site(site, port)
    print(f"serving {site} on http://127.0.0.1:{srv.server_address[1]}/ (Ctrl-C to stop)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        srv.shutdown()


def main(argv: list | None = None) -> int:
    "`python tools/docs.py [--out DIR] [--no-proc] [--proc-only] [--check] [--serve PORT]`; returns the exit status."
    try:
        a = _parser().parse_args(argv)
        root = project_root()
    except (UsageError, FileNotFoundError) as e:
        return fail(PROG, e)
    os.chdir(root)
    if a.proc_only:
        print(f"processed notebooks in {proc_notebooks()}")
        return 0
    b = build_site(a.out, proc=not a.no_proc)
    rc = _report_build(b)
    if a.check:
        try:
            rc = _report_check(b) or rc
        except FileNotFoundError as e:    # no Chromium
            return fail(PROG, e)
    if a.serve is not None:
        _serve_forever(b.out, a.serve)
    return rc


if __name__ == "__main__":
    sys.exit(main())
