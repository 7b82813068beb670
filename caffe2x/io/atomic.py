"""Write outputs atomically: to a temporary name beside the target, renamed
into place only when complete, so an error or Ctrl-C never leaves half a file."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ..errors import Caffe2xError


class OutputExistsError(Caffe2xError):
    """The output exists and --force was not given."""


def check_target(path: str | os.PathLike, force: bool) -> Path:
    target = Path(path)
    if target.exists() and not force:
        raise OutputExistsError(f"{target}: already exists; pass --force to replace it.")
    if not target.parent.exists():
        raise Caffe2xError(f"{target}: the folder {target.parent} does not exist.")
    return target


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _publish(temp: Path, mode: int) -> None:
    """Temporary files are private (0600/0700); the result gets the usual permissions."""
    os.chmod(temp, mode & ~_umask())


@contextlib.contextmanager
def atomic_file(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; it replaces `path` only if the block succeeds."""
    target = check_target(path, force)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temp)
        _publish(Path(temp), 0o666)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Like atomic_file, for an output folder."""
    target = check_target(path, force)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        yield temp
        _publish(temp, 0o777)
        if target.exists():
            shutil.rmtree(target)
        os.replace(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
