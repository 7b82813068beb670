"""The YOLO detection output alone (decode, sort and the fork's greedy NMS) on each target:

    .venv/bin/python bench/yolo_nms.py [--repeats 7] [--print-only] [--before results-of-an-earlier-commit.json]

The layer is MobileNet-YOLOv3-lite's (fixtures/wild/mobilenet_yolov3_lite_deploy.prototxt: 20
classes, 3 anchors on each of its 10x10 and 20x20 maps at 320x320, nms_threshold 0.45), fed
seeded standard-normal maps: 30,000 candidates (cells x anchors x classes). At its deploy
threshold 0.01 nearly all of them are valid (random maps score every class about 0.25), the
worst case for an NMS loop; at 0.5 about a tenth are. Each threshold is timed on: ONNX Runtime
(the converted .onnx), the PyTorch module model.py copies (eager), the Keras layer (tf.function)
and the converted .tflite, each limited to THREADS threads; the median of --repeats after one
warm-up. Every target's rows are first checked against the reference kernel (count, then values
within 1e-5), a wrong one is recorded as such. --before merges the numbers this script printed
(--print-only) on an earlier commit, so one table shows both. Merges the result into
bench/results.json under "yolo_nms" and regenerates bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
THREADS = 2
SHAPES = {"conv19": (1, 75, 10, 10), "conv20": (1, 75, 20, 20)}
LAYER = """layer {{ name: "{top}" type: "Input" top: "{top}" input_param {{ shape {{ {dims} }} }} }}"""
DETECTION = """layer {{ name: "detection_out" type: "Yolov3DetectionOutput" bottom: "conv19" bottom: "conv20"
  top: "detection_out" yolov3_detection_output_param {{ num_classes: 20 confidence_threshold: {threshold}
  nms_threshold: 0.45 biases: 10 biases: 14 biases: 23 biases: 27 biases: 37 biases: 58 biases: 81
  biases: 82 biases: 135 biases: 169 biases: 344 biases: 319 anchors_scale: 32 anchors_scale: 16
  mask_group_num: 2 mask: 3 mask: 4 mask: 5 mask: 0 mask: 1 mask: 2 }} }}"""


def net(threshold: float) -> str:
    inputs = [LAYER.format(top=top, dims=" ".join(f"dim: {d}" for d in shape)) for top, shape in SHAPES.items()]
    return "\n".join([*inputs, DETECTION.format(threshold=threshold)])


def median_ms(run, repeats: int) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def runners(graph, inputs: dict, folder: Path) -> dict:
    """target -> a function returning its 1 x 1 x R x 7 rows as a NumPy array."""
    import onnxruntime
    import tensorflow as tf
    import torch

    import caffe2x
    from caffe2x.families.yolo.yolo_keras import YoloDetection as KerasYolo
    from caffe2x.families.yolo.yolo_torch import YoloDetection as TorchYolo
    from caffe2x.families.yolo.yolov3_detection_output import runtime_args

    node = next(n for n in graph.nodes if n.type == "Yolov3DetectionOutput")
    args = runtime_args(node.params, [inputs[top].shape for top in SHAPES])
    caffe2x.convert(graph, "onnx", folder / "m.onnx", force=True)
    caffe2x.convert(graph, "tflite", folder / "m.tflite", force=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = THREADS
    session = onnxruntime.InferenceSession(str(folder / "m.onnx"), options, providers=["CPUExecutionProvider"])
    torch.set_num_threads(THREADS)
    module, tensors = TorchYolo(*args), [torch.from_numpy(inputs[top]) for top in SHAPES]
    keras_layer, constants = KerasYolo(*args), [tf.constant(inputs[top]) for top in SHAPES]
    keras_call = tf.function(lambda *xs: keras_layer(list(xs)))
    interpreter = tf.lite.Interpreter(model_path=str(folder / "m.tflite"), num_threads=THREADS)
    signature = interpreter.get_signature_runner("serving_default")
    # the signature's inputs keep the Caffe tops, in the TensorFlow target's NHWC layout
    tflite_inputs = {top: np.ascontiguousarray(inputs[top].transpose(0, 2, 3, 1)) for top in SHAPES}

    def tflite():
        return next(iter(signature(**tflite_inputs).values()))

    return {"onnxruntime": lambda: session.run(None, inputs)[0],
            "pytorch": lambda: module(*tensors).numpy(),
            "keras": lambda: keras_call(*constants).numpy(),
            "tflite": tflite}


def measure(threshold: float, repeats: int) -> dict:
    import caffe2x
    from caffe2x.io.prototxt import parse_prototxt_text
    from caffe2x.reference import run

    graph = caffe2x.graph_from_net(parse_prototxt_text(net(threshold)))
    rng = np.random.default_rng(0)
    inputs = {top: rng.standard_normal(shape).astype(np.float32) for top, shape in SHAPES.items()}
    want = run(graph, inputs)[graph.outputs[0]]
    section = {"rows": int(want.shape[2]), "reference_ms": median_ms(lambda: run(graph, inputs), repeats)}
    with tempfile.TemporaryDirectory() as tmp:
        for target, rows_of in runners(graph, inputs, Path(tmp)).items():
            got = np.asarray(rows_of()).reshape(want.shape[0], want.shape[1], -1, 7)
            if got.shape != want.shape or not np.allclose(got, want, atol=1e-5):
                section[target] = {"error": f"rows differ from the reference: {got.shape} vs {want.shape}"}
                continue
            section[target] = {"ms": median_ms(rows_of, repeats)}
    return section


def valid_counts() -> dict:
    """How many of the 30,000 candidates pass each threshold (the reference's own decode)."""
    import caffe2x
    from caffe2x.families.yolo.yolov3_detection_output import candidates, plans
    from caffe2x.io.prototxt import parse_prototxt_text

    counts = {}
    for threshold in (0.01, 0.5):
        graph = caffe2x.graph_from_net(parse_prototxt_text(net(threshold)))
        node = next(n for n in graph.nodes if n.type == "Yolov3DetectionOutput")
        rng = np.random.default_rng(0)
        xs = [rng.standard_normal(shape).astype(np.float32) for shape in SHAPES.values()]
        parts = [candidates(node.params, x, plan) for x, plan in zip(xs, plans(node.params, [x.shape for x in xs]))]
        counts[str(threshold)] = [int(sum(len(p[3]) for p in parts)), int(sum(p[3].sum() for p in parts))]
    return counts


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE, capture_output=True, text=True)
    return done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--print-only", action="store_true", help="print the numbers, merge nothing")
    parser.add_argument("--before", type=Path, help="what --print-only printed on an earlier commit")
    args = parser.parse_args()
    measured = {"commit": commit(), "threads": THREADS, "repeats": args.repeats, "candidates": valid_counts(),
                "thresholds": {str(t): measure(t, args.repeats) for t in (0.01, 0.5)}}
    if args.print_only:
        print(json.dumps(measured, indent=1))
        return 0
    from report import merge_section

    section = {"date": time.strftime("%Y-%m-%d"), **measured}
    if args.before:
        section["before"] = json.loads(args.before.read_text())
    merge_section("yolo_nms", section, HERE)
    return 0


if __name__ == "__main__":
    sys.exit(main())
