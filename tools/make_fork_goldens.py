"""Make the real-fork golden cases of issues 15 and 18 (fixtures/golden*/fork_*) with a fork's own pycaffe.

    PYTHONPATH=<TREE>/python /usr/bin/python3 tools/make_fork_goldens.py CASE [--seed N] [--out DIR]
    PYTHONPATH=<TREE>/python:<PYFRCNN>/lib:<PYFRCNN>/deps /usr/bin/python3 tools/make_fork_goldens.py fork_proposal
    PYTHONPATH=<OTHER_TREE>/python /usr/bin/python3 tools/make_fork_goldens.py CASE --out /tmp/x --compare \
        [--legacy-inputs]     # re-run a committed case on another tree and compare every blob

CASE is one of the prototxts in tools/fork_cases/; --seed defaults to the seed in CASES below
(the one the committed case was made with); --out defaults to fixtures/golden (to
fixtures/golden_pending for the cases in PENDING, whose layers caffe2x does not support yet). The script
writes DIR/CASE/{net.prototxt, net.caffemodel, blobs.npz, manifest.json} in the format of the
other golden cases (fixtures/golden/README.md; the fork cases are described in FORK_CASES.md)
and adds a "fork" object to the manifest naming the Caffe tree, where each fork layer's source
came from, and how the tree was built.

The Caffe trees (CPU-only, pycaffe, built as in shared/reference/caffe_ssd_build.md for
Debian's /usr/bin/python3; no tree is ever committed), <TREE> above:
  - "ssd+dropins" (fork_mobile, fork_interp, fork_bn_pspnet, fork_unpool, bvlc_spp, bvlc_recurrent):
    weiliu89/caffe, branch ssd, commit 4817bf8b4200b35ada8ed0dc378dceaf38c539e4, with the layer
    sources named in SSD_TREE["layers_from"] copied in (.hpp/.cpp; their messages added to
    caffe.proto); the patches are listed in SSD_TREE["build"];
  - "ssd+dropins18" (issue 18: fork_roi, fork_proposal, fork_proposal_cpp, fork_yolo, fork_faster_rcnn_zf): the
    tree above plus ROIPooling, PSROIPooling, Proposal, Reorg, Region, YoloDetectionOutput,
    Yolov3DetectionOutput and caffe-fast-rcnn's Dropout sources (SSD18_TREE["layers_from"], patches in
    SSD18_TREE["build"]; tools/fork_trees/dropins18.py installs them in a copy of the tree); the cases with
    py-faster-rcnn's Python ProposalLayer (PYTHON_LAYER_CASES) also need <PYFRCNN>, its lib made importable by
    Python 3 with tools/fork_trees/setup_pyfrcnn.py (PYFRCNN_CHANGES);
  - "segnet" (fork_segnet): TimoSaemann/caffe-segnet-cudnn5 at
    abcf30dca449245e101bf4ced519f716177f0885 (its BN, Upsample and Pooling sources are those of
    alexgkendall/caffe-segnet 344c113b but for their #include lines); SEGNET_TREE["build"];
  - fork_interp and fork_bn_pspnet were also run on the real hszhao/PSPNet tree, fork_segnet on
    alexgkendall/caffe-segnet (CHECKED_ON): every blob identical.

Weights are seeded random values scaled like a trained net: He-scaled convolutions and inner
products, small biases, BN slopes near 1, and BN statistics (PSPNet's history mean/var,
SegNet's INFERENCE scale/shift) measured on forward passes of this very net and input, so
every BN output is close to unit scale. Inputs are N(0, 1) (SPECIAL_INPUTS: Embed indices,
recurrent continuation flags, ROIs, RPN probabilities without ties, im_info). Blobs are captured
right after each layer ran (keys input:NAME and LAYER:TOP); Split layers are listed in the
manifest, their blobs (copies of their bottom) are not stored, as in import_golden.py; the
manifest's top shapes are those after the forward pass (Proposal and detection rows are dynamic).
weights_sha256 is the SHA-256 of every parameter blob's float32 bytes in net order. This script
does not import caffe2x: it needs only the fork's pycaffe and numpy.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CASE_DIR = ROOT / "tools" / "fork_cases"
BUILD_NOTE = "CPU-only per shared/reference/caffe_ssd_build.md"

SSD_TREE = {
    "name": "ssd+dropins",
    "repo": "weiliu89/caffe",
    "commit": "4817bf8b4200b35ada8ed0dc378dceaf38c539e4",
    "layers_from": {
        "ReLU6": "eric612/MobileNet-YOLO@69b4441cb3ec8d553fbdef788ad033e246f901bd "
                 "src/caffe/layers/relu6_layer.cpp",
        "Upsample": "eric612/MobileNet-YOLO@69b4441cb3ec8d553fbdef788ad033e246f901bd "
                    "src/caffe/layers/upsample_layer.cpp",
        "ShuffleChannel": "farmingyard/ShuffleNet@b9624442bd410bbd2aadc820122b138e63039d70 "
                          "shuffle_channel_layer.cpp",
        "ConvolutionDepthwise": "farmingyard/caffe-mobilenet@f7d7d130761727560f201c1ff5c274e938888b5f "
                                "conv_dw_layer.cpp",
        "DepthwiseConvolution": "yonghenglh6/DepthwiseConvolution@2b9cf52a5ce24af390d6739cd728847e21c4f154 "
                                "caffe/src/caffe/layers/depthwise_conv_layer.cpp",
        "Axpy": "hujie-frank/SENet@0262d43d44c561fd53c3dba210cc8bacfc60500d src/caffe/layers/axpy_layer.cpp",
        "Mish": "foss-for-synopsys-dwc-arc-processors/synopsys-caffe@977ba36af383208c2f734c207b573395cb6ab282 "
                "src/caffe/layers/mish_layer.cpp",
        "Clip": "BVLC/caffe@9b891540183ddc834a02b2bd81b31afae71b2153 src/caffe/layers/clip_layer.cpp",
        "Swish": "BVLC/caffe@9b891540183ddc834a02b2bd81b31afae71b2153 src/caffe/layers/swish_layer.cpp",
        "Interp": "hszhao/PSPNet@798bdc907c8630e8c3997ebfdd0d7cae0c5ab03b "
                  "src/caffe/layers/interp_layer.cpp + src/caffe/util/interp.cpp",
        "BN": "hszhao/PSPNet@798bdc907c8630e8c3997ebfdd0d7cae0c5ab03b src/caffe/layers/bn_layer.cpp",
        "Unpooling": "HyeonwooNoh/caffe@d9e8494a2832d67b25dee37194c7bcb9d52d0e42 src/caffe/layers/unpooling_layer.cpp "
                     "(class declaration from its include/caffe/vision_layers.hpp)",
        **{kind: f"weiliu89/caffe@4817bf8b4200b35ada8ed0dc378dceaf38c539e4 src/caffe/layers/{source} (BVLC code)"
           for kind, source in (("SPP", "spp_layer.cpp"), ("Embed", "embed_layer.cpp"),
                                ("Parameter", "parameter_layer.cpp"), ("LSTM", "lstm_layer.cpp + lstm_unit_layer.cpp"),
                                ("RNN", "rnn_layer.cpp"))},
    },
    "build": BUILD_NOTE + "; layer sources copied in with their caffe.proto messages and field numbers "
             "(relu6_param 211, upsample_param 150, shuffle_channel_param 164, swish_param 147, "
             "clip_param 148, bn_param 152, unpooling_param 44; interp_param as 2143 because PSPNet's 143 is "
             "input_param in this tree); Unpooling's class declaration (from HyeonwooNoh's vision_layers.hpp) "
             "in its own header with type() returning \"Unpooling\" and no coord_map, and "
             "REGISTER_LAYER_CLASS(Unpooling) added, its arithmetic untouched; "
             "src/caffe/util/io.cpp: SetTotalBytesLimit with one argument (protobuf 3.21); "
             "include/caffe/util/interp.hpp: #include <cublas_v2.h> under #ifndef CPU_ONLY; "
             "conv_dw_layer.cpp Reshape: caffe_gpu_set(..., mutable_gpu_data()) on its GPU-only "
             "multiplier buffers became caffe_set(..., mutable_cpu_data()) (CPU-only build)",
}

SEGNET_TREE = {
    "name": "segnet",
    "repo": "TimoSaemann/caffe-segnet-cudnn5",
    "commit": "abcf30dca449245e101bf4ced519f716177f0885",
    "layers_from": {
        "BN": "TimoSaemann/caffe-segnet-cudnn5@abcf30dca449245e101bf4ced519f716177f0885 "
              "src/caffe/layers/bn_layer.cpp (= alexgkendall/caffe-segnet@344c113bf1832886f1cbe9f33ffe28a3beeaf412 "
              "but for #include lines)",
        "Upsample": "TimoSaemann/caffe-segnet-cudnn5@abcf30dca449245e101bf4ced519f716177f0885 "
                    "src/caffe/layers/upsample_layer.cpp (= alexgkendall/caffe-segnet@344c113b "
                    "but for #include lines)",
        "Pooling": "TimoSaemann/caffe-segnet-cudnn5@abcf30dca449245e101bf4ced519f716177f0885 "
                   "src/caffe/layers/pooling_layer.cpp (= alexgkendall/caffe-segnet@344c113b "
                   "but for #include lines)",
    },
    "build": BUILD_NOTE + "; alexgkendall/caffe-segnet (2015 Makefile: OpenCV, LevelDB, LMDB and python2.7 "
             "hard-wired) replaced by this tree, whose BN/Upsample/Pooling sources and BNParameter/"
             "UpsampleParameter/PoolingParameter messages are the same; Debian's OpenCV 4.6 "
             "(USE_OPENCV 1, OPENCV_VERSION 3, INCLUDE_DIRS += /usr/include/opencv4) because its "
             "data_transformer.cpp includes OpenCV unconditionally; io.cpp and window_data_layer.cpp: "
             "CV_LOAD_IMAGE_COLOR/GRAYSCALE -> cv::IMREAD_COLOR/GRAYSCALE, CV_INTER_NN/LINEAR -> "
             "cv::INTER_NEAREST/LINEAR (OpenCV 4); src/caffe/util/io.cpp: SetTotalBytesLimit with one "
             "argument (protobuf 3.21)",
}

PYFRCNN = "rbgirshick/py-faster-rcnn@781a917b378dbfdedb45b6a56189a31982da1b43"
PYFRCNN_LAYER = f"{PYFRCNN} lib/rpn/proposal_layer.py (Python layer in pycaffe; Python 3 per PYFRCNN_CHANGES)"
SSD18_TREE = {
    "name": "ssd+dropins18",
    "repo": "weiliu89/caffe",
    "commit": "4817bf8b4200b35ada8ed0dc378dceaf38c539e4",
    "layers_from": {
        **SSD_TREE["layers_from"],
        "ROIPooling": "rbgirshick/caffe-fast-rcnn@0dcd397b29507b8314e252e850518c5695efbb83 "
                      "src/caffe/layers/roi_pooling_layer.cpp (the commit py-faster-rcnn pins)",
        "PSROIPooling": "daijifeng001/caffe-rfcn@543f8f6a4b7c88256ea1445ae951a12d1ad9cffd "
                        "src/caffe/layers/psroi_pooling_layer.cpp (its Forward_cpu is NOT_IMPLEMENTED: Forward_cpu "
                        "of openvinotoolkit/training_toolbox_caffe@46feb72b2220b0f09dd7b98a1a6e8ed51ddf2137 "
                        "psroi_pooling_layer.cpp, a CPU port of this fork's PSROIPoolingForward CUDA kernel, "
                        "same statements per output element)",
        "Proposal": "openvinotoolkit/training_toolbox_caffe@46feb72b2220b0f09dd7b98a1a6e8ed51ddf2137 "
                    "src/caffe/layers/proposal_layer.cpp + src/caffe/util/nms.cpp (the pva-faster-rcnn C++ "
                    "layer; proposal_param as OpenCV/OpenVINO read it)",
        "Python:rpn.proposal_layer.ProposalLayer": PYFRCNN_LAYER,
        "Dropout": "rbgirshick/caffe-fast-rcnn@0dcd397b29507b8314e252e850518c5695efbb83 "
                   "src/caffe/layers/dropout_layer.cpp (its dropout_param.scale_train: false scales by 1 - ratio "
                   "at TEST, as py-faster-rcnn's test prototxts ask)",
        "Reorg": "eric612/MobileNet-YOLO@69b4441cb3ec8d553fbdef788ad033e246f901bd src/caffe/layers/reorg_layer.cpp "
                 "(reorg_cpu in include/caffe/layers/reorg_layer.hpp)",
        "Region": "lwplw/caffe_yolov2@f17967408842e0628cc1b0d8c71fdc3dcf7d523f src/caffe/layers/region_layer.cpp "
                  "(eric612/MobileNet-YOLO has no Region layer; this is the region_param { classes coords "
                  "boxes_of_each_grid softmax } form of the darknet-converted YOLOv2 prototxts)",
        "YoloDetectionOutput": "eric612/MobileNet-YOLO@69b4441cb3ec8d553fbdef788ad033e246f901bd "
                               "src/caffe/layers/yolo_detection_output_layer.cpp",
        "Yolov3DetectionOutput": "eric612/MobileNet-YOLO@69b4441cb3ec8d553fbdef788ad033e246f901bd "
                                 "src/caffe/layers/yolov3_detection_output_layer.cpp (+ get_region_box of its "
                                 "src/caffe/util/bbox_util.cpp)",
    },
    "build": SSD_TREE["build"] + "; issue 18 (tree ssd18 = the above plus): layer sources copied in with their "
             "caffe.proto messages (as each fork declares them) and field numbers roi_pooling_param 8266711, "
             "psroi_pooling_param 10001, reorg_param 149, yolo_detection_output_param 601, "
             "yolov3_detection_output_param 602, DropoutParameter.scale_train 2 (caffe-fast-rcnn, with its "
             "dropout_layer.cpp/.hpp); proposal_param as 2201 (openvinotoolkit's 201 is "
             "multibox_loss_param here) and region_param as 2148 (lwplw's 148 is clip_param here); "
             "patches: psroi_pooling_layer.cpp Forward_cpu as named in layers_from; region_layer.cpp: "
             "softmax_ = region_param.softmax() added to LayerSetUp (the fork declares softmax_ and never sets "
             "it, so its value is undefined there), its softmax/flatten/logistic_activate helpers (kept in that "
             "fork's math_functions) in a header include/caffe/util/region_math.hpp, STUB_GPU(RegionLayer) for "
             "the CPU-only build; proposal_layer.cpp: the ProposalLayer declaration (from that fork's "
             "fast_rcnn_layers.hpp) in its own header, STUB_GPU_FORWARD instead of STUB_GPU (its Backward_gpu is "
             "defined in the class); yolov3_detection_output_layer.cpp: includes get_region_box/"
             "get_gaussian_yolo_box (eric612's bbox_util.cpp) from a header; the other sources verbatim "
             "(roi_pooling_layer.cpp with caffe-fast-rcnn's fast_rcnn_layers.hpp, rfcn_layers.hpp, reorg, "
             "yolo_detection_output with region_loss_layer.hpp, nms.cpp/.hpp)",
}
PYFRCNN_CHANGES = ("py-faster-rcnn lib (rpn/proposal_layer.py, rpn/generate_anchors.py, fast_rcnn/config.py, "
                   "fast_rcnn/bbox_transform.py, fast_rcnn/nms_wrapper.py, nms/py_cpu_nms.py) converted by "
                   "tools/fork_trees/setup_pyfrcnn.py: lib2to3; proposal_layer.py: yaml.load(s, "
                   "Loader=yaml.FullLoader) (PyYAML 6); NMS: the repository's nms/py_cpu_nms.py (the Cython "
                   "cpu_nms/gpu_nms are not built; cfg.USE_GPU_NMS False, as CPU-only users set it; py_cpu_nms "
                   "suppresses IoU > 0.7 in float32, the Cython cpu_nms IoU >= 0.7 in float32: they differ only for "
                   "an IoU of exactly 0.7); shim: caffe.Layer.param_str_ reads param_str and cfg['1'] = cfg.TEST "
                   "(this pycaffe's Layer.phase is int(phase), caffe-fast-rcnn's is the Phase enum); easydict "
                   "1.14 from PyPI")

# Cases also run on a second tree, with every blob bitwise identical to the committed ones (reproduce with
# --legacy-inputs --compare on that tree's pycaffe: both trees predate the Input layer).
PSPNET_CHECK = ("hszhao/PSPNet@798bdc907c8630e8c3997ebfdd0d7cae0c5ab03b, the real tree (CPU-only, same patches as "
                "segnet's for OpenCV 4 and protobuf 3.21, interp.hpp's cublas include under #ifndef CPU_ONLY), "
                "Input layers written as input/input_shape (--legacy-inputs): every blob identical")
SEGNET_CHECK = ("alexgkendall/caffe-segnet@344c113bf1832886f1cbe9f33ffe28a3beeaf412, the real tree (CPU-only; "
                "Makefile: "
                "PYTHON_LIBRARIES boost_python311 python3.11, opencv_imgcodecs added; OpenCV 4 and protobuf 3.21 "
                "patches as segnet's; pycaffe: Net top_ids/bottom_ids exposed as in later BVLC), Input layers "
                "written as input/input_shape (--legacy-inputs): every blob identical")
CHECKED_ON = {"fork_interp": PSPNET_CHECK, "fork_bn_pspnet": PSPNET_CHECK, "fork_segnet": SEGNET_CHECK}

# case -> (tree, default seed, fork layer types the case pins down)
CASES = {
    "fork_mobile": (SSD_TREE, 15, ["ReLU6", "ShuffleChannel", "ConvolutionDepthwise", "DepthwiseConvolution",
                                   "Axpy", "Mish", "Upsample", "Clip", "Swish"]),
    "fork_interp": (SSD_TREE, 15, ["Interp", "BN"]),
    "fork_bn_pspnet": (SSD_TREE, 15, ["BN"]),
    "fork_segnet": (SEGNET_TREE, 15, ["BN", "Upsample", "Pooling"]),
    "fork_unpool": (SSD_TREE, 15, ["Unpooling"]),
    "bvlc_spp": (SSD_TREE, 15, ["SPP"]),
    "bvlc_embed": (SSD_TREE, 15, ["Embed"]),
    "bvlc_parameter": (SSD_TREE, 15, ["Parameter"]),
    "bvlc_recurrent": (SSD_TREE, 15, ["Embed", "Parameter", "LSTM", "RNN"]),
    "fork_roi": (SSD18_TREE, 18, ["ROIPooling", "PSROIPooling"]),
    "fork_proposal": (SSD18_TREE, 18, ["Python:rpn.proposal_layer.ProposalLayer"]),
    "fork_proposal_cpp": (SSD18_TREE, 18, ["Proposal"]),
    "fork_yolo": (SSD18_TREE, 18, ["Reorg", "Region", "YoloDetectionOutput", "Yolov3DetectionOutput"]),
    "fork_faster_rcnn_zf": (SSD18_TREE, 19, ["Python:rpn.proposal_layer.ProposalLayer", "ROIPooling", "Dropout"]),
    "fork_faster_rcnn_zf_thin": (SSD18_TREE, 19, ["Python:rpn.proposal_layer.ProposalLayer", "ROIPooling",
                                                  "Dropout"]),
}
# not committed: its caffemodel alone is 220 MB (fc6, fc7); fork_faster_rcnn_zf_thin is committed instead
UNCOMMITTED = {"fork_faster_rcnn_zf"}
# (seed 19 for the Faster R-CNN cases: seed 18 gives RPN foreground probabilities tied in float32)
# cases with py-faster-rcnn's Python layers: its lib (tools/fork_trees/setup_pyfrcnn.py) must be on PYTHONPATH
PYTHON_LAYER_CASES = {"fork_proposal", "fork_faster_rcnn_zf", "fork_faster_rcnn_zf_thin"}
# cases for layers caffe2x does not support yet (issue 18): kept out of the folder the tests scan
PENDING = {"fork_proposal_cpp", "fork_faster_rcnn_zf"}

# fork_roi's ROIs (batch index, x1, y1, x2, y2) in pixels of a 224x320 image
ROI_ROWS = np.array([
    [0, 0, 0, 319, 223],  # the whole image
    [1, 40, 8, 200, 152],  # x 40 and y 8, 152 scale to .5 at 1/16 (C round(): half away from zero)
    [0, 250.3, 180.7, 400, 300],  # partly outside (right, bottom)
    [1, -30, -20, 60, 70],  # partly outside (left, top)
    [0, 100, 100, 100, 100],  # degenerate: one point
    [1, 17.9, 34.5, 90.6, 47.5],  # fractional; 34.5 and 47.5 round half away from zero (PSROIPooling rounds first)
    [0, 300, 10, 319, 30],  # thin, at the right edge
    [1, 60, 120, 61, 200],  # two pixels wide
    [0, 12.5, 4, 36, 20],  # .5 at 1/8 (4 -> 0.5, 20 -> 2.5, 36 -> 4.5); 12.5 itself rounds to 13
], dtype=np.float32)


def fixed(values: list) -> Callable[[np.random.Generator, tuple], np.ndarray]:
    """An input with given values (im_info rows)."""
    def make(rng: np.random.Generator, shape) -> np.ndarray:
        value = np.array(values, dtype=np.float32)
        if value.shape != tuple(shape):
            raise SystemExit(f"input of shape {tuple(shape)} given values of shape {value.shape}")
        return value
    return make


def rpn_probabilities(rng: np.random.Generator, shape) -> np.ndarray:
    """RPN softmax output (1, 2A, H, W): foreground scores all distinct (no ties to sort), background 1 - fg."""
    anchors = shape[1] // 2
    count = anchors * shape[2] * shape[3]
    foreground = (rng.permutation(count) + rng.uniform(0.05, 0.95, count)) / count
    foreground = foreground.reshape(shape[0], anchors, shape[2], shape[3])
    return np.concatenate([1.0 - foreground, foreground], axis=1).astype(np.float32)


def rpn_deltas(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.normal(0.0, 0.3, shape).astype(np.float32)


PROPOSAL_INPUTS = {"rpn_cls_prob_reshape": rpn_probabilities, "rpn_bbox_pred": rpn_deltas,
                   "rpn_cls_prob_small": rpn_probabilities, "rpn_bbox_small": rpn_deltas}

# inputs that are not N(0, 1): Embed's indices (integers as floats), the LSTM/RNN continuation flags, ROIs,
# RPN outputs and im_info
SPECIAL_INPUTS = {
    ("fork_roi", "rois"): fixed(ROI_ROWS.tolist()),
    **{("fork_proposal", name): make for name, make in PROPOSAL_INPUTS.items()},
    **{("fork_proposal_cpp", name): make for name, make in PROPOSAL_INPUTS.items()},
    ("fork_proposal", "im_info"): fixed([[224, 320, 1.0]]),
    ("fork_proposal", "im_info_scaled"): fixed([[224, 320, 1.6]]),
    ("fork_proposal", "im_info_small"): fixed([[64, 96, 1.0]]),
    ("fork_proposal_cpp", "im_info4"): fixed([[224, 320, 1.0, 1.0]]),
    ("fork_proposal_cpp", "im_info4_small"): fixed([[64, 96, 1.0, 1.0]]),
    ("fork_faster_rcnn_zf", "im_info"): fixed([[224, 320, 1.0]]),
    ("fork_faster_rcnn_zf_thin", "im_info"): fixed([[224, 320, 1.0]]),
    ("bvlc_recurrent", "idx"): lambda rng, shape: rng.integers(0, 10, shape).astype(np.float32),
    ("bvlc_embed", "idx"): lambda rng, shape: rng.integers(0, 10, shape).astype(np.float32),
    ("bvlc_embed", "idx2"): lambda rng, shape: rng.integers(0, 7, shape).astype(np.float32),
    ("bvlc_recurrent", "cont"): lambda rng, shape: (np.arange(shape[0])[:, None] > 0).repeat(shape[1], 1)
    .astype(np.float32),
}

# Faster R-CNN heads scaled like a trained net's: He-scaled RPN logits (about +-10) would saturate the softmax
# (probabilities tied at 1.0 in float32) and He-scaled box deltas (about +-10) make every proposal the whole
# image; trained RPNs give logits of a few units and deltas of a few tenths
FRCNN_HEADS = {"rpn_cls_score": 0.3, "rpn_bbox_pred": 0.1, "bbox_pred": 0.1}
HEAD_SCALES = {"fork_faster_rcnn_zf": FRCNN_HEADS, "fork_faster_rcnn_zf_thin": FRCNN_HEADS}

CONV_TYPES = {"Convolution", "Deconvolution", "ConvolutionDepthwise", "DepthwiseConvolution", "InnerProduct"}


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("case", choices=sorted(CASES))
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--legacy-inputs", action="store_true",
                        help="write the Input layers as input/input_shape fields (trees older than Input)")
    parser.add_argument("--compare", action="store_true",
                        help="after writing, compare every blob with the committed case and report")
    parser.add_argument("--out", type=Path, default=None,
                        help="default: fixtures/golden (fixtures/golden_pending for the PENDING cases)")
    return parser.parse_args(argv)


def layer_table(net) -> list[dict]:
    """Name, type, bottoms and tops of every layer as Caffe built the net (Splits included)."""
    names = list(net._blob_names)
    rows = []
    for index, (name, layer) in enumerate(zip(net._layer_names, net.layers)):
        tops = [names[i] for i in net._top_ids(index)]
        rows.append({"name": name, "type": layer.type,
                     "bottoms": [names[i] for i in net._bottom_ids(index)], "tops": tops,
                     "shapes": [list(net.blobs[t].data.shape) for t in tops]})
    return rows


def he_fill(rng: np.random.Generator, blobs, layer_type: str) -> None:
    """He-scaled weights (std sqrt(2 / fan_in)), biases N(0, 0.1)."""
    weight = blobs[0].data
    fan_in = weight[0].size if layer_type != "Deconvolution" else weight.size // weight.shape[1]
    weight[...] = rng.normal(0.0, np.sqrt(2.0 / fan_in), weight.shape)
    for bias in blobs[1:]:
        bias.data[...] = rng.normal(0.0, 0.1, bias.data.shape)


def channel_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel mean and variance over every axis but 1."""
    axes = tuple(i for i in range(x.ndim) if i != 1)
    return x.mean(axis=axes), x.var(axis=axes)


