"""Faster R-CNN ZF (py-faster-rcnn's test net, its Python ProposalLayer included:
fixtures/nets/faster_rcnn_zf_test.prototxt) at py-faster-rcnn's TEST scale: conversion time
per target, and ONNX Runtime against OpenCV DNN running the Caffe original, in one run:

    .venv/bin/python bench/faster_rcnn.py [--repeats 1] [--speed-repeats 10] [--no-verify] [--fork-only]

Weights: full-size random weights (caffe2x's synth-weights recipe, seed 0), written once to
bench/.cache; nothing is downloaded. Input: 1x3x600x800 (the shorter side 600, as cfg.TEST.SCALES,
at a 4:3 image), im_info [600, 800, 1], the data seeded standard-normal (caffe2x's random_inputs).

Conversion (`--conversion`, one fresh process): the frameworks imported first (timed apart), the net
loaded once (`caffe2x.load_net`), then `caffe2x.convert` to onnx, pytorch, tensorflow and tflite
one after the other, wall seconds each (the median of --repeats); then, unless --no-verify,
`caffe2x.verify` per target against caffe2x's builtin reference (which the real py-faster-rcnn
goldens check), its own wall time: a conversion in memory, a run and the per-blob comparison.

Speed (`--speed`, another fresh process): caffe2x's ONNX model on onnxruntime and
cv2.dnn.readNetFromCaffe on the same prototxt and caffemodel, the same input, both limited to the
same number of threads; OpenCV cannot run `type: "Python"` ("Can't create layer 'proposal' of
type 'Python'"), so its copy of the prototxt has that one layer rewritten into OpenCV's own
`type: "Proposal"` with the same parameters (opencv_prototxt). The outputs are compared first
(compare_outputs, recorded, not a stop: OpenCV's Proposal is not py-faster-rcnn's), then both are
timed in alternating blocks after two warm-ups each. Needs OpenCV 4 (bench/opencv_caffe.py).
Then (`--fork`) OpenCV against the real py-faster-rcnn's blobs on the thin ZF golden case, the same
comparison (fork_agreement).
Merges the result into bench/results.json under "faster_rcnn" and regenerates bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROTOTXT = ROOT / "fixtures/nets/faster_rcnn_zf_test.prototxt"
WEIGHTS = HERE / ".cache" / "faster_rcnn_zf.caffemodel"
HEIGHT, WIDTH = 600, 800
SEED = 0
THREADS = os.cpu_count() or 1
TARGETS = (("onnx", "m.onnx"), ("pytorch", "pt"), ("tensorflow", "tf"), ("tflite", "m.tflite"))
FRAMEWORK = {"onnx": "onnx", "pytorch": "torch", "tensorflow": "tensorflow", "tflite": "tensorflow"}
OUTPUTS = ("cls_prob", "bbox_pred")
FORK_CASE = ROOT / "fixtures/golden/fork_faster_rcnn_zf_thin"  # real py-faster-rcnn blobs, a thin ZF
RPN_BLOBS = ("rpn_cls_prob_reshape", "rpn_bbox_pred")  # the Proposal's inputs: the nets agree up to here
ROW_MATCH_PX = 0.01  # two ROIs are the same box when every coordinate is within this (pixels)
VERIFY_TOLERANCE = 1e-4


def shapes(height: int = HEIGHT, width: int = WIDTH) -> dict:
    return {"data": (1, 3, height, width), "im_info": (1, 3)}


def make_weights(prototxt: Path, path: Path, input_shapes: dict) -> float:
    """Full-size random weights, written once (as `caffe2x synth-weights`); seconds taken, 0 if cached."""
    if path.exists():
        return 0.0
    import caffe2x
    from caffe2x.weights import save_weights, synthetic_weights

    path.parent.mkdir(exist_ok=True)
    started = time.perf_counter()
    save_weights(synthetic_weights(caffe2x.load_net(prototxt, None, input_shapes), SEED), path)
    return time.perf_counter() - started


def bench_inputs(graph) -> dict:
    """The seeded input verify draws by default: standard-normal data, im_info = (H, W, 1)."""
    from caffe2x.weights import random_inputs

    return random_inputs(graph, SEED)


# ---- conversion ---------------------------------------------------------------------------------

def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    value = call()
    return time.perf_counter() - started, value


def folder_mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return sum(p.stat().st_size for p in files) / 2**20


def verify_summary(result, seconds: float) -> dict:
    worst = max(result.records, key=lambda r: r.error.normalized_max, default=None)
    return {"seconds": seconds, "passed": result.passed, "blobs_compared": len(result.records),
            "worst_blob": worst and f"{worst.layer}:{worst.top}",
            "worst_normalized_error": worst and worst.error.normalized_max,
            "rows": {r.top: r.shape[0] for r in result.records if r.top in ("rois", *OUTPUTS)}}


def conversion(prototxt: Path, weights: Path, input_shapes: dict, targets: list[str], repeats: int,
               verify: bool) -> dict:
    """All in this process: the targets' frameworks imported (timed apart, so that no conversion pays
    for an import), the net loaded, each target's convert, then each target's verify."""
    out = {"imports": {}}
    for module in dict.fromkeys(FRAMEWORK[target] for target in targets):
        out["imports"][module] = timed(lambda module=module: __import__(module))[0]
    import caffe2x

    out["load_net"], graph = timed(lambda: caffe2x.load_net(prototxt, weights, input_shapes))
    out["convert"] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for target in targets:
            path = Path(tmp) / dict(TARGETS)[target]
            print(f"faster_rcnn: convert --to {target}", file=sys.stderr)
            runs = [timed(lambda t=target, p=path: caffe2x.convert(graph, t, p, force=True))[0]
                    for _ in range(repeats)]
            out["convert"][target] = {"seconds": float(np.median(runs)), "runs": runs, "output_mb": folder_mb(path)}
    if verify:
        inputs = bench_inputs(graph)
        from caffe2x.api import reference_blobs

        seconds, want = timed(lambda: reference_blobs("builtin", prototxt, weights, graph, inputs))
        out["verify"] = {"reference_seconds": seconds, "tolerance": VERIFY_TOLERANCE}
        for target in targets:
            print(f"faster_rcnn: verify --to {target}", file=sys.stderr)
            seconds, result = timed(lambda target=target: caffe2x.verify(graph, target, inputs, want,
                                                                         reference_name="builtin",
                                                                         tolerance=VERIFY_TOLERANCE))
            out["verify"][target] = verify_summary(result, seconds)
    return out


# ---- OpenCV's copy of the prototxt --------------------------------------------------------------

def layer_block(text: str, name: str) -> tuple[int, int]:
    """Start and end of the `layer { ... }` block named `name` in prototxt text."""
    found = re.search(r"""name:\s*['"]""" + re.escape(name) + """['"]""", text)
    if found is None:
        raise ValueError(f"no layer named {name!r}")
    start = text.rindex("layer", 0, found.start())
    depth, index = 0, text.index("{", start)
    while True:
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return start, index + 1
        index += 1


