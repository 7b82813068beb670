"""Terminal output: rich tables (colour only on a TTY) and progress bars."""

from __future__ import annotations

import contextlib
import os
import sys
import threading

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
    """The target's verdict; every line names the target, so several targets cannot be confused."""
    name = target.target
    if target.status == ERROR:
        return f"{name}: ERROR: {shown(target.error or '')}"
    verify = target.verify
    failed = sum(not r.passed for r in verify.records)
    worst = max(verify.records, key=lambda r: r.error.normalized_max, default=None)
    text = (f"{name} vs {verify.reference}: {len(verify.records)} blobs compared, {failed} failed"
            + (f"; worst {shown(worst.layer)}:{shown(worst.top)} at {worst.error.normalized_max:.2e}" if worst else "")
            + (f"; {shown(verify.tolerance_note)}" if getattr(verify, "tolerance_note", None) else ""))
    return f"{text}\n{name}: {verdict(target)}"


def verdict(target) -> str:
    """One line: PASS, FAIL with the first divergence, or ERROR with why."""
    if target.status == ERROR:
        return f"ERROR: {shown(target.error or '')}"
    first = target.first_divergence
    if first:
        return (f"FAIL: first divergence: layer '{shown(first.layer)}' top '{shown(first.top)}' "
                f"(normalized max error {first.error.normalized_max:.2e} > {first.tolerance:.0e})"
                + (f": {shown(first.note)}" if first.note else ""))
    if not target.verify.records:
        return "FAIL: nothing compared: the reference and the model share no blob"
    return "PASS: every blob within tolerance"


def overall_line(report: Report) -> str:
    """The last line of verify: the verdict over every target."""
    targets = [t for m in report.models for t in m.targets]
    bad = [t.target for t in targets if t.status != PASSED]
    if not bad and report.passed:
        return f"overall: PASS ({len(targets)} of {len(targets)} targets pass)"
    return f"overall: FAIL ({', '.join(bad) or 'no target'} did not pass; {len(targets) - len(bad)} of " \
           f"{len(targets)} targets pass)"


def failure_lines(report: Report) -> list[str]:
    """One line per target that did not pass: what --quiet still prints."""
    return [f"{shown(model.name)}: {target.target}: {verdict(target)}" for model in report.models
            for target in model.targets if target.status != PASSED]


def print_verify(report: Report, out) -> None:
    targets = [t for m in report.models for t in m.targets]
    for target in targets:
        if target.verify and target.verify.records:
            out.print(blob_table(target))
        out.print(summary_line(target), style="green" if target.status == PASSED else "red", markup=False)
    if len(targets) > 1:
        out.print("summary:", markup=False)
        width = max(12, *(len(_label(t)) + 1 for t in targets))  # a label with an input size is longer
        for target in targets:
            out.print(f"  {_label(target):<{width}}{verdict(target)}", style="green" if target.status == PASSED
                      else "red", markup=False)
    out.print(overall_line(report), style="green" if report.passed else "red", markup=False)


def _label(target) -> str:
    """The target's name, and the input size where a dynamic-size model is verified at several."""
    reference = target.verify.reference if target.verify else ""
    return f"{target.target} ({reference.split(' at ', 1)[1]})" if " at " in reference else target.target


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
            label = shown(model.name) + (" (cached)" if model.cached else "") + (" (retried)" if model.retries else "")
            table.add_row(label, target.target,
                          f"[{color}]{target.status}[/]", str(len(records)),
                          f"{worst:.2e}" if worst is not None else "", where)
    out.print(table)
    out.print(f"{sum(m.passed for m in report.models)} of {len(report.models)} models pass",
              style="green" if report.passed else "red")


class Steps:
    """The label of a progress bar: the steps in progress (not the last one finished).

    A pipeline calls start(label) as a step begins and done(label) as it ends; next(label)
    ends every running step and starts another (a sequential pipeline). `show(text, finished)`
    receives the label and the number of steps finished so far."""

    def __init__(self, description: str, show=None):
        self.description = description
        self.show = show or (lambda text, finished: None)
        self.running: list[str] = []
        self.finished = 0
        self._lock = threading.Lock()

    def start(self, label: str) -> None:
        with self._lock:
            self.running.append(label)
            self._update()

    def done(self, label: str) -> None:
        with self._lock:
            if label in self.running:
                self.running.remove(label)
            self.finished += 1
            self._update()

    def next(self, label: str) -> None:
        with self._lock:
            self.finished += len(self.running)
            self.running = [label]
            self._update()

    @property
    def label(self) -> str:
        return f"{self.description} {', '.join(shown(r) for r in self.running)}".strip()

    def _update(self) -> None:
        self.show(self.label, self.finished)


@contextlib.contextmanager
def progress(out, total: int, description: str, enabled: bool = True):
    """A progress bar on a terminal; nothing elsewhere. Yields a Steps."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled or not out.is_terminal:
        yield Steps(description)
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=out, transient=True) as bar:
        task = bar.add_task(description, total=total)
        yield Steps(description, lambda text, finished: bar.update(task, completed=finished, description=text))
