"""BVLC's LSTM and RNN (lstm_layer.cpp, lstm_unit_layer.cpp, rnn_layer.cpp, recurrent_layer.cpp
at 9b891540): the real Caffe's blobs (golden case bvlc_recurrent) on every target; the rules
written out here by hand from the sources (gates i, f, o, g; cont scaling the previous hidden
state and the forget gate; x_static; expose_hidden's h_0/c_0 bottoms and h_T/c_T tops) against
the reference and every target; random weights in range; bad bottoms refused."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import golden_case, normalized_error

import caffe2x
from caffe2x import api
from caffe2x.cli import main
from caffe2x.errors import ShapeError
from caffe2x.reference import as_golden_blobs, run
from caffe2x.weights import synthetic_weights

TARGETS = ["onnx", "pytorch", "tensorflow", "tflite"]


@pytest.mark.parametrize("target", TARGETS)
def test_real_caffe_lstm_and_rnn_on_every_target(target):
    case = golden_case("bvlc_recurrent")
    result = api.verify(case.load(), target, case.inputs, case.blobs, reference_name="golden")
    assert result.passed, result.first_divergence
    errors = {r.layer: r.error.normalized_max for r in result.records}
    assert errors["lstm"] <= 1e-6 and errors["rnn"] <= 1e-6, errors  # measured <= 3.2e-7


def test_reference_matches_real_caffe():
    case = golden_case("bvlc_recurrent")
    blobs = as_golden_blobs(graph := case.load(), run(graph, case.inputs))
    for key in ("lstm:lstm", "rnn:rnn"):
        assert normalized_error(blobs[key], case.blobs[key]) <= 1e-6, key  # measured 1.4e-7


# x is 4-D (T, N, 2, 3: flattened from its third axis), a static input, the initial states
# given (expose_hidden), and the last states as tops.
T, N, H = 4, 3, 5
NET = f"""
name: "recurrent_rules"
layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: {T} dim: {N} dim: 2 dim: 3 }} }} }}
layer {{ name: "cont" type: "Input" top: "cont" input_param {{ shape {{ dim: {T} dim: {N} }} }} }}
layer {{ name: "xs" type: "Input" top: "xs" input_param {{ shape {{ dim: {N} dim: 7 }} }} }}
layer {{ name: "h0" type: "Input" top: "h0" input_param {{ shape {{ dim: 1 dim: {N} dim: {H} }} }} }}
layer {{ name: "c0" type: "Input" top: "c0" input_param {{ shape {{ dim: 1 dim: {N} dim: {H} }} }} }}
layer {{ name: "lstm" type: "LSTM" bottom: "x" bottom: "cont" bottom: "xs" bottom: "h0" bottom: "c0"
  top: "lstm" top: "lstm_h" top: "lstm_c" recurrent_param {{ num_output: {H} expose_hidden: true }} }}
layer {{ name: "rnn" type: "RNN" bottom: "x" bottom: "cont" bottom: "xs" bottom: "h0"
  top: "rnn" top: "rnn_h" recurrent_param {{ num_output: {H} expose_hidden: true }} }}
layer {{ name: "plain" type: "LSTM" bottom: "x" bottom: "cont" top: "plain" recurrent_param {{ num_output: 2 }} }}
"""


def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _lstm_by_hand(x, cont, xs, h, c, w_xc, b_c, w_static, w_hc):
    """lstm_layer.cpp's unrolled net and LSTMUnit's Forward_cpu, one stream and step at a time."""
    hidden = w_hc.shape[1]
    h, c, tops = h[0].copy(), c[0].copy(), []
    for t in range(cont.shape[0]):
        step = np.zeros_like(h)
        for n in range(cont.shape[1]):
            gates = w_hc @ (cont[t, n] * h[n]) + w_xc @ x[t, n].ravel() + b_c
            if w_static is not None:
                gates = gates + w_static @ xs[n].ravel()
            i, f, o, g = (gates[k * hidden:(k + 1) * hidden] for k in range(4))
            f = 0.0 if cont[t, n] == 0 else cont[t, n] * _sigmoid(f)
            c[n] = f * c[n] + _sigmoid(i) * np.tanh(g)
            step[n] = _sigmoid(o) * np.tanh(c[n])
        h = step
        tops.append(h.copy())
    return np.stack(tops), h[None], c[None]


def _rnn_by_hand(x, cont, xs, h, w_xh, b_h, w_static, w_hh, w_ho, b_o):
    """rnn_layer.cpp's unrolled net, one stream and step at a time."""
    h, tops = h[0].copy(), []
    for t in range(cont.shape[0]):
        out = np.zeros_like(h)
        for n in range(cont.shape[1]):
            h[n] = np.tanh(w_hh @ (cont[t, n] * h[n]) + w_xh @ x[t, n].ravel() + b_h + w_static @ xs[n].ravel())
            out[n] = np.tanh(w_ho @ h[n] + b_o)
        tops.append(out)
    return np.stack(tops), h[None]