def bn_mode(layer_param_text: str) -> str:
    return "INFERENCE" if "INFERENCE" in layer_param_text else "LEARN"


def fill_plain(rng: np.random.Generator, net, rows: list[dict]) -> list[str]:
    """Fill every learnable blob that needs no measured statistic; return the BN layers left."""
    pending = []
    for row in rows:
        name, kind = row["name"], row["type"]
        if name not in net.params:
            continue
        blobs = net.params[name]
        if kind in CONV_TYPES:
            he_fill(rng, blobs, kind)
        elif kind == "BN":
            neutral = (1.0, 0.0, 0.0, 1.0)  # slope, shift, (mean, variance): identity until measured
            for index in range(len(blobs)):
                blobs[index].data[...] = neutral[index]
            pending.append(name)
        elif kind in ("LSTM", "RNN"):  # uniform(+-1/sqrt(hidden)), as recurrent nets are initialised
            bound = 1.0 / np.sqrt(blobs[0].data.shape[0] / (4 if kind == "LSTM" else 1))
            for blob in blobs:
                blob.data[...] = rng.uniform(-bound, bound, blob.data.shape)
        elif kind in ("Embed", "Parameter"):  # rows of an embedding / a free blob: unit scale
            blobs[0].data[...] = rng.standard_normal(blobs[0].data.shape)
            for bias in blobs[1:]:
                bias.data[...] = rng.normal(0.0, 0.1, bias.data.shape)
        elif kind == "Scale":
            blobs[0].data[...] = rng.uniform(0.8, 1.2, blobs[0].data.shape)
            for bias in blobs[1:]:
                bias.data[...] = rng.normal(0.0, 0.1, bias.data.shape)
        else:
            raise SystemExit(f"{name}: no weight rule for a {kind} layer with blobs")
    return pending


