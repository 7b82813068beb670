"""The `caffe2x` command line: a thin shell over the library.

Exit codes: 0 success, 1 a check failed (verify), 2 bad input (any
Caffe2xError, or a usage error), 3 an internal error, 130 interrupted.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import traceback

import click
import numpy as np

from . import api
from .api import random_inputs
from .errors import Caffe2xError, InputShapeError, VerificationTimeout
from .io.atomic import atomic_file
from .ir.inputs import parse_input_shape
from .summary import format_table, summarize

EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 3, 130
TARGET_NAMES = ["onnx", "pytorch", "tensorflow", "tflite"]


class _Group(click.Group):
    """Turns every error into one paragraph on stderr and an exit code: never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Caffe2xError as exc:
            click.echo(f"caffe2x: error ({type(exc).__name__}): {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("caffe2x: interrupted; no output was left behind.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug of ours: say so plainly
            if os.environ.get("CAFFE2X_DEBUG"):
                traceback.print_exc()
            click.echo(f"caffe2x: internal error: {type(exc).__name__}: {exc}. This is a caffe2x "
                       "bug; set CAFFE2X_DEBUG=1 for the traceback and please report it.", err=True)
            sys.exit(EXIT_INTERNAL)


def _shapes(values: tuple[str, ...]) -> dict[str, tuple[int, ...]]:
    return dict(parse_input_shape(v) for v in values)


def _plugins(values: tuple[str, ...], protos: tuple[str, ...] = ()) -> None:
    for path in protos:  # first: a plugin module may read the declared blocks at import
        api.load_proto(path)
    api.load_plugins([*os.environ.get("CAFFE2X_PLUGINS", "").split(","), *values])


net_argument = click.argument("net", type=click.Path(dir_okay=False))
weights_option = click.option("-w", "--weights", type=click.Path(dir_okay=False),
                              help="The .caffemodel with the trained weights.")
shape_option = click.option("--input-shape", "input_shapes", multiple=True, metavar="NAME=D0,D1,..",
                            help="Set or override an input's shape (repeatable).")
plugin_option = click.option("--plugin", "plugins", multiple=True, metavar="MODULE",
                             help="Import a module that registers custom layers (repeatable).")
caffe_proto_option = click.option("--caffe-proto", "protos", multiple=True, type=click.Path(dir_okay=False),
                                  metavar="FORK.proto",
                                  help="A Caffe fork's caffe.proto: read its layers' parameter blocks "
                                       "(norm_param, ...) by it (repeatable).")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="caffe2x")
def main() -> None:
    """Convert Caffe models and prove the result layer by layer."""


@main.command()
@net_argument
@weights_option
@shape_option
@plugin_option
@caffe_proto_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def inspect(net, weights, input_shapes, plugins, protos, as_json):
    """Show every layer with Caffe's output shapes, parameters and FLOPs."""
    _plugins(plugins, protos)
    graph = api.load_net(net, weights, _shapes(input_shapes))
    click.echo(json.dumps(summarize(graph), indent=1) if as_json else format_table(graph))


inputs_option = click.option("--inputs", "inputs_path", type=click.Path(dir_okay=False),
                             help=".npz with the inputs (keys NAME or input:NAME); default: seeded random.")
seed_option = click.option("--seed", default=0, show_default=True, help="Seed for random inputs and weights.")
random_weights_option = click.option("--random-weights", is_flag=True,
                                     help="No caffemodel: use random weights (seeded, shaped like a trained net).")
force_option = click.option("--force", is_flag=True, help="Replace an existing output.")


def _load(net, weights, input_shapes, random_weights: bool, seed: int, arrays: dict | None = None,
          batch: int | None = None):
    """Load the net; inputs given as arrays set the input shapes unless --input-shape does,
    and `batch` replaces every input's first dimension."""
    from .weights import fill_random

    if not weights and not random_weights:
        raise Caffe2xError("weights are needed: give -w W.caffemodel, or --random-weights.")
    shapes = _shapes(input_shapes)
    for name, array in (arrays or {}).items():
        shapes.setdefault(name, array.shape)
    if batch:  # the declared shapes come from the prototxt alone: the weights are read once
        declared = api.load_net(net, None, shapes)
        shapes = {declared.values[v].top: (batch, *declared.values[v].shape[1:]) for v in declared.inputs}
    graph = api.load_net(net, weights, shapes)
    return graph if weights else fill_random(graph, seed)


