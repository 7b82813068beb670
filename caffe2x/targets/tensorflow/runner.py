"""verify --to tensorflow / tflite."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ...ir.graph import Graph
from .base import FLAT_NHWC, NHWC
from .codegen import KerasModel, generate, transposes_input
from .export import build, tflite_bytes


def feeds(model: KerasModel, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Caffe (NCHW) inputs -> arrays keyed like the model's inputs, in its layout."""
    result = {}
    for value in model.graph.inputs:
        top = model.graph.values[value].top
        array = np.ascontiguousarray(inputs[top], np.float32)
        if transposes_input(model.graph.values[value], model.layout):
            array = np.ascontiguousarray(array.transpose(0, 2, 3, 1))
        result[model.input_keys[top]] = array
    return result


def to_caffe(array: np.ndarray, layout: str, flat_source=None) -> np.ndarray:
    if layout == NHWC and array.ndim == 4:
        return array.transpose(0, 3, 1, 2)
    if layout == FLAT_NHWC:
        c, h, w = flat_source
        return array.reshape(-1, h, w, c).transpose(0, 3, 1, 2).reshape(array.shape[0], -1)
    return array


def run_tensorflow(graph: Graph, input_sets: list[Mapping[str, np.ndarray]], device: str = "cpu") -> list[dict]:
    """Build the Keras model once, run it on each input set (a dynamic-size model at several sizes)."""
    import keras

    model = generate(graph)
    keras_model = build(model)
    taps, keys = [], []
    for node, layer_name in zip(model.layer_nodes, model.layer_names):
        outputs = keras_model.get_layer(layer_name).output
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for top, value, tensor in zip(node.tops, node.outputs, outputs):
            taps.append(tensor)
            keys.append((f"{node.key_layer}:{top}", value))
    tapped = keras.Model(keras_model.inputs, taps)
    results = []
    for inputs in input_sets:
        ordered = feeds(model, inputs)
        arrays = tapped([ordered[k] for k in model.input_keys.values()], training=False)
        arrays = arrays if isinstance(arrays, (list, tuple)) else [arrays]
        results.append({key: to_caffe(np.asarray(array), model.layouts[value], model.flat_sources.get(value))
                        for (key, value), array in zip(keys, arrays)})
    return results


def run_tflite(graph: Graph, input_sets: list[Mapping[str, np.ndarray]], device: str = "cpu",
               quantize: str | None = None, calibration=None) -> list[dict[str, np.ndarray]]:
    """Final outputs, and the rows of data-dependent layers with their bottoms: a TFLite model
    exposes its signature's outputs only, so the model verified also outputs those (verify's
    row flips, caffe2x/flips.py, re-run such a layer on the target's own bottoms). Converted
    once (quantized if asked), run on each input set; the signature runner resizes its inputs
    to each set's shapes (a model with dynamic height and width)."""
    import tensorflow as tf

    model = generate(with_row_taps(graph))
    interpreter = tf.lite.Interpreter(model_content=tflite_bytes(model, quantize, calibration))
    runner = interpreter.get_signature_runner("serving_default")
    return [_tflite_blobs(model, runner(**feeds(model, inputs))) for inputs in input_sets]


def with_row_taps(graph: Graph) -> Graph:
    """The graph with the tops of its data-dependent layers and their bottoms added to its
    outputs (caffe2x.layers.base.row_values), each under its Caffe top; one whose top name an
    output already has (an in-place chain) stays inside. The graph itself if none is added."""
    from ...layers.base import row_values
    from ...passes.rewrite import clone

    tops, taps = set(graph.output_tops), []
    for value in row_values(graph):
        if value not in graph.outputs and graph.values[value].top not in tops:  # one output per top name
            tops.add(graph.values[value].top)
            taps.append(value)
    if not taps:
        return graph
    tapped = clone(graph)
    tapped.outputs = [*graph.outputs, *taps]
    tapped.output_tops = [*graph.output_tops, *(graph.values[value].top for value in taps)]
    return tapped


def _tflite_blobs(model: KerasModel, produced) -> dict[str, np.ndarray]:
    outputs = dict(zip(model.graph.outputs, model.graph.output_tops))
    result = {}
    for key, value in model.graph.blob_keys().items():  # each output under its own Caffe key
        top = outputs.get(value)
        if top is not None and key.endswith(f":{top}") and not key.startswith("input:"):
            array = np.asarray(produced[model.output_keys[top]])
            result[key] = to_caffe(array, model.layouts[value], model.flat_sources.get(value))
    return result
