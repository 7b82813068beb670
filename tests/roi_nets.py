"""Shared by the ROIPooling and PSROIPooling tests: the nets, ROI sets that reach every rule
(partly outside the map, inverted, points, .5 ties, another image of the batch), each target's
converted model run on any number of ROIs (converted once, R dynamic), and the checks both
layers' tests make alike (against the real fork's blobs, ONNX dims, TFLite builtins, a net
refused before converting)."""

from __future__ import annotations

import numpy as np
import pytest

import caffe2x
from caffe2x import api
from caffe2x.io.prototxt import parse_prototxt_text


def net_text(layers: str, features=(2, 8, 12, 10), rois: int = 7) -> str:
    """`feat` (N, C, H, W) and `rois` (R, 5) inputs, then `layers`."""
    dims = " ".join(f"dim: {d}" for d in features)
    return (f'name: "rois"\n'
            f'layer {{ name: "feat" type: "Input" top: "feat" input_param {{ shape {{ {dims} }} }} }}\n'
            f'layer {{ name: "rois" type: "Input" top: "rois" input_param {{ shape {{ dim: {rois} dim: 5 }} }} }}\n'
            + layers)


def graph_of(text: str):
    return caffe2x.graph_from_net(parse_prototxt_text(text))


def roi_set(count: int, features=(2, 8, 12, 10), scale: float = 0.25, seed: int = 0) -> np.ndarray:
    """`count` ROIs in image coordinates (the map times 1 / scale): random boxes, some reaching
    past every side of the map, inverted ones (x2 < x1), points, coordinates whose scaled value
    is a .5 tie (C's round goes away from zero) and batch indices with a fraction (truncated)."""
    rng = np.random.default_rng(seed)
    batch, _, height, width = features
    image_h, image_w = height / scale, width / scale
    special = np.array([
        [0, -3 / scale, -2.5 / scale, 2.5 / scale, 1.5 / scale],  # outside top-left; .5 ties both ways
        [batch - 1 + 0.7, image_w - 2, image_h - 3, image_w + 9 / scale, image_h + 4 / scale],  # past bottom-right
        [0, 5 / scale, 4 / scale, 2 / scale, 1 / scale],  # inverted: the fork pools it as 1 x 1
        [batch - 1, 3.5 / scale, 2.5 / scale, 3.5 / scale, 2.5 / scale],  # a point
        [0, -20 / scale, -20 / scale, -15 / scale, -12 / scale],  # wholly outside: every bin empty
        [0, 0, 0, image_w - 1, image_h - 1],  # the whole image
        [0.2, 1.5 / scale, 0.5 / scale, 6.5 / scale, 9.5 / scale],
    ], np.float32)
    x = rng.uniform(-0.2 * image_w, 1.2 * image_w, (count, 2))
    y = rng.uniform(-0.2 * image_h, 1.2 * image_h, (count, 2))
    drawn = np.stack([rng.integers(0, batch, count), x[:, 0], y[:, 0], x[:, 1], y[:, 1]], axis=1)
    rois = np.concatenate([special, drawn.astype(np.float32)])[:count] if count > len(special) else special[:count]
    return np.asarray(rois, np.float32)


def features_of(shape, seed: int = 1) -> np.ndarray:
    """Random features with repeated values (ties) and a -inf (the fork's max starts at -FLT_MAX)."""
    x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    x[..., ::3, ::2] = np.round(x[..., ::3, ::2])
    return x


class Converted:
    """One target's model of `graph`, converted once into `folder`, run on NCHW inputs; returns
    {top: NCHW array}."""

    def __init__(self, graph, target: str, folder, outputs: list[str]):
        self.target, self.outputs = target, outputs
        path = folder / {"onnx": "model.onnx", "tflite": "model.tflite"}.get(target, target)
        api.convert(graph, target, path)
        self.path = path
        if target == "onnx":
            import onnxruntime

            self.session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        elif target == "pytorch":
            import torch

            self.program = torch.export.load(str(path / "model.pt2")).module()
        elif target == "tensorflow":
            import tensorflow as tf

            self.serve = tf.saved_model.load(str(path)).signatures["serving_default"]
        else:
            import tensorflow as tf

            self.runner = tf.lite.Interpreter(str(path)).get_signature_runner("serving_default")

    def __call__(self, feat: np.ndarray, rois: np.ndarray) -> dict:
        if self.target == "onnx":
            return dict(zip(self.outputs, self.session.run(self.outputs, {"feat": feat, "rois": rois})))
        if self.target == "pytorch":
            import torch

            with torch.no_grad():
                got = self.program(torch.from_numpy(feat), torch.from_numpy(rois))
            got = got if isinstance(got, tuple) else (got,)
            return {top: g.numpy() for top, g in zip(self.outputs, got)}
        nhwc = feat.transpose(0, 2, 3, 1)
        if self.target == "tensorflow":
            import tensorflow as tf

            got = {k: v.numpy() for k, v in self.serve(feat=tf.constant(nhwc), rois=tf.constant(rois)).items()}
        else:
            got = self.runner(feat=nhwc, rois=rois)
        return {top: np.asarray(got[top]).transpose(0, 3, 1, 2) for top in self.outputs}


