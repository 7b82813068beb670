"""Proposal's "pva" variant (--layer-variant Proposal=pva): pva-faster-rcnn's C++ Proposal as
openvinotoolkit/training_toolbox_caffe ships it, against that fork's own tops
(fixtures/golden_pending/fork_proposal_cpp, made by tools/make_fork_goldens.py on the ssd18 tree)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from conftest import FIXTURES

import caffe2x
from caffe2x.batch import load_manifest
from caffe2x.cli import main
from caffe2x.errors import LayerVariantError
from caffe2x.families.detection import proposal
from caffe2x.flips import row_flip
from caffe2x.parity import compare_blobs
from caffe2x.reference import as_golden_blobs, run

CASE = FIXTURES / "golden_pending" / "fork_proposal_cpp"
PVA = {"Proposal": "pva"}
TOLERANCE = 1e-4
ZERO_ROWS_FROM = 18  # rois_map_small: rows 0-17 score above 0, rows 18-29 are boxes under min_size (score 0)


def case_blobs():
    with np.load(CASE / "blobs.npz") as data:
        blobs = {k: data[k] for k in data.files}
    return blobs, {k.removeprefix("input:"): v for k, v in blobs.items() if k.startswith("input:")}


def load(variants=PVA):
    _, inputs = case_blobs()
    return caffe2x.load_net(CASE / "net.prototxt", None, {k: v.shape for k, v in inputs.items()},
                            layer_variants=variants)


def reference_against_the_fork(graph):
    blobs, inputs = case_blobs()
    return compare_blobs(graph, "builtin", "fork", as_golden_blobs(graph, run(graph, inputs)), blobs, TOLERANCE)


def test_the_pva_reference_gives_the_forks_tops_exactly():
    result = reference_against_the_fork(load())
    tops = {r.top: r for r in result.records}
    assert set(tops) == {"rois", "scores", "rois_small", "rois_map_small", "scores_map_small"}
    assert result.passed, [r.note for r in result.records]
    assert all(r.error.max_abs == 0 for r in result.records)  # the fork's quicksort order, zeros included
    blobs, _ = case_blobs()
    assert blobs["proposal_map_small:scores_map_small"][ZERO_ROWS_FROM:].tolist() == [0.0] * 12
    assert blobs["proposal_map_small:scores_map_small"][:ZERO_ROWS_FROM].min() > 0


def test_the_default_variant_does_not_give_the_forks_tops():
    """py-faster-rcnn's semantics on the same prototxt: the small boxes are removed (18 rows, not
    30) and the scores top is (R, 1): the prototxt alone cannot say which Proposal it is."""
    graph = load(None)
    blobs, inputs = case_blobs()
    got = as_golden_blobs(graph, run(graph, inputs))
    assert got["proposal_map_small:rois_map_small"].shape == (18, 5)
    assert got["proposal:scores"].shape == (300, 1) and blobs["proposal:scores"].shape == (300,)
    with pytest.raises(caffe2x.Caffe2xError):  # the scores' shape differs: not even comparable
        reference_against_the_fork(graph)


@pytest.mark.parametrize("target", ["onnx", "pytorch", "tensorflow", "tflite"])
def test_every_target_matches_the_fork_up_to_the_order_of_equal_scores(target):
    """Every row count, every scored row and both scores tops exact. The 12 zero-score rows of
    rois_map_small: the fork takes equal scores in its quicksort's order (and NMS among them
    depends on it), which the reference reproduces and the targets' sorts do not. verify accepts
    them where the reference with equal scores taken by anchor gives the target's rows
    (LayerDef.equal_score_orders). TFLite failed here until its NMS was given ranks: its NMS
    re-sorted the equal scores in an order of its own."""
    pytest.importorskip({"onnx": "onnxruntime", "pytorch": "torch"}.get(target, "tensorflow"))
    blobs, inputs = case_blobs()
    result = caffe2x.verify(load(), target, inputs, blobs, reference_name="fork", tolerance=TOLERANCE)
    records = {r.top: r for r in result.records}
    assert {"rois", "scores", "rois_small", "rois_map_small", "scores_map_small"} <= set(records)
    assert result.passed, [r.note for r in result.records]
    assert "with equal scores taken by anchor" in records["rois_map_small"].note


def test_equal_scores_by_anchor_explain_only_rows_nms_would_keep():
    """The equal-score rule cannot pass wrong rows: the anchor-order reference settles the rows it
    gives, and the same rows with one zero-score row replaced by another box are not settled."""
    blobs, inputs = case_blobs()
    graph = load()
    anchor_ordered = [replace(n, params=replace(n.params, quicksort_ties=False)) if n.type == "Proposal" else n
                      for n in graph.nodes]
    got = as_golden_blobs(graph, run(replace(graph, nodes=anchor_ordered), inputs))
    key = "proposal_map_small:rois_map_small"
    assert not np.array_equal(got[key], blobs[key])  # the tie orders differ on this case

    def settle(rows):
        records = compare_blobs(graph, "onnx", "fork", {**got, key: rows}, blobs, TOLERANCE).records
        record = next(r for r in records if r.top == "rois_map_small")
        assert not record.passed
        return row_flip(graph, record, records, {**got, key: rows}, blobs, inputs)

    assert "with equal scores taken by anchor" in settle(got[key]).note
    wrong = got[key].copy()
    wrong[-1] = wrong[ZERO_ROWS_FROM]  # a kept zero-score box twice
    assert settle(wrong) is None


def test_an_unknown_variant_or_a_type_without_variants_is_a_typed_error():
    with pytest.raises(LayerVariantError, match="unknown variant 'openvino' of Proposal; choose from pva"):
        load({"Proposal": "openvino"})
    with pytest.raises(LayerVariantError, match="no variants of layer type 'Convolution'.*Proposal"):
        load({"Convolution": "pva"})


@pytest.mark.parametrize("option", ["Proposal=openvino", "Proposal", "=pva"])
def test_cli_refuses_a_bad_layer_variant_exit_2_nothing_written(tmp_path, option):
    out = tmp_path / "m.onnx"
    result = CliRunner().invoke(main, ["convert", str(CASE / "net.prototxt"), "-w", str(CASE / "net.caffemodel"),
                                       "--to", "onnx", "-o", str(out), "--layer-variant", option])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "layer variant" in result.output or "--layer-variant" in result.output
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_the_choice_is_recorded_in_caffe2x_json_and_the_onnx_metadata(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "torch"
    result = CliRunner().invoke(main, ["convert", str(CASE / "net.prototxt"), "-w", str(CASE / "net.caffemodel"),
                                       "--to", "pytorch", "-o", str(out), "--layer-variant", "Proposal=pva"])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "caffe2x.json").read_text())["layer_variants"] == PVA
    assert "0.7, 2, 'pva')" in (out / "model.py").read_text()  # the module built as the pva variant
    onnx = pytest.importorskip("onnx")
    result = CliRunner().invoke(main, ["convert", str(CASE / "net.prototxt"), "-w", str(CASE / "net.caffemodel"),
                                       "--to", "onnx", "-o", str(tmp_path / "m.onnx"), "--layer-variant", "Proposal=pva"])
    assert result.exit_code == 0, result.output
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "m.onnx")).metadata_props}
    assert json.loads(props["caffe2x.layer_variants"]) == PVA


def test_cli_verify_passes_the_reference_with_the_variant_only(tmp_path):
    """verify --reference blobs.npz: builtin and fork agree with the variant; the run with the
    default ends in the scores' shape mismatch (exit 2)."""
    args = ["verify", str(CASE / "net.prototxt"), "-w", str(CASE / "net.caffemodel"), "--to", "onnx",
            "--reference", str(CASE / "blobs.npz"), "--layer-tolerance", "proposal_map_small=1"]
    with_variant = CliRunner().invoke(main, [*args, "--layer-variant", "Proposal=pva"])
    assert with_variant.exit_code == 0, with_variant.output
    default = CliRunner().invoke(main, args)
    assert default.exit_code == 2 and "scores" in default.output, default.output


