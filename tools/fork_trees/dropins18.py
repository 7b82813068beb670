"""Add issue 18's fork layers to a copy of the "ssd+dropins" Caffe tree (make_fork_goldens.SSD18_TREE).

    python3 tools/fork_trees/dropins18.py TREE GIT_DIRS_ROOT
    cd TREE && make -j2 lib && make -j2 pycaffe     # after `rm` of every .o: see below

TREE is a copy of the built issue-15 tree (weiliu89/caffe ssd 4817bf8b + drop-ins); GIT_DIRS_ROOT holds git
clones (bare or not) named owner+repo of the SOURCES repositories, at least at the commits named there. The
script copies the layer sources in (verbatim but for the PATCHES below, each recorded in
make_fork_goldens.SSD18_TREE["build"]) and appends the forks' caffe.proto messages and LayerParameter fields.
The proto change alters LayerParameter, and this Makefile's .d files do not list headers: delete every object
under .build_release/src before `make`, or stale objects will run against the new message layouts.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FAST_RCNN = ("rbgirshick+caffe-fast-rcnn", "0dcd397b29507b8314e252e850518c5695efbb83")
RFCN = ("daijifeng001+caffe-rfcn", "543f8f6a4b7c88256ea1445ae951a12d1ad9cffd")
OPENVINO = ("openvinotoolkit+training_toolbox_caffe", "46feb72b2220b0f09dd7b98a1a6e8ed51ddf2137")
YOLO = ("eric612+MobileNet-YOLO", "69b4441cb3ec8d553fbdef788ad033e246f901bd")
REGION = ("lwplw+caffe_yolov2", "f17967408842e0628cc1b0d8c71fdc3dcf7d523f")

# (repository, file) copied to the same path in the tree
SOURCES = [
    (FAST_RCNN, "include/caffe/fast_rcnn_layers.hpp"), (FAST_RCNN, "src/caffe/layers/roi_pooling_layer.cpp"),
    (FAST_RCNN, "include/caffe/layers/dropout_layer.hpp"), (FAST_RCNN, "src/caffe/layers/dropout_layer.cpp"),
    (FAST_RCNN, "src/caffe/layers/dropout_layer.cu"),
    (RFCN, "include/caffe/rfcn_layers.hpp"), (RFCN, "src/caffe/layers/psroi_pooling_layer.cpp"),
    (OPENVINO, "src/caffe/layers/proposal_layer.cpp"), (OPENVINO, "src/caffe/util/nms.cpp"),
    (OPENVINO, "include/caffe/util/nms.hpp"),
    *[(YOLO, path) for path in ("include/caffe/layers/reorg_layer.hpp", "src/caffe/layers/reorg_layer.cpp",
                                "include/caffe/layers/yolo_detection_output_layer.hpp",
                                "include/caffe/layers/region_loss_layer.hpp",
                                "src/caffe/layers/yolo_detection_output_layer.cpp",
                                "include/caffe/layers/yolov3_detection_output_layer.hpp",
                                "src/caffe/layers/yolov3_detection_output_layer.cpp")],
    (REGION, "include/caffe/layers/region_layer.hpp"), (REGION, "src/caffe/layers/region_layer.cpp"),
]

FIELDS = '''  // issue-18 drop-ins (source fork field numbers; proposal_param and region_param renumbered: 201 is
  // multibox_loss_param and 148 clip_param here)
  optional ROIPoolingParameter roi_pooling_param = 8266711;  // rbgirshick/caffe-fast-rcnn
  optional PSROIPoolingParameter psroi_pooling_param = 10001;  // daijifeng001/caffe-rfcn
  optional ProposalParameter proposal_param = 2201;  // openvinotoolkit/training_toolbox_caffe uses 201
  optional ReorgParameter reorg_param = 149;  // eric612/MobileNet-YOLO
  optional RegionParameter region_param = 2148;  // lwplw/caffe_yolov2 uses 148
  optional YoloDetectionOutputParameter yolo_detection_output_param = 601;  // eric612/MobileNet-YOLO
  optional Yolov3DetectionOutputParameter yolov3_detection_output_param = 602;  // eric612/MobileNet-YOLO
'''
FIELDS_AFTER = "  optional UnpoolingParameter unpooling_param = 44;  // HyeonwooNoh/caffe (DeconvNet)\n"
# (repository, message name) appended to caffe.proto as the fork declares it
MESSAGES = [(FAST_RCNN, "ROIPoolingParameter"), (RFCN, "PSROIPoolingParameter"), (OPENVINO, "ProposalParameter"),
            (YOLO, "ReorgParameter"), (REGION, "RegionParameter"), (YOLO, "YoloDetectionOutputParameter"),
            (YOLO, "Yolov3DetectionOutputParameter")]
DROPOUT_OLD = "message DropoutParameter {\n  optional float dropout_ratio = 1 [default = 0.5]; // dropout ratio\n}"
DROPOUT_NEW = ("message DropoutParameter {\n  optional float dropout_ratio = 1 [default = 0.5]; // dropout ratio\n"
               "  optional bool scale_train = 2 [default = true];  // scale train or test phase (caffe-fast-rcnn)\n}")


class Sources:
    def __init__(self, root: Path):
        self.root = root

    def show(self, repo: tuple[str, str], path: str) -> str:
        git_dir = self.root / repo[0] / "repo"
        if (git_dir / ".git").is_dir():
            git_dir = git_dir / ".git"
        return subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{repo[1]}:{path}"], check=True,
                              capture_output=True, text=True).stdout

    def message(self, repo: tuple[str, str], name: str) -> str:
        proto = self.show(repo, "src/caffe/proto/caffe.proto")
        start = proto.index(f"message {name} {{")
        return proto[start:proto.index("\n}", start) + 2]


def between(text: str, start: str, end: str) -> str:
    return text[text.index(start):text.index(end)]


def replace_once(text: str, old: str, new: str, where: str) -> str:
    if old not in text:
        raise SystemExit(f"{where}: expected {old[:60]!r}")
    return text.replace(old, new, 1)


def patch_psroi(src: Sources, text: str) -> str:
    """rfcn's NOT_IMPLEMENTED Forward_cpu -> openvinotoolkit's CPU port of rfcn's CUDA kernel."""
    cpu = src.show(OPENVINO, "src/caffe/layers/psroi_pooling_layer.cpp")
    forward = "  template <typename Dtype>\n  void PSROIPoolingLayer<Dtype>::Forward_cpu"
    backward = "  template <typename Dtype>\n  void PSROIPoolingLayer<Dtype>::Backward_cpu"
    return replace_once(text, between(text, forward, backward), between(cpu, forward, backward), "psroi")


