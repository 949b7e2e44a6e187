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
