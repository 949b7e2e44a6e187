"""Atomic file output: every command writes to a temp file in the target directory, then renames.

An interrupted run therefore leaves either the old file or the new one, never half of one
(``os.replace`` is atomic on POSIX when source and target share a filesystem).

Only regular files are replaced. A rename swaps whatever the target name points at for the new
file, so writing "over" a device node (``-o /dev/full``), a FIFO, a folder or a symlink to one of
them would silently replace that node (as root, a system device) instead of writing into it; such
targets are refused, as is a target whose folder cannot be created or written. Every refusal and
every failed write is an :class:`OutputError`, which the CLI reports in one line.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from interpbench.infra.errors import InterpbenchError


class OutputError(InterpbenchError, OSError):
    """An output that cannot be written where it was asked to go (also an ``OSError``, so code that
    handles a failed write as an ``OSError`` keeps doing so)."""


def _describe(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def check_target(target: str | os.PathLike[str]) -> Path:
    """``target`` as a Path, after checking that a file may be written there.

    Refused (``OutputError``): a name that is an existing non-regular file (a folder, a device, a
    FIFO, or a symlink to one), a name with no file part (``.``, ``..``, ``dir/``), and a target
    whose folder is, or lies under, an existing non-folder. Commands call this before long work so
    that a bad ``-o`` fails at once; :func:`atomic_path` calls it again just before writing.
    """
    text = os.fspath(target)
    path = Path(text)
    if text == "" or text.endswith(os.sep) or path.name in ("", ".", ".."):
        raise OutputError(f"output {text!r} names a folder, not a file")
    try:
        mode = os.stat(path).st_mode  # follows symlinks: a link to a device is a device
    except FileNotFoundError:
        mode = None  # absent (or a dangling symlink, which the rename replaces)
    except NotADirectoryError:
        raise OutputError(f"cannot write {path}: a parent of it is a file, not a folder") from None
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise OutputError(f"refusing to write {path}: it is {_describe(mode)}, not a regular file")
    for parent in path.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(f"cannot write {path}: {parent} is a file, not a folder")
            break
    return path


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` if the block succeeds.

    ``suffix`` lets writers that insist on an extension (``np.savez`` adds ``.npz``) keep it.
    A target that is not a regular file, a folder that cannot be created or written, and an
    ``OSError`` while writing (disk full) raise :class:`OutputError`; no temp file is left.
    """
    target = check_target(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".tmp{suffix}", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc} ({target.parent})") from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        try:
            yield tmp
        except OutputError:
            raise
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
        # mkstemp creates 0600 files; give the result the mode a plain open() would have.
        tmp.chmod(0o666 & ~_umask())
        check_target(target)  # it may have become a folder or a device while the block ran
        try:
            os.replace(tmp, target)
        except OSError as exc:
            raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_bytes(target: str | os.PathLike[str], data: bytes) -> None:
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)


def write_text(target: str | os.PathLike[str], text: str) -> None:
    write_bytes(target, text.encode("utf-8"))


def write_json(target: str | os.PathLike[str], obj: Any) -> None:
    write_text(target, json.dumps(obj, indent=2, sort_keys=True) + "\n")
