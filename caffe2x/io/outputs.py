"""Every output path is checked here, before any work is done, and again just before
a result replaces it: a 6 GB conversion must not end in "already exists".

Which files in a folder are caffe2x's: every output folder caffe2x writes holds a
small manifest, OWNED_FILES_NAME, listing each file it wrote. A fixed list of names
per target would not do: a TensorFlow SavedModel's files change with the TensorFlow
version, and a name alone cannot tell our model.py from a user's. `--force` replaces
a folder only when every file in it is listed in its manifest (or it holds no file at
all); otherwise the folder is left as it is and the command refuses, so nothing of
the user's is ever deleted and the replacement stays one atomic swap.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..display import shown
from ..errors import Caffe2xError

FILE, FOLDER = "file", "folder"
OWNED_FILES_NAME = ".caffe2x-files.json"

# Suffixes of formats a reader would take a file for: an output named so but holding
# another format is refused (an ONNX model under a .tflite name fails far from here).
# Suffixes not listed here are accepted: a name like "resnet-v1.5" is the user's choice.
KNOWN_FORMATS = {
    ".onnx": "an ONNX model", ".tflite": "a TFLite model", ".pt": "a PyTorch file", ".pt2": "a PyTorch program",
    ".pth": "a PyTorch file", ".keras": "a Keras model", ".h5": "an HDF5 file", ".pb": "a TensorFlow protobuf",
    ".npz": "NumPy arrays", ".caffemodel": "Caffe weights", ".prototxt": "a Caffe net", ".json": "a JSON report",
    ".md": "a Markdown report", ".xml": "a JUnit report", ".html": "an HTML report",
}


class OutputExistsError(Caffe2xError):
    """The output exists and --force was not given."""


class OutputPathError(Caffe2xError):
    """An output path cannot be written as asked: a folder where a file goes (or the reverse),
    a suffix naming another format, a missing or read-only parent folder."""


class ForeignFilesError(Caffe2xError):
    """--force would replace a folder that holds files caffe2x did not write."""


def check_output(path: str | os.PathLike, kind: str, force: bool, *, suffixes: Iterable[str] | None = None,
                 only_suffixes: bool = False, option: str = "-o", writer: str = "this", reuse: bool = False) -> Path:
    """Refuse, before any work, an output that cannot be written as asked.

    kind: FILE or FOLDER. suffixes: the suffixes of what is written (".onnx"; none for a
    folder); a suffix of another known format is refused, an unknown one accepted unless
    only_suffixes. None: the caller does not say what format it writes; no suffix check.
    option and writer name the command line's words in messages ("-o", "--to onnx").
    reuse: an existing folder is written into, not replaced (convert-all's OUTDIR)."""
    target = Path(path)
    where = f"{option} {shown(str(target))}"  # escaped: a message stays one paragraph
    if suffixes is not None:
        _check_suffix(target, kind, tuple(s.lower() for s in suffixes), only_suffixes, where, writer)
    if target.exists() or target.is_symlink():
        _check_existing(target, kind, force, where, writer, reuse)
    _check_writable(target, reuse, where)
    return target


def _check_writable(target: Path, reuse: bool, where: str) -> None:
    """The folder the output goes into exists and can be written. A reused folder is
    itself written into, and created with its parents: its nearest existing one counts."""
    home = next(p for p in [target, *target.parents] if p.exists()) if reuse else target.parent
    if not home.exists():
        raise OutputPathError(f"{where}: the folder {shown(str(home))} does not exist.")
    if not home.is_dir():
        raise OutputPathError(f"{where}: {shown(str(home))} is not a folder.")
    if not os.access(home, os.W_OK | os.X_OK):
        raise OutputPathError(f"{where}: cannot write in the folder {shown(str(home))} (permission denied).")


def _check_suffix(target: Path, kind: str, suffixes: tuple[str, ...], only: bool, where: str, writer: str) -> None:
    suffix = target.suffix.lower()
    if suffix in suffixes:
        return
    wanted = " or ".join(suffixes)
    if only:
        raise OutputPathError(f"{where}: choose a name ending in {wanted}.")
    if suffix in KNOWN_FORMATS:
        writes = f"a file ending in {wanted}" if suffixes else f"a {kind}"
        raise OutputPathError(f"{where}: '{suffix}' names {KNOWN_FORMATS[suffix]}, but {writer} writes "
                              f"{writes}; give a name {f'ending in {wanted}' if suffixes else 'without it'}.")


def _check_existing(target: Path, kind: str, force: bool, where: str, writer: str, reuse: bool) -> None:
    if kind == FILE and target.is_dir():
        raise OutputPathError(f"{where}: is a folder, but {writer} writes a file; give a file name "
                              "(a folder is never replaced by a file, even with --force).")
    if kind == FOLDER and not target.is_dir():
        raise OutputPathError(f"{where}: is a file, but {writer} writes a folder; give a folder name "
                              "(a file is never replaced by a folder, even with --force).")
    if reuse:
        return
    if not force:
        raise OutputExistsError(f"{where}: already exists; pass --force to replace it.")
    if kind == FOLDER and target.is_symlink():
        raise ForeignFilesError(f"{where}: is a symbolic link; --force replaces only a folder caffe2x wrote, "
                                "never a link to one, so nothing was changed.")
    if kind == FOLDER:
        check_folder_is_ours(target, where)


def check_folder_is_ours(folder: Path, where: str) -> None:
    """Raise ForeignFilesError unless every file under `folder` is listed in its manifest."""
    owned = _owned_files(folder)
    foreign = [name for name in _files_under(folder) if name not in owned and name != OWNED_FILES_NAME]
    if not foreign:
        return
    listed = ", ".join(shown(name) for name in foreign[:5])
    listed += f" and {len(foreign) - 5} more" if len(foreign) > 5 else ""
    why = ("" if (folder / OWNED_FILES_NAME).is_file()
           else f" (it has no {OWNED_FILES_NAME}: caffe2x did not write it, or wrote it before keeping one)")
    raise ForeignFilesError(f"{where}: holds files caffe2x did not write{why}: {listed}. --force "
                            "replaces only caffe2x's own output folders, so nothing was changed; move those "
                            "files away or choose another folder.")


def _owned_files(folder: Path) -> set[str]:
    try:
        listed = json.loads((folder / OWNED_FILES_NAME).read_text(encoding="utf-8"))["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    return {name for name in listed if isinstance(name, str)} if isinstance(listed, list) else set()


def _files_under(folder: Path) -> list[str]:
    """Every entry that is not a real folder (files, links, sockets...), as sorted relative paths."""
    found = []
    for root, dirs, files in os.walk(folder):
        links = [d for d in dirs if os.path.islink(os.path.join(root, d))]  # never followed: a user's entry
        dirs[:] = [d for d in dirs if d not in links]
        found += [Path(root, name).relative_to(folder).as_posix() for name in [*files, *links]]
    return sorted(found)


def write_owned_files(folder: Path) -> None:
    """Write the manifest listing every file now in `folder` (called on a complete staging folder)."""
    files = [name for name in _files_under(folder) if name != OWNED_FILES_NAME]
    (folder / OWNED_FILES_NAME).write_text(json.dumps({"written_by": "caffe2x", "files": files}, indent=1),
                                           encoding="utf-8")