def invoke(*args):
    """The CLI as a user runs it; never a traceback."""
    from click.testing import CliRunner

    from caffe2x.cli import main

    result = CliRunner().invoke(main, [str(a) for a in args])
    assert "Traceback" not in result.output
    return result


def assert_refused_before_converting(tmp_path, text: str, match: str, target: str, output: str, printed: str) -> None:
    """A net the shape rule refuses: a ShapeError matching `match` when read, and `convert` to
    `target` exits 2 printing `printed`, with nothing written at tmp_path / output."""
    from caffe2x.errors import ShapeError

    with pytest.raises(ShapeError, match=match):
        graph_of(text)
    path = tmp_path / "net.prototxt"
    path.write_text(text)
    result = invoke("convert", path, "--random-weights", "--to", target, "-o", tmp_path / output)
    assert result.exit_code == 2 and printed in result.output, result.output
    assert not (tmp_path / output).exists()


def pooled_at_every_roi_count(graph_for, target: str, folder, tops: list[str], features, scale: float = 0.25):
    """One model of graph_for(7) converted to `target` (R dynamic), run at R = 1, 7 and 61 ROIs:
    (top, R, the model's top, the reference's on graph_for(R)), shapes already checked equal."""
    from caffe2x.reference import run

    model = Converted(graph_for(7), target, folder, tops)
    feat = features_of(features, seed=3)
    for count in (1, 7, 61):
        rois = roi_set(count, features, scale=scale, seed=count)
        want = run(graph_for(count), {"feat": feat, "rois": rois})
        got = model(feat, rois)
        for top in tops:
            assert got[top].shape == want[top].shape, (top, count)
            yield top, count, got[top], want[top]


def onnx_dims(graph, path) -> dict[str, list]:
    """The declared dims of the ONNX model's inputs and outputs (a name for a dynamic one)."""
    import onnx

    api.convert(graph, "onnx", path)
    model = onnx.load(str(path)).graph
    return {v.name: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]
            for v in [*model.input, *model.output]}


def tflite_builtins(graph, path) -> set[str]:
    """The TFLite model's operators, every one a builtin (no custom or Flex operator)."""
    from mobile_nets import tflite_operators

    api.convert(graph, "tflite", path)
    builtins, custom = tflite_operators(path)
    assert not custom, custom
    return builtins


FORK_CASE = "fork_roi"  # forkbuild's golden case: the real caffe-fast-rcnn ROIPooling and caffe-rfcn PSROIPooling


def fork_case_available() -> bool:
    from conftest import GOLDEN

    return (GOLDEN / FORK_CASE / "manifest.json").exists()


needs_fork_case = pytest.mark.skipif(not fork_case_available(), reason=f"golden case {FORK_CASE} not in fixtures/golden yet")


def assert_reference_is_the_fork(layer_type: str, at_least: int) -> None:
    """Each `layer_type` layer of the fork case on the fork's own bottoms: bit-exact, and at least
    `at_least` layers checked."""
    checked = 0
    for layer, got, want in fork_layers_alone(layer_type):
        assert got.shape == want.shape and np.array_equal(got, want), (layer, np.abs(got - want).max())
        checked += 1
    assert checked >= at_least


def assert_target_matches_the_fork(layer_type: str, target: str) -> None:
    """verify of the fork case on `target` against the fork's blobs of the `layer_type` layers, every
    one compared (TFLite gives the net's outputs only)."""
    graph, inputs, want = fork_blobs(layer_type)
    result = api.verify(graph, target, inputs, want, tolerance=1e-6)
    compared = {f"{r.layer}:{r.top}" for r in result.records}
    assert set(want) <= compared or target == "tflite", set(want) - compared
    assert result.passed, result.first_divergence


def fork_blobs(layer_type: str):
    """(graph of the fork case, its inputs, the fork's blobs of the `layer_type` layers)."""
    from conftest import golden_case

    case = golden_case(FORK_CASE)
    graph = case.load()
    names = {node.name for node in graph.nodes if node.type == layer_type}
    want = {key: blob for key, blob in case.blobs.items() if key.split(":")[0] in names}
    return graph, case.inputs, want


def fork_layers_alone(layer_type: str):
    """For each `layer_type` layer of the fork case: (layer, the reference's top on the fork's own
    bottoms, the fork's top)."""
    from conftest import golden_case

    from caffe2x.reference import REFERENCE

    case = golden_case(FORK_CASE)
    graph = case.load()
    key_of = {value: key for key, value in graph.blob_keys().items()}
    for node in graph.nodes:
        if node.type == layer_type:
            bottoms = [case.blobs[key_of[v]] for v in node.inputs]
            yield node.name, REFERENCE.get(layer_type)(node, bottoms)[0], case.blobs[f"{node.name}:{node.tops[0]}"]
