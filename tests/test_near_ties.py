"""verify and argmax near-ties (caffe2x/ties.py): an index blob that a target breaks the other
way at a near-tie passes, and the layers reading it are compared with the reference re-run on
the target's indices; an index that selects a clearly smaller value, or a later layer that is
wrong, still fails."""

from __future__ import annotations

import numpy as np
from segmentation_nets import case, input_layer

from caffe2x.parity import compare_blobs
from caffe2x.reference import as_golden_blobs, run
from caffe2x.ties import index_blobs, near_tie_gap, settle_near_ties

NET = "\n".join([
    input_layer("data", (1, 2, 4, 4)),
    'layer { name: "conv" type: "Convolution" bottom: "data" top: "conv" convolution_param { num_output: 2 kernel_size: 1 } }',
    'layer { name: "pool" type: "Pooling" bottom: "conv" top: "pool" top: "pool_mask" pooling_param { pool: MAX kernel_size: 2 stride: 2 } }',
    'layer { name: "up" type: "Upsample" bottom: "pool" bottom: "pool_mask" top: "up" upsample_param { scale: 2 } }',
    'layer { name: "out" type: "Convolution" bottom: "up" top: "out" convolution_param { num_output: 2 kernel_size: 3 pad: 1 } }',
    'layer { name: "arg" type: "ArgMax" bottom: "out" top: "arg" argmax_param { axis: 1 } }',
])


def _with_window(gap: float):
    """The net, its inputs and reference, where the first window of channel 0 holds its
    maximum twice but for `gap` (relative): the reference picks the larger one."""
    graph, inputs, _ = case(NET)
    conv = graph.node("conv")
    conv.weights[0][...] = np.eye(2, dtype=np.float32).reshape(2, 2, 1, 1)  # conv passes the data through
    conv.weights[1][...] = 0
    data = inputs["data"]
    top = float(np.abs(data).max()) + 1.0
    data[0, 0, 0, 0], data[0, 0, 0, 1] = top * (1 - gap), top  # window (0, 0): positions 0 and 1
    return graph, inputs, as_golden_blobs(graph, run(graph, inputs))


def _target_choosing(graph, inputs, index: int):
    """What a target that picked `index` in that window computes: every blob re-run on that choice."""
    want = run(graph, inputs)
    mask = want[graph.blob_keys()["pool:pool_mask"]].copy()
    mask[0, 0, 0, 0] = index
    return as_golden_blobs(graph, run(graph, inputs, overrides={graph.blob_keys()["pool:pool_mask"]: mask}))


def _verify(graph, inputs, got, reference):
    def compare_all(ref):
        return compare_blobs(graph, "onnx", "builtin", got, ref).records

    return settle_near_ties(graph, compare_all(reference), got, reference, inputs, compare_all)


def test_mask_and_argmax_tops_are_the_index_blobs():
    graph, _, _ = case(NET)
    assert set(index_blobs(graph)) == {"pool:pool_mask", "arg:arg"}


def test_a_near_tie_broken_the_other_way_passes_and_later_layers_follow_the_targets_choice():
    graph, inputs, reference = _with_window(gap=1e-7)
    got = _target_choosing(graph, inputs, index=0)  # the smaller one, by 1e-7
    plain = compare_blobs(graph, "onnx", "builtin", got, reference)
    assert not plain.passed and plain.first_divergence.top == "pool_mask"  # as verify failed before
    records = _verify(graph, inputs, got, reference)
    assert all(r.passed for r in records), [(r.top, r.error.normalized_max) for r in records if not r.passed]
    mask, = [r for r in records if r.top == "pool_mask"]
    assert "1 near-tie index(es)" in mask.note and "re-run" in mask.note


def test_an_index_selecting_a_clearly_smaller_value_still_fails():
    graph, inputs, reference = _with_window(gap=1e-2)
    got = _target_choosing(graph, inputs, index=0)
    records = _verify(graph, inputs, got, reference)
    failing = [r for r in records if not r.passed]
    assert failing and failing[0].top == "pool_mask" and failing[0].note is None


def test_a_wrong_layer_after_a_settled_near_tie_still_fails():
    graph, inputs, reference = _with_window(gap=1e-7)
    got = dict(_target_choosing(graph, inputs, index=0))
    got["out:out"] = got["out:out"] + 1e-2 * np.abs(got["out:out"]).max()
    records = _verify(graph, inputs, got, reference)
    failing = [r for r in records if not r.passed]
    assert [r.top for r in failing][:1] == ["out"], [(r.top, r.note) for r in records]


def test_the_value_gap_is_measured_on_the_bottom_and_normalized():
    graph, inputs, reference = _with_window(gap=1e-3)
    node = graph.node("pool")
    want = reference["pool:pool_mask"]
    got = want.copy()
    got[0, 0, 0, 0] = 0
    gap = near_tie_gap(node, 1, reference["conv:conv"], got, want)
    assert np.isclose(gap, 1e-3, rtol=1e-3)
    assert near_tie_gap(node, 1, reference["conv:conv"], want, want) == 0.0
    got[0, 0, 0, 0] = -1  # a position that names nothing
    assert near_tie_gap(node, 1, reference["conv:conv"], got, want) == float("inf")
