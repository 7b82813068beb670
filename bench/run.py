"""caffe2x benchmarks: conversion cost against the read-and-parse floor, and
converted-model speed against hand-written models and OpenCV's DNN module; then the
TensorFlow artefacts (bench/tf_artefacts.py), MobileNet-SSD (bench/ssd.py) and Faster R-CNN ZF
(bench/faster_rcnn.py).

    .venv/bin/python bench/run.py [--models alexnet,googlenet,vgg16,resnet50] [--repeats 3]
                                  [--speed-repeats 15] [--verify-model resnet50]

Every figure is a median of --repeats runs, and every ratio compares two numbers
taken side by side in the same run. Writes bench/results.json and bench/RESULTS.md.
Weights come from `caffe2x synth-weights` (cached in bench/.cache); nothing is
downloaded.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
MODELS = {
    "alexnet": (ROOT / "fixtures/models/bvlc_alexnet/deploy.prototxt", (3, 227, 227)),
    "googlenet": (ROOT / "fixtures/models/bvlc_googlenet/deploy.prototxt", (3, 224, 224)),
    "vgg16": (HERE / "models/vgg16_deploy.prototxt", (3, 224, 224)),
    "resnet50": (ROOT / "fixtures/models/resnet50/deploy.prototxt", (3, 224, 224)),
}
THREADS = os.cpu_count() or 1
# The machinery every `torch.export` pays, whatever the net: import, trace a one-layer module, save.
TORCH_EXPORT_FIXED = ("import sys, torch; torch.export.save(torch.export.export(torch.nn.ReLU(), "
                      "(torch.randn(2, 3),)), sys.argv[1])")
FLOOR = ("import sys; from caffe2x.schema import NetParameter; "
         "NetParameter.FromString(open(sys.argv[1], 'rb').read())")


def measure(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {process.stderr.read().decode()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def median_of(command: list[str], repeats: int) -> dict:
    runs = [measure(command) for _ in range(repeats)]
    return {"seconds": statistics.median(r[0] for r in runs), "peak_rss_mb": statistics.median(r[1] for r in runs)}


def weights_for(name: str) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"{name}.caffemodel"
    if not path.exists():
        prototxt, shape = MODELS[name]
        subprocess.run([sys.executable, "-m", "caffe2x.cli", "synth-weights", str(prototxt), "-o", str(path),
                        "--input-shape", "data=1," + ",".join(map(str, shape))], check=True, cwd=ROOT)
    return path


def conversion(name: str, repeats: int) -> dict:
    prototxt, shape = MODELS[name]
    weights = weights_for(name)
    shape_arg = ["--input-shape", "data=1," + ",".join(map(str, shape))]
    result = {"caffemodel_mb": weights.stat().st_size / 2**20,
              "floor": median_of([sys.executable, "-c", FLOOR, str(weights)], repeats)}
    with tempfile.TemporaryDirectory() as tmp:
        for target, out in (("onnx", "m.onnx"), ("pytorch", "pt"), ("tensorflow", "tf")):
            command = [sys.executable, "-m", "caffe2x.cli", "convert", str(prototxt), "-w", str(weights), "--to",
                       target, "-o", str(Path(tmp) / out), "--force", *shape_arg]
            result[target] = median_of(command, repeats)
    result["tensorflow_import"] = median_of([sys.executable, "-c", "import tensorflow"], repeats)
    result["python_start"] = median_of([sys.executable, "-c", "pass"], repeats)
    result["torch_import"] = median_of([sys.executable, "-c", "import torch"], repeats)
    with tempfile.TemporaryDirectory() as tmp:
        result["torch_export_fixed"] = median_of([sys.executable, "-c", TORCH_EXPORT_FIXED, str(Path(tmp) / "r.pt2")],
                                                 repeats)
    return result


def json_result(command: list[str]) -> dict:
    """The JSON line a bench script prints last; a failing script stops the benchmark."""
    output = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=True)
    return json.loads(output.stdout.strip().splitlines()[-1])


def pytorch_profile(name: str, repeats: int) -> dict:
    """Median seconds of each phase of a PyTorch conversion (bench/profile_pytorch.py)."""
    prototxt, shape = MODELS[name]
    command = [sys.executable, str(HERE / "profile_pytorch.py"), str(prototxt), str(weights_for(name)),
               ",".join(map(str, shape))]
    runs = [json_result(command) for _ in range(repeats)]
    return {"phases": {phase: statistics.median(run["phases"][phase] for run in runs) for phase in runs[0]["phases"]},
            "total": statistics.median(run["total"] for run in runs)}


def verify_cost(name: str, targets: str, repeats: int) -> dict:
    """Per-layer verify on every target, by phase (bench/verify_cost.py), and the same as one
    `caffe2x verify` command."""
    prototxt, shape = MODELS[name]
    weights = weights_for(name)
    command = [sys.executable, str(HERE / "verify_cost.py"), str(prototxt), str(weights),
               ",".join(map(str, shape)), targets]
    runs = [json_result(command)["phases"] for _ in range(repeats)]
    phases = []
    for index, first in enumerate(runs[0]):
        merged = dict(first)
        for key in ("seconds", "rss_mb", "peak_rss_mb"):
            merged[key] = statistics.median(run[index][key] for run in runs)
        merged["alive_after"] = max(run[index].get("alive_after", 0) for run in runs)
        phases.append(merged)
    cli = [sys.executable, "-m", "caffe2x.cli", "verify", str(prototxt), "-w", str(weights), "--quiet",
           "--tolerance", "3e-4", "--input-shape", "data=1," + ",".join(map(str, shape)),
           *[arg for target in targets.split(",") for arg in ("--to", target)]]
    return {"model": name, "targets": targets.split(","), "phases": phases, "cli": median_of(cli, repeats)}


def speed(name: str, framework: str, repeats: int) -> dict:
    """Run bench/speed.py in a fresh process (one framework per process, threads fixed)."""
    prototxt, shape = MODELS[name]
    # The conversions just wrote gigabytes: let the kernel flush them now, not while a
    # model is being timed on the same two cores.
    os.sync()
    time.sleep(2)
    command = [sys.executable, str(HERE / "speed.py"), framework, name, str(prototxt), str(weights_for(name)),
               ",".join(map(str, shape)), str(repeats), str(THREADS)]
    output = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    if output.returncode != 0:
        return {"error": output.stderr.strip().splitlines()[-1] if output.stderr.strip() else "failed"}
    return json.loads(output.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), 0)
    versions = {}
    for module in ("numpy", "onnx", "onnxruntime", "torch", "tensorflow", "cv2"):
        code = f"import {module}; print({module}.__version__)"
        if module == "cv2":  # the OpenCV the benchmarks use (bench/opencv_caffe.py)
            code = "from opencv_caffe import cv2_with_caffe; print(cv2_with_caffe().__version__)"
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             cwd=HERE if module == "cv2" else ROOT)
        versions[module] = out.stdout.strip() or "not installed"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": memory, "python": platform.python_version(),
            "platform": platform.platform(), "threads": THREADS, "versions": versions}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="alexnet,googlenet,vgg16,resnet50")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--speed-repeats", type=int, default=15,
                        help="timed runs per speed figure at batch 16 (four times as many at batch 1)")
    parser.add_argument("--verify-model", default="resnet50", help="net for the verify-cost benchmark ('' skips it)")
    args = parser.parse_args()
    results = {"machine": machine(), "repeats": args.repeats, "speed_repeats": args.speed_repeats,
               "date": time.strftime("%Y-%m-%d"), "models": {}}
    for name in args.models.split(","):
        print(f"{name}: conversion", file=sys.stderr)
        entry = {"conversion": conversion(name, args.repeats), "speed": {}}
        for framework in ("onnx", "opencv", "pytorch", "tensorflow"):
            print(f"{name}: speed {framework}", file=sys.stderr)
            entry["speed"][framework] = speed(name, framework, args.speed_repeats)
        results["models"][name] = entry
        (HERE / "results.json").write_text(json.dumps(results, indent=1))
    profiled = [name for name in ("vgg16", "resnet50") if name in results["models"]]
    if profiled:
        print("pytorch conversion profile", file=sys.stderr)
        results["pytorch_profile"] = {name: pytorch_profile(name, args.repeats) for name in profiled}
    if args.verify_model:
        print(f"{args.verify_model}: verify cost", file=sys.stderr)
        results["verify_cost"] = verify_cost(args.verify_model, "onnx,pytorch,tensorflow,tflite", args.repeats)
        (HERE / "results.json").write_text(json.dumps(results, indent=1))
    from tf_artefacts import measure_section

    results["tf_artefacts"] = measure_section(list(results["models"]))
    (HERE / "results.json").write_text(json.dumps(results, indent=1))
    import ssd

    results["ssd"] = ssd.measure_section(args.repeats, args.speed_repeats)
    (HERE / "results.json").write_text(json.dumps(results, indent=1))
    import faster_rcnn

    results["faster_rcnn"] = faster_rcnn.measure_section(argparse.Namespace(
        repeats=1, speed_repeats=args.speed_repeats, threads=THREADS, no_verify=False))
    (HERE / "results.json").write_text(json.dumps(results, indent=1))
    from report import write_markdown

    write_markdown(results, HERE / "RESULTS.md")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