@main.command()
@net_argument
@weights_option
@shape_option
@plugin_option
@caffe_proto_option
@inputs_option
@seed_option
@random_weights_option
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write every blob to this .npz, keyed like the golden files (LAYER:TOP).")
@force_option
def run(net, weights, input_shapes, plugins, protos, inputs_path, seed, random_weights, output, force):
    """Run the NumPy reference forward pass (Caffe's semantics, no Caffe needed)."""
    from .reference import as_golden_blobs
    from .reference import run as forward

    _plugins(plugins, protos)
    arrays = _read_inputs(inputs_path) if inputs_path else {}
    graph = _load(net, weights, input_shapes, random_weights, seed, arrays)
    arrays = arrays or random_inputs(graph, seed)
    values = forward(graph, arrays)
    for top, name in zip(graph.output_tops, graph.outputs):
        click.echo(_describe_output(top, values[name]))
    if output:
        with atomic_file(output, force) as temp:
            with open(temp, "wb") as handle:
                np.savez(handle, **as_golden_blobs(graph, values))
        click.echo(f"wrote {output}")


def _batch(value: str) -> int | None:
    if value == "dynamic":
        return None
    if not value.isdigit() or int(value) < 1:
        raise InputShapeError(f"--batch must be 'dynamic' or a positive integer, not '{value}'.")
    return int(value)


@main.command()
@net_argument
@weights_option
@shape_option
@plugin_option
@caffe_proto_option
@random_weights_option
@seed_option
@click.option("--to", "target", type=click.Choice(TARGET_NAMES), required=True,
              help="onnx (a .onnx file), pytorch (a folder), tensorflow (a SavedModel folder) or tflite (a file).")
@click.option("-o", "--output", required=True, type=click.Path(), help="Output file (or folder).")
@click.option("--opset", type=int, default=None, help="ONNX opset, 13 to 21 (default 17).")
@click.option("--batch", default="dynamic", show_default=True, help="'dynamic' or a fixed batch size.")
@click.option("--keep-intermediate", is_flag=True, help="ONNX: also expose every Caffe top as an output.")
@click.option("--layout", type=click.Choice(["nhwc", "nchw"]), default="nhwc", show_default=True,
              help="TensorFlow/TFLite: layout of 4-D inputs and outputs.")
@force_option
def convert(net, weights, input_shapes, plugins, protos, random_weights, seed, target, output, opset, batch,
            keep_intermediate, layout, force):
    """Convert a Caffe model (prototxt + caffemodel) to another framework."""
    _plugins(plugins, protos)
    fixed = _batch(batch)
    graph = _load(net, weights, input_shapes, random_weights, seed, batch=fixed)
    written = api.convert(graph, target, output, force=force, opset=opset, dynamic_batch=fixed is None,
                          keep_intermediate=keep_intermediate, layout=layout)
    click.echo(f"wrote {', '.join(map(str, written))} ({len(graph.caffe_layers)} Caffe layers, "
               f"{graph.total_params:,} parameters)")


@main.command()
@net_argument
@weights_option
@shape_option
@plugin_option
@caffe_proto_option
@random_weights_option
@seed_option
@inputs_option
@click.option("--to", "targets", type=click.Choice(TARGET_NAMES), required=True, multiple=True,
              help="The target to verify (repeatable; tflite: final outputs only).")
@click.option("--reference", default="auto", show_default=True,
              help="blobs.npz (golden format: input:NAME, LAYER:TOP), 'caffe' (pycaffe), 'builtin' "
                   "(caffe2x's NumPy executor) or 'auto' (caffe if importable, else builtin).")
@click.option("--tolerance", type=float, default=1e-4, show_default=True,
              help="Largest normalized max error max|got-want|/max|want| a blob may have.")
