"""One-way imports: readers -> front end -> IR -> passes -> targets, verification and
reports above them, the API and CLI on top. A module may import from its own layer or
a lower one, never from a higher one; no target imports another target."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "caffe2x"

# Top-level module or subpackage of caffe2x -> its layer (lower numbers are lower).
LAYERS = {
    # Foundation: errors, names, the registry mechanism, the schema, tables of facts.
    "errors": 0, "display": 0, "forks": 0, "registry": 0, "naming": 0, "compare": 0, "schema": 0, "version": 0,
    "io": 1,  # readers and writers of Caffe's files, fork parameter blocks
    "ir": 2,  # the data model
    "layers": 3,  # what each Caffe layer type is: parameters, shape rules, Caffe's arithmetic
    "frontend": 4,  # Caffe net -> IR
    "passes": 5, "reference": 5,  # graph -> graph; the NumPy executor
    "targets": 6,
    "parity": 7, "ties": 7, "decisions": 7, "flips": 7, "report": 7, "summary": 7, "weights": 7, "catalog": 7,
    "verification": 8,
    "api": 9, "extend": 9, "families": 9, "batch": 9, "batch_ray": 9, "batch_worker": 9, "__init__": 9,
    "cli": 10, "__main__": 10,
}


def _imports(path: Path) -> list[tuple[list[str], int]]:
    """(absolute module path parts, line) of every `caffe2x` import of a file."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    package = parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[:len(package) - node.level + 1]
                target = base + (node.module.split(".") if node.module else [])
                if not node.module:  # from . import x: each name is a module
                    found += [(target + [alias.name], node.lineno) for alias in node.names]
                    continue
            else:
                target = (node.module or "").split(".")
            found.append((target, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(alias.name.split("."), node.lineno) for alias in node.names]
    return [(t, line) for t, line in found if t and t[0] == "caffe2x"]


def _top(parts: list[str]) -> str:
    return parts[1] if len(parts) > 1 else "__init__"


def _files():
    return sorted(PACKAGE.rglob("*.py"))


def test_every_module_has_a_layer():
    tops = {_top(list(f.relative_to(ROOT).with_suffix("").parts)) for f in _files()}
    assert tops <= set(LAYERS), f"give these a layer: {sorted(tops - set(LAYERS))}"


def test_no_import_runs_back_up():
    violations = []
    for path in _files():
        source = _top(list(path.relative_to(ROOT).with_suffix("").parts))
        for target, line in _imports(path):
            if LAYERS.get(_top(target), 0) > LAYERS[source]:
                violations.append(f"{path.relative_to(ROOT)}:{line} ({source}) imports {'.'.join(target)}")
    assert not violations, "imports against the flow:\n" + "\n".join(violations)


def test_no_target_imports_another_target():
    """Files of one target's package never import another target's (shared code lives in
    targets/common.py and friends; targets/builtin.py lists them all, importing each lazily)."""
    violations = []
    for path in sorted((PACKAGE / "targets").glob("*/*.py")):
        own = path.relative_to(PACKAGE / "targets").parts[0]
        for target, line in _imports(path):
            if target[:2] == ["caffe2x", "targets"] and len(target) > 3 and (PACKAGE / "targets" / target[2]).is_dir():
                if target[2] != own:
                    violations.append(f"{path.relative_to(ROOT)}:{line} imports {'.'.join(target)}")
    assert not violations, "\n".join(violations)


def test_the_checker_sees_a_violation(tmp_path):
    """The checks above would fail on an upward import: the parser resolves relative imports."""
    fake = ROOT / "caffe2x" / "ir" / "graph.py"
    imports = [".".join(t) for t, _ in _imports(fake)]
    assert all(not name.startswith("caffe2x.frontend") for name in imports)
    probe = PACKAGE / "io" / "__probe_layering__.py"
    try:
        probe.write_text("from ..targets import TARGETS\nfrom ..cli import main\n")
        assert [".".join(t) for t, _ in _imports(probe)] == ["caffe2x.targets", "caffe2x.cli"]
        assert all(LAYERS[_top(t)] > LAYERS["io"] for t, _ in _imports(probe))
    finally:
        probe.unlink()
