"""Write outputs atomically: to a temporary name beside the target, renamed
into place only when complete, so an error or Ctrl-C never leaves half a file
and never loses the previous output."""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from .outputs import FILE, FOLDER, OutputExistsError, check_output, write_owned_files

__all__ = ["OutputExistsError", "atomic_dir", "atomic_file", "staging_dir"]


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
    target = check_output(path, FILE, force)
    handle, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(handle)
    try:
        yield Path(temp)
        _publish(Path(temp), 0o666)
        check_output(target, FILE, force)  # again: the path may have changed while we worked
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | os.PathLike, force: bool = False) -> Iterator[Path]:
    """Like atomic_file, for an output folder. The folder gets a manifest of its files
    (see outputs.py), and --force replaces only a folder whose every file it lists."""
    target = check_output(path, FOLDER, force)
    temp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent))
    try:
        yield temp
        write_owned_files(temp)
        _publish(temp, 0o777)
        check_output(target, FOLDER, force)  # again: a user may have added a file while we worked
        _swap_in(temp, target)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def _swap_in(temp: Path, target: Path) -> None:
    """Put `temp` in place of `target`; the old folder is moved aside first and only
    deleted once the new one is in place, and put back if that fails (or on Ctrl-C)."""
    if not target.exists():
        os.replace(temp, target)
        return
    aside = target.parent / f".{target.name}.{uuid.uuid4().hex[:8]}.old"
    os.replace(target, aside)
    try:
        os.replace(temp, target)
    except BaseException:
        os.replace(aside, target)
        raise
    shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def staging_dir(path: str | os.PathLike) -> Iterator[Path]:
    """A private temporary folder beside `path`, removed at the end whatever happens:
    for writers that move several finished files into place themselves."""
    target = Path(path)
    with tempfile.TemporaryDirectory(prefix=f".{target.name}.", suffix=".part", dir=target.parent) as temp:
        yield Path(temp)