def test_convert_all_manifest_key(tmp_path):
    entry = {"prototxt": str(CASE / "net.prototxt"), "weights": str(CASE / "net.caffemodel")}
    manifest = tmp_path / "models.yaml"
    manifest.write_text(yaml.safe_dump({"models": [{**entry, "layer_variants": PVA}]}))
    assert load_manifest(manifest)[0].layer_variants == PVA
    manifest.write_text(yaml.safe_dump({"models": [{**entry, "layer_variants": {"Proposal": "nope"}}]}))
    with pytest.raises(LayerVariantError, match="model 1: layer variant Proposal=nope"):
        load_manifest(manifest)


def test_pva_im_info_has_four_values_and_random_draws_fill_both_scales():
    from caffe2x.io.prototxt import parse_prototxt_text
    from caffe2x.weights import random_inputs

    inputs = random_inputs(load(), 0)
    assert inputs["im_info4"].tolist() == [[224.0, 320.0, 1.0, 1.0]]
    assert inputs["im_info4_small"].tolist() == [[64.0, 96.0, 1.0, 1.0]]
    text = (CASE / "net.prototxt").read_text().replace("dim: 1 dim: 4 } } }", "dim: 1 dim: 3 } } }")
    assert text != (CASE / "net.prototxt").read_text()

    with pytest.raises(caffe2x.Caffe2xError, match="im_info must be 1 x 4"):
        caffe2x.graph_from_net(parse_prototxt_text(text), None, None, "three.prototxt", layer_variants=PVA)


