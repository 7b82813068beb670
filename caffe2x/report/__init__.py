"""Parity reports: one set of records, four formats (JSON, Markdown, JUnit XML, HTML)."""

from .formats import RENDERERS, render_html, render_json, render_junit, render_markdown, schema, write_report_files
from .model import ERROR, FAILED, PASSED, ModelResult, Report, TargetResult, target_result

__all__ = ["ERROR", "FAILED", "PASSED", "RENDERERS", "ModelResult", "Report", "TargetResult", "render_html",
           "render_json", "render_junit", "render_markdown", "schema", "target_result", "write_report_files"]