def set_bn(rng: np.random.Generator, net, name: str, bottom: np.ndarray, mode: str) -> None:
    """BN blobs from the measured statistics of its bottom (perturbed, as a trained net's are)."""
    blobs = net.params[name]
    channels = blobs[0].data.size
    mean, var = channel_stats(bottom)
    slope = rng.uniform(0.8, 1.2, channels)
    shift = rng.normal(0.0, 0.1, channels)
    mean = mean + rng.normal(0.0, 0.1, channels) * np.sqrt(var)
    var = var * rng.uniform(0.8, 1.25, channels) + 1e-3
    if len(blobs) == 4:  # PSPNet: slope, bias, history mean, history variance
        for blob, value in zip(blobs, (slope, shift, mean, var)):
            blob.data[...] = value.reshape(blob.data.shape)
    elif mode == "INFERENCE":  # SegNet INFERENCE: y = scale * x + shift (statistics folded in)
        scale = slope / np.sqrt(var)
        blobs[0].data[...] = scale.reshape(blobs[0].data.shape)
        blobs[1].data[...] = (shift - mean * scale).reshape(blobs[1].data.shape)
    else:  # SegNet LEARN: batch statistics at run time; the blobs are the affine part
        blobs[0].data[...] = slope.reshape(blobs[0].data.shape)
        blobs[1].data[...] = shift.reshape(blobs[1].data.shape)


