"""verify and row flips (caffe2x/flips.py): a Proposal whose NMS keeps other rows on bottoms
within tolerance passes where its reference kernel, re-run on the target's own bottoms, gives
the target's rows, and the layers after it are compared on the target's rows; a wrong NMS, a
dropped or duplicated row, a bottom the target does not show, or a later layer that is wrong
still fail. The R-FCN wild nets (tests/test_wild.py) are the real case."""

from __future__ import annotations

import numpy as np
import pytest
from segmentation_nets import input_layer

import caffe2x
from caffe2x.decisions import settle_decisions
from caffe2x.flips import row_flip, unmatched_rows
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.layers.base import row_values
from caffe2x.parity import compare_blobs
from caffe2x.reference import as_golden_blobs, run
from caffe2x.ties import near_tie
from caffe2x.weights import fill_random

H, W, A = 6, 6, 9
TOLERANCE = 1e-5


def net_text(nms_thresh: float = 0.7) -> str:
    """An RPN's outputs as inputs (the deltas through an identity Power, whose blob a target
    computes), py-faster-rcnn's Proposal, ROIPooling on its rows and an InnerProduct."""
    return "\n".join([
        input_layer("rpn_cls_prob_reshape", (1, 2 * A, H, W)), input_layer("deltas", (1, 4 * A, H, W)),
        input_layer("im_info", (1, 3)), input_layer("feat", (1, 4, H, W)),
        'layer { name: "rpn_bbox_pred" type: "Power" bottom: "deltas" top: "rpn_bbox_pred" }',
        'layer { name: "proposal" type: "Proposal" bottom: "rpn_cls_prob_reshape" bottom: "rpn_bbox_pred" '
        f'bottom: "im_info" top: "rois" proposal_param {{ feat_stride: 16 nms_thresh: {nms_thresh} }} }}',
        'layer { name: "pool" type: "ROIPooling" bottom: "feat" bottom: "rois" top: "pool" '
        "roi_pooling_param { pooled_h: 2 pooled_w: 2 spatial_scale: 0.0625 } }",
        'layer { name: "fc" type: "InnerProduct" bottom: "pool" top: "fc" inner_product_param { num_output: 3 } }',
    ])


def graph_of(nms_thresh: float = 0.7):
    return fill_random(caffe2x.graph_from_net(parse_prototxt_text(net_text(nms_thresh))), seed=3)


def rpn_inputs() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {"rpn_cls_prob_reshape": rng.uniform(0, 1, (1, 2 * A, H, W)).astype(np.float32),
            "deltas": (rng.standard_normal((1, 4 * A, H, W)) * 0.3).astype(np.float32),
            "im_info": np.array([[96, 96, 1]], np.float32),
            "feat": rng.standard_normal((1, 4, H, W)).astype(np.float32)}


def _rows(graph, inputs, deltas) -> int:
    return run(graph, {**inputs, "deltas": deltas})[graph.blob_keys()["proposal:rois"]].shape[0]


def at_a_decision(graph, inputs):
    """The inputs moved to an NMS decision: the best-scoring box's dx set where the row count
    changes between two adjacent float32 values (found by bisection). Returns the inputs (the
    reference's side) and the deltas one float32 step away (the other side)."""
    scores = inputs["rpn_cls_prob_reshape"][0, A:]
    a, h, w = np.unravel_index(np.argmax(scores), scores.shape)
    at = (0, 4 * a, h, w)

    def deltas(dx):
        moved = inputs["deltas"].copy()
        moved[at] = dx
        return moved

    lo, hi = np.float32(-0.69), np.float32(-0.59)  # 31 rows at lo, 32 at hi with these inputs
    keep = _rows(graph, inputs, deltas(lo))
    assert keep != _rows(graph, inputs, deltas(hi))
    while np.nextafter(lo, hi, dtype=np.float32) != hi:
        mid = np.float32((float(lo) + float(hi)) / 2)
        lo, hi = (mid, hi) if _rows(graph, inputs, deltas(mid)) == keep else (lo, mid)
    return {**inputs, "deltas": deltas(lo)}, deltas(hi)


def flip_case():
    """(graph, inputs, reference blobs, the blobs of a target whose rpn_bbox_pred came out one
    float32 step away: every layer after it computed on that, as a target's rounding does)."""
    graph = graph_of()
    inputs, moved = at_a_decision(graph, rpn_inputs())
    reference = as_golden_blobs(graph, run(graph, inputs))
    return graph, inputs, reference, target_blobs(graph, inputs, moved)


def target_blobs(graph, inputs, moved, rois=None):
    """A target's blobs: the reference's layers run on its rpn_bbox_pred (and on its own rois)."""
    keys = graph.blob_keys()
    overrides = {keys["rpn_bbox_pred:rpn_bbox_pred"]: moved}
    if rois is not None:
        overrides[keys["proposal:rois"]] = rois
    return as_golden_blobs(graph, run(graph, inputs, overrides=overrides))


def settled(graph, inputs, got, reference):
    def compare_all(ref):
        return compare_blobs(graph, "onnx", "builtin", got, ref, TOLERANCE).records

    return settle_decisions(graph, compare_all(reference), got, reference, inputs, compare_all, [near_tie, row_flip])


