"""The `caffe2x` command line: a thin shell over the library.

Exit codes: 0 success, 1 a check failed (verify), 2 bad input (any
Caffe2xError, or a usage error), 3 an internal error, 130 interrupted.
"""

from __future__ import annotations

import json
import os
import sys
import traceback

import click
import numpy as np

from . import api
from .errors import Caffe2xError, InputShapeError
from .io.atomic import atomic_file
from .ir.inputs import parse_input_shape
from .summary import format_table, summarize

EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 2, 3, 130


class _Group(click.Group):
    """Turns every error into one paragraph on stderr and an exit code: never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except Caffe2xError as exc:
            click.echo(f"caffe2x: error: {exc}", err=True)
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


def _plugins(values: tuple[str, ...]) -> None:
    api.load_plugins([*os.environ.get("CAFFE2X_PLUGINS", "").split(","), *values])


net_argument = click.argument("net", type=click.Path(dir_okay=False))
weights_option = click.option("-w", "--weights", type=click.Path(dir_okay=False),
                              help="The .caffemodel with the trained weights.")
shape_option = click.option("--input-shape", "input_shapes", multiple=True, metavar="NAME=D0,D1,..",
                            help="Set or override an input's shape (repeatable).")
plugin_option = click.option("--plugin", "plugins", multiple=True, metavar="MODULE",
                             help="Import a module that registers custom layers (repeatable).")


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="caffe2x")
def main() -> None:
    """Convert Caffe models and prove the result layer by layer."""


@main.command()
@net_argument
@weights_option
@shape_option
@plugin_option
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def inspect(net, weights, input_shapes, plugins, as_json):
    """Show every layer with Caffe's output shapes, parameters and FLOPs."""
    _plugins(plugins)
    graph = api.load_net(net, weights, _shapes(input_shapes))
    click.echo(json.dumps(summarize(graph), indent=1) if as_json else format_table(graph))


@main.command()
@net_argument
@weights_option
@shape_option
@plugin_option
@click.option("--inputs", "inputs_path", type=click.Path(dir_okay=False),
              help=".npz with the inputs (keys NAME or input:NAME); default: seeded random.")
@click.option("--seed", default=0, show_default=True, help="Seed for random inputs (and weights).")
@click.option("--random-weights", is_flag=True, help="Run without a caffemodel, on random weights.")
@click.option("-o", "--output", type=click.Path(dir_okay=False),
              help="Write every blob to this .npz, keyed like the golden files (LAYER:TOP).")
@click.option("--force", is_flag=True, help="Replace an existing output.")
def run(net, weights, input_shapes, plugins, inputs_path, seed, random_weights, output, force):
    """Run the NumPy reference forward pass (Caffe's semantics, no Caffe needed)."""
    from .reference import as_golden_blobs
    from .reference import run as forward
    from .weights import fill_random

    _plugins(plugins)
    if not weights and not random_weights:
        raise Caffe2xError("run needs weights: give -w W.caffemodel, or --random-weights.")
    shapes = _shapes(input_shapes)
    arrays = _read_inputs(inputs_path) if inputs_path else {}
    for name, array in arrays.items():
        shapes.setdefault(name, array.shape)
    graph = api.load_net(net, weights, shapes)
    if not weights:
        fill_random(graph, seed)
    if not inputs_path:
        arrays = random_inputs(graph, seed)
    values = forward(graph, arrays)
    for top, name in zip(graph.output_tops, graph.outputs):
        click.echo(_describe_output(top, values[name]))
    if output:
        with atomic_file(output, force) as temp:
            with open(temp, "wb") as handle:
                np.savez(handle, **as_golden_blobs(graph, values))
        click.echo(f"wrote {output}")


def random_inputs(graph, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {graph.values[v].top: rng.standard_normal(graph.values[v].shape).astype(np.float32)
            for v in graph.inputs}


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
