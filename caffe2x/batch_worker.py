"""One model of convert-all, in its own process: python -m caffe2x.batch_worker SPEC.json FOLDER."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import api
from .batch import ModelSpec, spec_hash
from .errors import Caffe2xError
from .report import ModelResult
from .targets import TARGETS
from .verification import VerifySettings, inputs_in, is_file_reference, read_inputs, read_reference, verify_net


def run_model(spec: ModelSpec, folder: Path) -> ModelResult:
    """Convert the model to every target of the spec (into `folder`) and verify each: the
    pipeline `caffe2x verify` runs, with the same reference choice, tolerances and records."""
    from .frontend.input_values import check_input_values
    from .weights import synthetic_weights

    try:
        blobs = read_reference(spec.reference) if is_file_reference(spec.reference) else None
        arrays = read_inputs(spec.inputs) if spec.inputs else inputs_in(blobs)
        shapes = {**{k: tuple(v.shape) for k, v in arrays.items()},
                  **{k: tuple(v) for k, v in spec.input_shapes.items()}}
        graph = api.load_net(spec.prototxt, spec.weights, shapes, spec.targets, layer_variants=spec.layer_variants)
        if not spec.weights:
            synthetic_weights(graph, spec.seed)
        check_input_values(graph, arrays)  # ROIs given as data: refused before anything runs, as by verify
        arrays = arrays or api.random_inputs(graph, spec.seed)
    except Caffe2xError as exc:
        return ModelResult(spec.name, spec.prototxt, spec.weights, error=str(exc))
    settings = VerifySettings(spec.tolerance, spec.layer_tolerances)
    outputs = {target: folder / TARGETS.get(target).batch_output for target in spec.targets}
    try:
        return verify_net(graph, spec.prototxt, spec.weights, spec.targets, arrays, reference=spec.reference,
                          blobs=blobs, settings=settings, name=spec.name, outputs=outputs)
    except Caffe2xError as exc:  # the reference itself could not be computed
        return ModelResult(spec.name, spec.prototxt, spec.weights, error=str(exc))


def main(argv: list[str]) -> int:
    spec = ModelSpec(**json.loads(Path(argv[0]).read_text()))
    folder = Path(argv[1])
    result = run_model(spec, folder)
    (folder / "result.json").write_text(json.dumps({"hash": spec_hash(spec), "result": result.as_dict()}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
