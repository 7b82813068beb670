"""Proposal: py-faster-rcnn's Python ProposalLayer and the C++ `Proposal` type (proposal_param),
one computation, against py-faster-rcnn's own functions (transcribed below from
rbgirshick/py-faster-rcnn@781a917b: generate_anchors.py, bbox_transform.py, proposal_layer.py,
py_cpu_nms.py) and on every target, rows counted first, then compared."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import PrototxtError, ShapeError
from caffe2x.families.detection import proposal
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run

GOLDEN = FIXTURES / "golden" / "fork_proposal"  # py-faster-rcnn's own ProposalLayer, run in pycaffe
TOLERANCE = 1e-5
PYTHON_BLOCK = ('type: "Python" python_param { module: "rpn.proposal_layer" layer: "ProposalLayer" '
                "param_str: \"%s\" }")
CPP_BLOCK = 'type: "Proposal" proposal_param { %s }'


def net_text(layer_block: str, height=14, width=19, anchors=9, tops=("rois", "scores"), im_info=True) -> str:
    inputs = [("rpn_cls_prob_reshape", (1, 2 * anchors, height, width)), ("rpn_bbox_pred", (1, 4 * anchors, height, width))]
    inputs += [("im_info", (1, 3))] if im_info else []
    lines = [f'layer {{ name: "{n}" type: "Input" top: "{n}" input_param {{ shape {{ '
             + " ".join(f"dim: {d}" for d in shape) + " } } }" for n, shape in inputs]
    bottoms = " ".join(f'bottom: "{n}"' for n, _ in inputs)
    lines.append(f'layer {{ name: "proposal" {bottoms} ' + " ".join(f'top: "{t}"' for t in tops)
                 + f" {layer_block} }}")
    return "\n".join(lines)


def graph_of(text: str):
    return caffe2x.graph_from_net(parse_prototxt_text(text))


def rpn_inputs(seed: int, height=14, width=19, anchors=9, im_info=(224.0, 300.0, 1.0), spread=0.3):
    rng = np.random.default_rng(seed)
    return {"rpn_cls_prob_reshape": rng.uniform(0, 1, (1, 2 * anchors, height, width)).astype(np.float32),
            "rpn_bbox_pred": (rng.standard_normal((1, 4 * anchors, height, width)) * spread).astype(np.float32),
            "im_info": np.asarray([im_info], np.float32)}


# ---- py-faster-rcnn, transcribed (the independent check) ----------------------------------------

def pf_generate_anchors(base_size=16, ratios=(0.5, 1, 2), scales=(8, 16, 32)):  # 2 ** np.arange(3, 6)
    def whctrs(a):
        w, h = a[2] - a[0] + 1, a[3] - a[1] + 1
        return w, h, a[0] + 0.5 * (w - 1), a[1] + 0.5 * (h - 1)

    def mkanchors(ws, hs, x, y):
        ws, hs = ws[:, np.newaxis], hs[:, np.newaxis]
        return np.hstack((x - 0.5 * (ws - 1), y - 0.5 * (hs - 1), x + 0.5 * (ws - 1), y + 0.5 * (hs - 1)))

    def ratio_enum(anchor, ratios):
        w, h, x, y = whctrs(anchor)
        ws = np.round(np.sqrt(w * h / np.asarray(ratios)))
        return mkanchors(ws, np.round(ws * np.asarray(ratios)), x, y)

    def scale_enum(anchor, scales):
        w, h, x, y = whctrs(anchor)
        return mkanchors(w * np.asarray(scales), h * np.asarray(scales), x, y)

    ratio_anchors = ratio_enum(np.array([1, 1, base_size, base_size]) - 1, ratios)
    return np.vstack([scale_enum(ratio_anchors[i, :], scales) for i in range(ratio_anchors.shape[0])])


def pf_py_cpu_nms(dets, thresh):
    x1, y1, x2, y2, scores = (dets[:, i] for i in range(5))
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")  # py-faster-rcnn: scores.argsort()[::-1]; distinct scores here
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(i)
        xx1, yy1 = np.maximum(x1[i], x1[order[1:]]), np.maximum(y1[i], y1[order[1:]])
        xx2, yy2 = np.minimum(x2[i], x2[order[1:]]), np.minimum(y2[i], y2[order[1:]])
        w, h = np.maximum(0.0, xx2 - xx1 + 1), np.maximum(0.0, yy2 - yy1 + 1)
        inter = w * h
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= thresh)[0] + 1]
    return keep


def pf_forward(scores, bbox_deltas, im_info, feat_stride=16, anchor_scales=(8, 16, 32), base_size=16,
               ratios=(0.5, 1, 2), pre_nms_topN=6000, post_nms_topN=300, nms_thresh=0.7, min_size=16):
    """ProposalLayer.forward with cfg.TEST (bbox_transform_inv and clip_boxes inlined)."""
    base = pf_generate_anchors(base_size, ratios, np.array(anchor_scales))
    num_anchors = base.shape[0]
    scores = scores[:, num_anchors:, :, :]
    im_info = im_info[0, :]
    height, width = scores.shape[-2:]
    shift_x, shift_y = np.meshgrid(np.arange(0, width) * feat_stride, np.arange(0, height) * feat_stride)
    shifts = np.vstack((shift_x.ravel(), shift_y.ravel(), shift_x.ravel(), shift_y.ravel())).transpose()
    anchors = (base.reshape((1, num_anchors, 4)) + shifts.reshape((1, -1, 4)).transpose((1, 0, 2))).reshape((-1, 4))
    bbox_deltas = bbox_deltas.transpose((0, 2, 3, 1)).reshape((-1, 4))
    scores = scores.transpose((0, 2, 3, 1)).reshape((-1, 1))
    boxes = anchors.astype(bbox_deltas.dtype, copy=False)
    widths, heights = boxes[:, 2] - boxes[:, 0] + 1.0, boxes[:, 3] - boxes[:, 1] + 1.0
    ctr_x, ctr_y = boxes[:, 0] + 0.5 * widths, boxes[:, 1] + 0.5 * heights
    pred_ctr_x = bbox_deltas[:, 0::4] * widths[:, np.newaxis] + ctr_x[:, np.newaxis]
    pred_ctr_y = bbox_deltas[:, 1::4] * heights[:, np.newaxis] + ctr_y[:, np.newaxis]
    pred_w = np.exp(bbox_deltas[:, 2::4]) * widths[:, np.newaxis]
    pred_h = np.exp(bbox_deltas[:, 3::4]) * heights[:, np.newaxis]
    proposals = np.zeros(bbox_deltas.shape, dtype=bbox_deltas.dtype)
    proposals[:, 0::4], proposals[:, 1::4] = pred_ctr_x - 0.5 * pred_w, pred_ctr_y - 0.5 * pred_h
    proposals[:, 2::4], proposals[:, 3::4] = pred_ctr_x + 0.5 * pred_w, pred_ctr_y + 0.5 * pred_h
    for k, side in ((0, 1), (1, 0), (2, 1), (3, 0)):
        proposals[:, k::4] = np.maximum(np.minimum(proposals[:, k::4], im_info[side] - 1), 0)
    ws, hs = proposals[:, 2] - proposals[:, 0] + 1, proposals[:, 3] - proposals[:, 1] + 1
    keep = np.where((ws >= min_size * im_info[2]) & (hs >= min_size * im_info[2]))[0]
    proposals, scores = proposals[keep, :], scores[keep]
    order = np.argsort(-scores.ravel(), kind="stable")
    if pre_nms_topN > 0:
        order = order[:pre_nms_topN]
    proposals, scores = proposals[order, :], scores[order]
    keep = pf_py_cpu_nms(np.hstack((proposals, scores)), nms_thresh) if len(proposals) else []
    if post_nms_topN > 0:
        keep = keep[:post_nms_topN]
    proposals, scores = proposals[keep, :], scores[keep]
    blob = np.hstack((np.zeros((proposals.shape[0], 1), dtype=np.float32), proposals.astype(np.float32, copy=False)))
    return blob, scores


def assert_rows_close(got, want, what):
    assert got.shape == want.shape, f"{what}: {got.shape} rows vs {want.shape}"
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    assert np.abs(got - want).max(initial=0.0) / scale <= 1e-6, what


# ---- the reference ------------------------------------------------------------------------------

def test_anchors_are_py_faster_rcnns():
    """generate_anchors() as the Python source gives them (ratio-major, np.round half to even; the
    comment in generate_anchors.py shows MATLAB's 1-based values, each one more)."""
    want = [[-84, -40, 99, 55], [-176, -88, 191, 103], [-360, -184, 375, 199], [-56, -56, 71, 71],
            [-120, -120, 135, 135], [-248, -248, 263, 263], [-36, -80, 51, 95], [-80, -168, 95, 183],
            [-168, -344, 183, 359]]
    assert proposal.generate_anchors(16, (0.5, 1, 2), (8, 16, 32)).tolist() == want
    for base, ratios, scales in ((16, (0.5, 1, 2), (2, 4)), (8, (0.25, 1, 3), (1, 5, 9)), (32, (1.5,), (4,))):
        assert np.array_equal(proposal.generate_anchors(base, ratios, scales), pf_generate_anchors(base, ratios, scales))


PY_CASES = [  # (param_str, im_info, input spread)
    ("'feat_stride': 16", (224.0, 300.0, 1.0), 0.3),
    ("'feat_stride': 16", (224.0, 300.0, 1.6), 0.3),  # min size 16 * 1.6 filters more
    ("{'feat_stride': 16, 'scales': [4, 8, 16]}", (200.0, 280.0, 0.8), 0.6),
]


@pytest.mark.parametrize("param_str, im_info, spread", PY_CASES)
def test_python_layer_reference_is_py_faster_rcnn(param_str, im_info, spread):
    graph = graph_of(net_text(PYTHON_BLOCK % param_str.replace("'", "\\'")))
    node = graph.nodes[-1]
    assert node.type == "Python:rpn.proposal_layer.ProposalLayer"
    inputs = rpn_inputs(3, im_info=im_info, spread=spread)
    rois, scores = proposal.reference(node, list(inputs.values()))
    scales = (4, 8, 16) if "scales" in param_str else (8, 16, 32)
    want_rois, want_scores = pf_forward(*inputs.values(), anchor_scales=scales)
    assert 0 < len(want_rois) <= 300
    assert_rows_close(rois, want_rois, "rois")
    assert_rows_close(scores, want_scores, "scores")


CPP_PARAMS = [
    ("feat_stride: 16", {}),
    ("feat_stride: 16 base_size: 8 min_size: 4 ratio: 0.5 ratio: 2 scale: 4 scale: 8 scale: 16 scale: 24 "
     "pre_nms_topn: 500 post_nms_topn: 40 nms_thresh: 0.5",
     dict(base_size=8, min_size=4, ratios=(0.5, 2), anchor_scales=(4, 8, 16, 24), pre_nms_topN=500,
          post_nms_topN=40, nms_thresh=0.5)),
    ("feat_stride: 8 pre_nms_topn: 0 post_nms_topn: 0", dict(feat_stride=8, pre_nms_topN=0, post_nms_topN=0)),
]


@pytest.mark.parametrize("block, kwargs", CPP_PARAMS)
def test_cpp_type_reads_proposal_param_with_the_same_computation(block, kwargs):
    anchors = len(kwargs.get("ratios", (1, 2, 3))) * len(kwargs.get("anchor_scales", (1, 2, 3)))
    graph = graph_of(net_text(CPP_BLOCK % block, anchors=anchors))
    inputs = rpn_inputs(5, anchors=anchors, im_info=(224.0, 300.0, 1.2))
    values = run(graph, inputs)
    rois, scores = values["rois"], values["scores"]
    want_rois, want_scores = pf_forward(*inputs.values(), **kwargs)
    assert_rows_close(rois, want_rois, block)
    assert_rows_close(scores, want_scores, block)


def test_python_and_cpp_spellings_agree_on_the_defaults():
    inputs = rpn_inputs(7)
    python = run(graph_of(net_text(PYTHON_BLOCK % "\\'feat_stride\\': 16")), inputs)
    cpp = run(graph_of(net_text(CPP_BLOCK % "feat_stride: 16")), inputs)
    assert np.array_equal(python["rois"], cpp["rois"]) and python["rois"].shape[0] == 300


# ---- the targets --------------------------------------------------------------------------------

TARGETS = ["onnx", "pytorch", "tensorflow", "tflite"]
MODULE = {"onnx": "onnxruntime", "pytorch": "torch"}


def verify_on(target, text, inputs):
    pytest.importorskip(MODULE.get(target, "tensorflow"))
    graph = graph_of(text)
    want = as_golden_blobs(graph, run(graph, inputs))
    result = caffe2x.verify(graph, target, inputs, want, tolerance=TOLERANCE)
    assert [r.top for r in result.records] == ["rois", "scores"][:len(result.records)] and result.records
    assert result.passed, [r.note for r in result.records]
    return want


@pytest.mark.parametrize("target", TARGETS)
def test_targets_match_the_reference_row_by_row(target):
    """py-faster-rcnn's defaults (300 rows) and a C++ layer whose filter, pre- and post-NMS cuts
    all bite (scale 1.6 drops boxes; 120 candidates; 25 rows kept)."""
    want = verify_on(target, net_text(PYTHON_BLOCK % "\\'feat_stride\\': 16"), rpn_inputs(11))
    assert want["proposal:rois"].shape == (300, 5)
    block = "feat_stride: 16 pre_nms_topn: 120 post_nms_topn: 25 nms_thresh: 0.6"
    want = verify_on(target, net_text(CPP_BLOCK % block), rpn_inputs(12, im_info=(224.0, 300.0, 1.6)))
    assert want["proposal:rois"].shape == (25, 5)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow"])
def test_no_box_large_enough_gives_zero_rows(target):
    want = verify_on(target, net_text(CPP_BLOCK % "feat_stride: 16 min_size: 4000"), rpn_inputs(13))
    assert want["proposal:rois"].shape == (0, 5)


def test_tflite_zero_rows_cannot_be_read_back_a_known_limit():
    """The model runs, but TFLite's Python interpreter refuses to hand out an empty output tensor
    (README: "Two-stage detection"); a model with rows reads fine (test above)."""
    pytest.importorskip("tensorflow")
    with pytest.raises(ValueError, match="Invalid tensor size"):
        verify_on("tflite", net_text(CPP_BLOCK % "feat_stride: 16 min_size: 4000"), rpn_inputs(13))


def test_onnx_declares_the_row_count_dynamic(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    import onnx

    graph = graph_of(net_text(PYTHON_BLOCK % "\\'feat_stride\\': 16"))
    path = tmp_path / "p.onnx"
    caffe2x.convert(graph, "onnx", path)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    dims = [[d.dim_value or d.dim_param for d in o.type.tensor_type.shape.dim] for o in model.graph.output]
    assert dims == [["rois_dim0", 5], ["scores_dim0", 1]] or all(isinstance(d[0], str) for d in dims), dims
    assert "NonMaxSuppression" in {n.op_type for n in model.graph.node}
    inputs = rpn_inputs(17)
    session = ort.InferenceSession(str(path))
    rois, _ = session.run(None, {x.name: inputs[x.name] for x in session.get_inputs()})
    assert_rows_close(rois, pf_forward(*inputs.values())[0], "onnxruntime")


def test_tflite_uses_the_builtin_nms():
    pytest.importorskip("tensorflow")
    import tensorflow as tf

    from caffe2x.targets.tensorflow.runner import generate, tflite_bytes

    content = tflite_bytes(generate(graph_of(net_text(PYTHON_BLOCK % "\\'feat_stride\\': 16"))))
    interpreter = tf.lite.Interpreter(model_content=content)
    ops = {d["op_name"] for d in interpreter._get_ops_details()}
    assert "NON_MAX_SUPPRESSION_V4" in ops and not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops


# ---- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("block", [CPP_BLOCK % "feat_stride: 16", PYTHON_BLOCK % "\\'feat_stride\\': 16"])
def test_a_proposal_without_im_info_is_a_clear_error_exit_2_nothing_written(tmp_path, block):
    text = net_text(block, im_info=False)
    with pytest.raises(ShapeError, match=r"proposal.*im_info"):
        graph_of(text)
    path = tmp_path / "net.prototxt"
    path.write_text(text)
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(main, ["convert", str(path), "--random-weights", "--to", "onnx", "-o", str(out)])
    assert result.exit_code == 2 and "im_info" in result.output and "'proposal'" in result.output
    assert "Traceback" not in result.output and not out.exists()


@pytest.mark.parametrize("param_str, message", [
    ("\\'scales\\': [8, 16]", "needs param_str"),
    ("\\'feat_stride\\': -4", "positive integer"),
    ("{\\'feat_stride\\': 16, \\'scales\\': [8, x]}", "positive numbers"),
])
def test_bad_param_str_is_a_clear_error(param_str, message):
    with pytest.raises((ShapeError, PrototxtError), match=message):
        graph_of(net_text(PYTHON_BLOCK % param_str))


def test_wrong_channel_counts_and_batch_are_refused():
    with pytest.raises(ShapeError, match="expected 2 x 6 anchors"):
        graph_of(net_text(CPP_BLOCK % "ratio: 1 ratio: 2 scale: 8 scale: 16 scale: 32", anchors=9))


# ---- the real py-faster-rcnn (forkbuild18's case) -----------------------------------------------

@pytest.mark.parametrize("target", ["reference"] + TARGETS)
def test_real_py_faster_rcnn_blobs(target):
    manifest = json.loads((GOLDEN / "manifest.json").read_text()) if (GOLDEN / "manifest.json").exists() else {}
    graph = caffe2x.load_net(GOLDEN / "net.prototxt")
    with np.load(GOLDEN / "blobs.npz") as data:
        blobs = {k: data[k] for k in data.files}
    inputs = {k.removeprefix("input:"): v for k, v in blobs.items() if k.startswith("input:")}
    if target == "reference":
        got = as_golden_blobs(graph, run(graph, inputs))
        from caffe2x.parity import compare_blobs

        result = compare_blobs(graph, "builtin", "caffe", got, blobs, TOLERANCE)
    else:
        pytest.importorskip(MODULE.get(target, "tensorflow"))
        result = caffe2x.verify(graph, target, inputs, blobs, reference_name="caffe", tolerance=TOLERANCE)
    assert result.records and result.passed, ([r.note for r in result.records], manifest.get("fork"))


# ---- Faster R-CNN ZF (py-faster-rcnn's test net, fixtures/nets/faster_rcnn_zf_test.prototxt) --------

ZF = Path(__file__).resolve().parent.parent / "fixtures" / "nets" / "faster_rcnn_zf_test.prototxt"
ZF_SHAPES = {"data": (1, 3, 224, 300), "im_info": (1, 3)}


def zf_graph(last_layer: str | None = None):
    """ZF with synthetic weights, cut after `last_layer` (all of it when None), image 224 x 300."""
    from caffe2x.io.prototxt import read_prototxt
    from caffe2x.weights import random_inputs, synthetic_weights

    net = read_prototxt(ZF)
    if last_layer is not None:
        names = [layer.name for layer in net.layer]
        del net.layer[names.index(last_layer) + 1:]
    graph = synthetic_weights(caffe2x.graph_from_net(net, None, ZF_SHAPES, str(ZF)), 0)
    inputs = random_inputs(graph, 1)
    return graph, inputs


def test_zf_random_inputs_hold_the_image_size_in_im_info():
    _, inputs = zf_graph("proposal")
    assert inputs["im_info"].tolist() == [[224.0, 300.0, 1.0]]


@pytest.mark.parametrize("block", [CPP_BLOCK % "feat_stride: 16", PYTHON_BLOCK % "\\'feat_stride\\': 16"])
def test_random_im_info_of_rpn_maps_given_as_inputs_is_the_area_they_cover(block):
    """im_info is a data bottom of both spellings (LayerDef.data_bottoms): with no image input, the
    14 x 19 maps at stride 16 cover 224 x 304. It was the maps' own 14 x 19, under the minimum box
    size 16: every box was filtered out, zero rows."""
    from caffe2x.weights import random_inputs

    graph = graph_of(net_text(block))
    inputs = random_inputs(graph, 0)
    assert inputs["im_info"].tolist() == [[224.0, 304.0, 1.0]]
    assert run(graph, inputs)["rois"].shape[0] > 0


def test_random_im_info_of_the_real_case_lets_every_proposal_keep_rows():
    """fork_proposal's three layers on drawn inputs: each im_info the image its maps cover
    (224 x 320, and 64 x 96 for the 4 x 6 maps), so `python model.py` on the converted folders'
    example inputs gets rows (TFLite cannot read zero rows back)."""
    from caffe2x.weights import random_inputs

    graph = caffe2x.load_net(GOLDEN / "net.prototxt")
    inputs = random_inputs(graph, 0)
    assert inputs["im_info"].tolist() == inputs["im_info_scaled"].tolist() == [[224.0, 320.0, 1.0]]
    assert inputs["im_info_small"].tolist() == [[64.0, 96.0, 1.0]]
    values = run(graph, inputs)
    assert all(values[top].shape[0] > 0 for top in ("rois", "rois_scaled", "rois_small"))


@pytest.mark.parametrize("target", TARGETS)
def test_faster_rcnn_zf_image_to_rois_on_every_target(target):
    """The real ZF test prototxt (its Python ProposalLayer included) from image to ROIs: every blob
    of the RPN and the proposals, rows counted first."""
    pytest.importorskip(MODULE.get(target, "tensorflow"))
    graph, inputs = zf_graph("proposal")
    want = as_golden_blobs(graph, run(graph, inputs))
    assert 0 < want["proposal:rois"].shape[0] <= 300
    result = caffe2x.verify(graph, target, inputs, want, tolerance=1e-4)
    assert result.passed and "proposal" in [r.layer for r in result.records], \
        [(r.layer, r.note) for r in result.records if not r.passed]


@pytest.mark.parametrize("target", TARGETS)
def test_faster_rcnn_zf_end_to_end_on_every_target(target):
    """Image -> rois, cls_prob, bbox_pred: the whole ZF test net."""
    pytest.importorskip(MODULE.get(target, "tensorflow"))
    graph, inputs = zf_graph()
    want = as_golden_blobs(graph, run(graph, inputs))
    result = caffe2x.verify(graph, target, inputs, want, tolerance=1e-4)
    layers = {r.layer for r in result.records}
    # TFLite's verified model shows a data-dependent layer's rows too (its row taps), so the
    # rois are compared on every target.
    compared = {"cls_prob", "bbox_pred", "proposal"}
    assert result.passed and compared <= layers, [(r.layer, r.note) for r in result.records if not r.passed]
