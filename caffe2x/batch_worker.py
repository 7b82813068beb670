"""One model of convert-all, in its own process: python -m caffe2x.batch_worker SPEC.json FOLDER."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from . import api
from .batch import OUTPUT_NAMES, ModelSpec, spec_hash
from .errors import Caffe2xError
from .report import ERROR, ModelResult, TargetResult, target_result


def _inputs(spec: ModelSpec, reference_blobs):
    import numpy as np

    if spec.inputs:
        with np.load(spec.inputs, allow_pickle=False) as data:
            return {k.removeprefix("input:"): data[k] for k in data.files if k.startswith("input:") or ":" not in k}
    return {k.removeprefix("input:"): v for k, v in (reference_blobs or {}).items() if k.startswith("input:")}


def run_model(spec: ModelSpec, folder: Path) -> ModelResult:
    from .weights import fill_random

    model = ModelResult(spec.name, spec.prototxt, spec.weights)
    try:
        import numpy as np

        blobs = None
        if spec.reference.endswith(".npz"):
            with np.load(spec.reference, allow_pickle=False) as data:
                blobs = {k: data[k] for k in data.files}
        arrays = _inputs(spec, blobs)
        shapes = {**{k: tuple(v.shape) for k, v in arrays.items()}, **{k: tuple(v) for k, v in
                                                                       spec.input_shapes.items()}}
        graph = api.load_net(spec.prototxt, spec.weights, shapes)
        if not spec.weights:
            fill_random(graph, spec.seed)
        arrays = arrays or api.random_inputs(graph, spec.seed)
        reference = spec.reference if not spec.reference.endswith(".npz") else "golden"
        if blobs is None:
            blobs = api.reference_blobs("builtin" if reference == "auto" else reference, spec.prototxt, spec.weights,
                                     graph, arrays)
    except Caffe2xError as exc:
        model.error = str(exc)
        return model
    for target in spec.targets:
        model.targets.append(_run_target(spec, graph, target, arrays, blobs, reference, folder))
    return model


def _run_target(spec, graph, target, arrays, blobs, reference, folder) -> TargetResult:
    started = time.perf_counter()
    output = folder / OUTPUT_NAMES[target]
    try:
        api.convert(graph, target, output, force=True)
        result = api.verify(graph, target, arrays, blobs, reference_name=reference, tolerance=spec.tolerance,
                            tolerances=spec.layer_tolerances)
        return target_result(result, time.perf_counter() - started, [str(output)])
    except Exception as exc:  # one target's failure must not stop the others
        message = str(exc) if isinstance(exc, Caffe2xError) else f"{type(exc).__name__}: {exc}"
        return TargetResult(target, ERROR, error=message, seconds=time.perf_counter() - started)


def main(argv: list[str]) -> int:
    spec = ModelSpec(**json.loads(Path(argv[0]).read_text()))
    folder = Path(argv[1])
    result = run_model(spec, folder)
    (folder / "result.json").write_text(json.dumps({"hash": spec_hash(spec), "result": result.as_dict()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