def proposal_param_text(params) -> str:
    """OpenCV's ProposalParameter holding caffe2x's parameters of the layer (py-faster-rcnn's,
    cfg.TEST defaults included)."""
    fields = [f"feat_stride: {params.feat_stride}", f"base_size: {params.base_size}",
              f"min_size: {params.min_size:g}", *[f"ratio: {r:g}" for r in params.ratios],
              *[f"scale: {s:g}" for s in params.scales], f"pre_nms_topn: {params.pre_nms_topn}",
              f"post_nms_topn: {params.post_nms_topn}", f"nms_thresh: {params.nms_thresh:g}"]
    return "proposal_param { " + " ".join(fields) + " }"


def opencv_prototxt(text: str, graph) -> tuple[str, str]:
    """The prototxt with py-faster-rcnn's Python ProposalLayer rewritten as OpenCV's `Proposal`
    type, every other line unchanged; and the new layer's parameter block."""
    node = next(n for n in graph.nodes if n.type.startswith("Python:") and "ProposalLayer" in n.type)
    start, end = layer_block(text, node.name)
    param = proposal_param_text(node.params)
    block = re.sub(r"""type:\s*['"]Python['"]""", 'type: "Proposal"', text[start:end])
    block = re.sub(r"python_param\s*\{[^}]*\}", param, block)
    return text[:start] + block + text[end:], param


