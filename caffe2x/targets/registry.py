"""What a conversion target is, and the one list of them.

A Target says, as data, what it needs (the pip extra and the modules whose
absence means that extra is missing, found with importlib.util.find_spec so
nothing heavy is imported), what it writes (a file or a folder, and the usual
suffixes) and which convert options apply to it; and it does two things:
`convert` (write the model) and `run` (compute every Caffe blob, for verify).
The CLI choices, the API, verify, convert-all and the reports all read TARGETS.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np

from ..errors import Caffe2xError, MissingExtraError, UnsupportedLayerError
from ..io.outputs import FILE
from ..ir.graph import Graph


@dataclass(frozen=True)
class ConvertOptions:
    """The options of `convert` that only some targets take (Target.options names them)."""

    opset: int | None = None  # ONNX opset; None: the target's default
    dynamic_batch: bool = True  # ONNX: a symbolic batch dimension (--batch dynamic)
    keep_intermediate: bool = False  # ONNX: every Caffe top is also a graph output
    layout: str = "nhwc"  # TensorFlow/TFLite: layout of 4-D inputs and outputs
    quantize: str | None = None  # TFLite: "float16" or "int8" (post-training quantization)
    calibration: str | None = None  # TFLite int8: an .npz of net inputs or a folder of images

    def given(self) -> list[str]:
        """The options set to something other than their default."""
        return [f.name for f in fields(self) if getattr(self, f.name) != f.default]

    def only_for(self, names) -> ConvertOptions:
        """These options with every one not in `names` (a target's options) at its default:
        what one target of `convert --to all` gets."""
        return replace(self, **{f.name: f.default for f in fields(self) if f.name not in names})


# The command-line spelling of each ConvertOptions field, for messages and help.
OPTION_FLAGS = {"opset": "--opset", "dynamic_batch": "--batch", "keep_intermediate": "--keep-intermediate",
                "layout": "--layout", "quantize": "--quantize", "calibration": "--calibration"}


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a broken or blocked package is as good as absent
        return False


@dataclass(frozen=True)
class Target:
    """One conversion target. Subclasses implement convert and run, importing their framework lazily."""

    name: str
    description: str  # what `convert --to NAME -o OUT` writes, for the help text
    extra: str  # pip install 'caffe2x[EXTRA]' provides what it needs
    modules: tuple[str, ...]  # imported to convert
    run_modules: tuple[str, ...] = ()  # also imported to run it (verify)
    output_kind: str = FILE  # FILE or FOLDER
    suffixes: tuple[str, ...] = ()  # the usual suffixes of a FILE output, e.g. (".onnx",)
    batch_output: str = ""  # its output's name in a convert-all model folder
    options: tuple[str, ...] = ()  # the ConvertOptions fields that apply
    emitters: str = ""  # its emitter family (caffe2x.targets.emitters): "onnx", "pytorch" or "tensorflow"
    color: str = "#555"  # its colour in report plots

    def missing_modules(self, run: bool = False) -> list[str]:
        needed = self.modules + (self.run_modules if run else ())
        return [m for m in dict.fromkeys(needed) if not _installed(m)]

    def require(self, run: bool = False) -> None:
        """Raise MissingExtraError, naming the pip extra, when a module it needs is not installed."""
        missing = self.missing_modules(run)
        if missing:
            raise MissingExtraError(
                f"the {self.name} target needs the Python module(s) {', '.join(missing)}, which are not "
                f"installed: pip install 'caffe2x[{self.extra}]'.")

    def check_supported(self, layers: list[tuple[str, str]]) -> None:
        """One UnsupportedLayerError naming every (name, type) layer this target has no emitter
        for, with the recorded reasons: called before any work (weights, reference, conversion)."""
        check_targets_support([self.name], layers)

    def check_options(self, options: ConvertOptions) -> None:
        """Refuse an option given for another target: it would be silently ignored."""
        foreign = [o for o in options.given() if o not in self.options]
        if foreign:
            why = "; ".join(f"{OPTION_FLAGS[o]} applies to {', '.join(t.name for t in TARGETS if o in t.options)} only"
                            for o in foreign)
            raise Caffe2xError(f"{', '.join(OPTION_FLAGS[o] for o in foreign)} cannot be used with --to {self.name} "
                               f"({why}).")

    def convert(self, graph: Graph, output: str | os.PathLike, options: ConvertOptions,
                force: bool = False) -> list[Path]:
        """Write the converted model (atomically) to `output`; the paths written."""
        raise NotImplementedError

    def run(self, graph: Graph, inputs: Mapping[str, np.ndarray], device: str = "cpu") -> dict[str, np.ndarray]:
        """Convert and run the model on `inputs`: the Caffe blobs it computes, keyed "LAYER:TOP"."""
        raise NotImplementedError

    def run_each(self, graph: Graph, input_sets: list[Mapping[str, np.ndarray]], device: str = "cpu",
                 options: ConvertOptions | None = None) -> list[dict[str, np.ndarray]]:
        """Convert once (with `options`, e.g. TFLite's --quantize) and run the model on each input
        set (a dynamic-size model at several sizes): one blob dict per set."""
        return [self.run(graph, inputs, device) for inputs in input_sets]


class TargetRegistry:
    """The targets in the order they are listed everywhere (help, defaults, reports)."""

    def __init__(self) -> None:
        self._targets: dict[str, Target] = {}

    def register(self, target: Target) -> Target:
        if target.name in self._targets:
            raise Caffe2xError(f"target '{target.name}' is already registered.")
        self._targets[target.name] = target
        return target

    def get(self, name: str) -> Target:
        try:
            return self._targets[name]
        except KeyError:
            raise Caffe2xError(f"unknown target '{name}'; choose from {', '.join(self.names())}.") from None

    def names(self) -> list[str]:
        return list(self._targets)

    def __contains__(self, name: object) -> bool:
        return name in self._targets

    def __iter__(self) -> Iterator[Target]:
        return iter(list(self._targets.values()))

    def __len__(self) -> int:
        return len(self._targets)


TARGETS = TargetRegistry()


def check_targets_support(names, layers: list[tuple[str, str]]) -> None:
    """One UnsupportedLayerError listing every (name, type) layer that one of the targets
    `names` has no emitter for, grouped by type, with the targets that lack it named and
    each type's recorded reason."""
    from .emitters import missing_emitters, reasons

    by_type: dict[str, list[str]] = {}
    failing, why = [], {}
    for name in dict.fromkeys(names):
        family = TARGETS.get(name).emitters
        missing = missing_emitters(family, layers)
        if missing:
            failing.append(name)
            why.update(reasons(family, missing))
        for layer_type, layer_names in missing.items():
            known = by_type.setdefault(layer_type, [])
            known += [n for n in layer_names if n not in known]
    if failing:
        stage = f"the {', '.join(failing)} target{'s' if len(failing) > 1 else ''}"
        raise UnsupportedLayerError(by_type, stage, why)


def require_all(names, run: bool = False) -> None:
    """One error naming every missing extra of `names`, before any work is done."""
    problems = []
    for name in dict.fromkeys(names):
        try:
            TARGETS.get(name).require(run)
        except MissingExtraError as exc:
            problems.append(str(exc))
    if problems:
        raise MissingExtraError(" ".join(dict.fromkeys(problems)))
