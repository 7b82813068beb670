"""MobileNet-SSD (the golden case, real fork blobs and its caffemodel): conversion cost per
target and ONNX Runtime against OpenCV DNN running the Caffe original, batch 1:

    .venv/bin/python bench/ssd.py [--repeats 3] [--speed-repeats 15]

Conversion: one `caffe2x convert` process per target (wall seconds, peak RSS) against the
read-and-parse floor, as bench/run.py. Speed: in one fresh process (threads fixed as in
bench/speed.py), caffe2x's ONNX model on onnxruntime and cv2.dnn.readNetFromCaffe on the same
prototxt and caffemodel, first checked to compute the same detections on the golden input,
then timed in alternating blocks, with caffe2x's model cut before DetectionOutput
beside them (the difference is what its DetectionOutput subgraph costs; OpenCV's own
per-layer timings give its DetectionOutput's). Merges the result into bench/results.json under
"ssd" (the other sections are kept as they are) and regenerates bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from run import FLOOR, HERE, ROOT, THREADS, median_of

CASE = ROOT / "fixtures/golden/mobilenet_ssd"
PROTOTXT, WEIGHTS = CASE / "net.prototxt", CASE / "net.caffemodel"
SHAPE = (3, 300, 300)
DETECTION_LAYER = "detection_out"
TARGETS = (("onnx", "m.onnx"), ("pytorch", "pt"), ("tensorflow", "tf"), ("tflite", "m.tflite"))
ROW_TOLERANCE = 1e-4


def conversion(repeats: int) -> dict:
    result = {"caffemodel_mb": WEIGHTS.stat().st_size / 2**20,
              "floor": median_of([sys.executable, "-c", FLOOR, str(WEIGHTS)], repeats)}
    with tempfile.TemporaryDirectory() as tmp:
        for target, out in TARGETS:
            print(f"mobilenet_ssd: convert --to {target}", file=sys.stderr)
            command = [sys.executable, "-m", "caffe2x.cli", "convert", str(PROTOTXT), "-w", str(WEIGHTS), "--to",
                       target, "-o", str(Path(tmp) / out), "--force", "--input-shape",
                       "data=1," + ",".join(map(str, SHAPE))]
            result[target] = median_of(command, repeats)
    result["tensorflow_import"] = median_of([sys.executable, "-c", "import tensorflow"], repeats)
    result["torch_import"] = median_of([sys.executable, "-c", "import torch"], repeats)
    return result


def caffe_order(rows: np.ndarray) -> np.ndarray:
    """The N x 7 rows sorted as Caffe writes them: image, label ascending, score descending
    (then the box, so that equal scores compare too). OpenCV sorts each image's rows by score
    across labels, so its rows are put in this order before they are compared."""
    r = rows.reshape(-1, 7).astype(np.float64)
    return r[np.lexsort((r[:, 6], r[:, 5], r[:, 4], r[:, 3], -r[:, 2], r[:, 1], r[:, 0]))]


def detection_agreement(ours: np.ndarray, theirs: np.ndarray, golden: np.ndarray) -> dict:
    """Same row count, and every row within ROW_TOLERANCE once in the same order: else the
    comparison is not between two implementations of one function, and the benchmark stops."""
    a, b = caffe_order(ours), caffe_order(theirs)
    found = {"rows_caffe2x": len(a), "rows_opencv": len(b), "rows_fork": int(golden.reshape(-1, 7).shape[0]),
             "caffe2x_in_caffe_order": bool(np.array_equal(ours.reshape(-1, 7), caffe_order(ours))),
             "opencv_in_caffe_order": bool(np.array_equal(theirs.reshape(-1, 7), caffe_order(theirs)))}
    if len(a) != len(b):
        raise AssertionError(f"OpenCV gives {len(b)} detections, caffe2x {len(a)}")
    found["max_row_difference"] = float(np.abs(a - b).max()) if len(a) else 0.0
    found["max_difference_to_fork"] = float(np.abs(ours.reshape(-1, 7) - golden.reshape(-1, 7)).max())
    if found["max_row_difference"] > ROW_TOLERANCE:
        raise AssertionError(f"OpenCV's detections differ from caffe2x's by {found['max_row_difference']:.2e}")
    return found


def without_detection_output(graph, model_path: Path, backbone_path: Path) -> None:
    """The converted model cut before DetectionOutput (its loc and conf inputs as outputs;
    PriorBox is a constant): timed beside the whole model, the difference is what the
    DetectionOutput subgraph costs."""
    import onnx

    detection = next(node for node in graph.nodes if node.type == "DetectionOutput")
    model = onnx.shape_inference.infer_shapes(onnx.load(str(model_path)))
    onnx.save(onnx.utils.Extractor(model).extract_model(["data"], detection.inputs[:2]), str(backbone_path))


def opencv_detection_share(net, x: np.ndarray, runs: int) -> dict:
    """OpenCV's own per-layer timings (getPerfProfile), median over runs."""
    import cv2

    names = net.getLayerNames()
    detection, total = [], []
    for _ in range(runs):
        net.setInput(x)
        net.forward()
        all_ticks, per_layer = net.getPerfProfile()
        per_layer = np.asarray(per_layer).reshape(-1)
        detection.append(sum(t for n, t in zip(names, per_layer) if n == DETECTION_LAYER))
        total.append(all_ticks)
    ms = 1000 / cv2.getTickFrequency()
    return {"detection_ms": statistics.median(detection) * ms, "all_layers_ms": statistics.median(total) * ms}


