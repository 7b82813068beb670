"""The PyTorch model used exactly as its docstring and the README show it matches Caffe.

No extra `.eval()`: a module left in training mode drops activations (Dropout) and
normalizes with batch statistics (BatchNorm), far from Caffe (issue #17).
"""

from __future__ import annotations

import json

import pytest
from conftest import GOLDEN_CASES, golden_case, normalized_error

torch = pytest.importorskip("torch")
from caffe2x.targets.torch import generate, write_folder  # noqa: E402
from caffe2x.targets.torch.export import load_module_class  # noqa: E402

RESNET_TOLERANCE = 3e-4  # as in test_torch: Caffe's own fp32 rounding, amplified


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Every golden case converted once (model.py and model.pt only)."""
    root = tmp_path_factory.mktemp("documented_use")
    for name in GOLDEN_CASES:
        write_folder(generate(golden_case(name).load()), root / name, exported=False)
    return root


def _load_as_documented(folder):
    meta = json.loads((folder / "caffe2x.json").read_text())
    model = load_module_class(folder / "model.py", meta["class"])()
    model.load_state_dict(torch.load(folder / "model.pt", weights_only=True))
    return model, meta


def _caffe_blob(case, top):
    """The net output `top` as Caffe gives it: written by the LAST layer with that top (an
    in-place ReLU6 after a convolution, say, rewrites the convolution's top)."""
    layer = [lay["name"] for lay in case.manifest["layers"] if top in lay["tops"]][-1]
    return case.blobs[f"{layer}:{top}"]


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_model_loaded_as_its_docstring_shows_matches_caffe(folders, name):
    case = golden_case(name)
    source = (folders / name / "model.py").read_text()
    assert 'model.load_state_dict(torch.load("model.pt", weights_only=True))' in source
    model, meta = _load_as_documented(folders / name)
    args = [torch.from_numpy(case.inputs[spec["caffe_name"]]) for spec in meta["inputs"]]
    with torch.no_grad():
        outputs = model(*args)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    tolerance = RESNET_TOLERANCE if name == "resnet50_thin" else 1e-4
    for spec, got in zip(meta["outputs"], outputs, strict=True):
        error = normalized_error(got.numpy(), _caffe_blob(case, spec["caffe_name"]))
        assert error <= tolerance, (spec["caffe_name"], error)


def test_a_new_module_is_in_eval_mode_and_trains_on_request(folders):
    model, _ = _load_as_documented(folders / "bvlc_alexnet_thin")
    assert not any(module.training for module in model.modules())
    model.train()
    assert all(module.training for module in model.modules())
