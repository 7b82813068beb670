"""Class names of a model: `synset_words.txt` (one class per line, ImageNet's
"n01440764 tench, Tinca tinca") or the SSD fork's `labelmap.prototxt` (LabelMap:
`item { name label display_name }`)."""

from __future__ import annotations

import os
import re

from ..errors import PreprocessingError

_WNID = re.compile(r"^n\d{8}\s+")


def read_labels(path: str | os.PathLike) -> list[str]:
    """Class index -> name. A labelmap's missing indices get their number as name."""
    try:
        text = open(path, encoding="utf-8").read()  # noqa: SIM115
    except (OSError, UnicodeDecodeError) as exc:
        raise PreprocessingError(f"--labels {path}: cannot read it as text: {exc}.") from None
    if re.search(r"^\s*item\s*\{", text, re.M):
        return _labelmap(text, str(path))
    names = [_WNID.sub("", line.strip()) for line in text.splitlines() if line.strip()]
    if not names:
        raise PreprocessingError(f"--labels {path}: holds no class names.")
    return names


def _labelmap(text: str, path: str) -> list[str]:
    from .params.text import TextSyntaxError, parse_text

    try:
        tree = parse_text(text)
    except TextSyntaxError as exc:
        raise PreprocessingError(f"--labels {path}: is not a readable labelmap.prototxt: {exc}.") from None
    by_label = {}
    for item in tree.all("item"):
        fields = {f.name: f.value for f in item.value.fields} if item.kind == "message" else {}
        if "label" not in fields or not str(fields["label"]).lstrip("-").isdigit():
            raise PreprocessingError(f"--labels {path}: line {item.line}: an item without an integer label.")
        by_label[int(fields["label"])] = str(fields.get("display_name", fields.get("name", fields["label"])))
    if not by_label or min(by_label) < 0:
        raise PreprocessingError(f"--labels {path}: labels must be 0 or more, and there must be some.")
    return [by_label.get(i, str(i)) for i in range(max(by_label) + 1)]