@pytest.fixture(scope="module")
def rules(tmp_path_factory):
    path = tmp_path_factory.mktemp("recurrent") / "net.prototxt"
    path.write_text(NET)
    graph = synthetic_weights(caffe2x.load_net(path), seed=4)
    rng = np.random.default_rng(7)
    # cont: streams 0 and 2 go on from the given h_0/c_0; stream 1 starts at t=0 and again at
    # t=2; stream 2 carries a non-binary 0.5 at t=3
    cont = np.ones((T, N), np.float32)
    cont[0, 1], cont[2, 1], cont[3, 2] = 0.0, 0.0, 0.5
    inputs = {"x": rng.standard_normal((T, N, 2, 3)).astype(np.float32), "cont": cont,
              "xs": rng.standard_normal((N, 7)).astype(np.float32),
              "h0": rng.uniform(-0.5, 0.5, (1, N, H)).astype(np.float32),
              "c0": rng.uniform(-0.5, 0.5, (1, N, H)).astype(np.float32)}
    return path, graph, inputs, as_golden_blobs(graph, run(graph, inputs))


def test_blob_layout_is_caffes(rules):
    _, graph, _, _ = rules
    shapes = {n.name: [w.shape for w in n.weights] for n in graph.nodes if n.weights}
    assert shapes["lstm"] == [(4 * H, 6), (4 * H,), (4 * H, 7), (4 * H, H)]  # W_xc, b_c, W_xc_static, W_hc
    assert shapes["rnn"] == [(H, 6), (H,), (H, 7), (H, H), (H, H), (H,)]  # W_xh, b_h, W_xh_static, W_hh, W_ho, b_o
    assert shapes["plain"] == [(8, 6), (8,), (8, 2)]
    assert [graph.values[v].shape for v in graph.nodes[-3].outputs] == [(T, N, H), (1, N, H), (1, N, H)]


def test_reference_follows_the_sources(rules):
    _, graph, inputs, blobs = rules
    weights = {n.name: [w.astype(np.float64) for w in n.weights] for n in graph.nodes if n.weights}
    x, cont, xs, h0, c0 = (inputs[k].astype(np.float64) for k in ("x", "cont", "xs", "h0", "c0"))
    want = _lstm_by_hand(x, cont, xs, h0, c0, *weights["lstm"])
    for top, expected in zip(("lstm", "lstm_h", "lstm_c"), want):
        assert normalized_error(blobs[f"lstm:{top}"], expected) <= 1e-6, top
    for top, expected in zip(("rnn", "rnn_h"), _rnn_by_hand(x, cont, xs, h0, *weights["rnn"])):
        assert normalized_error(blobs[f"rnn:{top}"], expected) <= 1e-6, top
    w_xc, b_c, w_hc = weights["plain"]
    zeros = np.zeros((1, N, 2))
    assert normalized_error(blobs["plain:plain"], _lstm_by_hand(x, cont, xs, zeros, zeros, w_xc, b_c, None, w_hc)[0]) \
        <= 1e-6
    # other initial states change streams 0 and 2, never stream 1, which starts with cont 0
    other = as_golden_blobs(graph, run(graph, {**inputs, "h0": -inputs["h0"], "c0": inputs["c0"] + 1}))
    for key in ("lstm:lstm", "rnn:rnn"):
        moved = np.abs(other[key] - blobs[key]).max(axis=(0, 2))
        assert moved[0] > 1e-3 and moved[2] > 1e-3 and moved[1] == 0, (key, moved)


@pytest.mark.parametrize("target", TARGETS)
def test_every_target_follows_the_reference(rules, target):
    _, graph, inputs, blobs = rules
    result = api.verify(graph, target, inputs, blobs, tolerance=1e-5)
    assert result.passed, result.first_divergence
    checked = {r.top for r in result.records}
    assert {"lstm_h", "lstm_c", "rnn_h", "plain"} <= checked  # the exposed last states too


