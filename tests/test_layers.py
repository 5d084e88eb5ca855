"""The package's import graph, read from the source (imports inside functions included), against the layers of the design:

    base (config, utils) <- core (data, features, model, evaluate, bundle, store, eda, pyfunc_model) <- registry
    <- outer: {flow, train} | {api*} | {monitor*}        tooling (bench, testing) may use anything; nothing uses tooling

A module imports only its own layer or lower ones; the three outer groups never import each other; no product module imports
tooling. A new module must be placed in a layer here before it can be imported by anything.
"""
import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "income_mlops"
BASE = {"config", "utils"}
CORE = {"data", "features", "model", "evaluate", "bundle", "store", "eda", "pyfunc_model"}
TOOLING = {"bench", "testing"}
RANK = {"base": 0, "core": 1, "registry": 2, "outer": 3, "tooling": 4}


def layer(mod: str) -> tuple[str, str]:
    "The (layer, group) of a module name; the group tells the outer modules apart."
    if mod in BASE: return "base", mod
    if mod in CORE: return "core", mod
    if mod == "registry": return "registry", mod
    if mod in ("flow", "train"): return "outer", "flow"
    if mod.startswith("api"): return "outer", "api"
    if mod.startswith("monitor"): return "outer", "monitor"
    if mod in TOOLING: return "tooling", mod
    raise KeyError(mod)


def package_imports(path: Path) -> set[str]:
    "The package modules `path` imports anywhere in its code: `from .x`, `from income_mlops.x`, `import income_mlops.x`, importlib."
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level and node.module: found.add(node.module.split(".")[0])
            elif node.level: found.update(a.name for a in node.names)
            elif node.module == "income_mlops": found.update(a.name for a in node.names)
            elif (node.module or "").startswith("income_mlops."): found.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("income_mlops."))
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and str(arg.value).startswith("income_mlops."):
                found.add(str(arg.value).split(".")[1])
    return found - {"__version__", "_modidx"}


def forbidden_edges(pkg: Path = PKG) -> list[str]:
    "Every import that breaks the layering, as 'a -> b: why'."
    bad = []
    for path in sorted(pkg.glob("*.py")):
        src = path.stem
        if src in ("__init__", "_modidx"): continue
        src_layer, src_group = layer(src)
        for dst in sorted(package_imports(path) - {src}):
            try: dst_layer, dst_group = layer(dst)
            except KeyError:
                bad.append(f"{src} -> {dst}: unknown module (give it a layer in tests/test_layers.py)")
                continue
            if dst_layer == "tooling" and src_layer != "tooling":
                bad.append(f"{src} -> {dst}: a product module imports tooling")
            elif RANK[dst_layer] > RANK[src_layer]:
                bad.append(f"{src} -> {dst}: {src_layer} imports the higher layer {dst_layer}")
            elif src_layer == dst_layer == "outer" and src_group != dst_group:
                bad.append(f"{src} -> {dst}: outer modules ({src_group}, {dst_group}) never import each other")
    return bad


def test_every_module_has_a_layer():
    for path in PKG.glob("*.py"):
        if path.stem not in ("__init__", "_modidx"): layer(path.stem)


def test_no_forbidden_imports():
    bad = forbidden_edges()
    assert not bad, "imports against the layers:\n" + "\n".join(bad)


def test_the_check_sees_imports_inside_functions(tmp_path):
    "The check is not blind: an api -> monitor import inside a function, and a core -> registry import, are both reported."
    (tmp_path / "api.py").write_text("def f():\n    from income_mlops.monitor import latest_status\n")
    (tmp_path / "monitor.py").write_text("import importlib\nm = importlib.import_module('income_mlops.api')\n")
    (tmp_path / "store.py").write_text("from .registry import load_bundle\n")
    (tmp_path / "registry.py").write_text("from . import config\n")
    (tmp_path / "config.py").write_text("")
    assert forbidden_edges(tmp_path) == [
        "api -> monitor: outer modules (api, monitor) never import each other",
        "monitor -> api: outer modules (monitor, api) never import each other",
        "store -> registry: core imports the higher layer registry"]


def absolute_imports(node) -> list[str]:
    "The modules an `import` or absolute `from ... import` statement names; [] for any other node."
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    if isinstance(node, ast.ImportFrom) and not node.level:
        return [node.module or ""]
    return []


def test_no_module_imports_repository_tools():
    "The repository's `tools/` (the docs builder, the serving comparison) is developer tooling: the package never imports it."
    bad = []
    for path in sorted(PKG.glob("*.py")):
        names = [n for node in ast.walk(ast.parse(path.read_text())) for n in absolute_imports(node)]
        bad += [f"{path.stem} -> {n}" for n in names if n.split(".")[0] == "tools"]
    assert not bad, f"package modules importing tools/: {bad}"
