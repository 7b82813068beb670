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
from .compare import DEFAULT_TOLERANCE
from .errors import Caffe2xError, InputShapeError, PreprocessingError, VerificationTimeout
from .frontend.input_values import check_input_values
from .frontend.inputs import parse_input_shape
from .io.atomic import atomic_file
from .io.outputs import FILE, FOLDER, check_output
from .summary import format_table, summarize
from .targets import TARGETS, ConvertOptions, require_all
from .targets.quiet import VERBOSE_ENV
from .verification import inputs_in as _inputs_of
from .verification import read_inputs as _read_inputs
from .verification import read_reference as _read_npz
from .version import version_report

EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 3, 130
TARGET_NAMES = TARGETS.names()


def _only(option: str) -> str:
    """"onnx: " for an option only ONNX takes: the help says which targets an option applies to."""
    return ", ".join(t.name for t in TARGETS if option in t.options) + ": "


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
quantize_option = click.option("--quantize", type=click.Choice(["float16", "int8"]), default=None,
                               help="tflite: post-training quantization (verify then holds the model to the "
                                    "looser stated tolerance of that mode).")
calibration_option = click.option("--calibration", type=click.Path(), default=None, metavar="DIR_OR_NPZ",
                                  help="tflite --quantize int8: the calibration inputs, an .npz of net inputs "
                                       "(samples on the first axis) or a folder of images (through the "
                                       "recorded preprocessing; needs Pillow).")
dynamic_hw_option = click.option("--dynamic-hw", is_flag=True,
                                 help="Keep the height and width of every N,C,H,W input dynamic (onnx, pytorch, "
                                      "tensorflow, tflite), as --input-shape NAME=N,C,?,? does for one input; "
                                      "verify checks a second size.")


def _layer_variants(_ctx, _param, values) -> dict[str, str]:
    from .frontend.variants import parse_layer_variants

    return parse_layer_variants(values)


layer_variant_option = click.option(
    "--layer-variant", "layer_variants", multiple=True, metavar="TYPE=VARIANT", callback=_layer_variants,
    help="Give a layer type the semantics of a named fork variant where forks share its name and parameters "
         "(Proposal=pva: pva-faster-rcnn's C++ Proposal, which OpenVINO reads; repeatable; recorded in "
         "caffe2x.json).")
outputs_option = click.option("--outputs", "cut_layers", default=None, metavar="LAYER[,LAYER]",
                              help="Cut the net: these layers' tops become its outputs, later layers are dropped.")