def test_random_weights_keep_units_in_range(rules):
    _, graph, _, blobs = rules
    lstm = next(n for n in graph.nodes if n.name == "lstm")
    w_hc = lstm.weights[3]
    assert abs(float(w_hc.std()) - 1 / np.sqrt(H)) < 0.15  # each matrix scaled by its own fan-in
    for top in ("lstm:lstm", "rnn:rnn"):
        y = blobs[top]
        assert np.isfinite(y).all() and 0.05 < np.abs(y).mean() < 0.9 and (np.abs(y) > 0.999).mean() < 0.05, top


BAD_NETS = {
    "no cont": ('bottom: "x"', r"needs the sequence-continuation bottom cont \(T x N\).*has 1"),
    "cont of another shape": ('bottom: "x" bottom: "wrong"', r"bottom cont must be T x N = 4 x 3.*not 4 x 2"),
    "x as cont": ('bottom: "x" bottom: "x"', r"bottom cont must be T x N = 4 x 3.*not 4 x 3 x 2 x 3"),
}


@pytest.mark.parametrize("layer_type", ["LSTM", "RNN"])
@pytest.mark.parametrize("bad", sorted(BAD_NETS))
def test_bad_bottoms_are_refused_naming_the_layer(tmp_path, layer_type, bad):
    bottoms, message = BAD_NETS[bad]
    path = tmp_path / "bad.prototxt"
    path.write_text(f"""
layer {{ name: "x" type: "Input" top: "x" input_param {{ shape {{ dim: {T} dim: {N} dim: 2 dim: 3 }} }} }}
layer {{ name: "wrong" type: "Input" top: "wrong" input_param {{ shape {{ dim: {T} dim: 2 }} }} }}
layer {{ name: "seq" type: "{layer_type}" {bottoms} top: "seq" recurrent_param {{ num_output: 3 }} }}
""")
    with pytest.raises(ShapeError, match=f"layer 'seq' \\({layer_type}\\).*" + message):
        caffe2x.load_net(path)
    out = tmp_path / "out.onnx"
    result = CliRunner().invoke(main, ["convert", str(path), "--random-weights", "--to", "onnx", "-o", str(out)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "layer 'seq'" in result.output and not out.exists()
    assert list(tmp_path.iterdir()) == [path]  # nothing written, not even a temporary file


def test_expose_hidden_wants_the_initial_states(tmp_path):
    path = tmp_path / "bad.prototxt"
    path.write_text(NET.replace('bottom: "xs" bottom: "h0" bottom: "c0"', 'bottom: "h0"'))
    with pytest.raises(ShapeError, match=r"layer 'lstm' \(LSTM\): LSTM takes 4 or 5 bottoms "
                                         r"\(x, cont\[, x_static\], then h_0, c_0 \(expose_hidden\)\), not 3"):
        caffe2x.load_net(path)
    path.write_text(NET.replace('bottom: "xs" bottom: "h0" bottom: "c0"', 'bottom: "h0" bottom: "xs"'))
    with pytest.raises(ShapeError, match=r"layer 'lstm' \(LSTM\): bottom c_0 must be 1 x 3 x 5 .*not 3 x 7"):
        caffe2x.load_net(path)


SEQUENCE_ONLY = """
layer { name: "seq" type: "Input" top: "seq" input_param { shape { dim: 3 dim: 2 dim: 5 } } }
layer { name: "cont" type: "Input" top: "cont" input_param { shape { dim: 3 dim: 2 } } }
layer { name: "rnn" type: "RNN" bottom: "seq" bottom: "cont" top: "rnn" recurrent_param { num_output: 4 } }
"""


def test_onnx_keeps_t_fixed_where_it_would_be_the_batch(tmp_path):
    """seq and cont share their first dim, which ONNX would make the dynamic batch: T is fixed."""
    from caffe2x.targets.onnx import to_onnx

    path = tmp_path / "net.prototxt"
    path.write_text(SEQUENCE_ONLY)
    model = to_onnx(synthetic_weights(caffe2x.load_net(path))).model
    dims = [[d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
            for v in [*model.graph.input, *model.graph.output]]
    assert dims == [[3, 2, 5], [3, 2], [3, 2, 4]]


def test_converted_pytorch_folder_exports_the_real_caffe_net(tmp_path):
    """torch.export traced every input at batch 2 (T 2 here, 3 in the net): the unrolled loop
    failed; a net with a recurrent layer is exported at its own shapes."""
    torch = pytest.importorskip("torch")
    case = golden_case("bvlc_recurrent")
    result = CliRunner().invoke(main, ["convert", str(case.prototxt), "-w", str(case.caffemodel), "--to", "pytorch",
                                       "-o", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    program = torch.export.load(tmp_path / "out" / "model.pt2").module()
    with torch.no_grad():
        outputs = program(*(torch.from_numpy(case.inputs[k]) for k in ("idx", "seq", "cont")))
    got = dict(zip(case.manifest["outputs"], outputs))
    assert normalized_error(got["lstm"].numpy(), case.blobs["lstm:lstm"]) <= 1e-6
    assert normalized_error(got["rnn"].numpy(), case.blobs["rnn:rnn"]) <= 1e-6


def test_pytorch_module_fine_tunes_the_recurrent_weights(rules, tmp_path):
    """Like the classic layers' weights, LSTM's and RNN's blobs are parameters of the module."""
    torch = pytest.importorskip("torch")
    from caffe2x.targets.torch import generate, instantiate, write_folder

    _, graph, inputs, blobs = rules
    model = generate(graph)
    write_folder(model, tmp_path / "out", exported=False)
    module = instantiate(model, tmp_path / "out")
    names = {name for name, _ in module.named_parameters()}
    assert {"lstm.blob0", "lstm.blob3", "rnn.blob5"} <= names
    module.train()
    outputs = module(*(torch.from_numpy(inputs[k]) for k in ("x", "cont", "xs", "h0", "c0")))
    sum(o.sum() for o in outputs).backward()
    assert module.lstm.blob3.grad is not None and module.lstm.blob3.grad.abs().sum() > 0
    with torch.no_grad():
        module.eval()
        again = module(*(torch.from_numpy(inputs[k]) for k in ("x", "cont", "xs", "h0", "c0")))
    assert normalized_error(again[0].numpy(), blobs["lstm:lstm"]) <= 1e-6


def test_random_inputs_give_cont_caffes_flags(tmp_path):
    """run/verify without --inputs: cont is 0 at t=0, then 1 (standard-normal values scaled the state)."""
    path = tmp_path / "net.prototxt"
    path.write_text(SEQUENCE_ONLY)
    out = tmp_path / "blobs.npz"
    result = CliRunner().invoke(main, ["run", str(path), "--random-weights", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with np.load(out) as blobs:
        assert np.array_equal(blobs["input:cont"], [[0, 0], [1, 1], [1, 1]])
        assert blobs["input:seq"].std() > 0.5  # the other inputs stay standard normal


def test_tflite_uses_builtin_operators_only(rules, tmp_path):
    tf = pytest.importorskip("tensorflow")
    _, graph, _, _ = rules
    api.convert(graph, "tflite", tmp_path / "m.tflite")
    ops = {op["op_name"] for op in tf.lite.Interpreter(str(tmp_path / "m.tflite"))._get_ops_details()}
    assert "FULLY_CONNECTED" in ops and "LOGISTIC" in ops and "TANH" in ops, ops
    assert not any(op.startswith("Flex") or op == "CUSTOM" for op in ops), ops


TWO_4D = """
layer { name: "x" type: "Input" top: "x" input_param { shape { dim: 3 dim: 2 dim: 2 dim: 3 } } }
layer { name: "cont" type: "Input" top: "cont" input_param { shape { dim: 3 dim: 2 } } }
layer { name: "xs" type: "Input" top: "xs" input_param { shape { dim: 2 dim: 3 dim: 2 dim: 2 } } }
layer { name: "lstm" type: "LSTM" bottom: "x" bottom: "cont" bottom: "xs" top: "lstm" recurrent_param { num_output: 3 } }
"""


def test_keras_takes_x_and_x_static_both_4d(tmp_path):
    """Both are NHWC inside Keras: each goes back to Caffe's order through a Permute of its own
    name (one name for both was a Keras error)."""
    path = tmp_path / "net.prototxt"
    path.write_text(TWO_4D)
    graph = synthetic_weights(caffe2x.load_net(path))
    inputs = {"x": np.random.default_rng(1).standard_normal((3, 2, 2, 3)).astype(np.float32),
              "cont": np.array([[0, 0], [1, 0], [1, 1]], np.float32),
              "xs": np.random.default_rng(2).standard_normal((2, 3, 2, 2)).astype(np.float32)}
    result = api.verify(graph, "tensorflow", inputs, as_golden_blobs(graph, run(graph, inputs)), tolerance=1e-5)
    assert result.passed, result.first_divergence