def scale_heads(net, case: str) -> None:
    """Shrink the named layers' weights and biases (HEAD_SCALES) after the He fill."""
    for name, factor in HEAD_SCALES.get(case, {}).items():
        for blob in net.params[name]:
            blob.data[...] *= factor


def fill_weights(rng, net, rows: list[dict], prototxt_text: str, case: str) -> None:
    pending = fill_plain(rng, net, rows)
    scale_heads(net, case)
    order = [row["name"] for row in rows]
    modes = {name: bn_mode(layer_text(prototxt_text, name)) for name in pending}
    for name in pending:  # in net order: each BN sees the statistics of the BNs before it
        index = order.index(name)
        net._forward(0, index - 1)
        bottom = net.blobs[rows[index]["bottoms"][0]].data.copy()
        set_bn(rng, net, name, bottom, modes[name])


def layer_text(prototxt_text: str, name: str) -> str:
    """The text of one `layer { ... }` block (enough to read its bn_mode)."""
    start = prototxt_text.index(f'name: "{name}"')
    end = prototxt_text.find("layer {", start)
    return prototxt_text[start:end if end >= 0 else None]


def run_and_capture(net, rows: list[dict]) -> dict[str, np.ndarray]:
    """Forward one layer at a time; keep each layer's tops right after it ran."""
    blobs = {f"input:{name}": net.blobs[name].data.copy() for name in net.inputs}
    for index, row in enumerate(rows):
        net._forward(index, index)
        if row["type"] in ("Input", "Split"):
            continue
        for top in row["tops"]:
            blobs[f"{row['name']}:{top}"] = net.blobs[top].data.copy()
    return blobs


