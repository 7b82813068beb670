"""Terminal output: rich tables (colour only on a TTY) and progress bars."""

from __future__ import annotations

import contextlib
import os
import sys

from ..display import shown
from .model import ERROR, PASSED, Report


def console(stderr: bool = False):
    from rich.console import Console

    # rich colours only a real terminal and honours NO_COLOR; be explicit for pipes.
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, no_color=bool(os.environ.get("NO_COLOR")), highlight=False, soft_wrap=True,
                   width=None if stream.isatty() else 200)


def blob_table(target):
    from rich.table import Table

    table = Table(title=f"{target.target} vs {target.verify.reference}", title_justify="left")
    for column, justify in (("layer", "left"), ("top", "left"), ("shape", "left"), ("norm max err", "right"),
                            ("max abs err", "right"), ("cosine", "right"), ("", "left")):
        table.add_column(column, justify=justify)
    first = target.first_divergence
    for r in target.verify.records:
        status = "[bold red]FIRST DIVERGENCE[/]" if r is first else ("ok" if r.passed else "[red]FAIL[/]")
        table.add_row(shown(r.layer), shown(r.top), "x".join(map(str, r.shape)) or "scalar",
                      f"{r.error.normalized_max:.3e}", f"{r.error.max_abs:.3e}", f"{r.error.cosine:.8f}", status,
                      style="red" if not r.passed else None)
    return table


def summary_line(target) -> str:
    if target.status == ERROR:
        return f"{target.target}: ERROR: {shown(target.error or '')}"
    verify = target.verify
    failed = sum(not r.passed for r in verify.records)
    worst = max(verify.records, key=lambda r: r.error.normalized_max, default=None)
    text = (f"{target.target} vs {verify.reference}: {len(verify.records)} blobs compared, {failed} failed"
            + (f"; worst {shown(worst.layer)}:{shown(worst.top)} at {worst.error.normalized_max:.2e}" if worst else ""))
    first = target.first_divergence
    if first:
        text += (f"\nfirst divergence: layer '{shown(first.layer)}' top '{shown(first.top)}' "
                 f"(normalized max error {first.error.normalized_max:.2e} > {first.tolerance:.0e})")
    elif not verify.records:
        text += "\nnothing compared: the reference and the model share no blob"
    else:
        text += "\nPASS: every blob within tolerance"
    return text


def print_verify(report: Report, out) -> None:
    for model in report.models:
        for target in model.targets:
            if target.verify and target.verify.records:
                out.print(blob_table(target))
            style = "green" if target.status == PASSED else "red"
            out.print(summary_line(target), style=style, markup=False)


def print_batch(report: Report, out) -> None:
    from rich.table import Table

    table = Table(title="caffe2x convert-all", title_justify="left")
    for column in ("model", "target", "status", "compared", "worst error", "first divergence"):
        table.add_column(column)
    for model in report.models:
        if model.error:
            table.add_row(shown(model.name), "-", "[red]error[/]", "", "", shown(model.error))
        for target in model.targets:
            records = target.verify.records if target.verify else []
            worst = max((r.error.normalized_max for r in records), default=None)
            first = target.first_divergence
            where = (f"{shown(first.layer)}:{shown(first.top)}" if first else
                     shown(target.error or "") if target.status == ERROR else "-")
            color = {"passed": "green", "failed": "red", "error": "red"}[target.status]
            table.add_row(shown(model.name) + (" (cached)" if model.cached else ""), target.target,
                          f"[{color}]{target.status}[/]", str(len(records)),
                          f"{worst:.2e}" if worst is not None else "", where)
    out.print(table)
    out.print(f"{sum(m.passed for m in report.models)} of {len(report.models)} models pass",
              style="green" if report.passed else "red")


@contextlib.contextmanager
def progress(out, total: int, description: str, enabled: bool = True):
    """A progress bar on a terminal; nothing elsewhere. Yields advance(label)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled or not out.is_terminal:
        yield lambda label="": None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=out, transient=True) as bar:
        task = bar.add_task(description, total=total)

        def advance(label: str = "") -> None:
            bar.update(task, advance=1, description=f"{description} {shown(label)}".strip())

        yield advance
