"""Report files, chosen by extension: .json, .md, .xml (JUnit), .html."""

from __future__ import annotations

import json
import math
from html import escape
from importlib import resources
from xml.etree import ElementTree

from ..errors import Caffe2xError
from ..io.atomic import atomic_file
from .model import ERROR, PASSED, Report


def _color(target: str) -> str:
    from ..targets import TARGETS

    return TARGETS.get(target).color if target in TARGETS else "#555"


def schema() -> dict:
    """The JSON report's schema; its list of targets is the registry's."""
    from ..targets import TARGETS

    document = json.loads(resources.files(__package__).joinpath("schema.json").read_text())
    document["$defs"]["target"]["properties"]["target"] = {"enum": TARGETS.names()}
    return document


def render_json(report: Report) -> str:
    return json.dumps(_finite(report.as_dict()), indent=1, ensure_ascii=False)


def _finite(value):
    """JSON has no inf or NaN: write infinities as ±1e308 and NaN as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return 1e308 if value > 0 else (-1e308 if value < 0 else None)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", "\\n")


def _divergence(target) -> str:
    if target.status == ERROR:
        return f"error: {target.error}"
    first = target.first_divergence
    if first is None:
        return "-"
    return f"**{first.layer}:{first.top}** ({first.error.normalized_max:.2e} > {first.tolerance:.0e})"


def render_markdown(report: Report) -> str:
    lines = ["# caffe2x parity report", "",
             f"{sum(m.passed for m in report.models)} of {len(report.models)} models pass "
             f"({report.created}).", ""]
    for model in report.models:
        lines += [f"## {_cell(model.name)}: {'PASS' if model.passed else 'FAIL'}", ""]
        lines += [f"Run again after its task failed: {_cell(reason)}" for reason in model.retries]
        lines += [""] if model.retries else []
        if model.error:
            lines += [f"Could not read the model: {_cell(model.error)}", ""]
            continue
        lines += ["| target | status | compared | worst normalized max error | top-1 | first divergence |",
                  "|---|---|---|---|---|---|"]
        for target in model.targets:
            records = target.verify.records if target.verify else []
            worst = max((r.error.normalized_max for r in records), default=float("nan"))
            top1 = next((f"{r.top1:.0%}" for r in records if r.top1 is not None), "-")
            lines.append(f"| {target.target} | {target.status} | {len(records)} | {worst:.2e} | {top1} | "
                         f"{_cell(_divergence(target))} |")
        lines.append("")
        for target in model.targets:
            if not target.verify:
                continue
            first = target.first_divergence
            lines += [f"<details><summary>{target.target}: every blob</summary>", "",
                      "| layer | top | shape | normalized max error | max abs error | cosine | |",
                      "|---|---|---|---|---|---|---|"]
            for r in target.verify.records:
                mark = "**first divergence**" if r is first else ("ok" if r.passed else "FAIL")
                lines.append(f"| {_cell(r.layer)} | {_cell(r.top)} | {'x'.join(map(str, r.shape))} | "
                             f"{r.error.normalized_max:.2e} | {r.error.max_abs:.2e} | {r.error.cosine:.6f} | {mark} |")
            lines += ["", "</details>", ""]
    return "\n".join(lines) + "\n"


def render_junit(report: Report) -> str:
    suite = ElementTree.Element("testsuite", name="caffe2x", timestamp=report.created)
    counts = {"tests": 0, "failures": 0, "errors": 0}
    for model in report.models:
        targets = model.targets or []
        if model.error:
            case = ElementTree.SubElement(suite, "testcase", classname=model.name, name="read")
            ElementTree.SubElement(case, "error", message=model.error).text = model.error
            counts["tests"] += 1
            counts["errors"] += 1
        for target in targets:
            counts["tests"] += 1
            case = ElementTree.SubElement(suite, "testcase", classname=model.name, name=target.target,
                                          time=f"{target.seconds:.3f}")
            if target.status == ERROR:
                counts["errors"] += 1
                ElementTree.SubElement(case, "error", message=target.error or "error").text = target.error
            elif target.status != PASSED:
                counts["failures"] += 1
                first = target.first_divergence
                message = (f"first diverging layer: {first.layer} top {first.top}: normalized max error "
                           f"{first.error.normalized_max:.3e} > {first.tolerance:.0e}")
                failing = "\n".join(f"{r.layer}:{r.top} {r.error.normalized_max:.3e}"
                                    for r in target.verify.records if not r.passed)
                ElementTree.SubElement(case, "failure", message=message).text = failing
    for key, value in counts.items():
        suite.set(key, str(value))
    root = ElementTree.Element("testsuites", **{k: str(v) for k, v in counts.items()})
    root.append(suite)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _plot(model, width: int = 760, height: int = 240) -> str:
    """An inline SVG: log10 normalized max error per blob along the net, one line per target."""
    # x is the blob's place in the net: targets that fold layers (ONNX) compare fewer blobs,
    # and their points still sit above the same layers as the others'.
    series = {t.target: [(r.index, r.error.normalized_max) for r in t.verify.records]
              for t in model.targets if t.verify}
    count = 1 + max((i for points in series.values() for i, _ in points), default=-1)
    if count == 0:
        return "<p>No blob compared.</p>"
    low, high = -9.0, 0.0
    left, bottom = 50, height - 30

    def y(err: float) -> float:
        value = math.log10(min(max(err, 1e-9), 1.0)) if math.isfinite(err) else high
        return bottom - (value - low) / (high - low) * (bottom - 10)

    def x(i: int) -> float:
        return left + (width - left - 10) * (i / max(count - 1, 1))

    parts = [f'<svg class="plot" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" role="img" aria-label="error per layer">']
    for exponent in range(int(low), int(high) + 1, 3):
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y(10.0 ** exponent):.1f}" '
                     f'y2="{y(10.0 ** exponent):.1f}" stroke="#ddd"/><text x="4" y="{y(10.0 ** exponent) + 4:.1f}" '
                     f'font-size="11">1e{exponent}</text>')
    tolerance = next((t.verify.records[0].tolerance for t in model.targets if t.verify and t.verify.records), None)
    if tolerance:
        parts.append(f'<line class="tolerance" x1="{left}" x2="{width - 10}" y1="{y(tolerance):.1f}" '
                     f'y2="{y(tolerance):.1f}" stroke="#999" stroke-dasharray="4 3"/>')
    for index, (target, errors) in enumerate(series.items()):
        points = " ".join(f"{x(i):.1f},{y(e):.1f}" for i, e in sorted(errors))
        color = _color(target)
        parts.append(f'<polyline class="series" data-target="{escape(target)}" fill="none" stroke="{color}" '
                     f'stroke-width="1.5" points="{points}"/>')
        parts.append(f'<text x="{left + 10 + 110 * index}" y="{height - 8}" font-size="12" fill="{color}">'
                     f'{escape(target)}</text>')
    parts.append(f'<text x="{width - 170}" y="{height - 8}" font-size="11">layers in net order →</text>'
                 f'<text x="{left}" y="12" font-size="11">normalized max error (log)</text></svg>')
    return "".join(parts)


def render_html(report: Report) -> str:
    rows = []
    for model in report.models:
        for target in model.targets or []:
            rows.append(f"<tr class=\"{target.status}\"><td>{escape(model.name)}</td><td>{target.target}</td>"
                        f"<td>{target.status}</td><td>{escape(_divergence(target).replace('**', ''))}</td></tr>")
        if model.error:
            rows.append(f"<tr class=\"error\"><td>{escape(model.name)}</td><td>-</td><td>error</td>"
                        f"<td>{escape(model.error)}</td></tr>")
    sections = [f"<section><h2>{escape(model.name)}: {'PASS' if model.passed else 'FAIL'}</h2>{_plot(model)}"
                "</section>" for model in report.models if not model.error]
    style = ("body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:.2em .6em}.failed,.error{background:#fdd}.passed{background:#efe}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>caffe2x parity report</title>"
            f"<style>{style}</style></head><body><h1>caffe2x parity report</h1>"
            f"<p>{sum(m.passed for m in report.models)} of {len(report.models)} models pass ({report.created}). "
            "Each plot shows the normalized max error of every Caffe blob along the net (log scale), one line "
            "per target; the dashed line is the tolerance.</p>"
            "<table><tr><th>model</th><th>target</th><th>status</th><th>first divergence</th></tr>"
            + "".join(rows) + "</table>" + "".join(sections) + "</body></html>\n")


RENDERERS = {".json": render_json, ".md": render_markdown, ".xml": render_junit, ".html": render_html}


def write_report_files(report: Report, paths, force: bool = True) -> list[str]:
    written = []
    for path in paths:
        suffix = str(path)[str(path).rfind("."):].lower() if "." in str(path) else ""
        if suffix not in RENDERERS:
            raise Caffe2xError(f"--report {path}: choose a .json, .md, .xml (JUnit) or .html file.")
        with atomic_file(path, force) as temp:
            temp.write_text(RENDERERS[suffix](report), encoding="utf-8")
        written.append(str(path))
    return written