def ort_session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def speed(repeats: int) -> dict:
    """Run in a fresh process (`ssd.py --speed`): both frameworks loaded, checked, timed."""
    from opencv_caffe import cv2_with_caffe
    from speed import in_blocks, median_ms, repeats_for

    import caffe2x
    from caffe2x.targets.onnx import to_onnx
    from caffe2x.targets.onnx.stream import write_model

    with np.load(CASE / "blobs.npz") as blobs:
        x, golden = blobs["input:data"], blobs[f"{DETECTION_LAYER}:{DETECTION_LAYER}"]
    cv2 = cv2_with_caffe()
    cv2.setNumThreads(THREADS)
    net = cv2.dnn.readNetFromCaffe(str(PROTOTXT), str(WEIGHTS))
    graph = caffe2x.load_net(PROTOTXT, WEIGHTS, {"data": (1, *SHAPE)})
    with tempfile.TemporaryDirectory() as tmp:
        model_path, backbone_path = Path(tmp) / "model.onnx", Path(tmp) / "backbone.onnx"
        write_model(to_onnx(graph), model_path, None)
        without_detection_output(graph, model_path, backbone_path)
        ours, backbone = ort_session(model_path), ort_session(backbone_path)

    def run_opencv():
        net.setInput(x)
        return net.forward()

    runs = {"caffe2x": lambda: ours.run(None, {"data": x})[0], "opencv": run_opencv,
            "caffe2x_backbone": lambda: backbone.run(None, {"data": x})}
    out = {"threads": THREADS, "agreement": detection_agreement(runs["caffe2x"](), run_opencv(), golden)}
    count = repeats_for(1, repeats)
    out.update({f"{impl}_b1": ms for impl, ms in median_ms(runs, count, in_blocks(count)).items()})
    out["opencv_profile"] = opencv_detection_share(net, x, 20)
    return out


def speed_in_child(repeats: int) -> dict:
    output = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--speed", "--speed-repeats",
                             str(repeats)], capture_output=True, text=True, cwd=ROOT)
    if output.returncode != 0:
        return {"error": output.stderr.strip().splitlines()[-1] if output.stderr.strip() else "failed"}
    return json.loads(output.stdout.strip().splitlines()[-1])


def measure_section(repeats: int, speed_repeats: int) -> dict:
    section = {"date": time.strftime("%Y-%m-%d"), "model": "mobilenet_ssd", "input": [1, *SHAPE],
               "repeats": repeats, "speed_repeats": speed_repeats, "conversion": conversion(repeats)}
    print("mobilenet_ssd: onnxruntime against OpenCV DNN", file=sys.stderr)
    section["speed"] = speed_in_child(speed_repeats)
    print(json.dumps(section["speed"]), file=sys.stderr)
    return section


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speed-repeats", type=int, default=15,
                        help="timed runs per implementation, times four at batch 1 (as bench/run.py)")
    parser.add_argument("--speed", action="store_true", help="only the speed figures, as one JSON line")
    args = parser.parse_args()
    if args.speed:
        print(json.dumps(speed(args.speed_repeats)))
        return 0
    from report import merge_section

    merge_section("ssd", measure_section(args.repeats, args.speed_repeats), HERE)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    sys.exit(main())