def region_helpers(src: Sources) -> str:
    """lwplw's softmax/flatten/logistic_activate (kept in its math_functions) as a header."""
    math = src.show(REGION, "src/caffe/util/math_functions.cpp")
    softmax = between(math, "    template<typename Dtype>\n    void softmax(", "    template\n    void softmax(float")
    flatten = between(math, "    template<typename Dtype>\n    void flatten(", "    template\n    void flatten(float")
    return ("// softmax, flatten, logistic_activate of lwplw/caffe_yolov2 src/caffe/util/math_functions.cpp/.hpp\n"
            "#ifndef CAFFE_UTIL_REGION_MATH_HPP_\n#define CAFFE_UTIL_REGION_MATH_HPP_\n#include <cfloat>\n"
            "#include <cmath>\n#include <cstdlib>\n#include \"caffe/util/math_functions.hpp\"\nnamespace caffe {\n"
            + softmax.replace("    void softmax(", "    inline void softmax(")
            + "    static inline double logistic_activate(double x) { return 1. / (1 + exp(-x)); }\n\n"
            "    static inline float logistic_activate(float x) { return (float) (1. / (1 + exp(-x))); }\n\n"
            + flatten.replace("    void flatten(", "    inline void flatten(") + "}  // namespace caffe\n#endif\n")


def patch_region(text: str) -> str:
    text = replace_once(text, '#include "caffe/util/math_functions.hpp"\n',
                        '#include "caffe/util/math_functions.hpp"\n#include "caffe/util/region_math.hpp"\n', "region")
    set_up = "        boxes_of_each_grid_ = region_param.boxes_of_each_grid();\n"
    text = replace_once(text, set_up, set_up + "        softmax_ = region_param.softmax();  // never set by the fork\n",
                        "region")
    instantiate = "    INSTANTIATE_CLASS(RegionLayer);"
    return replace_once(text, instantiate, "#ifdef CPU_ONLY\n    STUB_GPU(RegionLayer);\n#endif\n" + instantiate,
                        "region")