# ---- outputs: onnxruntime against OpenCV --------------------------------------------------------

def normalized(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))


def below_min_size(rois: np.ndarray, min_size: float) -> int:
    """Rows py-faster-rcnn's min-size filter would have dropped (width or height, +1, below it)."""
    return int(((rois[:, 3] - rois[:, 1] + 1 < min_size) | (rois[:, 4] - rois[:, 2] + 1 < min_size)).sum())


def compare_outputs(ours: dict, theirs: dict, min_size: float) -> dict:
    """ours/theirs: {"rois", "cls_prob", "bbox_pred", RPN blobs} from onnxruntime and OpenCV. The RPN
    blobs (the Proposal's inputs) by normalized max error; the ROIs row by row (how many leading rows
    agree, the largest difference) and as sets (rows with a same box in the other output); the
    class scores and box deltas of the rows with the same ROI (wherever each is), which must agree."""
    a, b = ours["rois"].reshape(-1, 5), theirs["rois"].reshape(-1, 5)
    n = min(len(a), len(b))
    in_place = np.abs(a[:n] - b[:n]).max(axis=1) <= ROW_MATCH_PX
    distance = np.abs(a[:, None, 1:] - b[None, :, 1:]).max(axis=2) if len(a) and len(b) else np.full((len(a), 1), 1e9)
    ours_rows = np.flatnonzero(distance.min(axis=1) <= ROW_MATCH_PX)
    theirs_rows = distance[ours_rows].argmin(axis=1)  # each matched row's same box in OpenCV's output
    unmatched = b[np.setdiff1d(np.arange(len(b)), theirs_rows)]
    found = {"rows_onnxruntime": len(a), "rows_opencv": len(b), "row_match_px": ROW_MATCH_PX,
             "rpn_normalized_error": {k: normalized(ours[k], theirs[k]) for k in RPN_BLOBS},
             "rois_same_row": int(in_place.sum()),
             "rois_leading_same_rows": int(n if in_place.all() else np.argmin(in_place)),
             "rois_max_difference_px": float(np.abs(a[:n] - b[:n]).max()) if n else 0.0,
             "rois_same_box": len(ours_rows),
             "min_size": min_size, "rois_below_min_size_onnxruntime": below_min_size(a, min_size),
             "rois_below_min_size_opencv": below_min_size(b, min_size),
             # OpenCV's rows with no same box in ours that py-faster-rcnn's min-size filter would keep
             "rois_opencv_unmatched_not_below_min_size": len(unmatched) - below_min_size(unmatched, min_size)}
    for key in OUTPUTS:
        x, y = ours[key].reshape(len(a), -1), theirs[key].reshape(len(b), -1)
        found[f"{key}_max_difference"] = float(np.abs(x[:n] - y[:n]).max()) if n else 0.0
        found[f"{key}_normalized_error_same_box"] = normalized(x[ours_rows], y[theirs_rows]) \
            if len(ours_rows) else None
    return found


def opencv_layer_ms(cv2, net, inputs: dict, names: list[str], runs: int) -> dict:
    """OpenCV's own per-layer timings (getPerfProfile), median over runs, for the layers that cost
    most and for the Proposal; "all": the sum over layers."""
    layers = net.getLayerNames()
    ticks = []
    for _ in range(runs):
        opencv_forward(net, inputs, names)
        total, per_layer = net.getPerfProfile()
        ticks.append([total, *np.asarray(per_layer).reshape(-1)])
    ms = np.median(np.array(ticks, np.float64), axis=0) * 1000 / cv2.getTickFrequency()
    per = dict(zip(layers, ms[1:]))
    top = sorted(per, key=per.get, reverse=True)[:4]
    return {"all": float(ms[0]), **{name: float(per[name]) for name in dict.fromkeys([*top, "proposal"])}}


