"""Report formats and the batch mode: every fixture case through every target."""

from __future__ import annotations

import json
import shutil
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner
from conftest import FIXTURES

from caffe2x.batch import load_manifest
from caffe2x.cli import main
from caffe2x.errors import Caffe2xError
from caffe2x.report import schema

jsonschema = pytest.importorskip("jsonschema")
TARGETS = ["onnx", "pytorch", "tensorflow", "tflite"]


def _manifest(tmp_path, cases, targets):
    models = []
    for name in cases:
        folder = FIXTURES / "golden" / name
        entry = {"name": name, "prototxt": str(folder / "net.prototxt"), "weights": str(folder / "net.caffemodel"),
                 "reference": str(folder / "blobs.npz"), "targets": targets}
        models.append(entry)
    path = tmp_path / "manifest.yaml"
    path.write_text(yaml.safe_dump({"models": models}))
    return path


# convert-all's own work (the pool, the reports, the cache) on a sample of the golden cases:
# a classic net, small layer cases, an SSD-fork and a SegNet-fork case. Every golden case is
# converted and verified on every target by test_onnx, test_torch and test_tensorflow
# already; running all of them through the batch again doubled CI's time as cases grew. The
# thin ResNet-50, the largest case, left the sample for the same reason.
BATCH_CASES = ["concat_slice", "eltwise", "fork_segnet", "lenet_mnist_trained", "lrn", "ssd_layers"]


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """convert-all over the sample of golden fixtures and every target, run once."""
    root = tmp_path_factory.mktemp("batch")
    manifest = _manifest(root, BATCH_CASES, TARGETS)
    result = CliRunner().invoke(main, ["convert-all", str(manifest), "-o", str(root / "out"), "--jobs", "2"])
    return root, manifest, result


def test_batch_converts_and_verifies_every_sampled_fixture_on_every_target(batch):
    root, _, result = batch
    assert result.exit_code == 0, result.output
    doc = json.loads((root / "out" / "report.json").read_text())
    assert doc["passed"] and len(doc["models"]) == len(BATCH_CASES)
    for model in doc["models"]:
        assert [t["target"] for t in model["targets"]] == TARGETS
        assert all(t["status"] == "passed" and t["compared"] > 0 for t in model["targets"]), model["name"]
    assert (root / "out" / "lenet_mnist_trained" / "model.onnx").exists()
    assert (root / "out" / "lenet_mnist_trained" / "tensorflow" / "saved_model.pb").exists()


def test_json_report_follows_its_schema(batch):
    root, _, _ = batch
    jsonschema.validate(json.loads((root / "out" / "report.json").read_text()), schema())


def test_junit_report_has_one_testcase_per_model_and_target(batch):
    root, _, _ = batch
    suites = ElementTree.parse(root / "out" / "report.xml").getroot()
    cases = suites.findall("./testsuite/testcase")
    assert len(cases) == len(BATCH_CASES) * len(TARGETS)
    assert suites.get("failures") == "0" and suites.get("errors") == "0"
    assert {(c.get("classname"), c.get("name")) for c in cases} == {(n, t) for n in BATCH_CASES for t in TARGETS}


