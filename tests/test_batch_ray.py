"""convert-all --executor ray, on a local Ray: the same reports as the process pool, and a
task whose worker dies is run once more and reported, never dropped."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import FIXTURES

from caffe2x.batch import load_manifest, run_one
from caffe2x.cli import main

ray = pytest.importorskip("ray")

# Three golden models: a trained classic net on every target, two layer cases on two.
MODELS = {"lenet_mnist_trained": ["onnx", "pytorch", "tensorflow", "tflite"],
          "concat_slice": ["onnx", "pytorch"], "lrn": ["onnx", "pytorch"]}


def _manifest(folder: Path) -> Path:
    models = []
    for name, targets in MODELS.items():
        case = FIXTURES / "golden" / name
        models.append({"name": name, "prototxt": str(case / "net.prototxt"), "weights": str(case / "net.caffemodel"),
                       "reference": str(case / "blobs.npz"), "targets": targets})
    path = folder / "manifest.yaml"
    path.write_text(yaml.safe_dump({"models": models}))
    return path


def _without_timings(report: dict, outdir: Path) -> dict:
    """A report with what legitimately differs between two runs removed: when it ran, how
    long each step took, and the output folder (the same layout under another root)."""
    text = json.dumps(report).replace(str(outdir), "OUTDIR")
    report = json.loads(text)
    report.pop("created")
    for model in report["models"]:
        for target in model["targets"]:
            target.pop("seconds")
    return report


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def both_runs(tmp_path_factory, local_ray):
    root = tmp_path_factory.mktemp("ray")
    manifest = _manifest(root)
    runs = {}
    for executor, extra in (("local", ["--jobs", "2"]), ("ray", ["--executor", "ray"])):
        out = root / executor
        result = CliRunner().invoke(main, ["convert-all", str(manifest), "-o", str(out), "--json", *extra])
        runs[executor] = (out, result)
    return runs


def test_ray_runs_every_model_and_passes(both_runs):
    out, result = both_runs["ray"]
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert [m["name"] for m in report["models"]] == list(MODELS)
    for model in report["models"]:
        assert [t["target"] for t in model["targets"]] == MODELS[model["name"]]
        assert model["retries"] == [] and all(t["status"] == "passed" for t in model["targets"])
    assert (out / "lenet_mnist_trained" / "model.tflite").exists()


def test_ray_reports_equal_the_process_pools_apart_from_timings(both_runs):
    reports = {executor: _without_timings(json.loads((out / "report.json").read_text()), out)
               for executor, (out, _) in both_runs.items()}
    assert reports["ray"] == reports["local"]
    assert (both_runs["ray"][0] / "report.md").read_text().count("PASS") == len(MODELS)


# A task body that kills its own Ray worker the first time it runs a model named 'victim',
# as a lost node or an out-of-memory kill would; pickled by value so that Ray's workers need
# not import the tests folder.
def _dies_once(spec, outdir):
    marker = Path(outdir) / f"{spec.name}.died-once"
    if spec.name == "victim" and not marker.exists():
        marker.write_text("killed")
        os._exit(1)
    return run_one(spec, outdir)


def _always_dies(spec, outdir):
    os._exit(1)


def _victim_specs(tmp_path: Path):
    case = FIXTURES / "golden" / "concat_slice"
    manifest = tmp_path / "victim.yaml"
    manifest.write_text(yaml.safe_dump({"models": [
        {"name": name, "prototxt": str(case / "net.prototxt"), "weights": str(case / "net.caffemodel"),
         "reference": str(case / "blobs.npz"), "targets": ["onnx"]} for name in ("victim", "bystander")]}))
    return load_manifest(manifest)


@pytest.fixture
def by_value():
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    ray.cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def test_a_task_whose_worker_dies_is_run_again_and_reported(tmp_path, local_ray, by_value):
    from caffe2x.batch_ray import run_on_ray

    done = []
    (tmp_path / "out").mkdir()
    results = run_on_ray(_victim_specs(tmp_path), tmp_path / "out", on_done=done.append, task=_dies_once)
    victim, bystander = results
    assert (tmp_path / "out" / "victim.died-once").exists()  # the first run really died
    assert victim.passed and len(victim.retries) == 1 and "Worker" in victim.retries[0], victim.retries
    assert bystander.passed and bystander.retries == []
    assert sorted(done) == ["bystander", "victim"]


def test_a_task_that_dies_twice_is_reported_as_an_error_not_dropped(tmp_path, local_ray, by_value):
    from caffe2x.batch_ray import run_on_ray

    (victim, bystander) = run_on_ray(_victim_specs(tmp_path), tmp_path / "out", task=_always_dies)
    for result in (victim, bystander):
        assert not result.passed and len(result.retries) == 2
        assert "failed 2 times" in result.error


def test_ray_memory_requests_grow_with_the_weights_and_fit_the_cluster(tmp_path):
    from caffe2x.batch_ray import BASE_MEMORY, resources_for

    small, = _victim_specs(tmp_path)[:1]
    big = FIXTURES / "golden" / "resnet50_thin" / "net.caffemodel"
    asked = resources_for(small), resources_for(type(small)(**{**small.__dict__, "weights": str(big)}))
    assert asked[0]["num_cpus"] == 1 and BASE_MEMORY < asked[0]["memory"] < asked[1]["memory"]
    assert resources_for(small, memory_available=1e9)["memory"] == int(1e9)


def test_ray_options_are_checked_before_anything_runs(tmp_path):
    manifest = _manifest(tmp_path)
    for extra, message in ((["--executor", "ray", "--jobs", "2"], "--jobs sizes the local pool"),
                           (["--address", "auto"], "needs --executor ray")):
        result = CliRunner().invoke(main, ["convert-all", str(manifest), "-o", str(tmp_path / "o"), *extra])
        assert result.exit_code == 2 and message in result.output, result.output
        assert not (tmp_path / "o").exists()