@click.option("--layer-tolerance", "layer_tolerances", multiple=True, metavar="LAYER=TOL",
              help="A tolerance for one Caffe layer's tops (repeatable).")
@click.option("--report", "report_paths", multiple=True, type=click.Path(dir_okay=False),
              help="Write the results to FILE: .json, .md, .xml (JUnit) or .html (repeatable).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--timeout", type=float, default=None, metavar="SECONDS",
              help="Give up after this long (exit 124); checked between operations.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def verify(net, weights, input_shapes, plugins, protos, random_weights, seed, inputs_path, targets, reference,
           tolerance, layer_tolerances, report_paths, device, timeout, quiet, as_json):
    """Convert, run, and compare every Caffe top with the reference, layer by layer.

    Exit 0 when every compared blob is within tolerance, 1 when one is not, 2 on bad input,
    124 when --timeout ran out."""
    from .report import render_json, write_report_files
    from .report.terminal import console, print_verify

    _plugins(plugins, protos)
    settings = {"tolerance": tolerance, "tolerances": parse_tolerances(layer_tolerances), "device": device}
    with _deadline(timeout):
        report = _verify(net, weights, input_shapes, random_weights, seed, inputs_path, targets, reference,
                         settings, quiet or as_json)
    if as_json:
        click.echo(render_json(report))
    elif not quiet:
        print_verify(report, console())
    for path in write_report_files(report, report_paths):
        if not (quiet or as_json):
            click.echo(f"wrote {path}")
    sys.exit(0 if report.passed else 1)


@main.command("convert-all")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for every model's outputs, results and the summary reports.")
@click.option("--jobs", type=int, default=1, show_default=True, help="Models converted in parallel.")
@click.option("--tolerance", type=float, default=None, help="Default tolerance (a model's own wins).")
@click.option("--layer-tolerance", "layer_tolerances", multiple=True, metavar="LAYER=TOL",
              help="A tolerance for a layer of any model (repeatable; a model's own wins).")
@click.option("--report", "report_paths", multiple=True, type=click.Path(dir_okay=False),
              help="Also write the summary to FILE (.json, .md, .xml, .html; repeatable).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary report as JSON on stdout.")
def convert_all(manifest, outdir, jobs, tolerance, layer_tolerances, report_paths, quiet, as_json):
    """Convert and verify every model of MANIFEST.yaml; exit 1 if any fails.

    Writes OUTDIR/report.{json,md,xml,html}. Models whose files and settings are
    unchanged since the last run are not run again."""
    from pathlib import Path

    from .batch import load_manifest as read_manifest
    from .batch import run_batch
    from .report import render_json, write_report_files
    from .report.terminal import console, print_batch, progress

    if jobs < 1:
        raise Caffe2xError("--jobs must be at least 1.")
    specs = read_manifest(manifest, tolerance, parse_tolerances(layer_tolerances))
    with progress(console(stderr=True), len(specs), "models", enabled=not (quiet or as_json)) as advance:
        report = run_batch(specs, outdir, jobs, on_done=advance)
    summary = [Path(outdir) / f"report.{ext}" for ext in ("json", "md", "xml", "html")]
    write_report_files(report, [*summary, *report_paths])
    if as_json:
        click.echo(render_json(report))
    elif not quiet:
        print_batch(report, console())
        click.echo(f"reports: {', '.join(str(p) for p in summary)}")
    sys.exit(0 if report.passed else 1)


@main.command("synth-weights")
@net_argument
@shape_option
@plugin_option
@caffe_proto_option
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False), help="The .caffemodel to write.")
@click.option("--seed", default=0, show_default=True, help="Random seed.")
@force_option
def synth_weights(net, input_shapes, plugins, protos, output, seed, force):
    """Write a caffemodel with realistic random weights for NET (no download needed).

    Convolution and InnerProduct weights are He-scaled; BatchNorm statistics are
    measured on a random forward pass, so every BatchNorm normalizes and deep nets
    keep their activations in range, like trained ones."""
    from .io.caffemodel_writer import write_caffemodel
    from .weights import calibrate_batchnorm, fill_random

    _plugins(plugins, protos)
    graph = calibrate_batchnorm(fill_random(api.load_net(net, None, _shapes(input_shapes)), seed), seed)
    write_caffemodel(graph, output, force)
    click.echo(f"wrote {output}: {graph.total_params:,} parameters in "
               f"{sum(1 for n in graph.nodes if n.weights)} layers")