def _preprocessing_options(command):
    """The options saying what the net expects done to an image, and its class names (convert)."""
    options = [
        click.option("--mean", "mean_file", type=click.Path(dir_okay=False), metavar="FILE.binaryproto",
                     help="Caffe mean image (center-cropped to the input, as Caffe's TEST crop)."),
        click.option("--mean-values", metavar="B,G,R", help="Per-channel mean, in the net's channel order."),
        click.option("--mean-per-channel", is_flag=True, help="Use the mean image's channel averages."),
        click.option("--scale", type=float, default=None, help="Multiply after the mean (transform_param's scale)."),
        click.option("--std", metavar="S[,S,S]", help="Divide by these after the mean (instead of --scale)."),
        click.option("--raw-scale", type=float, default=None,
                     help="Multiply the image first (pycaffe's raw_scale: 255 for images in [0, 1])."),
        click.option("--channel-order", type=click.Choice(["bgr", "rgb"]), default=None,
                     help="Channel order of the images you feed (the BVLC nets want BGR)."),
        click.option("--input-layout", type=click.Choice(["nchw", "nhwc"]), default=None,
                     help="Layout of the images you feed."),
        click.option("--labels", "labels_path", type=click.Path(dir_okay=False),
                     help="Class names: synset_words.txt or a labelmap.prototxt."),
        click.option("--preprocess", "preprocess_mode", type=click.Choice(["record", "embed"]), default="record",
                     show_default=True,
                     help="record: write the preprocessing into the model's metadata with a NumPy snippet "
                          "applying it; embed: prepend it to the model as layers, which then takes the image "
                          "as held."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _cut(graph, cut_layers: str | None):
    """--outputs: the net up to these layers (logits before a Softmax, features to fine-tune)."""
    if not cut_layers:
        return graph
    return api.cut(graph, [name.strip() for name in cut_layers.split(",") if name.strip()])



def _show_version(ctx, _param, value) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(version_report())
        ctx.exit()


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--version", is_flag=True, expose_value=False, is_eager=True, callback=_show_version,
              help="Show caffe2x's version and each installed target framework's, and exit.")
@click.option("--verbose", is_flag=True, help="Show the frameworks' own logs (TensorFlow's are hidden by default).")
def main(verbose: bool) -> None:
    """Convert Caffe models and prove the result layer by layer."""
    if verbose:
        os.environ[VERBOSE_ENV] = "1"


@main.command()
@net_argument
@weights_option
@shape_option
@plugin_option
@caffe_proto_option
@outputs_option
@layer_variant_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def inspect(net, weights, input_shapes, plugins, protos, cut_layers, layer_variants, as_json):
    """Show every layer with Caffe's output shapes, parameters and FLOPs."""
    _plugins(plugins, protos)
    graph = _cut(api.load_net(net, weights, _shapes(input_shapes), layer_variants=layer_variants), cut_layers)
    click.echo(json.dumps(summarize(graph), indent=1) if as_json else format_table(graph))


inputs_option = click.option("--inputs", "inputs_path", type=click.Path(dir_okay=False),
                             help=".npz with the inputs (keys NAME or input:NAME); default: seeded random.")
seed_option = click.option("--seed", default=0, show_default=True, help="Seed for random inputs and weights.")
random_weights_option = click.option("--random-weights", is_flag=True,
                                     help="No caffemodel: use random weights as synth-weights draws them (seeded, "
                                          "He-scaled, BatchNorm statistics measured on a forward pass).")
force_option = click.option("--force", is_flag=True, help="Replace an existing output.")


def _load(net, weights, input_shapes, random_weights: bool, seed: int, arrays: dict | None = None,
          batch: int | None = None, arrays_source: str = "--inputs", targets=(), dynamic_hw: bool = False,
          layer_variants: dict[str, str] | None = None):
    """Load the net; inputs given as arrays (read from `arrays_source`, named in errors) set the
    input shapes unless --input-shape does (its '?' dims too: the arrays' size is then the
    nominal one), and `batch` replaces every input's first dimension. Every layer the
    `targets` cannot express is reported before the weights are read. '?' dims and
    dynamic_hw (--dynamic-hw) leave height and width open (graph.dynamic); layer_variants
    (--layer-variant) choose named fork semantics."""
    from .frontend.inputs import open_axes
    from .io.prototxt import read_prototxt
    from .weights import synthetic_weights

    if not weights and not random_weights:
        raise Caffe2xError("weights are needed: give -w W.caffemodel, or --random-weights.")
    net_param = read_prototxt(net)  # parsed once, for the name check and every graph below
    if arrays:
        _check_array_names(net_param, str(net), arrays, arrays_source)
    shapes = _shapes(input_shapes)
    opened = open_axes(shapes)
    for name, array in (arrays or {}).items():
        given = shapes.get(name)
        if given is None or (None in given and len(given) == array.ndim):
            shapes[name] = tuple(d if d is not None else n for d, n in zip(given or array.shape, array.shape))
    if batch:  # the declared shapes come from the prototxt alone: the weights are read once
        declared = api.graph_from_net(net_param, None, shapes, str(net), targets, layer_variants=layer_variants)
        shapes = {declared.values[v].top: (batch, *declared.values[v].shape[1:]) for v in declared.inputs}
    graph = api.graph_from_net(net_param, weights, shapes, str(net), targets, dynamic_hw, layer_variants)
    graph.dynamic.update({top: axes for top, axes in opened.items() if top in graph.inputs})
    return graph if weights else synthetic_weights(graph, seed)


def _check_array_names(net_param, source_name: str, arrays: dict, source: str) -> None:
    """An array keyed by no net input is the file's mistake, not --input-shape's: say so."""
    from .frontend.inputs import check_input_names, is_input_layer
    from .frontend.select import test_phase_layers

    layers = test_phase_layers(net_param, source_name)
    check_input_names(arrays, [top for layer in layers if is_input_layer(layer) for top in layer.top], source)


def _check_reports(paths, force: bool) -> list[str]:
    """Check every --report file before any work; a path given twice is written once."""
    from .report import RENDERERS

    unique = list(dict.fromkeys(paths))
    for path in unique:
        check_output(path, FILE, force, suffixes=tuple(RENDERERS), only_suffixes=True, option="--report")
    return unique


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
@outputs_option
@click.option("--labels", "labels_path", type=click.Path(dir_okay=False),
              help="Class names (synset_words.txt or a labelmap.prototxt): the top classes are named.")
@layer_variant_option
@force_option
def run(net, weights, input_shapes, plugins, protos, inputs_path, seed, random_weights, output, cut_layers,
        labels_path, layer_variants, force):
    """Run the NumPy reference forward pass (Caffe's semantics, no Caffe needed)."""
    from .reference import as_golden_blobs
    from .reference import run as forward

    if output:  # before any work: a refusal must not come after the forward pass
        check_output(output, FILE, force, suffixes=(".npz",), writer="run")
    _plugins(plugins, protos)
    arrays = _read_inputs(inputs_path) if inputs_path else {}
    graph = _load(net, weights, input_shapes, random_weights, seed, arrays, arrays_source=f"--inputs {inputs_path}",
                  layer_variants=layer_variants)
    graph = _cut(graph, cut_layers)
    check_input_values(graph, arrays)  # ROIs given as data: refused before anything runs
    arrays = arrays or random_inputs(graph, seed)
    values = forward(graph, arrays)
    labels = api.attach_labels(graph, labels_path) if labels_path else None
    for top, name in zip(graph.output_tops, graph.outputs):
        click.echo(_describe_output(top, values[name], labels))
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
@click.option("--to", "target", type=click.Choice([*TARGET_NAMES, "all"]), required=True,
              help="; ".join(f"{t.name}: {t.description}" for t in TARGETS)
                   + "; all: every target, into the folder -o (" + ", ".join(t.batch_output for t in TARGETS) + ").")
@click.option("-o", "--output", required=True, type=click.Path(), help="Output file (or folder).")
@click.option("--opset", type=int, default=None, help=_only("opset") + "the opset, 13 to 21 (default 17).")
@click.option("--batch", default="dynamic", show_default=True,
              help=_only("dynamic_batch") + "'dynamic' or a fixed batch size.")
@click.option("--keep-intermediate", is_flag=True,
              help=_only("keep_intermediate") + "also expose every Caffe top as an output.")
@click.option("--layout", type=click.Choice(["nhwc", "nchw"]), default="nhwc", show_default=True,
              help=_only("layout") + "layout of 4-D inputs and outputs.")
@quantize_option
@calibration_option
@dynamic_hw_option
@outputs_option
@_preprocessing_options
@layer_variant_option
@force_option
def convert(net, weights, input_shapes, plugins, protos, random_weights, seed, target, output, opset, batch,
            keep_intermediate, layout, quantize, calibration, dynamic_hw, cut_layers, mean_file, mean_values,
            mean_per_channel, scale, std, raw_scale, channel_order, input_layout, labels_path, preprocess_mode,
            layer_variants, force):
    """Convert a Caffe model (prototxt + caffemodel) to another framework (or every one: --to all)."""
    outputs = _convert_outputs(target, output, force)  # checked before the weights are even read
    _plugins(plugins, protos)
    fixed = _batch(batch)
    options = ConvertOptions(opset, fixed is None, keep_intermediate, layout, quantize, calibration)
    for name in outputs:  # with all, an option applies to the targets that have it
        TARGETS.get(name).check_options(options if target != "all" else options.only_for(TARGETS.get(name).options))
    require_all(list(outputs))  # before any work: a missing framework is named with its pip extra
    graph = _load(net, weights, input_shapes, random_weights, seed, batch=fixed, targets=list(outputs),
                  dynamic_hw=dynamic_hw, layer_variants=layer_variants)
    graph = _cut(graph, cut_layers)
    _attach_metadata(graph, net, mean_file, mean_values, mean_per_channel, scale, std, raw_scale, channel_order,
                     input_layout, labels_path)
    graph = _preprocess(graph, preprocess_mode)
    for name, path in outputs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        own = options.only_for(TARGETS.get(name).options)
        written = api.convert(graph, name, path, force=force, opset=own.opset, dynamic_batch=own.dynamic_batch,
                              keep_intermediate=own.keep_intermediate, layout=own.layout, quantize=own.quantize,
                              calibration=own.calibration)
        click.echo(f"wrote {', '.join(map(str, written))} ({len(graph.caffe_layers)} Caffe layers, "
                   f"{graph.total_params:,} parameters)")


def _convert_outputs(target: str, output: str, force: bool) -> dict:
    """Target name -> output path, each checked. --to all writes every target into the
    folder `output` (created if missing), under the names convert-all uses."""
    from pathlib import Path

    if target != "all":
        spec = TARGETS.get(target)
        check_output(output, spec.output_kind, force, suffixes=spec.suffixes, writer=f"--to {target}")
        return {target: Path(output)}
    check_output(output, FOLDER, False, reuse=True, writer="--to all")
    outputs = {spec.name: Path(output) / spec.batch_output for spec in TARGETS}
    for name, path in outputs.items():
        if path.parent.is_dir():  # else the folder is made new: nothing in it to refuse
            spec = TARGETS.get(name)
            check_output(path, spec.output_kind, force, suffixes=spec.suffixes, writer=f"--to {name}")
    return outputs


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
@click.option("--tolerance", type=float, default=DEFAULT_TOLERANCE, show_default=True,
              help="Largest normalized max error max|got-want|/max|want| a blob may have.")
@click.option("--layer-tolerance", "layer_tolerances", multiple=True, metavar="LAYER=TOL",
              help="A tolerance for one Caffe layer's tops (repeatable).")
@click.option("--report", "report_paths", multiple=True, type=click.Path(dir_okay=False),
              help="Write the results to FILE: .json, .md, .xml (JUnit) or .html (repeatable).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--timeout", type=float, default=None, metavar="SECONDS",
              help="Give up after this long (exit 124); checked between operations.")
@click.option("--quiet", is_flag=True, help="Print nothing but errors and one line per target that fails.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@quantize_option
@calibration_option
@dynamic_hw_option
@outputs_option
@_preprocessing_options
@click.option("--image", "image_path", type=click.Path(dir_okay=False),
              help="Verify on this image (needs Pillow: the 'image' extra), sized as pycaffe's caffe.io does and "
                   "preprocessed as the options say, the same for both sides.")
@layer_variant_option
@click.option("--force", is_flag=True, help="Replace existing --report files.")
def verify(net, weights, input_shapes, plugins, protos, random_weights, seed, inputs_path, targets, reference,
           tolerance, layer_tolerances, report_paths, device, timeout, quiet, as_json, quantize, calibration,
           dynamic_hw, cut_layers, mean_file, mean_values, mean_per_channel, scale, std, raw_scale, channel_order,
           input_layout, labels_path, preprocess_mode, image_path, layer_variants, force):
    """Convert, run, and compare every Caffe top with the reference, layer by layer.

    Exit 0 when every compared blob is within tolerance, 1 when one is not, 2 on bad input,
    124 when --timeout ran out. The last line is the verdict over every target."""
    from .report import render_json, write_report_files
    from .report.terminal import console, print_verify
    from .verification import VerifySettings

    report_paths = _check_reports(report_paths, force)
    _plugins(plugins, protos)
    require_all(targets, run=True)  # before any work: a missing framework is named with its pip extra
    settings = VerifySettings(tolerance, parse_tolerances(layer_tolerances), device,
                              _verify_options(targets, quantize, calibration))
    preprocessing = (mean_file, mean_values, mean_per_channel, scale, std, raw_scale, channel_order, input_layout,
                     labels_path, preprocess_mode, image_path)
    with _deadline(timeout):
        report, classes = _verify(net, weights, input_shapes, random_weights, seed, inputs_path, targets, reference,
                                  settings, quiet or as_json, cut_layers, preprocessing, dynamic_hw, layer_variants)
    if as_json:
        click.echo(render_json(report))
    elif not quiet:
        for line in classes:  # before the tables: the last line stays the overall verdict
            click.echo(line)
        print_verify(report, console())
    for path in write_report_files(report, report_paths, force):
        if not (quiet or as_json):
            click.echo(f"wrote {path}")
    _print_failures(report, quiet)
    sys.exit(0 if report.passed else 1)


def _verify_options(targets, quantize: str | None, calibration: str | None) -> ConvertOptions:
    """verify --quantize/--calibration: TFLite's, refused when no --to tflite would use them."""
    options = ConvertOptions(quantize=quantize, calibration=calibration)
    if (quantize or calibration) and "tflite" not in targets:
        flags = " and ".join(f for f, v in (("--quantize", quantize), ("--calibration", calibration)) if v)
        raise Caffe2xError(f"{flags} applies to --to tflite only; verify --to {' --to '.join(targets)} would not "
                           "use it.")
    TARGETS.get("tflite").check_options(options)
    return options


def _print_failures(report, quiet: bool) -> None:
    """--quiet still says which target failed, one line each on stderr."""
    from .report.terminal import failure_lines

    if quiet:
        for line in failure_lines(report):
            click.echo(f"caffe2x: {line}", err=True)


@main.command("convert-all")
@click.argument("manifest", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False),
              help="Folder for every model's outputs, results and the summary reports.")
@click.option("--jobs", type=int, default=None, help="Models converted in parallel by the local pool [default: 1].")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: a pool of processes on this machine; ray: one Ray task per model (pip install "
                   "'caffe2x[ray]'), on a local Ray or the cluster at --address.")
@click.option("--address", default=None, metavar="ADDR",
              help="With --executor ray: the cluster to use ('auto' or HOST:PORT); default: start a local Ray.")
@click.option("--tolerance", type=float, default=None, help="Default tolerance (a model's own wins).")
@click.option("--layer-tolerance", "layer_tolerances", multiple=True, metavar="LAYER=TOL",
              help="A tolerance for a layer of any model (repeatable; a model's own wins).")
@click.option("--report", "report_paths", multiple=True, type=click.Path(dir_okay=False),
              help="Also write the summary to FILE (.json, .md, .xml, .html; repeatable).")
@click.option("--quiet", is_flag=True, help="Print nothing but errors and one line per target that fails.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary report as JSON on stdout.")
@click.option("--force", is_flag=True, help="Replace existing --report files.")
def convert_all(manifest, outdir, jobs, executor, address, tolerance, layer_tolerances, report_paths, quiet,
                as_json, force):
    """Convert and verify every model of MANIFEST.yaml; exit 1 if any fails.

    Writes OUTDIR/report.{json,md,xml,html}. Models whose files and settings are
    unchanged since the last run are not run again."""
    from pathlib import Path

    from .batch import SUMMARY_NAMES, check_batch_outputs, run_batch
    from .batch import load_manifest as read_manifest
    from .report import render_json, write_report_files
    from .report.terminal import console, print_batch, progress

    if jobs is not None and jobs < 1:
        raise Caffe2xError("--jobs must be at least 1.")
    if executor == "ray" and jobs is not None:
        raise Caffe2xError("--jobs sizes the local pool; on Ray, as many models run at once as the cluster has CPUs.")
    if executor != "ray" and address:
        raise Caffe2xError("--address names a Ray cluster: it needs --executor ray.")
    if executor == "ray":
        from .batch_ray import import_ray

        import_ray()  # before any model runs: a clear error if Ray is missing
    summary = [Path(outdir) / name for name in SUMMARY_NAMES]  # OUTDIR's own, rewritten on every run
    extra = [p for p in dict.fromkeys(report_paths) if Path(p).resolve() not in {s.resolve() for s in summary}]
    report_paths = _check_reports(extra, force)
    specs = read_manifest(manifest, tolerance, parse_tolerances(layer_tolerances))
    require_all([t for spec in specs for t in spec.targets], run=True)  # before any model runs
    check_batch_outputs(specs, outdir)
    with progress(console(stderr=True), len(specs), "models", enabled=not (quiet or as_json)) as steps:
        report = run_batch(specs, outdir, jobs or 1, on_start=steps.start, on_done=steps.done, executor=executor,
                           address=address)
    write_report_files(report, summary)
    write_report_files(report, report_paths, force)
    if as_json:
        click.echo(render_json(report))
    elif not quiet:
        print_batch(report, console())
        click.echo(f"reports: {', '.join(str(p) for p in summary)}")
    _print_failures(report, quiet)
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
    from .weights import save_weights, synthetic_weights

    check_output(output, FILE, force, suffixes=(".caffemodel",), writer="synth-weights")
    _plugins(plugins, protos)
    graph = synthetic_weights(api.load_net(net, None, _shapes(input_shapes)), seed)
    save_weights(graph, output, force)
    click.echo(f"wrote {output}: {graph.total_params:,} parameters in "
               f"{sum(1 for n in graph.nodes if n.weights)} layers")


@main.command("layers")
@plugin_option
@caffe_proto_option
@click.option("--json", "as_json", is_flag=True, help="Print the catalog as JSON (see README, 'Supported layers').")
@click.option("--markdown", is_flag=True, help="Print it as a Markdown table (the README's).")
def layers(plugins, protos, as_json, markdown):
    """List every Caffe layer type caffe2x reads: its origin (BVLC master, which fork, or a
    plugin), what each target does with it, and the parameters it honours."""
    from .catalog import layer_catalog
    from .catalog.render import as_json as catalog_json
    from .catalog.render import markdown_table, text_table

    if as_json and markdown:
        raise Caffe2xError("--json and --markdown cannot be used together.")
    _plugins(plugins, protos)
    entries = layer_catalog()
    if as_json:
        click.echo(json.dumps(catalog_json(entries), indent=1))
    else:
        click.echo(markdown_table(entries) if markdown else text_table(entries), nl=not markdown)


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


def _verify(net, weights, input_shapes, random_weights, seed, inputs_path, targets, reference, settings, quiet,
            cut_layers=None, preprocessing=(None,) * 9 + ("record", None), dynamic_hw=False, layer_variants=None):
    """The report, and the lines naming the top classes (or detections) of the reference's outputs."""
    from .report import Report
    from .report.terminal import console, progress
    from .verification import REFERENCE_STEP, choose_reference, is_file_reference, verify_net

    *options, labels_path, mode, image_path = preprocessing
    reference_blobs = _read_npz(reference) if is_file_reference(reference) else None
    if reference_blobs is not None and (image_path or mode == "embed"):
        raise PreprocessingError("--image and --preprocess embed need a computed reference (builtin, caffe or "
                                 "auto): a .npz reference holds its own input.")
    arrays = _read_inputs(inputs_path) if inputs_path else _inputs_of(reference_blobs)
    source = f"--inputs {inputs_path}" if inputs_path else f"--reference {reference}"
    graph = _load(net, weights, input_shapes, random_weights, seed, None if mode == "embed" else arrays,
                  arrays_source=source, targets=targets, dynamic_hw=dynamic_hw, layer_variants=layer_variants)
    graph = _cut(graph, cut_layers)
    check_input_values(graph, arrays)  # ROIs given as data: refused before anything runs
    _attach_metadata(graph, net, *options, labels_path)
    target_graph, target_inputs, arrays = _verify_inputs(graph, mode, image_path, arrays, seed)
    steps = len(set(targets)) + (reference_blobs is None)
    with progress(console(stderr=True), steps, "verifying", enabled=not quiet) as progress_steps:
        if reference_blobs is None:
            progress_steps.next(REFERENCE_STEP)
            reference = choose_reference(reference, weights)
            reference_blobs = api.reference_blobs(reference, net, weights, graph, arrays)
        if target_graph is not graph:  # the embedded steps' last blob must be the reference's input
            from .passes.preprocess import preprocessed_blob

            key = preprocessed_blob(target_graph)
            reference_blobs = {**reference_blobs, key: arrays[graph.values[graph.inputs[0]].top]}
        model = verify_net(target_graph, net, weights, targets, target_inputs, reference=reference,
                           blobs=reference_blobs, settings=settings, on_step=progress_steps.next,
                           keep_going=len(set(targets)) > 1)
    labels = graph.metadata.get("labels")
    classes = [f"reference {_describe_output(top, reference_blobs[key], labels)}"
               for top, key in zip(graph.output_tops, _output_keys(graph)) if key in reference_blobs]
    return Report([model]), classes + _agreement_lines(model) if (labels or image_path) else []


def _agreement_lines(model) -> list[str]:
    """Per target and classifier output: whether its top classes are the reference's."""
    return [f"{result.target} {record.top}: top-1 agrees on {record.top1:.0%} of the items, top-5 sets overlap "
            f"{record.top5:.0%}" for result in model.targets if result.verify
            for record in result.verify.records if record.top1 is not None]


def _output_keys(graph) -> list[str]:
    keys = {value: key for key, value in graph.blob_keys().items() if not key.startswith("input:")}
    return [keys.get(value, "") for value in graph.outputs]


def _verify_inputs(graph, mode: str, image_path, arrays: dict, seed: int):
    """(graph the targets convert, their inputs, the reference's inputs). record: both sides take the
    preprocessed input; embed: the targets take the image as held, the reference its preprocessing."""
    from .frontend.preprocess import Preprocessing, held_shape
    from .io.image import image_input

    spec_dict = graph.metadata.get("preprocessing")
    spec = Preprocessing.from_dict(spec_dict) if spec_dict else Preprocessing()
    name = graph.values[graph.inputs[0]].top if graph.inputs else None
    held = None
    if image_path:
        held = image_input(image_path, spec, graph.shape(graph.inputs[0]))
    elif mode == "embed":
        shape = held_shape(spec, graph.shape(graph.inputs[0]))
        random = np.random.default_rng(seed).uniform(0, 255 / spec.raw_scale, shape).astype(np.float32)
        held = arrays.get(name) if arrays else random
    if held is None:
        arrays = arrays or random_inputs(graph, seed)
        return graph, arrays, arrays
    preprocessed = {**(arrays or random_inputs(graph, seed)), name: api.apply_preprocessing(spec, held)}
    if mode != "embed":
        return graph, preprocessed, preprocessed
    return api.embed_preprocessing(graph), {**preprocessed, name: held}, preprocessed


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


def _describe_output(top: str, array: np.ndarray, labels: list[str] | None = None) -> str:
    text = f"{top}: shape {list(array.shape)}, min {array.min():.6g}, max {array.max():.6g}"
    if array.ndim == 4 and array.shape[:2] == (1, 1) and array.shape[3] == 7:
        return text + _describe_detections(array[0, 0], labels)
    if array.ndim >= 2 and array.shape[1] > 1 and np.prod(array.shape[2:], dtype=np.int64) == 1:
        first = array.reshape(array.shape[0], -1)[0]
        best = np.argsort(-first, kind="stable")[:5]
        named = labels is not None and len(labels) == len(first)  # names only where they fit the classes

        def name(i):
            return f"{i} {labels[i]!r}" if named else f"{i}"

        text += ", top-5 of item 0: " + ", ".join(f"{name(i)} ({first[i]:.4f})" for i in best)
    return text


def _describe_detections(rows: np.ndarray, labels: list[str] | None) -> str:
    """DetectionOutput's rows [image, label, score, xmin, ymin, xmax, ymax]: the five most confident,
    named (label -1 is the fork's "no detection" row)."""
    found = rows[rows[:, 1] >= 0]
    best = found[np.argsort(-found[:, 2], kind="stable")[:5]]

    def name(label: float) -> str:
        index = int(label)
        return f"{index} {labels[index]!r}" if labels is not None and 0 <= index < len(labels) else f"{index}"

    shown = ", ".join(f"{name(r[1])} {r[2]:.3f} at [{r[3]:.3f} {r[4]:.3f} {r[5]:.3f} {r[6]:.3f}]" for r in best)
    return f", {len(found)} detections" + (f", the most confident: {shown}" if len(best) else "")


def _numbers(text: str | None, option: str) -> tuple[float, ...] | None:
    if text is None:
        return None
    try:
        return tuple(float(v) for v in text.replace(" ", "").split(",") if v)
    except ValueError:
        raise PreprocessingError(f"{option} '{text}' is not a comma-separated list of numbers") from None


def _preprocess(graph, mode: str):
    """--preprocess embed: the steps become layers of the model; record: the snippet joins the metadata."""
    if mode == "embed":
        return api.embed_preprocessing(graph)
    api.record_preprocessing_snippet(graph)
    return graph


def _attach_metadata(graph, net, mean_file, mean_values, mean_per_channel, scale, std, raw_scale, channel_order,
                     input_layout, labels_path) -> None:
    """Preprocessing (data layer's transform_param and the options) and labels into the graph's
    metadata, which every target writes into its output."""
    from .frontend.preprocess import PreprocessingOptions

    options = PreprocessingOptions(mean_file, _numbers(mean_values, "--mean-values"), scale, _numbers(std, "--std"),
                                   raw_scale, channel_order, input_layout, mean_per_channel)
    api.attach_preprocessing(graph, net, options)
    if labels_path:
        api.attach_labels(graph, labels_path)


if __name__ == "__main__":
    main()
