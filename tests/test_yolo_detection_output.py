"""YoloDetectionOutput and Yolov3DetectionOutput (eric612/MobileNet-YOLO): the reference kernels
against the fork's Forward_cpu written out loop by loop (tests/yolo_fork.py) on several shapes,
thresholds, batches and bottoms, with zero, few and many rows; the fork's CHECKs and
out-of-bounds reads as typed errors. Every target: tests/test_yolo_targets.py."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from one_layer import reference
from yolo_fork import yolo_v2, yolo_v3

import caffe2x
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.io.prototxt import parse_prototxt_text

BIASES = (1.08, 1.19, 3.42, 4.41, 6.63, 11.38, 9.42, 5.11, 16.62, 10.52)
V3_BIASES = (10, 14, 23, 27, 37, 58, 81, 82, 135, 169, 344, 319)


def v2_layer(bottoms: int, classes: int, boxes: int, threshold: float, nms: float, biases=BIASES) -> str:
    values = " ".join(f"biases: {b}" for b in biases)
    tops = " ".join(f'bottom: "in{i}"' for i in range(bottoms))
    return (f'layer {{ name: "det" type: "YoloDetectionOutput" {tops} top: "out" yolo_detection_output_param {{ '
            f"num_classes: {classes} num_box: {boxes} confidence_threshold: {threshold} nms_threshold: {nms} "
            f"{values} }} }}")


def v3_layer(classes: int, boxes: int, threshold: float, nms: float, mask, scales, groups: int = 2,
             biases=V3_BIASES) -> str:
    fields = " ".join([f"biases: {b}" for b in biases] + [f"mask: {m}" for m in mask]
                      + [f"anchors_scale: {s}" for s in scales])
    tops = " ".join(f'bottom: "in{i}"' for i in range(groups))
    return (f'layer {{ name: "det" type: "Yolov3DetectionOutput" {tops} top: "out" '
            f"yolov3_detection_output_param {{ num_classes: {classes} num_box: {boxes} "
            f"confidence_threshold: {threshold} nms_threshold: {nms} mask_group_num: {groups} {fields} }} }}")


def heads(seed: int, *shapes, spread: float = 2.0):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(shape) * spread).astype(np.float32) for shape in shapes]


def assert_same_rows(got, want):
    assert got.shape == want.shape, f"{got.shape[2]} rows, the fork {want.shape[2]}"
    assert np.array_equal(got[..., :2], want[..., :2])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * max(1.0, float(np.abs(want).max())))


V2_CASES = [  # (seed, bottom shapes, classes, boxes, threshold, nms)
    (0, [(1, 5 * 8, 5, 5)], 3, 5, 0.3, 0.45),
    (1, [(2, 5 * 8, 4, 4)], 3, 5, 0.2, 0.3),  # batch 2: one list, image id 0
    (2, [(1, 3 * 9, 6, 6), (1, 3 * 9, 3, 3)], 4, 3, 0.1, 0.5),  # two bottoms
    (3, [(1, 2 * 12, 3, 3)], 3, 2, 0.05, 0.7),  # more entries per box than read
    (4, [(1, 5 * 8, 5, 5)], 3, 5, 0.999, 0.45),  # no detection: one [0, -1, ...] row
    (5, [(3, 5 * 8, 2, 2)], 3, 5, 0.999, 0.45),  # no detection, batch 3: three rows
    (6, [(1, 5 * 25, 8, 8)], 20, 5, 0.0, 0.9),  # every box a candidate, many rows
]


@pytest.mark.parametrize(("seed", "shapes", "classes", "boxes", "threshold", "nms"), V2_CASES)
def test_v2_reference_matches_the_forks_loops(seed, shapes, classes, boxes, threshold, nms):
    inputs = heads(seed, *shapes)
    got, _ = reference(v2_layer(len(shapes), classes, boxes, threshold, nms), *inputs)
    want = yolo_v2(inputs, classes, boxes, threshold, nms, BIASES)
    assert_same_rows(got, want)


def test_v2_cases_cover_zero_few_and_many_rows():
    counts = [yolo_v2(heads(s, *shapes), c, b, t, n, BIASES).shape[2] for s, shapes, c, b, t, n in V2_CASES]
    assert counts[4:6] == [1, 3] and min(counts[:4]) >= 3 and counts[6] >= 100, counts


V3_CASES = [  # (seed, two bottom shapes, classes, boxes, threshold, nms, mask, anchors_scale)
    (0, [(1, 27, 4, 5), (1, 27, 8, 10)], 4, 3, 0.5, 0.45, (3, 4, 5, 0, 1, 2), (32, 16)),
    (1, [(2, 27, 3, 3), (2, 27, 6, 6)], 4, 3, 0.3, 0.3, (3, 4, 5, 0, 1, 2), (32, 16)),
    (2, [(1, 2 * 7 + 3, 5, 3), (1, 14, 10, 6)], 2, 2, 0.2, 0.6, (4, 5, 1, 2), (16, 8)),  # extra channels unread
    (3, [(1, 27, 4, 5), (1, 27, 8, 10)], 4, 3, 0.9999, 0.45, (3, 4, 5, 0, 1, 2), (32, 16)),  # no detection
    (4, [(1, 75, 4, 4), (1, 75, 8, 8)], 20, 3, 0.01, 0.45, (3, 4, 5, 0, 1, 2), (32, 16)),  # many rows
]


@pytest.mark.parametrize(("seed", "shapes", "classes", "boxes", "threshold", "nms", "mask", "scales"), V3_CASES)
def test_v3_reference_matches_the_forks_loops(seed, shapes, classes, boxes, threshold, nms, mask, scales):
    inputs = heads(seed, *shapes)
    got, _ = reference(v3_layer(classes, boxes, threshold, nms, mask, scales), *inputs)
    want = yolo_v3(inputs, classes, boxes, threshold, nms, V3_BIASES, scales, mask, 2)
    assert_same_rows(got, want)


def test_v3_cases_cover_zero_few_and_many_rows():
    counts = [yolo_v3(heads(s, *shapes), c, b, t, n, V3_BIASES, sc, m, 2).shape[2]
              for s, shapes, c, b, t, n, m, sc in V3_CASES]
    assert counts[3] == 1 and min(counts[:3]) >= 3 and counts[4] >= 100, counts


def test_v3_one_bottom_with_mask_group_num_one():
    (x,) = heads(7, (1, 18, 5, 7))
    got, _ = reference(v3_layer(1, 3, 0.4, 0.45, (0, 1, 2), (32,), groups=1), x)
    assert_same_rows(got, yolo_v3([x], 1, 3, 0.4, 0.45, V3_BIASES, (32,), (0, 1, 2), 1))


def test_the_rows_are_the_forks_layout():
    """Image id 0, label + 1 (0 is never a class), score descending, corners not clipped."""
    inputs = heads(4, (1, 75, 4, 4), (1, 75, 8, 8))
    rows, _ = reference(v3_layer(20, 3, 0.01, 0.45, (3, 4, 5, 0, 1, 2), (32, 16)), *inputs)
    rows = rows.reshape(-1, 7)
    assert np.all(rows[:, 0] == 0) and rows[:, 1].min() >= 1 and rows[:, 1].max() <= 20
    assert np.all(np.diff(rows[:, 2]) <= 0)
    assert np.all(rows[:, 5] >= rows[:, 3]) and (rows[:, 3].min() < 0 or rows[:, 5].max() > 1)


def _net(shapes, layer: str) -> str:
    lines = [f'layer {{ name: "i{i}" type: "Input" top: "in{i}" input_param {{ shape {{ '
             + " ".join(f"dim: {d}" for d in shape) + " } } }" for i, shape in enumerate(shapes)]
    return "\n".join(lines + [layer])


BAD = [
    ([(1, 40, 5, 4)], v2_layer(1, 3, 5, 0.3, 0.45), "height must equal width"),
    ([(1, 42, 5, 5)], v2_layer(1, 3, 5, 0.3, 0.45), "42 channels are not num_box 5"),
    ([(1, 35, 5, 5)], v2_layer(1, 3, 5, 0.3, 0.45), "give 7 entries per box"),
    ([(1, 40, 5, 5)], v2_layer(1, 3, 5, 0.3, 0.45, biases=BIASES[:8]), "gives 8 biases; num_box 5 needs 10"),
    ([(1, 40, 5, 5)], v2_layer(1, 3, 5, 0.3, 0.45).replace("num_classes: 3 ", ""), "must give num_classes"),
    ([(1, 27, 4, 4), (1, 27, 8, 8)], v3_layer(4, 3, 0.5, 0.45, (3, 4, 5, 0), (32, 16)), "reads mask\\[4\\]"),
    ([(1, 27, 4, 4), (1, 27, 8, 8)], v3_layer(4, 3, 0.5, 0.45, (3, 4, 9, 0, 1, 2), (32, 16)), "names anchor 9"),
    ([(1, 27, 4, 4), (1, 27, 8, 8)], v3_layer(4, 3, 0.5, 0.45, (3, 4, 5, 0, 1, 2), (32,)), "anchors_scale gives 1"),
    ([(1, 27, 4, 4), (1, 27, 8, 8)], v3_layer(4, 3, 0.5, 0.45, (3, 4, 5, 0, 1, 2), (32, 0)), "must be positive"),
    ([(1, 26, 4, 4), (1, 27, 8, 8)], v3_layer(4, 3, 0.5, 0.45, (3, 4, 5, 0, 1, 2), (32, 16)), "a bottom of 26"),
    ([(1, 27, 4, 4), (1, 27, 8, 8)], v3_layer(4, 3, 0.5, 0.45, (0, 1, 2), (32, 16), groups=1).replace(
        'top: "out"', 'bottom: "in1" top: "out"'), "2 bottoms, but mask_group_num is 1"),
    ([(1, 27, 4, 4), (1, 27, 8, 8)], v3_layer(4, 3, 0.5, 0.45, (3, 4, 5, 0, 1, 2), (32, 16)).replace(
        "mask_group_num: 2", "mask_group_num: 2 gaussian_box: true"), "gaussian_box"),
]


@pytest.mark.parametrize(("shapes", "layer", "message"), BAD)
def test_the_forks_checks_and_out_of_bounds_reads_are_shape_errors_naming_the_layer(shapes, layer, message):
    with pytest.raises(ShapeError, match=message) as error:
        caffe2x.graph_from_net(parse_prototxt_text(_net(shapes, layer)))
    assert "det" in str(error.value)


def test_the_cli_refuses_an_anchor_count_mismatch_and_writes_nothing(tmp_path):
    (tmp_path / "net.prototxt").write_text(_net([(1, 40, 5, 5)], v2_layer(1, 3, 5, 0.3, 0.45, biases=BIASES[:8])))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert", str(tmp_path / "net.prototxt"), "--to", "pytorch", "-o", str(out),
                                       "--random-weights"])
    assert result.exit_code == 2, result.output
    assert "'det'" in result.output and "biases" in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.prototxt"]


def _rows_graph():
    return caffe2x.graph_from_net(parse_prototxt_text(_net([(1, 40, 5, 5)], v2_layer(1, 3, 5, 0.3, 0.45))))


def test_verify_accepts_rows_of_tied_scores_in_either_order_and_nothing_else():
    """The fork's std::sort leaves equal confidences in any order, and a target's score one ulp
    away swaps two rows (seen on MobileNet-YOLOv3 with random weights: row 172, both 0.53165):
    rows whose reference scores agree within the tolerance may come swapped; other swaps fail."""
    from caffe2x.parity import compare_blobs

    want = np.asarray([[0, 3, 0.9, 0.1, 0.1, 0.2, 0.2], [0, 1, 0.53165, 0.5, 0.6, 0.5, 0.7],
                       [0, 2, 0.5316501, 0.2, 0.6, 0.2, 0.7], [0, 1, 0.2, 0.3, 0.3, 0.4, 0.4]],
                      np.float32).reshape(1, 1, 4, 7)
    tied_swap, untied_swap = want[:, :, [0, 2, 1, 3]], want[:, :, [1, 0, 2, 3]]
    graph, key = _rows_graph(), "det:out"
    assert compare_blobs(graph, "pytorch", "builtin", {key: tied_swap}, {key: want}).passed
    result = compare_blobs(graph, "pytorch", "builtin", {key: untied_swap}, {key: want})
    assert not result.passed and "first differing row 0" in result.records[0].note
