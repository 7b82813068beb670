"""Build the Keras model from its generated source, and write the target files."""

from __future__ import annotations

import gc
import json
import os
import tempfile
import types
import uuid
from pathlib import Path

import numpy as np

from ...io.atomic import atomic_dir, atomic_file
from ...io.npz import write_npz
from ..common import example_inputs
from .codegen import EXAMPLE_INPUTS, KerasModel, external_shape
from .tflite_metadata import add_metadata


def build(model: KerasModel):
    """Execute model.py's source and return its Keras model with the Caffe weights set."""
    module = types.ModuleType(f"caffe2x_keras_{uuid.uuid4().hex}")
    module.__file__ = "<caffe2x generated model.py>"
    exec(compile(model.source, module.__file__, "exec"), module.__dict__)  # our own generated code
    keras_model = module.build_model()
    for name, weights in model.weights.items():
        layer = keras_model.get_layer(name)
        expected = [tuple(w.shape) for w in layer.get_weights()]
        arrays = [np.asarray(w, np.float32).reshape(shape) for w, shape in zip(weights, expected)]
        layer.set_weights(arrays)
    return keras_model


def _input_specs(model: KerasModel):
    import tensorflow as tf

    specs = []
    graph = model.graph
    for value in graph.inputs:
        open_axes = getattr(graph, "dynamic", {}).get(value, ())  # dynamic height and width: None
        shape = external_shape(graph.values[value], model.layout, open_axes)
        specs.append(tf.TensorSpec([None, *shape[1:]], tf.float32, name=model.input_keys[graph.values[value].top]))
    return specs


def save_serving(model: KerasModel, keras_model, folder: str) -> None:
    """A SavedModel whose serving_default takes and returns tensors keyed by the documented keys."""
    import keras

    archive = keras.export.ExportArchive()

    def serve(*inputs):
        # The structure build_model declares: one tensor alone, several as a list.
        return dict(keras_model(inputs[0] if len(inputs) == 1 else list(inputs), training=False))

    archive.add_endpoint(name="serve", fn=serve, input_signature=_input_specs(model))
    # Not archive.track(keras_model): it records the Keras variables beside the tf.Variables
    # inside them that the endpoint captures, and the checkpoint then stores every weight twice.
    # The collections name those same tf.Variables, so each weight is written once.
    for collection in ("variables", "trainable_variables", "non_trainable_variables"):
        archive.add_variable_collection(collection, [v.value for v in getattr(keras_model, collection)])
    archive.write_out(folder, verbose=False)


def manifest(model: KerasModel) -> dict:
    return {"inputs": model.input_keys, "outputs": model.output_keys, "layout": model.layout,
            "layers": model.caffe_layers,  # Keras layer -> Caffe layer: names may repeat in Caffe
            **model.graph.metadata}  # preprocessing, labels


def write_saved_model(model: KerasModel, folder: str | os.PathLike, force: bool = False) -> list[Path]:
    keras_model = build(model)
    target = Path(folder)
    with atomic_dir(target, force) as staging:
        save_serving(model, keras_model, str(staging))
        (staging / "model.py").write_text(model.source, encoding="utf-8")
        keras_model.save(staging / "model.keras")
        (staging / "caffe2x.json").write_text(json.dumps(manifest(model), indent=1))
        write_npz(staging / EXAMPLE_INPUTS, example_feeds(model))
    return [target]


def example_feeds(model: KerasModel) -> dict[str, np.ndarray]:
    """Inputs the net accepts (common.example_inputs), keyed and laid out as the serving
    signature and build_model() take them: what model.py's main block runs on."""
    from .runner import feeds

    return feeds(model, example_inputs(model.graph))


def _write_serving_only(model: KerasModel, folder: str) -> None:
    """The SavedModel alone; the Keras model is garbage once this returns."""
    save_serving(model, build(model), folder)
    gc.collect()  # a Keras model lives in reference cycles: free it before the converter runs


def tflite_bytes(model: KerasModel, quantize: str | None = None, calibration=None) -> bytes:
    """The TFLite flatbuffer; quantize: None, "float16" or "int8" (then calibration: the
    samples of caffe2x.frontend.calibration.read_calibration, Caffe's NCHW)."""
    import tensorflow as tf

    from ..quantize import configure
    from .runner import feeds

    samples = [feeds(model, sample) for sample in calibration or ()]  # keyed by the signature's names
    with tempfile.TemporaryDirectory() as tmp:
        _write_serving_only(model, tmp)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=["serving_default"])
        # TensorFlow adds its conversion metadata by rebuilding the whole model, weights
        # included, as Python objects; the model runs the same without it.
        converter.exclude_conversion_metadata = True
        configure(converter, quantize, samples)
        return converter.convert()


def write_tflite(model: KerasModel, path: str | os.PathLike, force: bool = False, quantize: str | None = None,
                 calibration=None) -> list[Path]:
    # The written file alone carries the preprocessing and labels (tflite_metadata.py);
    # verify's in-memory models run without them.
    content = add_metadata(tflite_bytes(model, quantize, calibration), model.graph)
    with atomic_file(path, force) as temp:
        temp.write_bytes(content)
    return [Path(path)]