def test_min_size_uses_scale_w_for_widths_and_scale_h_for_heights():
    params = proposal.to_pva(proposal.ProposalParams(16, 16, 16.0, (1.0,), (8.0,), 10, 5, 0.7))
    box = [np.float32([0, 0]), np.float32([0, 0]), np.float32([19, 39]), np.float32([39, 19])]  # 20x40, 40x20
    small = proposal.rpn_too_small(box, *proposal.rpn_min_sides(np.float32([64, 64, 2.0, 1.0]), 16.0, params.variant))
    assert small.tolist() == [False, True]  # heights >= 32 needed (scale_h 2), widths >= 16


def test_fork_sort_order_is_the_forks_partial_quicksort():
    """sort_box on 0, 3, 0, 1, 0 with num_top 2, traced by hand from proposal_layer.cpp."""
    order = proposal.fork_sort_order(np.float32([0, 3, 0, 1, 0]), 2)
    assert np.float32([0, 3, 0, 1, 0])[order][:2].tolist() == [3, 1]
    assert sorted(order.tolist()) == [0, 1, 2, 3, 4]


def test_pva_needs_positive_top_n_counts():
    with pytest.raises(caffe2x.Caffe2xError, match="pre_nms_topn and post_nms_topn > 0"):
        proposal.to_pva(proposal.ProposalParams(16, 16, 16.0, (1.0,), (8.0,), 0, 5, 0.7))


def test_pva_anchors_round_half_up_where_py_faster_rcnn_rounds_half_to_even():
    """base_size 9, ratio 0.5: width round(sqrt(81 / 0.5)) = 13, height 13 * 0.5 = 6.5: 7 in the
    fork ((int)(x + 0.5)), 6 in py-faster-rcnn (np.round)."""
    default = proposal.ProposalParams(16, 9, 16.0, (0.5,), (1.0,), 10, 5, 0.7)
    heights = [float(a[0, 3] - a[0, 1] + 1) for a in (proposal.base_anchors(default),
                                                proposal.base_anchors(proposal.to_pva(default)))]
    assert heights == [6.0, 7.0]
