"""Copy runtime classes from a package module into a generated, standalone model.py.

The classes a generated model.py needs (caffe2x/targets/torch/runtime.py,
caffe2x/targets/tensorflow/runtime.py) are ordinary, linted, tested code. The
generator copies the source of the ones a net uses, with every top-level function,
class or constant they reference, from their own module or from a caffe2x module
they import it from (a Caffe rule of caffe2x.layers, say): the model.py then runs
the very code the package tests, with no import of caffe2x.

Sources are read with `ast` from the files, without importing the modules, so
generating a model.py does not import its framework.
"""

from __future__ import annotations

import ast
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ..errors import RegistryError


class RuntimeSourceError(RegistryError):
    """An emitter names a runtime class that cannot be found, or two share a name."""


@dataclass(frozen=True)
class Definition:
    name: str
    source: str  # decorators and the comment right above it included
    kind: str  # "class", "function" or "constant"
    needs: tuple[tuple[str, str], ...]  # (module, name) of the definitions it references


@cache
def module_definitions(module: str) -> dict[str, Definition]:
    """Top-level functions, classes and constant assignments of a module, by name."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError(module)
    text = Path(spec.origin).read_text(encoding="utf-8")
    tree = ast.parse(text)
    lines = text.splitlines()
    imported = _imported_names(tree, module, spec.parent or "")
    own = {name for node in tree.body for name in _defined_names(node)}
    definitions = {}
    for node in tree.body:
        for name in _defined_names(node):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            while first > 1 and lines[first - 2].startswith("#"):  # the comment right above it
                first -= 1
            used = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} - {name}
            needs = tuple(sorted((module, n) if n in own else imported[n] for n in used
                                 if n in own or n in imported))
            source = "\n".join(lines[first - 1:node.end_lineno])
            definitions[name] = Definition(name, source, _KINDS.get(type(node), "constant"), needs)
    return definitions


_KINDS = {ast.ClassDef: "class", ast.FunctionDef: "function"}


def _defined_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
        return [node.targets[0].id]
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name) and node.value is not None:
        return [node.target.id]
    return []


def _imported_names(tree: ast.Module, module: str, package: str) -> dict[str, tuple[str, str]]:
    """Names imported with `from <caffe2x module> import name`: local name -> (module, name)."""
    imported = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            source = importlib.util.resolve_name("." * node.level + node.module, package) if node.level \
                else node.module
            if source.split(".")[0] == module.split(".")[0]:
                imported.update({alias.asname or alias.name: (source, alias.name) for alias in node.names})
    return imported


def runtime_source(module: str, names) -> list[str]:
    """The sources of `names` (defined in `module`) and of everything they need, in
    the module's order: the constants (one block) first, then each definition before
    its first user."""
    order = _closure(module, names)
    _check_unique(order)
    return _render(order)


def _render(order: list[Definition]) -> list[str]:
    """The constants (one block) first, then each definition in the order given."""
    constants = [d.source for d in order if d.kind == "constant"]
    return (["\n".join(constants)] if constants else []) + [d.source for d in order if d.kind != "constant"]


def _closure(module: str, names) -> list[Definition]:
    """The definitions of `names` and of everything they need, each after what it needs."""
    defined = list(module_definitions(module))
    unknown = sorted(set(names) - set(defined))
    if unknown:
        raise RuntimeSourceError(f"{module} defines no {unknown}")
    order: list[Definition] = []
    seen: set[tuple[str, str]] = set()

    def visit(key: tuple[str, str]) -> None:
        if key in seen:
            return
        seen.add(key)
        definition = module_definitions(key[0])[key[1]]
        for need in definition.needs:
            visit(need)
        order.append(definition)

    for name in sorted(set(names), key=defined.index):
        visit((module, name))
    return order


def runtime_classes(module: str) -> frozenset[str]:
    """The classes of `module` a generated model.py may define."""
    return frozenset(d.name for d in module_definitions(module).values() if d.kind == "class")


def _check_unique(order: list[Definition]) -> None:
    names = [d.name for d in order]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise RuntimeSourceError(f"runtime definitions from different modules share the names {clashes}")


def split_reference(reference: str, default_module: str) -> tuple[str, str]:
    """"Name" (a class of the target's own runtime module) or "module:Name" (a plugin's
    runtime class, in a module importable by that name) -> (module, name)."""
    module, sep, name = reference.rpartition(":")
    return (module, name) if sep else (default_module, reference)


def runtime_sources(references, default_module: str) -> list[str]:
    """The sources model.py copies for `references` (see split_reference): the target's own
    runtime classes first, then each plugin module's, each with what it needs; one
    namespace, so two definitions of one name are an error."""
    by_module: dict[str, set[str]] = {default_module: set()}
    # Sorted: `references` is often a set, whose order changes with PYTHONHASHSEED, and the
    # same net must give the same model.py on every run.
    for reference in sorted(references):
        module, name = split_reference(reference, default_module)
        by_module.setdefault(module, set()).add(name)
    for module in by_module:
        if not _importable(module):
            raise RuntimeSourceError(f"no module '{module}' (named by a runtime class reference '{module}:...'); "
                                     "a plugin's runtime module must be importable by that name")
    orders = [_closure(module, names) for module, names in by_module.items() if names]
    # Two plugin modules sharing helpers (PSROIPooling's runtime imports ROIPooling's) need them once.
    merged = list({(d.name, d.source): d for order in orders for d in order}.values())
    _check_unique(merged)
    return _render(merged)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # its parent package is missing
        return False


def referenced_classes(references, default_module: str) -> frozenset[str]:
    """The names of the runtime classes `references` bring into model.py (reserved there)."""
    return frozenset(split_reference(r, default_module)[1] for r in references)