def test_html_report_is_self_contained_with_a_plot_per_model(batch):
    root, _, _ = batch
    html = (root / "out" / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html and "http://" not in html.replace(
        'xmlns="http://www.w3.org/2000/svg"', "")
    assert html.count('<svg class="plot"') == len(BATCH_CASES)
    for target in TARGETS:
        assert html.count(f'data-target="{target}"') == len(BATCH_CASES)


def test_markdown_report_lists_every_model(batch):
    root, _, _ = batch
    text = (root / "out" / "report.md").read_text()
    assert f"{len(BATCH_CASES)} of {len(BATCH_CASES)} models pass" in text
    assert all(f"## {name}: PASS" in text for name in BATCH_CASES)


def test_rerun_skips_unchanged_models_and_reruns_changed_ones(batch, tmp_path):
    root, manifest, _ = batch
    result = CliRunner().invoke(main, ["convert-all", str(manifest), "-o", str(root / "out"), "--json"])
    assert result.exit_code == 0
    assert all(m["cached"] for m in json.loads(result.output)["models"])
    # A changed tolerance is a changed setting: that model runs again.
    document = yaml.safe_load(manifest.read_text())
    document["models"][0]["tolerance"] = 5e-5
    changed = tmp_path / "changed.yaml"
    changed.write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(main, ["convert-all", str(changed), "-o", str(root / "out"), "--json"])
    cached = [m["cached"] for m in json.loads(result.output)["models"]]
    assert cached[0] is False and all(cached[1:])


def test_failures_are_reported_with_the_first_diverging_layer_and_do_not_stop_others(tmp_path):
    manifest = _manifest(tmp_path, ["lrn", "eltwise"], ["onnx"])
    document = yaml.safe_load(manifest.read_text())
    document["models"][0]["tolerance"] = 1e-12  # lrn cannot meet this
    document["models"].append({"name": "cycle", "prototxt": str(FIXTURES.parent / "tests/hostile/cycle.prototxt"),
                               "random_weights": True, "targets": ["onnx"]})
    manifest.write_text(yaml.safe_dump(document))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["convert-all", str(manifest), "-o", str(out), "--report",
                                       str(tmp_path / "extra.md")])
    assert result.exit_code == 1
    doc = json.loads((out / "report.json").read_text())
    status = {m["name"]: m["passed"] for m in doc["models"]}
    assert status == {"lrn": False, "eltwise": True, "cycle": False}
    cases = ElementTree.parse(out / "report.xml").getroot().findall("./testsuite/testcase")
    failure = next(c for c in cases if c.get("classname") == "lrn").find("failure")
    assert "first diverging layer: lrn_across top lrn_across" in failure.get("message")
    assert next(c for c in cases if c.get("classname") == "cycle").find("error") is not None
    assert "**lrn_across:lrn_across**" in (tmp_path / "extra.md").read_text()
    shutil.rmtree(out)


def test_layer_tolerance_overrides(tmp_path):
    manifest = _manifest(tmp_path, ["lrn"], ["onnx"])
    document = yaml.safe_load(manifest.read_text())
    document["models"][0]["tolerance"] = 1e-12
    document["models"][0]["layer_tolerances"] = {"lrn_across": 1e-4, "lrn_across_k2": 1e-4, "lrn_within": 1e-4}
    manifest.write_text(yaml.safe_dump(document))
    result = CliRunner().invoke(main, ["convert-all", str(manifest), "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    from conftest import golden_case

    case = golden_case("lrn")
    strict = CliRunner().invoke(main, ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx",
                                       "--reference", str(case.path / "blobs.npz"), "--tolerance", "1e-12",
                                       "--layer-tolerance", "lrn_across=1e-4", "--json"])
    doc = json.loads(strict.output)
    assert strict.exit_code == 1
    passed = {b["layer"]: b["passed"] for b in doc["models"][0]["targets"][0]["blobs"]}
    assert passed == {"lrn_across": True, "lrn_across_k2": False, "lrn_within": False}


@pytest.mark.parametrize("text, message", [
    ("models: []", "non-empty list 'models'"),
    ("models: [{prototxt: a.prototxt}]", "needs 'weights'"),
    ("models: [{prototxt: a.prototxt, weights: w, targets: [caffe3]}]", "unknown target"),
    ("models: [{prototxt: a.prototxt, weights: w, colour: red}]", "unknown key(s) colour"),
    ("models: [{", "not valid YAML"),
])
def test_bad_manifests_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "m.yaml"
    path.write_text(text)
    with pytest.raises(Caffe2xError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_manifest(path)


def test_verify_several_targets_and_reports(tmp_path):
    from conftest import golden_case

    case = golden_case("bvlc_alexnet_thin")
    reports = [tmp_path / f"r.{ext}" for ext in ("json", "md", "xml", "html")]
    args = ["verify", str(case.prototxt), "-w", str(case.caffemodel), "--to", "onnx", "--to", "pytorch",
            "--reference", str(case.path / "blobs.npz"), "--quiet"]
    for path in reports:
        args += ["--report", str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0 and result.output == ""
    doc = json.loads(reports[0].read_text())
    jsonschema.validate(doc, schema())
    assert [t["target"] for t in doc["models"][0]["targets"]] == ["onnx", "pytorch"]
    assert all(p.stat().st_size > 100 for p in reports)