def parse_tolerances(values) -> dict[str, float]:
    tolerances = {}
    for value in values:
        layer, sep, number = value.rpartition("=")
        try:
            tolerances[layer] = float(number)
        except ValueError:
            sep = ""
        if not sep or not layer:
            raise Caffe2xError(f"--layer-tolerance '{value}' is not LAYER=NUMBER.")
    return tolerances


def _verify(net, weights, input_shapes, random_weights, seed, inputs_path, targets, reference, settings, quiet):
    import time

    from .reference import pycaffe
    from .report import ERROR, ModelResult, Report, TargetResult, target_result
    from .report.terminal import console, progress

    reference_blobs = _read_npz(reference) if reference.endswith(".npz") else None
    arrays = _read_inputs(inputs_path) if inputs_path else _inputs_of(reference_blobs)
    graph = _load(net, weights, input_shapes, random_weights, seed, arrays)
    arrays = arrays or random_inputs(graph, seed)
    if reference == "auto":
        reference = "caffe" if pycaffe.available() and weights else "builtin"
    model = ModelResult(graph.name or str(net), str(net), str(weights) if weights else None)
    with progress(console(stderr=True), len(targets) + 1, "verifying", enabled=not quiet) as advance:
        if reference_blobs is None:
            reference_blobs = api.reference_blobs(reference, net, weights, graph, arrays)
        advance("reference")
        for target in dict.fromkeys(targets):
            started = time.perf_counter()
            try:
                result = api.verify(graph, target, arrays, reference_blobs, reference_name=reference,
                                    tolerance=settings["tolerance"], tolerances=settings["tolerances"],
                                    device=settings["device"])
                model.targets.append(target_result(result, time.perf_counter() - started))
            except Caffe2xError as exc:
                if len(targets) == 1:
                    raise
                model.targets.append(TargetResult(target, ERROR, error=str(exc),
                                                  seconds=time.perf_counter() - started))
            advance(target)
    return Report([model])


@contextlib.contextmanager
def _deadline(seconds: float | None):
    """Raise VerificationTimeout in the main thread once `seconds` have passed."""
    if seconds is None:
        yield
        return
    if seconds <= 0:
        raise Caffe2xError("--timeout must be positive.")

    def expire(signum, frame):
        raise VerificationTimeout(f"verification did not finish within --timeout {seconds:g} s.")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _read_npz(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except (OSError, ValueError) as exc:
        raise Caffe2xError(f"{path}: cannot read the reference .npz: {exc}") from None


def _inputs_of(blobs: dict | None) -> dict[str, np.ndarray]:
    return {k.removeprefix("input:"): v for k, v in (blobs or {}).items() if k.startswith("input:")}


def _read_inputs(path: str) -> dict[str, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as data:
            return {key.removeprefix("input:"): data[key] for key in data.files
                    if key.startswith("input:") or ":" not in key}
    except (OSError, ValueError) as exc:
        raise InputShapeError(f"{path}: cannot read the inputs .npz: {exc}") from None


def _describe_output(top: str, array: np.ndarray) -> str:
    text = f"{top}: shape {list(array.shape)}, min {array.min():.6g}, max {array.max():.6g}"
    if array.ndim >= 2 and array.shape[1] > 1 and np.prod(array.shape[2:], dtype=np.int64) == 1:
        first = array.reshape(array.shape[0], -1)[0]
        best = np.argsort(-first, kind="stable")[:5]
        text += ", top-5 of item 0: " + ", ".join(f"{i} ({first[i]:.4f})" for i in best)
    return text


if __name__ == "__main__":
    main()
