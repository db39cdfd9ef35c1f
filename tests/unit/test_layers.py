"""The package's layers are one-way: no module imports a layer above its own, no import cycle.

Bottom up: config; tasks, optim; model; measures; train; store; runner; analysis; plots;
report; pipelines, sweep, interop; cli. Read from the source with ``ast`` (nothing is imported), so
lazy imports inside functions count too.
"""

import ast
from pathlib import Path

import miiii

SRC = Path(miiii.__file__).parent
LAYERS = ["config", ("tasks", "optim"), "model", "measures", "train", "store", "runner", "analysis",
          "plots", "report", ("pipelines", "sweep", "interop"), "cli"]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in ((layer,) if isinstance(layer, str) else layer)}


def _module(path: Path) -> str:
    rel = path.relative_to(SRC).with_suffix("")
    return ".".join(p for p in rel.parts if p != "__init__")


def _imports(path: Path) -> set[str]:
    """Top-level miiii units (``config``, ``analysis``, ...) this file imports."""
    mod = _module(path).split(".")
    package = mod if path.name == "__init__.py" else mod[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [a.name for a in node.names][:1])
            elif node.module and node.module.startswith("miiii."):
                target = node.module.split(".")[1:]
            else:
                continue
            out |= {target[0]} if target else set()
            if not node.module and not base:  # ``from . import train`` in the top package
                out |= {a.name for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("miiii.")}
    return {u for u in out if u in RANK}


def _files():
    return [p for p in SRC.rglob("*.py") if p.relative_to(SRC).parts[0] != "__init__.py"]


def test_every_unit_has_a_layer():
    units = {p.relative_to(SRC).parts[0].removesuffix(".py") for p in _files()}
    assert units == set(RANK), units ^ set(RANK)


def test_no_module_imports_a_layer_above_its_own():
    upward = []
    for path in _files():
        unit = path.relative_to(SRC).parts[0].removesuffix(".py")
        if path.name == "__init__.py" and unit == "analysis":
            continue  # only the deprecated forwarding of moved names (warns), checked below
        upward += [f"{_module(path)} -> {u}" for u in _imports(path) if RANK[u] > RANK[unit]]
    assert not upward, upward


def test_the_deprecated_forward_in_analysis_warns():
    import pytest

    import miiii.analysis
    from miiii import pipelines

    with pytest.warns(DeprecationWarning, match="moved to miiii.pipelines"):
        assert miiii.analysis.analyze_run is pipelines.analyze_run


def test_the_checker_sees_imports():
    assert _imports(SRC / "pipelines" / "analyze.py") >= {"analysis", "measures", "report", "store", "config"}
    assert "runner" in _imports(SRC / "sweep" / "worker.py")