def weights_digest(net) -> str:
    digest = hashlib.sha256()
    for name in net.params:
        for blob in net.params[name]:
            digest.update(np.ascontiguousarray(blob.data, dtype=np.float32).tobytes())
    return digest.hexdigest()


def manifest_for(net, rows, seed: int, case: str) -> dict:
    tree, _, types = CASES[case]
    kinds = {row["name"]: row["type"] for row in rows}
    params = [[name, kinds[name], [list(b.data.shape) for b in net.params[name]]] for name in net.params]
    fork = {key: tree[key] for key in ("name", "repo", "commit")}
    fork["layers_from"] = {kind: tree["layers_from"][kind] for kind in types}
    fork["build"] = tree["build"]
    if case in CHECKED_ON:
        fork["checked_on"] = CHECKED_ON[case]
    if case in PYTHON_LAYER_CASES:
        fork["build"] += "; " + PYFRCNN_CHANGES
    batch = int(net.blobs[net.inputs[0]].data.shape[0])
    return {"inputs": list(net.inputs), "outputs": list(net.outputs), "seed": seed, "batch": batch,
            "input_scale": 1.0, "params": params, "weights_sha256": weights_digest(net),
            "layers": rows, "fork": fork}


def standard_normal(rng: np.random.Generator, shape) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


