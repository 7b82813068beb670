"""Caffe's Python layers (issue 18): a plugin teaches caffe2x one with
register_python_layer; a model file never makes caffe2x import code or evaluate its
param_str (safe YAML), and every failure is a clear error, exit 2, nothing written."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from click.testing import CliRunner

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import PrototxtError, UnsupportedLayerError
from caffe2x.extend import LayerDef, python_param_mapping, same_shape
from caffe2x.reference import as_golden_blobs, run

NET = """
input: "data" input_shape { dim: 1 dim: 2 dim: 3 dim: 3 }
layer { name: "times" type: "Python" bottom: "data" top: "times"
  python_param { module: "%s" layer: "%s" param_str: "%s" } }
"""
MODULE, CLASS = "caffe2x_test_layers.scaling", "TimesK"


@pytest.fixture
def times_k():
    """A Python layer y = k * x, k from param_str, registered for one test."""

    def parse(layer):
        return float(python_param_mapping(layer).get("k", 1.0))

    def reference(node, inputs):
        return [inputs[0].astype(np.float64) * node.params]

    def onnx(node, inputs, outputs, builder):
        k = builder.const(node.name, "k", np.float32(node.params))
        return [builder.op("Mul", [inputs[0], k], node.name, output=outputs[0])]

    layer_type = caffe2x.register_python_layer(MODULE, CLASS, LayerDef(parse, same_shape), reference, onnx=onnx)
    yield layer_type
    for registry in (caffe2x.LAYERS, caffe2x.REFERENCE):
        registry.unregister(layer_type)
    from caffe2x.targets.emitters import emitter_registry

    emitter_registry("onnx").unregister(layer_type)


def _net(tmp_path, module=MODULE, cls=CLASS, param_str="'k': 3"):
    path = tmp_path / "net.prototxt"
    path.write_text(NET % (module, cls, param_str.replace("\\", "\\\\").replace('"', '\\"')))
    return path


def test_a_registered_python_layer_reads_its_param_str_and_verifies(tmp_path, times_k):
    assert times_k == f"Python:{MODULE}.{CLASS}"
    graph = caffe2x.load_net(_net(tmp_path))
    assert graph.nodes[-1].type == times_k and graph.nodes[-1].params == 3.0
    inputs = api.random_inputs(graph, 0)
    blobs = as_golden_blobs(graph, run(graph, inputs))
    assert np.allclose(blobs["times:times"], 3 * inputs["data"])
    pytest.importorskip("onnxruntime")
    result = api.verify(graph, "onnx", inputs, blobs)
    assert result.passed, result.first_divergence


def test_an_unknown_python_layer_is_reported_up_front_with_how_to_register_it(tmp_path):
    path = _net(tmp_path, "rpn.anchor_target_layer", "AnchorTargetLayer", "'feat_stride': 16")
    with pytest.raises(UnsupportedLayerError, match=r"Python:rpn\.anchor_target_layer\.AnchorTargetLayer.*register_python_layer"):
        caffe2x.load_net(path)
    result = CliRunner().invoke(main, ["convert", str(path), "--random-weights", "--to", "onnx",
                                       "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and "register_python_layer" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "m.onnx").exists()


def test_a_python_layer_naming_system_modules_imports_and_runs_nothing(tmp_path):
    never = "caffe2x_hostile_never_imported"
    for module, cls in (("os", "system"), ("subprocess", "Popen"), (never, "Layer")):
        path = _net(tmp_path, module, cls, f"'args': 'touch {tmp_path}/pwned'")
        result = CliRunner().invoke(main, ["verify", str(path), "--random-weights", "--to", "onnx"])
        assert result.exit_code == 2 and f"Python:{module}.{cls}" in result.output
    assert never not in sys.modules and not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("param_str, message", [
    ("!!python/object/apply:os.system ['touch {out}']", "not plain YAML data"),
    ("k: !!python/name:os.system", "not plain YAML data"),
    ("__import__('os').system('touch {out}')", "must be a mapping"),
    ("'k': [1, 2", "not plain YAML data"),
])
def test_a_hostile_or_broken_param_str_runs_nothing_and_is_a_clear_error(tmp_path, times_k, param_str, message):
    out = tmp_path / "pwned"
    path = _net(tmp_path, param_str=param_str.format(out=out))
    with pytest.raises(PrototxtError, match=message):
        caffe2x.load_net(path)
    result = CliRunner().invoke(main, ["convert", str(path), "--random-weights", "--to", "onnx",
                                       "-o", str(tmp_path / "m.onnx")])
    assert result.exit_code == 2 and message in result.output and "Traceback" not in result.output
    assert not out.exists() and not (tmp_path / "m.onnx").exists()


def test_register_python_layer_refuses_names_that_are_not_python_names():
    with pytest.raises(caffe2x.RegistryError, match="not a Python module and class name"):
        caffe2x.register_python_layer("rpn.proposal layer", "X; import os", LayerDef(lambda layer: None, same_shape))