def failing(records):
    return [(r.top, r.note) for r in records if not r.passed]


def test_a_flip_caused_by_bottoms_within_tolerance_passes_and_says_so():
    graph, inputs, reference, got = flip_case()
    wanted, given = reference["proposal:rois"].shape[0], got["proposal:rois"].shape[0]
    assert wanted != given
    plain = compare_blobs(graph, "onnx", "builtin", got, reference, TOLERANCE)
    assert plain.records[0].passed  # rpn_bbox_pred: one float32 step
    assert not plain.passed and plain.first_divergence.top == "rois"  # as verify failed before
    records = settled(graph, inputs, got, reference)
    assert not failing(records), failing(records)
    rois, = [r for r in records if r.top == "rois"]
    assert f"decision flip: {wanted} -> {given} rows" in rois.note and "re-run on this target's bottoms" in rois.note
    assert [r.shape[0] for r in records if r.top in ("pool", "fc")] == [given, given]


@pytest.mark.parametrize("nms_thresh", [0.6, 0.75])
def test_a_target_with_another_nms_threshold_still_fails(nms_thresh):
    graph, inputs, reference, flipped = flip_case()
    moved, wrong = flipped["rpn_bbox_pred:rpn_bbox_pred"], graph_of(nms_thresh)
    got = as_golden_blobs(wrong, run(wrong, inputs, overrides={wrong.blob_keys()["rpn_bbox_pred:rpn_bbox_pred"]: moved}))
    records = settled(graph, inputs, got, reference)
    assert [top for top, _ in failing(records)][:1] == ["rois"], failing(records)
    assert "decision flip" not in (failing(records)[0][1] or "")


@pytest.mark.parametrize("change", ["drop", "duplicate"])
def test_a_dropped_or_duplicated_row_still_fails(change):
    graph, inputs, reference, got = flip_case()
    rows = got["proposal:rois"]
    rows = rows[:-1] if change == "drop" else np.concatenate([rows, rows[-1:]])
    got = target_blobs(graph, inputs, got["rpn_bbox_pred:rpn_bbox_pred"], rows)
    records = settled(graph, inputs, got, reference)
    assert [top for top, _ in failing(records)][:1] == ["rois"], failing(records)


def test_a_wrong_layer_after_a_settled_flip_still_fails():
    graph, inputs, reference, got = flip_case()
    got = {**got, "fc:fc": got["fc:fc"] + 1e-2 * np.abs(got["fc:fc"]).max()}
    records = settled(graph, inputs, got, reference)
    assert [top for top, _ in failing(records)] == ["fc"], failing(records)
    assert "decision flip" in next(r.note for r in records if r.top == "rois")


def test_a_flip_is_not_settled_without_the_targets_own_bottoms():
    """The re-run needs the bottoms as the target computed them: one it does not show, or one
    that failed, leaves the failure as it was."""
    graph, inputs, reference, got = flip_case()
    hidden = {key: blob for key, blob in got.items() if key != "rpn_bbox_pred:rpn_bbox_pred"}
    assert [top for top, _ in failing(settled(graph, inputs, hidden, reference))][:1] == ["rois"]
    records = compare_blobs(graph, "onnx", "builtin", got, reference, TOLERANCE).records
    bottom = records[0]
    bottom.error = type(bottom.error)(1.0, 1.0, 1.0, 0.0)  # as if rpn_bbox_pred had failed
    assert row_flip(graph, records[1], records, got, reference, inputs) is None


def test_the_rows_without_a_counterpart_are_counted_both_ways():
    want = np.array([[0, 1, 1, 5, 5], [0, 2, 2, 9, 9], [0, 3, 3, 7, 7]], np.float32)
    got = np.array([[0, 1, 1, 5, 5], [0, 3, 3, 7, 7.0001], [0, 4, 4, 8, 8], [0, 4, 4, 8, 8]], np.float32)
    assert unmatched_rows(got, want, 1e-4, axis=0) == (1, 2)
    assert unmatched_rows(want, want, 0.0, axis=0) == (0, 0)


def test_tflite_shows_the_rows_and_their_bottoms_when_verified():
    """A TFLite model shows its outputs only: the verified one also outputs the Proposal's rows
    and bottoms, so that they are compared and a flip is re-run on them."""
    from caffe2x.targets.tensorflow.runner import with_row_taps

    graph = graph_of()
    tapped = with_row_taps(graph)
    assert set(row_values(graph)) == {graph.blob_keys()[k] for k in ("rpn_bbox_pred:rpn_bbox_pred", "proposal:rois",
                                                                          "input:rpn_cls_prob_reshape")} - set(graph.inputs)
    assert tapped.output_tops == ["fc", "rpn_bbox_pred", "rois"] and graph.output_tops == ["fc"]
    pytest.importorskip("tensorflow")
    inputs = rpn_inputs()
    reference = as_golden_blobs(graph, run(graph, inputs))
    result = caffe2x.verify(graph, "tflite", inputs, reference, tolerance=1e-4)
    assert result.passed and [r.top for r in result.records] == ["rpn_bbox_pred", "rois", "fc"], \
        [(r.top, r.note) for r in result.records]
