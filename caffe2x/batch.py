"""convert-all: convert and verify many models from a manifest, in parallel.

Each model runs in its own Python process (so a crash in one framework cannot
take the others down), writes its outputs under OUTDIR/<name>/ and its result
to OUTDIR/<name>/result.json together with a hash of everything it depends on:
an unchanged model is not run again.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .compare import DEFAULT_TOLERANCE
from .errors import Caffe2xError
from .io.outputs import FILE, FOLDER, check_output
from .naming import sanitize
from .targets import TARGETS

SUMMARY_NAMES = [f"report.{ext}" for ext in ("json", "md", "xml", "html")]

MODEL_KEYS = {"name", "prototxt", "weights", "random_weights", "input_shapes", "targets", "tolerance",
              "layer_tolerances", "reference", "inputs", "seed", "layer_variants"}


@dataclass
class ModelSpec:
    name: str
    prototxt: str
    weights: str | None = None
    random_weights: bool = False
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    targets: list[str] = field(default_factory=TARGETS.names)
    tolerance: float = DEFAULT_TOLERANCE
    layer_tolerances: dict[str, float] = field(default_factory=dict)
    reference: str = "builtin"  # a golden-format .npz, builtin, caffe or auto
    inputs: str | None = None
    seed: int = 0
    layer_variants: dict[str, str] = field(default_factory=dict)  # {type: variant}, as --layer-variant

    @property
    def folder(self) -> str:
        return sanitize(self.name)


def load_manifest(path: str | Path, default_tolerance: float | None = None,
                  layer_tolerances: dict[str, float] | None = None) -> list[ModelSpec]:
    """Read and check a manifest; relative paths are relative to the manifest."""
    import yaml

    path = Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise Caffe2xError(f"{path}: cannot read the manifest: {exc}") from None
    except yaml.YAMLError as exc:
        raise Caffe2xError(f"{path}: not valid YAML: {exc}".replace("\n", " ")) from None
    if not isinstance(document, dict) or not isinstance(document.get("models"), list) or not document["models"]:
        raise Caffe2xError(f"{path}: a manifest is a mapping with a non-empty list 'models'.")
    defaults = document.get("defaults") or {}
    specs, names = [], set()
    for index, entry in enumerate(document["models"]):
        specs.append(_spec(path, index, {**defaults, **(entry or {})}, default_tolerance, layer_tolerances))
        if specs[-1].folder in names:
            raise Caffe2xError(f"{path}: model {index + 1}: two models are named '{specs[-1].name}'.")
        names.add(specs[-1].folder)
    return specs


def _spec(path: Path, index: int, entry: dict, tolerance: float | None, layer_tolerances) -> ModelSpec:
    where = f"{path}: model {index + 1}"
    unknown = sorted(set(entry) - MODEL_KEYS)
    if unknown:
        raise Caffe2xError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(MODEL_KEYS))}.")
    if "prototxt" not in entry:
        raise Caffe2xError(f"{where}: needs 'prototxt'.")
    if not entry.get("weights") and not entry.get("random_weights"):
        raise Caffe2xError(f"{where}: needs 'weights' (or 'random_weights: true').")
    base = path.parent

    def resolve(value):
        return str((base / value).resolve()) if value else None

    targets = entry.get("targets", TARGETS.names())
    bad = [t for t in targets if t not in TARGETS]
    if bad or not targets:
        raise Caffe2xError(f"{where}: unknown target(s) {bad}; choose from {TARGETS.names()}.")
    reference = entry.get("reference", "builtin")
    if str(reference).endswith(".npz"):
        reference = resolve(reference)
    spec = ModelSpec(
        name=str(entry.get("name") or Path(entry["prototxt"]).parent.name), prototxt=resolve(entry["prototxt"]),
        weights=resolve(entry.get("weights")), random_weights=bool(entry.get("random_weights", False)),
        input_shapes={k: list(v) for k, v in (entry.get("input_shapes") or {}).items()}, targets=list(targets),
        tolerance=float(entry.get("tolerance", tolerance if tolerance is not None else DEFAULT_TOLERANCE)),
        layer_tolerances={**(layer_tolerances or {}), **{k: float(v) for k, v in
                                                          (entry.get("layer_tolerances") or {}).items()}},
        reference=str(reference), inputs=resolve(entry.get("inputs")), seed=int(entry.get("seed", 0)),
        layer_variants=_layer_variants(where, entry.get("layer_variants")))
    return spec


def _layer_variants(where: str, value) -> dict[str, str]:
    """The manifest's layer_variants ({Proposal: pva}), checked as --layer-variant is."""
    from .errors import LayerVariantError
    from .frontend.variants import check_layer_variants

    if value is not None and not (isinstance(value, dict) and all(isinstance(v, str) for v in value.values())):
        raise LayerVariantError(f"{where}: layer_variants must map a layer type to a variant name "
                                f"(layer_variants: {{Proposal: pva}}), not {value!r}.")
    try:
        return check_layer_variants({str(k): v for k, v in (value or {}).items()})
    except LayerVariantError as exc:
        raise LayerVariantError(f"{where}: {exc}") from None


