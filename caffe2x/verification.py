"""The one verification pipeline behind `caffe2x verify`, `convert-all` and caffe2x.verify:
the same choice of reference, the same inputs, tolerances and records everywhere.

    reference blobs (a golden-format .npz, the real Caffe, or caffe2x's NumPy executor)
    -> for each target: [convert to a file] -> run it -> compare every Caffe blob
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .compare import DEFAULT_TOLERANCE
from .decisions import settle_decisions
from .errors import Caffe2xError, InputShapeError, VerificationTimeout
from .flips import row_flip
from .ir.graph import Graph
from .layers.base import row_nodes
from .parity import VerifyResult, compare_blobs
from .targets import TARGETS, ConvertOptions
from .ties import index_blobs, near_tie

AUTO, BUILTIN, CAFFE = "auto", "builtin", "caffe"
REFERENCE_STEP = "reference"
PathLike = str | os.PathLike


@dataclass(frozen=True)
class VerifySettings:
    tolerance: float = DEFAULT_TOLERANCE  # the largest normalized max error of a blob
    layer_tolerances: Mapping[str, float] = field(default_factory=dict)  # per Caffe layer name
    device: str = "cpu"
    options: ConvertOptions = ConvertOptions()  # how the verified model is converted (TFLite's --quantize)


@dataclass(frozen=True)
class SizeCase:
    """One input size a model is verified at: the graph with Caffe's shapes at that size, its
    inputs, the reference blobs computed at that size, and the reference's name for reports."""

    graph: Graph
    inputs: Mapping[str, np.ndarray]
    reference: Mapping[str, np.ndarray]
    reference_name: str


def read_reference(path: PathLike) -> dict[str, np.ndarray]:
    """A golden-format .npz: input:NAME and LAYER:TOP arrays."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise Caffe2xError(f"{path}: cannot read the reference .npz: {exc}") from None


def read_inputs(path: PathLike) -> dict[str, np.ndarray]:
    """An inputs .npz, keyed NAME or input:NAME (other LAYER:TOP keys are ignored)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key.removeprefix("input:"): data[key] for key in data.files
                    if key.startswith("input:") or ":" not in key}
    except (OSError, ValueError) as exc:
        raise InputShapeError(f"{path}: cannot read the inputs .npz: {exc}") from None


def inputs_in(blobs: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray]:
    """The inputs a golden-format reference carries (input:NAME)."""
    return {k.removeprefix("input:"): v for k, v in (blobs or {}).items() if k.startswith("input:")}


def is_file_reference(reference: str) -> bool:
    return str(reference).endswith(".npz")


def choose_reference(reference: str, weights: PathLike | None) -> str:
    """auto: the real Caffe when pycaffe is importable and there is a caffemodel to load, else builtin."""
    from .reference import pycaffe

    if reference == AUTO:
        return CAFFE if weights and pycaffe.available() else BUILTIN
    return reference


def reference_blobs(reference: str, net: PathLike, weights: PathLike | None, graph: Graph,
                    inputs: Mapping) -> dict:
    """Every blob of the net on `inputs`, keyed "LAYER:TOP": from caffe2x's NumPy executor
    ("builtin") or the real Caffe ("caffe", needs pycaffe and the caffemodel)."""
    from .reference import as_golden_blobs, pycaffe
    from .reference import run as forward

    if reference == BUILTIN:
        return as_golden_blobs(graph, forward(graph, inputs))
    if reference == CAFFE:
        if not weights:
            raise Caffe2xError("--reference caffe needs the caffemodel (-w).")
        return pycaffe.caffe_blobs(net, weights, inputs)
    raise Caffe2xError(f"--reference must be a .npz file, caffe, builtin or auto, not '{reference}'.")


def verify_target(graph: Graph, target: str, inputs: Mapping, reference: Mapping, reference_name: str,
                  settings: VerifySettings = VerifySettings()) -> VerifyResult:
    """Run one target's model on `inputs` and compare every Caffe blob with `reference`."""
    return verify_sizes(target, [SizeCase(graph, inputs, reference, reference_name)], settings)[0]


def verify_sizes(target: str, cases: Sequence[SizeCase], settings: VerifySettings = VerifySettings()) \
        -> list[VerifyResult]:
    """Convert the first case's graph once, run the model on every case's inputs (a model with
    dynamic height and width at several sizes) and compare each with its own reference."""
    runner = TARGETS.get(target)
    runner.require(run=True)
    got = runner.run_each(cases[0].graph, [case.inputs for case in cases], settings.device, settings.options)
    tolerance, tolerances, note = _tolerances(target, settings)
    results = []
    for case, blobs in zip(cases, got):
        result = compare_blobs(case.graph, target, case.reference_name, blobs, case.reference, tolerance, tolerances)
        if not result.passed and (index_blobs(case.graph) or row_nodes(case.graph)):
            # an argmax broken the other way at a near-tie, rows an NMS kept otherwise (caffe2x/decisions.py)?
            result.records = settle_decisions(
                case.graph, result.records, blobs, case.reference, case.inputs,
                lambda reference, case=case, blobs=blobs: compare_blobs(
                    case.graph, target, case.reference_name, blobs, reference, tolerance, tolerances).records,
                [near_tie, row_flip])
        if note:  # the looser bound is said on every blob it was applied to, and once per target
            result.tolerance_note = note
            for record in result.records:
                record.note = record.note or note
        results.append(result)
    return results