def proposal_header(src: Sources) -> str:
    layers = src.show(OPENVINO, "include/caffe/fast_rcnn_layers.hpp")
    declaration = between(layers, "template <typename Dtype>\nclass ProposalLayer",
                          "template <typename Dtype>\nclass ROIWarpingLayer")
    return ("// ProposalLayer of openvinotoolkit/training_toolbox_caffe include/caffe/fast_rcnn_layers.hpp\n"
            "#ifndef CAFFE_PROPOSAL_LAYER_HPP_\n#define CAFFE_PROPOSAL_LAYER_HPP_\n#include <vector>\n"
            "#include \"caffe/blob.hpp\"\n#include \"caffe/common.hpp\"\n#include \"caffe/layer.hpp\"\n"
            "#include \"caffe/proto/caffe.pb.h\"\n\nnamespace caffe {\n\n" + declaration
            + "}  // namespace caffe\n#endif\n")


def patch_proposal(text: str) -> str:
    text = replace_once(text, '#include "caffe/fast_rcnn_layers.hpp"', '#include "caffe/proposal_layer.hpp"',
                        "proposal")
    return replace_once(text, "STUB_GPU(ProposalLayer);", "STUB_GPU_FORWARD(ProposalLayer, Forward);", "proposal")


def yolo_box_header(src: Sources) -> str:
    """eric612's get_gaussian_yolo_box/get_region_box (its bbox_util.cpp), which this tree's SSD bbox_util lacks."""
    util = src.show(YOLO, "src/caffe/util/bbox_util.cpp")
    gaussian = between(util, "template <typename Dtype>\nvoid get_gaussian_yolo_box",
                       "template <>\nvoid get_gaussian_yolo_box<float>")
    region = between(util, "template <typename Dtype>\nvoid get_region_box", "template <>\nvoid get_region_box<float>")
    return ("// get_gaussian_yolo_box, get_region_box of eric612/MobileNet-YOLO src/caffe/util/bbox_util.cpp\n"
            "#ifndef CAFFE_UTIL_YOLO_BOX_HPP_\n#define CAFFE_UTIL_YOLO_BOX_HPP_\n#include <cmath>\n#include <vector>\n"
            "namespace caffe {\n" + gaussian + region + "}  // namespace caffe\n#endif\n")


def patch_yolov3(text: str) -> str:
    include = '#include "caffe/layers/yolov3_detection_output_layer.hpp"\n'
    return replace_once(text, include, include + '#include "caffe/util/yolo_box.hpp"\n', "yolov3")


def patch_proto(src: Sources, text: str) -> str:
    text = replace_once(text, FIELDS_AFTER, FIELDS_AFTER + FIELDS, "caffe.proto")
    text = replace_once(text, DROPOUT_OLD, DROPOUT_NEW, "caffe.proto")
    blocks = [f"// {repo[0].replace('+', '/')}@{repo[1][:8]}\n{src.message(repo, name)}" for repo, name in MESSAGES]
    return text + "\n// ---- issue-18 drop-in messages, each as its fork declares it ----\n" + "\n".join(blocks) + "\n"


PATCHES = {"src/caffe/layers/region_layer.cpp": patch_region, "src/caffe/layers/proposal_layer.cpp": patch_proposal,
           "src/caffe/layers/yolov3_detection_output_layer.cpp": patch_yolov3}


def install(tree: Path, src: Sources) -> None:
    for repo, path in SOURCES:
        text = src.show(repo, path)
        if path.endswith("psroi_pooling_layer.cpp"):
            text = patch_psroi(src, text)
        text = PATCHES.get(path, lambda t: t)(text)
        (tree / path).write_text(text)
    (tree / "include/caffe/util/region_math.hpp").write_text(region_helpers(src))
    (tree / "include/caffe/proposal_layer.hpp").write_text(proposal_header(src))
    (tree / "include/caffe/util/yolo_box.hpp").write_text(yolo_box_header(src))
    proto = tree / "src/caffe/proto/caffe.proto"
    proto.write_text(patch_proto(src, proto.read_text()))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    install(Path(sys.argv[1]), Sources(Path(sys.argv[2])))