def ort_session(path: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def with_outputs(model_path: Path, names: tuple[str, ...], out_path: Path) -> None:
    """The converted model with more of its values as outputs (for the comparison only)."""
    import onnx

    model = onnx.load(str(model_path))
    present = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                              for name in names if name not in present)
    onnx.save(model, str(out_path))


def opencv_net(cv2, prototxt_text: str, weights: Path, threads: int, folder: Path):
    cv2.setNumThreads(threads)
    path = folder / "opencv.prototxt"
    path.write_text(prototxt_text)
    return cv2.dnn.readNetFromCaffe(str(path), str(weights))


def opencv_forward(net, inputs: dict, names: list[str]) -> dict:
    for name, value in inputs.items():
        net.setInput(value, name)
    # OpenCV names a layer's first output by the layer: "proposal" is the top "rois".
    layers = ["proposal" if n == "rois" else n for n in names]
    return dict(zip(names, net.forward(layers)))


def speed(prototxt: Path, weights: Path, input_shapes: dict, repeats: int, threads: int) -> dict:
    """Run in a fresh process (`--speed`): both frameworks loaded, compared, timed."""
    from opencv_caffe import cv2_with_caffe
    from speed import in_blocks, median_ms

    import caffe2x
    from caffe2x.targets.onnx import to_onnx
    from caffe2x.targets.onnx.stream import write_model

    cv2 = cv2_with_caffe()
    graph = caffe2x.load_net(prototxt, weights, input_shapes)
    inputs = bench_inputs(graph)
    proposal = next(n for n in graph.nodes if n.type.startswith("Python:") and "ProposalLayer" in n.type)
    text, param = opencv_prototxt(Path(prototxt).read_text(), graph)
    out = {"threads": threads, "opencv_proposal": param, "versions": {"opencv": cv2.__version__}}
    with tempfile.TemporaryDirectory() as tmp:
        model_path, compare_path = Path(tmp) / "model.onnx", Path(tmp) / "compare.onnx"
        write_model(to_onnx(graph), model_path, None)
        with_outputs(model_path, ("rois", *RPN_BLOBS), compare_path)
        del graph
        net = opencv_net(cv2, text, weights, threads, Path(tmp))
        ours = ort_session(model_path, threads)
        names = [o.name for o in ours.get_outputs()]
        comparing = ort_session(compare_path, threads)
        got = dict(zip([o.name for o in comparing.get_outputs()], comparing.run(None, inputs)))
        del comparing
    import onnxruntime

    out["versions"]["onnxruntime"] = onnxruntime.__version__
    theirs = opencv_forward(net, inputs, ["rois", *OUTPUTS, *RPN_BLOBS])
    min_size = proposal.params.min_size * float(inputs["im_info"][0, 2])
    out["agreement"] = compare_outputs(got, theirs, min_size)
    runs = {"onnxruntime": lambda: ours.run(None, inputs),
            "opencv": lambda: opencv_forward(net, inputs, names)}
    out.update({f"{impl}_ms": ms for impl, ms in median_ms(runs, repeats, in_blocks(repeats)).items()})
    out["timed_runs"] = repeats
    out["opencv_layers_ms"] = opencv_layer_ms(cv2, net, inputs, names, 5)
    return out


