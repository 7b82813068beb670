"""The public extension path: the worked plugins of examples/plugins on every target, the
registry's coverage of every layer type, and the up-front report of missing emitters."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT

import caffe2x
from caffe2x.errors import RegistryError, UnsupportedLayerError
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.layers.base import LayerDef, same_shape
from caffe2x.targets import TARGETS
from caffe2x.targets.emitters import EMITTER_FAMILIES, FRONT_END_TYPES, UNSUPPORTED, emitter_registry
from caffe2x.weights import fill_random

PLUGINS = ROOT / "examples" / "plugins"
EXAMPLES = [("hard_swish.prototxt", "hard_swish.py"), ("clipped_gain.prototxt", "clipped_gain")]


def _cli(*args: str, cwd=ROOT) -> subprocess.CompletedProcess:
    # A fresh process per run: a plugin registers its layer for the whole process.
    return subprocess.run([sys.executable, "-m", "caffe2x", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=900)


@pytest.mark.parametrize(("prototxt", "plugin"), EXAMPLES)
def test_example_plugin_verifies_on_every_target(prototxt, plugin):
    result = _cli("verify", str(PLUGINS / prototxt), "--plugin", str(PLUGINS / plugin), "--random-weights",
                  *[arg for target in TARGETS.names() for arg in ("--to", target)])
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    last = result.stdout.strip().splitlines()[-1]
    assert last == f"overall: PASS ({len(TARGETS)} of {len(TARGETS)} targets pass)"


@pytest.fixture(scope="module")
def clipped_gain():
    caffe2x.load_plugins([str(PLUGINS / "clipped_gain")])
    return sys.modules["clipped_gain"]


def test_fork_block_reaches_the_plugin_typed(clipped_gain):
    graph = caffe2x.load_net(PLUGINS / "clipped_gain.prototxt")
    assert graph.node("gain1").params == clipped_gain.ClippedGainParams((0.5, 2.0, -1.0, 1.5), -0.5, 1.0)
    assert graph.node("gain2").params == clipped_gain.ClippedGainParams((3.0,), None, None)  # mode: NONE
    assert graph.node("gain3").params == clipped_gain.ClippedGainParams((1.0,), -1.0, 1.0)  # defaults of Range


def test_plugin_shape_rule_errors_name_the_layer(clipped_gain):
    net = parse_prototxt_text('input: "x" input_shape { dim: 1 dim: 3 dim: 2 dim: 2 }\n'
                              'layer { name: "g" type: "ClippedGain" bottom: "x" top: "g" '
                              'clipped_gain_param { gain: 1 gain: 2 } }')
    with pytest.raises(caffe2x.ShapeError, match=r"'g'.*2 gains for 3 channels"):
        caffe2x.graph_from_net(net)


def test_plugin_runtime_class_is_copied_into_model_py(clipped_gain, tmp_path):
    pytest.importorskip("torch")
    from caffe2x.targets.torch import generate

    graph = caffe2x.load_net(PLUGINS / "clipped_gain.prototxt")
    source = generate(fill_random(graph, 0)).source
    assert source.count("class ClippedGain(nn.Module):") == 1
    assert "clipped_gain" not in source.split("CAFFE_LAYERS")[0]  # imports torch only, never the plugin
    (tmp_path / "model.py").write_text(source)
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache", str(tmp_path)],
                          capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


def registry_gaps() -> tuple[int, list[tuple[str, str]]]:
    """(number of layer types, [(type, stage)]): the registered types that lack a reference
    kernel, or an emitter of a family without a recorded reason for it."""
    import caffe2x.targets.onnx  # noqa: F401  (the packages register their emitters)
    import caffe2x.targets.tensorflow  # noqa: F401
    import caffe2x.targets.torch  # noqa: F401
    from caffe2x.layers.expand import EXPANSIONS

    gaps = []
    for layer_type in caffe2x.LAYERS:
        if layer_type in FRONT_END_TYPES or layer_type in EXPANSIONS:
            continue  # removed by the builder, or built of other layers (SPP): those are checked
        if not callable(caffe2x.LAYERS.get(layer_type).infer):
            gaps.append((layer_type, "shape rule"))
        if layer_type not in caffe2x.REFERENCE:
            gaps.append((layer_type, "reference"))
        for family in EMITTER_FAMILIES:
            if layer_type not in emitter_registry(family) and (family, layer_type) not in UNSUPPORTED:
                gaps.append((layer_type, family))
    return len(caffe2x.LAYERS), gaps


def test_every_built_in_layer_type_is_covered_by_every_stage():
    """Each built-in type has a shape rule, a reference kernel and an emitter per target
    family, or a recorded reason why a family cannot express it. Checked in a fresh process,
    where only the built-ins are registered (other tests register partial test layers)."""
    script = "import json, test_plugins; print(json.dumps(test_plugins.registry_gaps()))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT / "tests",
                            timeout=300)
    assert result.returncode == 0, result.stderr
    count, gaps = json.loads(result.stdout.strip().splitlines()[-1])
    assert count >= 34  # the check ran over the built-in types (34 today)
    assert not gaps, f"layer types without a handler and without a recorded reason: {gaps}"


def test_the_coverage_check_finds_a_gap():
    _register_onnx_only("Halve")
    try:
        assert ("Halve", "pytorch") in registry_gaps()[1] and ("Halve", "onnx") not in registry_gaps()[1]
    finally:
        _unregister("Halve")


def _register_onnx_only(layer_type: str) -> None:
    def reference(node, inputs):
        return [inputs[0] * 2.0]

    def onnx(node, inputs, outputs, builder):
        two = builder.const(node.name, "two", np.float32(2.0))
        return [builder.op("Mul", [inputs[0], two], node.name, output=outputs[0])]

    caffe2x.register_layer(layer_type, LayerDef(lambda layer: None, same_shape), reference, onnx=onnx,
                           unsupported={"tensorflow": "no Keras layer doubles (example reason)"})


def _unregister(layer_type: str) -> None:
    for registry in (caffe2x.LAYERS, caffe2x.REFERENCE, *map(emitter_registry, EMITTER_FAMILIES)):
        registry.unregister(layer_type)
    for family in EMITTER_FAMILIES:
        UNSUPPORTED.pop((family, layer_type), None)


def test_missing_emitters_are_reported_for_each_target_before_the_weights_are_read(tmp_path):
    _register_onnx_only("Double")
    try:
        net = ('input: "x" input_shape { dim: 1 dim: 3 dim: 2 dim: 2 }\n'
               'layer { name: "d1" type: "Double" bottom: "x" top: "d1" }\n'
               'layer { name: "d2" type: "Double" bottom: "d1" top: "d2" }\n')
        (tmp_path / "net.prototxt").write_text(net)
        missing_weights = tmp_path / "absent.caffemodel"  # reading it would fail: it must not be read
        assert caffe2x.load_net(tmp_path / "net.prototxt", targets=["onnx"]).node("d2").type == "Double"
        with pytest.raises(UnsupportedLayerError) as error:
            caffe2x.load_net(tmp_path / "net.prototxt", missing_weights, targets=["onnx", "pytorch", "tflite"])
        message = str(error.value)
        assert "the pytorch, tflite targets" in message and "'d1', 'd2'" in message
        assert "no Keras layer doubles (example reason)" in message
        assert error.value.by_type == {"Double": ["d1", "d2"]}
    finally:
        _unregister("Double")


def test_register_layer_registers_nothing_when_one_stage_is_taken():
    _register_onnx_only("Triple")
    try:
        with pytest.raises(RegistryError, match="already has a handler"):
            caffe2x.register_layer("Triple", LayerDef(lambda layer: None, same_shape),
                                   pytorch=lambda node, ctx: None)
        assert "Triple" not in emitter_registry("pytorch")
        with pytest.raises(RegistryError, match="unknown target families"):
            caffe2x.register_layer("Quadruple", LayerDef(lambda layer: None, same_shape), unsupported={"caffe": "x"})
        assert "Quadruple" not in caffe2x.LAYERS
    finally:
        _unregister("Triple")


def test_a_top_named_like_a_plugin_class_does_not_shadow_it(clipped_gain):
    """A Caffe top may be called anything, even the name of a runtime class model.py defines."""
    from caffe2x.targets.tensorflow.codegen import generate as keras_source
    from caffe2x.targets.torch.codegen import generate as torch_source

    net = parse_prototxt_text('input: "ClippedGain" input_shape { dim: 1 dim: 2 dim: 4 dim: 4 }\n'
                              'layer { name: "g" type: "ClippedGain" bottom: "ClippedGain" top: "ClippedGain" '
                              'clipped_gain_param { gain: 2 } }')
    graph = caffe2x.graph_from_net(net)
    for source in (keras_source(graph).source, torch_source(graph).source):
        tree = ast.parse(source)
        assigned = {t.id for node in ast.walk(tree) if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name)}
        arguments = {a.arg for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) for a in node.args.args}
        assert "ClippedGain" not in assigned | arguments
        assert sum(isinstance(n, ast.ClassDef) and n.name == "ClippedGain" for n in tree.body) == 1
