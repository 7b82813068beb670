"""The SSD fork's schema, built in: caffe2x/families/ssd/ssd.proto declares the fork's blocks
(the four layers' and the training ones) at the fork's numbers, with OpenCV's `clip`; every SSD
block of the golden nets reads typed from it; loading the fork's whole schema afterwards is
accepted; SSD training nets parse and lose their training layers."""

from __future__ import annotations

import pytest
from conftest import FIXTURES, GOLDEN

import caffe2x
from caffe2x.errors import PrototxtError
from caffe2x.io.params import PARAMS, fork_blocks, fork_param
from caffe2x.io.prototxt import parse_prototxt_text, read_prototxt

SSD_CASES = ("ssd_layers", "ssd_variants", "mobilenet_ssd")
FORK_PROTO = FIXTURES / "proto" / "caffe_ssd_fork.proto"
SSD_BLOCKS = ("norm_param", "permute_param", "prior_box_param", "detection_output_param")


def test_the_built_in_declaration_holds_the_forks_blocks_at_their_numbers():
    # prior_box_param is held by Intel's declaration (families/intel/intel.proto), which covers the
    # SSD fork's at the same number, with PriorBoxClustered's width and height added.
    numbers = {name: PARAMS[name].number for name in PARAMS if str(PARAMS[name].source).endswith("ssd.proto")
               or (name == "prior_box_param" and str(PARAMS[name].source).endswith("intel.proto"))}
    assert numbers == {"annotated_data_param": 200, "multibox_loss_param": 201, "permute_param": 202,
                       "prior_box_param": 203, "detection_output_param": 204, "detection_evaluate_param": 205,
                       "norm_param": 206, "video_data_param": 207}


def test_the_built_in_messages_are_the_forks_field_for_field_plus_opencvs_clip():
    from caffe2x.families.ssd import SCHEMA
    from caffe2x.io.params.declare import covers
    from caffe2x.io.params.proto_file import read_proto

    ours, fork = read_proto(SCHEMA), read_proto(FORK_PROTO)
    for name, message in ours.messages.items():
        if name.endswith(".LayerParameter"):
            continue
        assert covers(message, fork.messages[name]), name
        assert covers(fork.messages[name], message) == (name != ".caffe.DetectionOutputParameter"), name
    extra = set(ours.message("DetectionOutputParameter").fields) - set(fork.message("DetectionOutputParameter").fields)
    assert extra == {"clip"}
    fork_numbers = {name: number for name, number, _ in fork.layer_fields}
    assert all(fork_numbers[name] == number for name, number, _ in ours.layer_fields)


@pytest.mark.parametrize("case", SSD_CASES)
def test_every_ssd_block_of_the_golden_nets_parses_typed(case):
    net = read_prototxt(GOLDEN / case / "net.prototxt")
    seen = set()
    for layer in net.layer:
        for name, block in fork_blocks(layer).items():
            assert name in SSD_BLOCKS, (layer.name, name)
            value = fork_param(layer, name)
            written = {f.name for f in block.value.fields}
            assert {f for f in written if value.has(f)} == written, (layer.name, name)
            seen.add(name)
    assert seen >= {"permute_param", "prior_box_param", "detection_output_param"}


def test_loading_the_forks_whole_schema_afterwards_is_accepted_and_keeps_opencvs_clip():
    before = {name: PARAMS[name] for name in PARAMS}
    declared = caffe2x.load_proto(FORK_PROTO)
    assert {p.name for p in declared} >= set(SSD_BLOCKS)
    assert all(PARAMS[name] is before[name] for name in before)  # the built-in one covers the fork's
    text = ('layer { name: "det" type: "DetectionOutput" bottom: "a" top: "b" '
            "detection_output_param { num_classes: 2 clip: 1 keep_top_k: 5 } }")
    (layer,) = parse_prototxt_text(text).layer
    value = fork_param(layer, "detection_output_param")
    assert (value.clip, value.keep_top_k, value.num_classes) == (True, 5, 2)


