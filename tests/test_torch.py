"""The PyTorch target: per-layer parity, standalone model.py, export, training."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
import sys
import textwrap
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import FIXTURES, GOLDEN_CASES, MODELS, golden_case, random_model

from caffe2x import api
from caffe2x.cli import main
from caffe2x.io.prototxt import parse_prototxt_text
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import fill_random

torch = pytest.importorskip("torch")
from caffe2x.targets.torch import generate, instantiate, write_folder  # noqa: E402

RESNET_TOLERANCE = 3e-4  # see test_golden_reference: Caffe's own fp32 rounding, amplified


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden_case_matches_real_caffe_per_layer(name):
    case = golden_case(name)
    result = api.verify(case.load(), "pytorch", case.inputs, case.blobs, reference_name="golden",
                        tolerance=RESNET_TOLERANCE if name == "resnet50_thin" else 1e-4)
    assert len(result.records) >= 3
    assert result.passed, result.first_divergence
    for record in result.records:
        if record.layer.startswith("argmax"):
            assert record.error.max_abs == 0, record


@pytest.mark.parametrize("model", sorted(p.name for p in MODELS.iterdir() if p.is_dir()))
def test_every_reference_model_converts_and_verifies_with_random_weights(model):
    graph, inputs, reference = random_model(MODELS / model / "deploy.prototxt")
    result = api.verify(graph, "pytorch", inputs, reference)
    assert result.passed and len(result.records) > 5, result.first_divergence


STANDALONE = {
    "alexnet": MODELS / "bvlc_alexnet" / "deploy.prototxt",
    "nin": FIXTURES / "golden" / "nin_thin" / "net.prototxt",
    "googlenet": MODELS / "bvlc_googlenet" / "deploy.prototxt",
    "vgg16": FIXTURES / "golden" / "vgg16_thin" / "net.prototxt",
    "resnet50": MODELS / "resnet50" / "deploy.prototxt",
}


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """The five classic nets converted once (random weights), with reference outputs."""
    root = tmp_path_factory.mktemp("torch_models")
    made = {}
    for name, path in STANDALONE.items():
        graph, inputs, _ = random_model(path, batch=2, seed=3)
        values = run(graph, inputs)
        folder = root / name
        write_folder(generate(graph), folder)
        np.savez(root / f"{name}_io.npz", **{f"input:{k}": v for k, v in inputs.items()},
                 **{f"output:{t}": values[v] for t, v in zip(graph.output_tops, graph.outputs)})
        made[name] = (folder, root / f"{name}_io.npz", graph)
    return made


@pytest.mark.parametrize("name", sorted(STANDALONE))
def test_model_py_passes_ruff(converted, name):
    folder = converted[name][0]
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--isolated", "--no-cache",
                             str(folder / "model.py")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(STANDALONE))
def test_model_py_runs_in_a_fresh_interpreter_without_caffe2x(converted, name):
    folder, io_path, graph = converted[name]
    script = textwrap.dedent(f"""
        import json, sys
        sys.modules["caffe2x"] = None  # importing caffe2x now fails
        sys.path.insert(0, {str(folder)!r})
        import numpy as np, torch
        import model
        io = np.load({str(io_path)!r})
        meta = json.load(open({str(folder / "caffe2x.json")!r}))
        net = getattr(model, meta["class"])()
        net.load_state_dict(torch.load({str(folder / "model.pt")!r}, weights_only=True))
        net.eval()
        args = [torch.from_numpy(io["input:" + i["caffe_name"]]) for i in meta["inputs"]]
        with torch.no_grad():
            out = net(*args)
        outs = out if isinstance(out, tuple) else (out,)
        worst = 0.0
        for spec, got in zip(meta["outputs"], outs):
            want = io["output:" + spec["caffe_name"]]
            worst = max(worst, float(np.abs(got.numpy() - want).max() / np.abs(want).max()))
        print(worst)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert float(result.stdout.strip().splitlines()[-1]) < 1e-4