def check_batch_outputs(specs: list[ModelSpec], outdir: str | Path) -> None:
    """Before any model runs, everything convert-all will write under OUTDIR can be written.
    OUTDIR is written into (created with its parents if missing); the summary reports and each
    model's outputs are caffe2x's own and replaced on a re-run, but never a folder holding
    files caffe2x did not write. Checked for cached models too, so the answer never depends
    on the cache."""
    outdir = check_output(outdir, FOLDER, False, reuse=True)
    if not outdir.is_dir():
        return  # a new OUTDIR: nothing in it to check
    for name in SUMMARY_NAMES:
        check_output(outdir / name, FILE, True)
    for spec in specs:
        folder = check_output(outdir / spec.folder, FOLDER, False, reuse=True)
        if folder.is_dir():
            for target in spec.targets:
                check_output(folder / TARGETS.get(target).batch_output, TARGETS.get(target).output_kind, True)


def _file_hash(path: str | None) -> str | None:
    if not path:
        return None
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError:
        return "missing"
    return digest.hexdigest()


def spec_hash(spec: ModelSpec) -> str:
    from .version import __version__

    files = {key: _file_hash(getattr(spec, key)) for key in ("prototxt", "weights", "inputs")}
    files["reference"] = _file_hash(spec.reference) if spec.reference.endswith(".npz") else spec.reference
    payload = json.dumps({"spec": asdict(spec), "files": files, "caffe2x": __version__}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _cached(spec: ModelSpec, folder: Path, digest: str):
    from .report.load import model_from_dict

    try:
        saved = json.loads((folder / "result.json").read_text())
    except (OSError, ValueError):
        return None
    if saved.get("hash") != digest:
        return None
    model = model_from_dict(saved["result"])
    model.cached = True
    return model


def run_one(spec: ModelSpec, outdir: Path):
    """Run one model in a child process; returns its ModelResult (never raises)."""
    from .report import ModelResult
    from .report.load import model_from_dict

    folder = outdir / spec.folder
    digest = spec_hash(spec)
    cached = _cached(spec, folder, digest)
    if cached is not None:
        return cached
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(asdict(spec), indent=1))
    command = [sys.executable, "-m", "caffe2x.batch_worker", str(folder / "spec.json"), str(folder)]
    started = time.perf_counter()
    process = subprocess.run(command, capture_output=True, text=True)
    try:
        result = json.loads((folder / "result.json").read_text())["result"]
        return model_from_dict(result)
    except (OSError, ValueError, KeyError):
        tail = (process.stderr or process.stdout).strip().splitlines()[-3:]
        reason = f"the worker process died (exit {process.returncode}) after {time.perf_counter() - started:.1f}s"
        return ModelResult(spec.name, spec.prototxt, spec.weights, error=f"{reason}: {' '.join(tail)}")


EXECUTORS = ("local", "ray")


def run_batch(specs: list[ModelSpec], outdir: str | Path, jobs: int = 1, on_start=None, on_done=None,
              executor: str = "local", address: str | None = None):
    """Run every model, `jobs` at a time in local processes (executor "local"), or each as a
    task on Ray (executor "ray": a local Ray, or the cluster at `address`; batch_ray.py);
    on_start(name) and on_done(name) are called as each model starts and ends, so a progress
    label can name the models running."""
    from .report import Report

    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    if executor == "ray":
        from .batch_ray import run_on_ray

        return Report(run_on_ray(specs, outdir, address, on_start, on_done))
    if executor != "local":
        raise Caffe2xError(f"unknown executor '{executor}'; choose from {', '.join(EXECUTORS)}.")

    def one(spec: ModelSpec):
        if on_start:
            on_start(spec.name)
        try:
            return run_one(spec, outdir)
        finally:
            if on_done:
                on_done(spec.name)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        results = list(pool.map(one, specs))
    return Report(results)