def test_a_richer_declaration_already_there_is_kept_and_a_conflicting_one_still_replaces(tmp_path):
    from caffe2x.io.params.declare import Field, ParamMessage, covers

    base = ParamMessage("P", Field("a", 1, "float", default=1.0))
    richer = ParamMessage("P", Field("a", 1, "float", default=1.0), Field("clip", 1000, "bool"))
    other = ParamMessage("P", Field("a", 1, "float", default=2.0))
    assert covers(richer, base) and not covers(base, richer) and not covers(richer, other)
    try:
        caffe2x.register_param("test_cover_param", 4999, richer)
        assert caffe2x.register_param("test_cover_param", 4999, base).message is richer
        assert caffe2x.register_param("test_cover_param", 4999, other).message is other
    finally:
        from caffe2x.io.params import unregister_param

        unregister_param("test_cover_param")


def test_opencvs_clip_reads_from_the_face_detectors_form():
    (layer,) = parse_prototxt_text('layer { name: "det" type: "DetectionOutput" bottom: "a" top: "b" '
                                   "detection_output_param { num_classes: 2 clip: false } }").layer
    assert fork_param(layer, "detection_output_param").clip is False


TRAINING_SNIPPET = """
name: "SSD_train"
layer { name: "data" type: "AnnotatedData" top: "data" top: "label" include { phase: TRAIN }
  transform_param { mirror: true mean_value: 104 mean_value: 117 mean_value: 123
    resize_param { prob: 1 resize_mode: WARP height: 300 width: 300 interp_mode: LINEAR interp_mode: AREA }
    emit_constraint { emit_type: CENTER } distort_param { brightness_prob: 0.5 brightness_delta: 32 }
    expand_param { prob: 0.5 max_expand_ratio: 4.0 } }
  data_param { source: "trainval_lmdb" batch_size: 32 backend: LMDB }
  annotated_data_param {
    batch_sampler { max_sample: 1 max_trials: 1 }
    batch_sampler { sampler { min_scale: 0.3 max_scale: 1.0 min_aspect_ratio: 0.5 max_aspect_ratio: 2.0 }
                    sample_constraint { min_jaccard_overlap: 0.1 } max_sample: 1 max_trials: 50 }
    label_map_file: "labelmap_voc.prototxt" } }
layer { name: "data" type: "Input" top: "data" include { phase: TEST }
  input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 4 kernel_size: 1 } }
layer { name: "perm" type: "Permute" bottom: "conv" top: "perm" permute_param { order: 0 order: 2 order: 3 order: 1 } }
layer { name: "mbox_loss" type: "MultiBoxLoss" bottom: "perm" bottom: "label" top: "mbox_loss"
  propagate_down: true propagate_down: false
  loss_param { normalization: VALID }
  multibox_loss_param { loc_loss_type: SMOOTH_L1 conf_loss_type: SOFTMAX loc_weight: 1.0 num_classes: 21
    share_location: true match_type: PER_PREDICTION overlap_threshold: 0.5 background_label_id: 0
    neg_pos_ratio: 3.0 code_type: CENTER_SIZE mining_type: MAX_NEGATIVE } }
"""


def test_training_blocks_parse_typed_and_their_layers_are_dropped():
    """AnnotatedData leaves with its TRAIN phase; MultiBoxLoss, in both phases as in a train_val
    net, is dropped as a loss layer (with its label bottom)."""
    net = parse_prototxt_text(TRAINING_SNIPPET)
    loss = next(layer for layer in net.layer if layer.type == "MultiBoxLoss")
    value = fork_param(loss, "multibox_loss_param")
    assert (value.num_classes, value.code_type, value.mining_type) == (21, "CENTER_SIZE", "MAX_NEGATIVE")
    data = next(layer for layer in net.layer if layer.type == "AnnotatedData")
    samplers = fork_param(data, "annotated_data_param").batch_sampler
    assert samplers[1].sampler.min_scale == pytest.approx(0.3) and samplers[1].max_trials == 50
    assert fork_blocks(data)["transform_param"].value.first("resize_param") is not None  # the fork's extension
    graph = caffe2x.graph_from_net(net)
    assert [node.type for node in graph.nodes] == ["Input", "Convolution", "Permute"]


def test_an_extended_bvlc_block_stays_an_error_on_bvlc_types():
    with pytest.raises(PrototxtError, match="resize_param"):
        parse_prototxt_text('layer { name: "d" type: "Data" top: "d" transform_param { resize_param { prob: 1 } } }')