def fork_agreement(case: Path = FORK_CASE) -> dict:
    """OpenCV against the real py-faster-rcnn, without caffe2x: the thin ZF golden case (the fork's
    own input, ROIs, class scores and box deltas, run in pycaffe), compared as compare_outputs does."""
    from opencv_caffe import cv2_with_caffe

    import caffe2x

    cv2 = cv2_with_caffe()
    graph = caffe2x.load_net(case / "net.prototxt")
    with np.load(case / "blobs.npz") as blobs:
        inputs = {k.removeprefix("input:"): blobs[k] for k in blobs.files if k.startswith("input:")}
        fork = {top: blobs[f"{layer}:{top}"] for layer, top in
                [("proposal", "rois"), *[(name, name) for name in (*OUTPUTS, *RPN_BLOBS)]]}
    text, _ = opencv_prototxt((case / "net.prototxt").read_text(), graph)
    proposal = next(n for n in graph.nodes if n.name == "proposal")
    with tempfile.TemporaryDirectory() as tmp:
        net = opencv_net(cv2, text, case / "net.caffemodel", 1, Path(tmp))
    theirs = opencv_forward(net, inputs, ["rois", *OUTPUTS, *RPN_BLOBS])
    found = compare_outputs(fork, theirs, proposal.params.min_size * float(inputs["im_info"][0, 2]))
    return {"case": str(case.relative_to(ROOT)), **found}


# ---- the run ------------------------------------------------------------------------------------

def child(flag: str, args: argparse.Namespace) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), flag, "--repeats", str(args.repeats),
               "--speed-repeats", str(args.speed_repeats), "--threads", str(args.threads),
               *(["--no-verify"] if args.no_verify else [])]
    output = subprocess.run(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    if output.returncode != 0:
        return {"error": f"{flag} exited {output.returncode} (its stderr is above)"}
    return json.loads(output.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "load_average_before": list(os.getloadavg()), "nice": os.nice(0)}


def measure_section(args: argparse.Namespace) -> dict:
    section = {"date": time.strftime("%Y-%m-%d %H:%M"), "model": "faster_rcnn_zf",
               "prototxt": str(PROTOTXT.relative_to(ROOT)), "input": list(shapes()["data"]),
               "im_info": [HEIGHT, WIDTH, 1], "weights": f"synthetic (seed {SEED})", "machine": machine(),
               "repeats": args.repeats, "speed_repeats": args.speed_repeats}
    section["weights_seconds"] = make_weights(PROTOTXT, WEIGHTS, shapes())
    section["caffemodel_mb"] = WEIGHTS.stat().st_size / 2**20
    section["conversion"] = child("--conversion", args)
    os.sync()  # the conversions wrote gigabytes: flushed now, not while the nets are timed
    section["speed"] = child("--speed", args)
    section["fork_agreement"] = child("--fork", args)
    section["machine"]["load_average_after"] = list(os.getloadavg())
    return section


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=1, help="conversions per target (median)")
    parser.add_argument("--speed-repeats", type=int, default=10, help="timed runs of each framework")
    parser.add_argument("--threads", type=int, default=THREADS, help="threads of both onnxruntime and OpenCV")
    parser.add_argument("--no-verify", action="store_true", help="conversion times only, no verify")
    parser.add_argument("--conversion", action="store_true", help="only the conversion figures, as one JSON line")
    parser.add_argument("--speed", action="store_true", help="only the speed figures, as one JSON line")
    parser.add_argument("--fork", action="store_true", help="only OpenCV against the fork's blobs, as one JSON line")
    parser.add_argument("--fork-only", action="store_true",
                        help="add OpenCV against the fork's blobs to the results of the last full run")
    args = parser.parse_args()
    if args.conversion:
        print(json.dumps(conversion(PROTOTXT, WEIGHTS, shapes(), [t for t, _ in TARGETS], args.repeats,
                                    not args.no_verify)))
        return 0
    if args.speed:
        print(json.dumps(speed(PROTOTXT, WEIGHTS, shapes(), args.speed_repeats, args.threads)))
        return 0
    if args.fork:
        print(json.dumps(fork_agreement()))
        return 0
    from report import merge_section

    if args.fork_only:  # seconds: added to the last full run's section
        merge_section("faster_rcnn", lambda last: {**last, "fork_agreement": child("--fork", args)}, HERE)
    else:
        merge_section("faster_rcnn", measure_section(args), HERE)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(HERE))
    sys.exit(main())