INPUT_LAYER = re.compile(r'layer \{ name: "(\w+)" type: "Input" top: "\w+" input_param \{ shape \{ ([^}]*) \} \} \}\n')


def legacy_inputs(text: str) -> str:
    """The net with its one-line Input layers as top-level input/input_shape fields, after the name line."""
    fields = "".join(f'input: "{name}"\ninput_shape {{ {dims.strip()} }}\n' for name, dims in INPUT_LAYER.findall(text))
    first, rest = INPUT_LAYER.sub("", text).split("\n", 1)
    return f"{first}\n{fields}{rest}"


def make_case(case: str, seed: int, out: Path, legacy: bool = False) -> Path:
    import caffe  # the fork's pycaffe, from PYTHONPATH

    caffe.set_mode_cpu()
    if case in PYTHON_LAYER_CASES:
        import pyfrcnn_py3_shim  # noqa: F401  (py-faster-rcnn's lib, see tools/fork_trees/setup_pyfrcnn.py)
    target = out / case
    target.mkdir(parents=True, exist_ok=True)
    text = (CASE_DIR / f"{case}.prototxt").read_text()
    prototxt = target / "net.prototxt"
    prototxt.write_text(legacy_inputs(text) if legacy else text)
    net = caffe.Net(str(prototxt), caffe.TEST)
    rows = layer_table(net)
    rng = np.random.default_rng(seed)
    inputs = {name: SPECIAL_INPUTS.get((case, name), standard_normal)(rng, net.blobs[name].data.shape)
              for name in net.inputs}
    for name, value in inputs.items():
        net.blobs[name].data[...] = value
    fill_weights(rng, net, rows, text, case)
    for name, value in inputs.items():  # the measuring passes must not have touched them
        net.blobs[name].data[...] = value
    blobs = run_and_capture(net, rows)
    rows = layer_table(net)  # again: the top shapes after the forward pass (Proposal/detection rows are dynamic)
    net.save(str(target / "net.caffemodel"))
    np.savez_compressed(target / "blobs.npz", **blobs)
    manifest = manifest_for(net, rows, seed, case)
    (target / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return target


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    seed = CASES[args.case][1] if args.seed is None else args.seed
    if args.case in UNCOMMITTED and args.out is None:
        raise SystemExit(f"{args.case} is too large for fixtures/: give --out")
    out = args.out or ROOT / "fixtures" / ("golden_pending" if args.case in PENDING else "golden")
    target = make_case(args.case, seed, out, args.legacy_inputs)
    size = sum(f.stat().st_size for f in target.iterdir())
    print(f"{args.case}: {target} ({size / 1e3:.0f} kB)")
    return compare_with_committed(args.case, target) if args.compare else 0


def compare_with_committed(case: str, target: Path) -> int:
    """Report the worst normalized difference of every blob against the committed case; 1 if any differs."""
    committed = ROOT / "fixtures" / ("golden_pending" if case in PENDING else "golden") / case / "blobs.npz"
    with np.load(committed) as want, np.load(target / "blobs.npz") as got:
        if set(want.files) != set(got.files):
            print(f"blob keys differ: {sorted(set(want.files) ^ set(got.files))}")
            return 1
        worst = max((float(np.abs(got[k] - want[k]).max() / max(np.abs(want[k]).max(), 1e-30)), k)
                    for k in want.files)
        identical = all(np.array_equal(got[k], want[k]) for k in want.files)
    print("every blob identical" if identical else f"worst normalized difference {worst[0]:.3g} ({worst[1]})")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
