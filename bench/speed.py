"""One framework's inference speed on one net:

    python bench/speed.py FRAMEWORK NAME PROTOTXT WEIGHTS C,H,W REPEATS THREADS

Prints one JSON line: median milliseconds per batch, batch 1 and 16, for each
implementation measured (caffe2x's conversion and the comparison point)."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
BATCHES = (1, 16)


def repeats_for(batch: int, repeats: int) -> int:
    """Batch 1 runs are short and noisy: time four times as many."""
    return repeats * 4 if batch == 1 else repeats


def median_ms(runs: dict, repeats: int, block: int = 1) -> dict:
    """Median ms of each callable over `repeats` runs (after two warm-ups each), taken in
    turns of `block` runs: A, B, A, B, ... with block 1, so no implementation pays alone
    for the process's first allocations or a drift of the machine."""
    for run in runs.values():
        run()
        run()
    times = {name: [] for name in runs}
    for _ in range(-(-repeats // block)):
        for name, run in runs.items():
            for _ in range(block):
                started = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - started)
    return {name: 1000 * statistics.median(values) for name, values in times.items()}


def in_blocks(repeats: int) -> int:
    """Three alternating blocks, not single turns, for onnxruntime sessions and Keras models:
    an idle onnxruntime session's threads spin for a while after each run and would take
    the other session's cores."""
    return -(-repeats // 3)


def load(prototxt, weights, shape, batch):
    import caffe2x

    return caffe2x.load_net(prototxt, weights, {"data": (batch, *shape)})


def agreement(ours, theirs, x) -> float:
    """Normalized max difference of two implementations' outputs on x: the comparison
    is only fair if they compute the same function."""
    a, b = np.asarray(ours(x), np.float64), np.asarray(theirs(x), np.float64)
    difference = float(np.abs(a - b).max() / max(np.abs(a).max(), 1e-30))
    if difference > 1e-3:
        raise AssertionError(f"the hand-written net disagrees with caffe2x's by {difference:.2e}")
    return difference


def bench_onnx(name, prototxt, weights, shape, repeats, threads):
    import handwritten_onnx
    import onnxruntime as ort

    from caffe2x.targets.onnx import to_onnx
    from caffe2x.targets.onnx.runner import session

    graph = load(prototxt, weights, shape, 1)
    ours = session(to_onnx(graph), threads=threads)
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    hand = ort.InferenceSession(handwritten_onnx.export_bytes(name, graph, shape), options,
                                providers=["CPUExecutionProvider"])
    run_ours = lambda x: ours.run(None, {"data": x})[0]  # noqa: E731
    run_hand = lambda x: hand.run(None, {"data": x})[0]  # noqa: E731
    x = np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32)
    out = {"handwritten_agreement": agreement(run_ours, run_hand, x)}
    for batch in BATCHES:
        x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)
        runs = {"caffe2x": lambda x=x: run_ours(x), "handwritten": lambda x=x: run_hand(x)}
        count = repeats_for(batch, repeats)
        out.update({f"{impl}_b{batch}": ms for impl, ms in median_ms(runs, count, in_blocks(count)).items()})
    return out


def bench_opencv(prototxt, weights, shape, repeats, threads):
    from opencv_caffe import cv2_with_caffe

    cv2 = cv2_with_caffe()
    cv2.setNumThreads(threads)
    net = cv2.dnn.readNetFromCaffe(str(prototxt), str(weights))
    out = {}
    for batch in BATCHES:
        x = np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32)

        def run(x=x):
            net.setInput(x)
            return net.forward()

        out[f"opencv_b{batch}"] = median_ms({"opencv": run}, repeats_for(batch, repeats))["opencv"]
    return out


def bench_pytorch(name, prototxt, weights, shape, repeats, threads):
    import subprocess

    import torch

    from caffe2x.targets.torch import generate, instantiate

    torch.set_num_threads(threads)
    graph = load(prototxt, weights, shape, 2)
    model = generate(graph)
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        # Converted by the CLI in its own process, as a user would: running torch.export in
        # this process first was seen to slow the eager module instantiated after it.
        subprocess.run([sys.executable, "-m", "caffe2x.cli", "convert", prototxt, "-w", weights, "--to", "pytorch",
                        "-o", str(Path(tmp) / "m"), "--input-shape", "data=2," + ",".join(map(str, shape))],
                       check=True, capture_output=True)
        eager = instantiate(model, Path(tmp) / "m")
        exported = torch.export.load(Path(tmp) / "m" / "model.pt2").module()
        hand = None
        try:
            import handwritten_torch

            hand = handwritten_torch.build(name, graph)
        except KeyError:
            pass
        with torch.inference_mode():
            x = torch.from_numpy(np.random.default_rng(0).standard_normal((1, *shape)).astype(np.float32))
            if hand is not None:
                out["handwritten_agreement"] = agreement(eager, hand, x)
            out["exported_agreement"] = agreement(eager, exported, x)
            for batch in BATCHES:
                x = torch.from_numpy(np.random.default_rng(0).standard_normal((batch, *shape)).astype(np.float32))
                runs = {"caffe2x_eager": lambda x=x: eager(x), "caffe2x_exported": lambda x=x: exported(x)}
                if hand is not None:
                    runs["handwritten"] = lambda x=x: hand(x)
                out.update({f"{name}_b{batch}": ms
                            for name, ms in median_ms(runs, repeats_for(batch, repeats)).items()})
    return out


def bench_tensorflow(name, prototxt, weights, shape, repeats, threads):
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import handwritten_keras

    from caffe2x.targets.tensorflow import build, generate

    graph = load(prototxt, weights, shape, 1)
    ours, hand = build(generate(graph)), handwritten_keras.build(name, graph)
    call_ours = tf.function(lambda x: ours(x, training=False), reduce_retracing=True)
    call_hand = tf.function(lambda x: hand(x, training=False), reduce_retracing=True)
    nhwc = (shape[1], shape[2], shape[0])
    x = tf.constant(np.random.default_rng(0).standard_normal((1, *nhwc)).astype(np.float32))
    # caffe2x's Keras model returns its outputs keyed by Caffe top; these nets have one.
    first_output = lambda x: next(iter(call_ours(x).values()))  # noqa: E731
    out = {"handwritten_agreement": agreement(first_output, call_hand, x)}
    for batch in BATCHES:
        x = tf.constant(np.random.default_rng(0).standard_normal((batch, *nhwc)).astype(np.float32))
        runs = {"caffe2x": lambda x=x: call_ours(x), "handwritten": lambda x=x: call_hand(x)}
        count = repeats_for(batch, repeats)
        out.update({f"{impl}_b{batch}": ms for impl, ms in median_ms(runs, count, in_blocks(count)).items()})
    return out


def main(argv: list[str]) -> int:
    framework, name, prototxt, weights, shape, repeats, threads = argv
    shape, repeats, threads = tuple(int(d) for d in shape.split(",")), int(repeats), int(threads)
    if framework == "onnx":
        result = bench_onnx(name, prototxt, weights, shape, repeats, threads)
    elif framework == "opencv":
        result = bench_opencv(prototxt, weights, shape, repeats, threads)
    elif framework == "pytorch":
        result = bench_pytorch(name, prototxt, weights, shape, repeats, threads)
    else:
        result = bench_tensorflow(name, prototxt, weights, shape, repeats, threads)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