def test_readable_forward_shows_inception_and_residual_blocks(converted):
    googlenet = (converted["googlenet"][0] / "model.py").read_text()
    assert "        # inception_4a\n" in googlenet
    assert ("inception_3a_output = self.inception_3a_output(inception_3a_1x1, inception_3a_3x3, "
            "inception_3a_5x5, inception_3a_pool_proj)") in googlenet
    assert "self.inception_3a_3x3 = nn.Conv2d(" in googlenet
    resnet = (converted["resnet50"][0] / "model.py").read_text()
    assert "        # res2a\n" in resnet
    assert "res2a = self.res2a(res2a_branch1, res2a_branch2c)" in resnet
    assert "res2a_branch2a = self.res2a_branch2a_relu(res2a_branch2a)" in resnet
    assert "self.bn2a_branch1 = nn.BatchNorm2d(256," in resnet  # with its Scale merged (affine)
    assert "'conv1_7x7_s2': 'conv1/7x7_s2'," in googlenet  # original names, as literals


@pytest.mark.parametrize("name", ["googlenet", "resnet50"])
def test_exported_program_has_a_dynamic_batch(converted, name):
    folder, io_path, graph = converted[name]
    program = torch.export.load(folder / "model.pt2")
    io = np.load(io_path)
    args = [torch.from_numpy(np.concatenate([io[f"input:{graph.values[v].top}"]] * 3)) for v in graph.inputs]
    out = program.module()(*args)
    assert isinstance(out, torch.Tensor)  # one output: the tensor alone
    want = np.concatenate([io[f"output:{graph.output_tops[0]}"]] * 3)
    assert np.abs(out.detach().numpy() - want).max() / np.abs(want).max() < 1e-4


def test_several_outputs_come_as_a_tuple_in_inspect_order(tmp_path):
    case = golden_case("softmax_crop")
    folder = tmp_path / "m"
    write_folder(generate(case.load()), folder)
    program = torch.export.load(folder / "model.pt2")
    outputs = program.module()(torch.from_numpy(case.inputs["data"]))
    assert isinstance(outputs, tuple) and len(outputs) == len(case.manifest["outputs"])
    meta = json.loads((folder / "caffe2x.json").read_text())
    assert [o["caffe_name"] for o in meta["outputs"]] == case.manifest["outputs"]
    for top, got in zip(case.manifest["outputs"], outputs):
        layer = next(lay["name"] for lay in case.manifest["layers"] if top in lay["tops"])
        assert np.abs(got.numpy() - case.blobs[f"{layer}:{top}"]).max() < 1e-5


def test_training_a_few_steps(tmp_path):
    case = golden_case("resnet50_thin")
    model = generate(case.load())
    write_folder(model, tmp_path / "m", exported=False)
    net = instantiate(model, tmp_path / "m").train()
    torch.manual_seed(0)
    x = torch.randn(4, 3, 224, 224)
    labels = torch.tensor([0, 1, 2, 3])
    # prob is a Softmax: train on its log, as one would after replacing the head.
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3)
    running_before = net.bn_conv1.running_mean.clone()
    losses = []
    for _ in range(8):
        optimizer.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(net(x) + 1e-9), labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert not torch.equal(running_before, net.bn_conv1.running_mean)  # BatchNorm is training


def test_dropout_is_real_in_train_mode(tmp_path):
    case = golden_case("bvlc_alexnet_thin")
    model = generate(case.load())
    write_folder(model, tmp_path / "m", exported=False)
    net = instantiate(model, tmp_path / "m")
    x = torch.from_numpy(case.inputs["data"])
    with torch.no_grad():
        assert torch.equal(net.eval()(x), net(x))
        net.train()
        assert not torch.equal(net(x), net(x))


