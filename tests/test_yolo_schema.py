"""eric612/MobileNet-YOLO's blocks, built in: caffe2x/families/yolo/yolo.proto declares them at the
fork's numbers (Region's at 2148, since lwplw's 148 is BVLC's clip_param); every block of the
real-fork case reads typed, with each field it writes."""

from __future__ import annotations

from conftest import GOLDEN

from caffe2x.io.params import PARAMS, fork_blocks, fork_param
from caffe2x.io.prototxt import read_prototxt

YOLO_BLOCKS = {"reorg_param": 149, "yolo_detection_output_param": 601, "yolov3_detection_output_param": 602,
               "region_param": 2148}


def test_the_built_in_declaration_holds_the_blocks_at_the_forks_numbers():
    assert {name: PARAMS[name].number for name in YOLO_BLOCKS} == YOLO_BLOCKS


def test_the_golden_blocks_read_typed():
    net = read_prototxt(GOLDEN / "fork_yolo" / "net.prototxt")
    seen = set()
    for layer in net.layer:
        for name, block in fork_blocks(layer).items():
            value = fork_param(layer, name)
            written = {f.name for f in block.value.fields}
            assert {f for f in written if value.has(f)} == written, (layer.name, name)
            seen.add(name)
    assert seen == set(YOLO_BLOCKS)