def _tolerances(target: str, settings: VerifySettings):
    """The tolerances a target is held to: a quantized TFLite model gets the stated bound of its
    mode (caffe2x.targets.quantize.TOLERANCES) where the user's is tighter."""
    quantize = settings.options.quantize if "quantize" in TARGETS.get(target).options else None
    if not quantize:
        return settings.tolerance, settings.layer_tolerances, None
    from .targets.quantize import tolerance

    stated = tolerance(quantize)
    looser = {layer: max(value, stated.bound) for layer, value in settings.layer_tolerances.items()}
    return max(settings.tolerance, stated.bound), looser, stated.note(quantize)


def verify_net(graph: Graph, net: PathLike, weights: PathLike | None, targets: Sequence[str],
               inputs: Mapping[str, np.ndarray], *, reference: str = AUTO, blobs: Mapping | None = None,
               settings: VerifySettings = VerifySettings(), name: str | None = None,
               outputs: Mapping[str, PathLike] | None = None, on_step: Callable[[str], None] | None = None,
               keep_going: bool = True):
    """Verify `graph` (loaded from `net` and `weights`) on every target; a report.ModelResult.

    reference: a golden-format .npz path (its arrays given as `blobs`), "caffe", "builtin" or
    "auto" (see choose_reference). outputs: {target: path} converts to that path first (convert-all).
    on_step(label) is called as each step starts: "reference", then each target. keep_going:
    a target's error is recorded (status "error") and the next one runs; else it is raised.
    """
    from .report import ModelResult

    model = ModelResult(name or graph.name or str(net), str(net), str(weights) if weights else None)
    step = on_step or (lambda label: None)
    if blobs is None:
        step(REFERENCE_STEP)
        reference = choose_reference(reference, weights)
        blobs = reference_blobs(reference, net, weights, graph, inputs)
    cases = size_cases(graph, net, weights, inputs, blobs, str(reference))
    for target in dict.fromkeys(targets):
        step(target)
        model.targets.extend(_target_results(target, cases, settings, (outputs or {}).get(target), keep_going))
    return model


def size_label(graph: Graph) -> str:
    """'data 2x3x256x256': the input sizes a case runs at, for report names."""
    return ", ".join(f"{graph.values[v].top} {'x'.join(map(str, graph.values[v].shape))}" for v in graph.inputs)


def size_cases(graph: Graph, net: PathLike, weights: PathLike | None, inputs: Mapping[str, np.ndarray],
               blobs: Mapping, reference_name: str) -> list[SizeCase]:
    """The sizes a model is verified at: the nominal one and, when height and width are dynamic
    (graph.dynamic), the first other size Caffe accepts (passes.dynamic.second_size), with inputs
    of the nominal ones' mean and spread, and Caffe's reference run again at that size (pycaffe
    when it and the caffemodel are at hand, else the builtin executor; a golden .npz holds one
    size only). Each case is named with its size in the reports."""
    from .passes.dynamic import dynamic_inputs, second_size

    if not dynamic_inputs(graph):
        return [SizeCase(graph, inputs, blobs, reference_name)]
    other = second_size(graph)
    rng = np.random.default_rng(1)
    other_inputs = {}
    for value in other.inputs:
        top, nominal = other.values[value].top, np.asarray(inputs[other.values[value].top], np.float64)
        noise = rng.standard_normal(other.values[value].shape)
        other_inputs[top] = (noise * (nominal.std() or 1.0) + nominal.mean()).astype(np.float32)
    kind = choose_reference(reference_name if reference_name in (CAFFE, BUILTIN) else AUTO, weights)
    other_blobs = reference_blobs(kind, net, weights, other, other_inputs)
    return [SizeCase(graph, inputs, blobs, f"{reference_name} at {size_label(graph)}"),
            SizeCase(other, other_inputs, other_blobs, f"{kind} at {size_label(other)}")]


def _target_results(target, cases, settings, output, keep_going):
    """One TargetResult per size case (their references name the size); an error is recorded
    once (status "error") unless keep_going is False, when it is raised."""
    from .report import ERROR, TargetResult, target_result

    started = time.perf_counter()
    try:
        TARGETS.get(target).require(run=True)
        if output:
            TARGETS.get(target).convert(cases[0].graph, output, ConvertOptions(), force=True)
        results = verify_sizes(target, cases, settings)
        seconds = (time.perf_counter() - started) / len(results)
        return [target_result(result, seconds, [str(output)] if output else []) for result in results]
    except (VerificationTimeout, KeyboardInterrupt):
        raise
    except Exception as exc:
        if not keep_going:
            raise
        # One target's failure must not stop the others; a non-caffe2x error is named by its type.
        message = str(exc) if isinstance(exc, Caffe2xError) else f"{type(exc).__name__}: {exc}"
        return [TargetResult(target, ERROR, error=message, seconds=time.perf_counter() - started)]
