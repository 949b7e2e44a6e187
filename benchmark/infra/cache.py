"""On-disk cache of computed artefacts, keyed by the content hashes of everything they depend on.

Attribution of one model on 512 frames takes seconds to minutes, and every metric, report and
gallery needs it, so results are stored under a key derived from the inputs' *content*
(checkpoint weights hash, FrameSet hash, method parameters): a changed input gives a new key,
never a stale hit. Writers use ``interpbench.infra.atomic``, so an interrupted run leaves no half entry.

Location: ``$INTERPBENCH_CACHE`` if set, else ``~/.cache/interpbench``.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_VAR = "INTERPBENCH_CACHE"


def cache_root() -> Path:
    """The cache directory (not created here; writers create what they need)."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "interpbench"


def cache_key(parts: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of ``parts``: equal parameters give equal keys, whatever
    the order they were written in."""
    blob = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def entry_path(kind: str, parts: Mapping[str, Any], suffix: str = ".npz") -> Path:
    """Where the entry of ``kind`` (e.g. "attributions") for ``parts`` lives."""
    key = cache_key(parts)
    return cache_root() / kind / key[:2] / f"{key}{suffix}"


#: The cache root's subfolders this project writes, and what each holds (``interpbench cache``).
KINDS: dict[str, str] = {
    "frames": "evaluation frame sets built from the published agent",
    "procgen-masks": "object-mask renders of game states",
    "attributions": "integrated-gradient maps and NMF features per checkpoint and frame set",
    "own-play": "observations of each checkpoint's own play on its training levels (its NMF fit set)",
    "scores": "metric scores per checkpoint, frame set and metric identity",
}


def _size(path: Path) -> tuple[int, int]:
    files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()] if path.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)


def cache_info() -> dict[str, Any]:
    """Per kind: its folder, file count and size in bytes; and the cache root."""
    root = cache_root()
    kinds = {}
    for kind, what in KINDS.items():
        n, size = _size(root / kind)
        kinds[kind] = {"path": str(root / kind), "files": n, "bytes": size, "holds": what}
    return {"root": str(root), "kinds": kinds, "bytes": sum(k["bytes"] for k in kinds.values())}


def clear_cache(kinds: list[str] | None = None) -> dict[str, int]:
    """Remove the cache root's known subfolders (default: all of KINDS); nothing else under the
    root is touched. Returns the bytes freed per kind removed."""
    import shutil

    unknown = sorted(set(kinds or ()) - set(KINDS))
    if unknown:
        from interpbench.infra.errors import InterpbenchError

        raise InterpbenchError(f"unknown cache kind(s) {unknown}; known: {', '.join(KINDS)}")
    freed = {}
    for kind in kinds or list(KINDS):
        path = cache_root() / kind
        if path.is_dir() and not path.is_symlink():
            freed[kind] = _size(path)[1]
            shutil.rmtree(path)
    return freed