def test_cli_convert_and_verify_pytorch(tmp_path):
    case = golden_case("nin_thin")
    out = tmp_path / "nin"
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel),
                                       "--to", "pytorch", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == [".caffe2x-files.json", "caffe2x.json", "example_inputs.pt",
                                                     "model.pt", "model.pt2", "model.py"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["nin"]
    state = torch.load(out / "model.pt", weights_only=True)
    assert state["conv1.weight"].shape == (12, 3, 11, 11)
    result = CliRunner().invoke(main, ["verify", str(case.prototxt), "-w", str(case.caffemodel),
                                       "--to", "pytorch", "--reference", str(case.path / "blobs.npz")])
    assert result.exit_code == 0, result.output
    shutil.rmtree(out)


def test_saved_state_dict_is_a_checkable_zip_of_float32_weights(tmp_path):
    case = golden_case("bn_scale")  # folded BatchNorm+Scale: computed, not mapped, weights
    model = generate(case.load())
    write_folder(model, tmp_path / "m", exported=False)
    path = tmp_path / "m" / "model.pt"
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert all(info.CRC != 0 for info in archive.infolist() if info.file_size)
        data = max((info for info in archive.infolist() if "/data/" in info.filename), key=lambda i: i.file_size)
    state = torch.load(path, weights_only=True)
    for key, value in model.state.items():
        if value.dtype != np.int64:
            assert state[key].dtype == torch.float32
            assert np.array_equal(state[key].numpy(), value.astype(np.float32)), key
    # The check can fail: one flipped byte of weights is caught.
    raw = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack_from("<HH", raw, data.header_offset + 26)  # local header
    raw[data.header_offset + 30 + name_length + extra_length] ^= 0x40
    path.write_bytes(raw)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() == data.filename


def test_module_with_a_tensor_outside_its_state_dict_is_built_for_real():
    from caffe2x.targets.torch.export import with_weights

    class Windowed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.ones(3))
            self.register_buffer("window", torch.arange(3.0), persistent=False)

        def forward(self, x):
            return x * self.weight * self.window

    module = with_weights(Windowed, {"weight": torch.full((3,), 2.0)})
    assert not module.training
    assert torch.equal(module(torch.ones(3)), torch.tensor([0.0, 2.0, 4.0]))


def test_caffe_pool_divisor_survives_meta_construction(tmp_path):
    """CaffePool (pad over half the kernel) keeps its divisor as a non-persistent buffer."""
    graph = api.graph_from_net(parse_prototxt_text(textwrap.dedent("""
        name: "wide_pad"
        input: "data" input_shape { dim: 1 dim: 2 dim: 5 dim: 5 }
        layer { name: "pool" type: "Pooling" bottom: "data" top: "pool"
                pooling_param { pool: AVE kernel_size: 3 stride: 2 pad: 2 } }
        """)))
    model = generate(graph)
    assert "class CaffePool" in model.source
    write_folder(model, tmp_path / "m", exported=False)
    module = instantiate(model, tmp_path / "m")
    assert not any(t.is_meta for t in module.buffers())
    x = np.random.default_rng(0).standard_normal((1, 2, 5, 5)).astype(np.float32)
    want = run(graph, {"data": x})[graph.outputs[0]]
    got = module(torch.from_numpy(x)).detach().numpy()
    assert np.abs(got - want).max() < 1e-6


@pytest.mark.parametrize("view", [
    'layer { name: "v" type: "Flatten" bottom: "data" top: "v" }',
    'layer { name: "v" type: "Reshape" bottom: "data" top: "v" reshape_param { shape { dim: 0 dim: -1 } } }',
    'layer { name: "v" type: "Dropout" bottom: "data" top: "v" }',
])
def test_an_in_place_relu_never_writes_into_a_tensor_another_layer_still_reads(view):
    """Found by the fuzzer: Flatten returns a view of the net input, and an in-place ReLU on
    it rewrote the input that a later Sigmoid read."""
    net = parse_prototxt_text('input: "data" input_shape { dim: 1 dim: 1 dim: 4 dim: 4 }\n' + view + "\n"
                              'layer { name: "r" type: "ReLU" bottom: "v" top: "v" }\n'
                              'layer { name: "s" type: "Sigmoid" bottom: "data" top: "s" }')
    graph = api.graph_from_net(net)
    inputs = {"data": np.random.default_rng(0).standard_normal((1, 1, 4, 4)).astype(np.float32)}
    result = api.verify(graph, "pytorch", inputs, as_golden_blobs(graph, run(graph, inputs)))
    assert result.passed, result.first_divergence
    assert "inplace=True" not in generate(graph).source


def test_an_in_place_relu_after_a_fresh_tensor_stays_in_place():
    net = parse_prototxt_text('input: "data" input_shape { dim: 1 dim: 3 dim: 4 dim: 4 }\n'
                              'layer { name: "c" type: "Convolution" bottom: "data" top: "c" '
                              'convolution_param { num_output: 2 kernel_size: 1 } }\n'
                              'layer { name: "r" type: "ReLU" bottom: "c" top: "c" }')
    assert "nn.ReLU(inplace=True)" in generate(fill_random(api.graph_from_net(net), 0)).source
