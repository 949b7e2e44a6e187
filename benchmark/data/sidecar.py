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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from interpbench.infra import atomic
from interpbench.infra.errors import CorruptFileError, InterpbenchError


def describe(exc: BaseException, limit: int = 300) -> str:
    """A library's exception as one short line (numpy, zipfile and json messages can span lines,
    and the command line reports every error in one)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def file_sha256(path: str | Path) -> str:
    """sha256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_weights_hash(meta: dict[str, Any], meta_path: Path, weights_path: Path) -> None:
    """Refuse weights that are not the ones ``meta`` recorded (when it records ``weights_sha256``)."""
    if "weights_sha256" not in meta:
        return
    recorded = meta["weights_sha256"]
    if not isinstance(recorded, str):
        raise CorruptFileError(f"{meta_path}: weights_sha256 must be a hex string, got {recorded!r}")
    try:
        actual = file_sha256(weights_path)
    except OSError as exc:
        raise CorruptFileError(f"cannot read {weights_path}: {exc.strerror or exc}") from exc
    if actual != recorded:
        raise CorruptFileError(f"{weights_path} is not the weights {meta_path} describes (sha256 {actual[:12]}, "
                               f"recorded {recorded[:12]!r}): weights of another checkpoint, or a damaged file")


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


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name} (JSON has no NaN or Infinity)")


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses NaN, Infinity and -Infinity (which Python's json accepts)."""
    return json.loads(text, parse_constant=_refuse_constant)


def read_pair(path: str | Path, *, kind: str, fmt: str, hint: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """The arrays and sidecar of a pair written by :func:`write_pair`.

    ``kind`` names the artefact in messages, ``fmt`` is the format string its sidecar must carry,
    ``hint`` says how to make one when both files are missing. One file without the other, and
    anything unreadable, mismatched or of another format, is a ``CorruptFileError`` naming the
    file (so a cache treats it as a miss and rebuilds).
    """
    npz, sidecar = pair_paths(path)
    present = [p for p in (npz, sidecar) if p.exists() or p.is_symlink()]
    if not present:
        raise InterpbenchError(f"{kind} file not found: {npz} ({hint})")
    if len(present) == 1:  # the arrays without their sidecar: a write killed between the two renames
        missing = sidecar if present[0] == npz else npz
        raise CorruptFileError(f"{kind} {present[0]} has no {missing.name} beside it (an interrupted write?)")
    for p in (npz, sidecar):
        if not p.is_file():
            raise InterpbenchError(f"{kind} path is not a regular file: {p}")
    try:
        meta = loads_strict(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CorruptFileError(f"cannot read {kind} sidecar {sidecar}: {describe(exc)}") from exc
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{sidecar} is a JSON {type(meta).__name__}, not an interpbench {kind} sidecar")
    if meta.get("format") != fmt:
        raise CorruptFileError(
            f"{sidecar} is not an interpbench {kind} sidecar (format {meta.get('format')!r}, expected {fmt!r})")
    try:
        digest = file_sha256(npz)
    except OSError as exc:
        raise CorruptFileError(f"cannot read {kind} {npz}: {describe(exc)}") from exc
    if meta.get("npz_sha256") != digest:
        raise CorruptFileError(f"{npz} does not match its sidecar {sidecar.name} (interrupted write or mixed files)")
    try:
        loaded = np.load(npz, allow_pickle=False)
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            raise CorruptFileError(f"{npz} is not an .npz archive (a single .npy array?)")
        with loaded as z:
            arrays = {k: z[k] for k in z.files}
    except CorruptFileError:
        raise
    except Exception as exc:
        # A damaged archive reaches zipfile, zlib, numpy's header parser (ast, tokenize) and its
        # array reader, which raise a dozen unrelated types between them (BadZipFile, zlib.error,
        # RuntimeError for an "encrypted" member, tokenize.TokenError, MemoryError, ...); nothing
        # but reading happens in this block, so each of them means a file that cannot be read.
        raise CorruptFileError(f"cannot read {kind} {npz}: {describe(exc)}") from exc
    return arrays, meta


def check_array(arrays: Mapping[str, np.ndarray], key: str, *, dtype: Any, ndim: int, source: Path,
                kind: str) -> np.ndarray:
    """``arrays[key]`` after checking its dtype (exactly) and number of dimensions."""
    if key not in arrays:
        raise CorruptFileError(f"{source} is not an interpbench {kind} (missing array {key!r})")
    array = arrays[key]
    if array.dtype != np.dtype(dtype) or array.ndim != ndim:
        raise CorruptFileError(
            f"{source}: array {key!r} is {array.dtype} with {array.ndim} dimension(s) {array.shape}, "
            f"expected {np.dtype(dtype)} with {ndim}")
    return array
