"""bench/results.json -> bench/RESULTS.md (goals checked against the numbers)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def _conversion_rows(models: dict) -> list[str]:
    rows = ["| net | caffemodel MB | floor s (read + protobuf parse) | onnx s | pytorch s (with export) | "
            "tensorflow s (TF import) | onnx peak RSS MB (x caffemodel) | pytorch peak RSS MB | tf peak RSS MB |",
            "|---|---|---|---|---|---|---|---|---|"]
    for name, entry in models.items():
        c = entry["conversion"]
        floor = c["floor"]["seconds"]
        rows.append(
            f"| {name} | {c['caffemodel_mb']:.0f} | {floor:.2f} | {c['onnx']['seconds']:.2f} "
            f"({_ratio(c['onnx']['seconds'], floor)}) | {c['pytorch']['seconds']:.2f} "
            f"({_ratio(c['pytorch']['seconds'], floor)}) | {c['tensorflow']['seconds']:.2f} "
            f"({c['tensorflow_import']['seconds']:.2f}) | {c['onnx']['peak_rss_mb']:.0f} "
            f"({c['onnx']['peak_rss_mb'] / c['caffemodel_mb']:.2f}x) | {c['pytorch']['peak_rss_mb']:.0f} | "
            f"{c['tensorflow']['peak_rss_mb']:.0f} |")
    return rows


def _speed_rows(models: dict) -> list[str]:
    rows = ["| net | batch | ONNX Runtime (caffe2x) | OpenCV DNN (Caffe files) | PyTorch eager (caffe2x) | "
            "PyTorch exported (caffe2x) | PyTorch hand-written | Keras (caffe2x) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, entry in models.items():
        s = entry["speed"]
        for batch in (1, 16):
            def ms(framework, key, s=s, batch=batch):
                value = s.get(framework, {}).get(f"{key}_b{batch}")
                return f"{value:.1f}" if value else ("error" if "error" in s.get(framework, {}) else "-")
            hand = s.get("pytorch", {}).get(f"handwritten_b{batch}")
            eager = s.get("pytorch", {}).get(f"caffe2x_eager_b{batch}")
            exported = s.get("pytorch", {}).get(f"caffe2x_exported_b{batch}")
            onnx, cv = s.get("onnx", {}).get(f"caffe2x_b{batch}"), s.get("opencv", {}).get(f"opencv_b{batch}")
            rows.append(f"| {name} | {batch} | {ms('onnx', 'caffe2x')} ({_ratio(onnx, cv)} of OpenCV) | "
                        f"{ms('opencv', 'opencv')} | {ms('pytorch', 'caffe2x_eager')} "
                        f"({_ratio(eager, hand)} of hand-written) | {ms('pytorch', 'caffe2x_exported')} "
                        f"({_ratio(exported, hand)}) | {ms('pytorch', 'handwritten')} | "
                        f"{ms('tensorflow', 'caffe2x')} |")
    return rows


def write_markdown(results: dict, path: Path) -> None:
    m = results["machine"]
    versions = ", ".join(f"{k} {v}" for k, v in m["versions"].items())
    lines = [
        "# caffe2x benchmark results", "",
        f"Measured {results['date']} by `bench/run.py` on {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_mb']} MB, Python {m['python']} ({m['platform']}); {versions}. "
        f"Every figure is a median of {results['repeats']} runs (speed: at least 5, after 2 warm-ups; the "
        "PyTorch implementations are timed in turns, run by run), "
        f"frameworks limited to {m['threads']} threads; ratios compare numbers taken side by side in this run. "
        "Weights from `caffe2x synth-weights`. Raw numbers: `bench/results.json`.", "",
        "## Conversion cost", "",
        "Wall time and peak RSS of one `caffe2x convert` process, against the floor measured in the same run: "
        "a Python process that reads the caffemodel and parses it with protobuf. Ratios to the floor in "
        "parentheses; TensorFlow's own import time in parentheses after its conversion time.", "",
        *_conversion_rows(results["models"]), "",
        "## Converted-model speed", "",
        "Milliseconds per batch (CPU). The ONNX model runs on ONNX Runtime and is compared with OpenCV's "
        "DNN module running the original Caffe files; the PyTorch module (eager and `torch.export`ed) is "
        "compared with a hand-written PyTorch implementation of the same net with the same weights "
        "(`bench/handwritten_torch.py`: AlexNet and ResNet-50).", "",
        *_speed_rows(results["models"]), "",
    ]
    notes = Path(__file__).with_name("NOTES.md")
    if notes.exists():
        lines += [notes.read_text().strip(), ""]
    path.write_text("\n".join(lines))


if __name__ == "__main__":
    write_markdown(json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]))
