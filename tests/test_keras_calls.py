"""The Keras model called as its docs show: quietly, in inference mode, matching Caffe.

`model = build_model()` with its weights, then `model(x)` for one input (no Keras
"structure of inputs doesn't match" warning, issue #17) or `model([a, b])` for
several; Dropout and BatchNorm must run as Caffe's TEST phase without `training=False`.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pytest
from conftest import golden_case, normalized_error

pytest.importorskip("tensorflow")
from caffe2x.targets.tensorflow.codegen import generate  # noqa: E402
from caffe2x.targets.tensorflow.export import build  # noqa: E402
from caffe2x.targets.tensorflow.runner import feeds, to_caffe  # noqa: E402


def _call_as_documented(name, caplog):
    """The golden case's Keras model called with its inputs in Caffe order, and what it warned."""
    case = golden_case(name)
    model = generate(case.load())
    keras_model = build(model)  # runs model.py's build_model() and sets the weights
    arrays = list(feeds(model, case.inputs).values())
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        outputs = keras_model(arrays[0] if len(arrays) == 1 else arrays)
    said = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records]
    return case, model, outputs, said


@pytest.mark.parametrize(("name", "layer"), [("bvlc_alexnet_thin", "layers.Dropout("),
                                           ("bn_scale", "layers.BatchNormalization("),
                                           ("legacy_input_shape", "keras.Input(")])
def test_documented_call_is_quiet_and_matches_caffe(name, layer, caplog):
    case, model, outputs, said = _call_as_documented(name, caplog)
    assert layer in model.source  # the layer whose training behaviour must stay off
    assert not [s for s in said if "structure" in s], said
    assert set(outputs) == set(model.output_keys.values())
    for value, top in zip(model.graph.outputs, model.graph.output_tops):
        got = to_caffe(np.asarray(outputs[model.output_keys[top]]), model.layouts[value],
                       model.flat_sources.get(value))
        layer = next(lay["name"] for lay in case.manifest["layers"] if top in lay["tops"])
        assert normalized_error(got, case.blobs[f"{layer}:{top}"]) <= 1e-5, top


def test_single_input_model_declares_its_input_alone():
    source = generate(golden_case("bvlc_alexnet_thin").load()).source
    assert "return keras.Model(data, {" in source
    assert "    outputs = model(inputs['data'])" in source  # the one input alone, not a list of one
    two = generate(golden_case("legacy_input_shape").load()).source
    assert "return keras.Model([data, aux], {" in two
    assert "    outputs = model([inputs['data'], inputs['aux']])" in two
