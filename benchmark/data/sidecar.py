"""One ``.npz`` of arrays plus a ``.json`` sidecar: the storage of every data container.

The two files are one artefact, so they are committed as a unit: the arrays are written first,
then the sidecar, which records the sha256 of the ``.npz`` it belongs to. A run killed between
the two renames, a truncated file or a sidecar from another run is therefore detected on load
(``CorruptFileError``), never read as a valid pair; caches treat that as a miss and rebuild.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from interpbench.infra import atomic
from interpbench.infra.errors import CorruptFileError, InterpbenchError


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_only(*arrays: np.ndarray) -> None:
    """Freeze the arrays of a data container in place.

    Every metric receives the same container, so one that edits its inputs (``m = attr.maps;
    m[m < 0] = 0``) would change what every later metric sees, and their cached scores; frozen,
    the edit raises, and the isolation reports it under the metric's name."""
    for array in arrays:
        array.setflags(write=False)


def pair_paths(path: str | Path) -> tuple[Path, Path]:
    """(``.npz``, ``.json``) of the artefact named ``path`` (with or without a suffix).

    A name without a file part (``.``, ``..``, ``dir/``) is refused rather than turned into
    ``..npz`` or a traceback."""
    text = os.fspath(path)
    if text == "" or text.endswith(os.sep) or Path(text).name in ("", ".", ".."):
        raise InterpbenchError(f"{text!r} names a folder; give the artefact a file name, e.g. {text.rstrip(os.sep) or '.'}/name.npz")
    npz = Path(text).with_suffix(".npz")
    return npz, npz.with_suffix(".json")


def write_pair(path: str | Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], *,
               compressed: bool = True) -> Path:
    """Write the arrays, then the sidecar naming their hash; returns the ``.npz`` path.

    ``path`` must name a file: an existing folder is refused instead of writing ``<folder>.npz``
    beside it, and either target that is not a regular file is refused by ``atomic``; both
    targets are checked before anything is written."""
    if Path(path).is_dir():
        raise InterpbenchError(f"{path} is a folder; give the artefact a file name, e.g. {Path(path) / 'name.npz'}")
    npz, sidecar = pair_paths(path)
    atomic.check_target(npz)
    atomic.check_target(sidecar)
    with atomic.atomic_path(npz, suffix=".npz") as tmp:
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)
        digest = file_sha256(tmp)
    atomic.write_json(sidecar, {**meta, "npz_sha256": digest})
    return npz


def read_pair(path: str | Path, *, kind: str, fmt: str, hint: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and sidecar of a pair written by :func:`write_pair`.

    ``kind`` names the artefact in messages, ``fmt`` is the format string its sidecar must carry,
    ``hint`` says how to make one when a file is missing. Anything unreadable, mismatched or of
    another format is a ``CorruptFileError`` naming the file.
    """
    npz, sidecar = pair_paths(path)
    for p in (npz, sidecar):
        if not p.exists():
            raise InterpbenchError(f"{kind} file not found: {p} ({hint})")
        if not p.is_file():
            raise InterpbenchError(f"{kind} path is not a regular file: {p}")
    try:
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorruptFileError(f"cannot read {kind} sidecar {sidecar}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise CorruptFileError(f"{sidecar} is not an interpbench {kind} sidecar (format {found!r}, expected {fmt!r})")
    if meta.get("npz_sha256") != file_sha256(npz):
        raise CorruptFileError(f"{npz} does not match its sidecar {sidecar.name} (interrupted write or mixed files)")
    try:
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CorruptFileError(f"cannot read {kind} {npz}: {exc}") from exc
    return arrays, meta
