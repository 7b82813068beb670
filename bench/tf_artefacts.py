"""What `--to tensorflow` writes and what `--to tflite` costs, against the caffemodel:

    .venv/bin/python bench/tf_artefacts.py [--models alexnet,googlenet,vgg16,resnet50]

For each net, one after the other, one `caffe2x convert` process per target: its wall
seconds and peak RSS (ru_maxrss of the child), the size of each artefact of the
TensorFlow folder and of the .tflite file, and the peak RSS of `import tensorflow`
alone (the floor of both). With --before, the same figures measured on an older commit
are kept beside them. Merges the result into bench/results.json
under "tf_artefacts" (the other sections are kept as they are) and regenerates
bench/RESULTS.md. Weights from `caffe2x synth-weights` (bench/.cache), as bench/run.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from run import HERE, MODELS, ROOT, measure, weights_for


def artefact_sizes(folder: Path) -> dict[str, int]:
    """Bytes of each top-level entry of the folder (a subfolder counts all its files)."""
    sizes = {}
    for entry in sorted(folder.iterdir()):
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        sizes[entry.name] = sum(p.stat().st_size for p in files)
    return sizes


def convert(name: str, target: str, output: Path) -> dict:
    prototxt, shape = MODELS[name]
    command = [sys.executable, "-m", "caffe2x.cli", "convert", str(prototxt), "-w", str(weights_for(name)),
               "--to", target, "-o", str(output), "--force", "--input-shape", "data=1," + ",".join(map(str, shape))]
    seconds, peak = measure(command)
    return {"seconds": seconds, "peak_rss_mb": peak}


def measure_net(name: str) -> dict:
    result = {"caffemodel_mb": weights_for(name).stat().st_size / 2**20}
    with tempfile.TemporaryDirectory() as tmp:
        folder, tflite = Path(tmp) / "tf", Path(tmp) / "model.tflite"
        result["tensorflow"] = convert(name, "tensorflow", folder)
        result["tensorflow"]["artefacts_mb"] = {k: v / 2**20 for k, v in artefact_sizes(folder).items()}
        result["tensorflow"]["folder_mb"] = sum(result["tensorflow"]["artefacts_mb"].values())
        result["tflite"] = convert(name, "tflite", tflite)
        result["tflite"]["file_mb"] = tflite.stat().st_size / 2**20
    return result


def measure_section(names: list[str]) -> dict:
    seconds, peak = measure([sys.executable, "-c", "import tensorflow"])
    section = {"date": time.strftime("%Y-%m-%d"), "tensorflow_import": {"seconds": seconds, "peak_rss_mb": peak},
               "models": {}}
    for name in names:
        print(f"{name}: tensorflow and tflite artefacts", file=sys.stderr)
        section["models"][name] = measure_net(name)
        print(json.dumps({name: section["models"][name]}), file=sys.stderr)
    return section


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--models", default="alexnet,googlenet,vgg16,resnet50")
    parser.add_argument("--before", metavar="RESULTS_JSON",
                        help="a results.json this script wrote on an older commit: shown as 'before'")
    parser.add_argument("--before-commit", default="", help="the commit --before was measured on")
    args = parser.parse_args()
    section = measure_section(args.models.split(","))
    if args.before:
        before = json.loads(Path(args.before).read_text())["tf_artefacts"]
        section["before"] = {"commit": args.before_commit, "models": before["models"]}
    from report import merge_section

    merge_section("tf_artefacts", section, HERE)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
