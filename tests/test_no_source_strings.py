"""Runtime code is real code: no Python class or function source hides in a string
literal under caffe2x/targets, where no linter, type checker or test could see it.

The generated model.py copies the runtime classes from caffe2x/targets/*/runtime.py
with inspect-free source extraction (caffe2x.targets.runtime_source). The only
definitions a literal may spell are the generated net's own skeleton, whose body is
the net: PyTorch's __init__/forward and Keras' build_model.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import caffe2x

TARGETS = Path(caffe2x.__file__).parent / "targets"
# A line that opens a definition: `class Name(` / `class Name:` / `def name(`.
DEFINITION = re.compile(r"^\s*(?:async\s+)?(class|def)\s+(\w+)\s*[(:]", re.MULTILINE)
# File (relative to caffe2x/targets) -> names its literals may define: the net's skeleton.
SKELETON = {"torch/codegen.py": {"__init__", "forward"}, "tensorflow/codegen.py": {"build_model"}}


def source_in_literals(path: Path, allowed: set[str]) -> list[str]:
    """`file:line: kind name` for every definition spelled inside a string literal
    (plain or an f-string's constant parts) of the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in DEFINITION.finditer(node.value):
                kind, name = match.groups()
                if kind == "class" or name not in allowed:
                    found.append(f"{path.as_posix()}:{node.lineno}: {kind} {name}")
    return found


def test_no_class_or_function_source_in_string_literals():
    files = sorted(TARGETS.rglob("*.py"))
    assert len(files) > 20
    found = [hit for path in files for hit in source_in_literals(path, SKELETON.get(
        path.relative_to(TARGETS).as_posix(), set()))]
    assert not found, "runtime source in string literals:\n" + "\n".join(found)


def test_the_check_sees_plain_and_formatted_literals(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('A = """\nclass Scale(nn.Module):\n    pass\n"""\n'
                      'B = f"""\n    def forward(self, {1}):\n"""\n'
                      'C = "a class of layers; def is a keyword"\n'
                      'D = """Copies each function,\nclass or constant it needs."""\n', encoding="utf-8")
    hits = source_in_literals(sample, set())
    assert [h.split(": ", 1)[1] for h in hits] == ["class Scale", "def forward"]
    assert source_in_literals(sample, {"forward"})[1:] == []
