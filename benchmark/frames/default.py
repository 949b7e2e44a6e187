"""The default evaluation frames: held-out frames of the published agent, built once and cached.

Not committed (tens of MB); ``interpbench frames --n 512 --split heldout --policy reference
--seed 0`` rebuilds the same set byte for byte, and so does the first command that needs it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from interpbench.data.frameset import FrameSet
from interpbench.infra.cache import cache_root
from interpbench.infra.errors import CorruptFileError

DEFAULT_N = 512


def frames_cache_path(n: int = DEFAULT_N, seed: int = 0) -> Path:
    """Where the held-out evaluation set of ``n`` frames and ``seed`` is cached, keyed by
    ``FRAMES_VERSION`` so that a change to frame sampling never reuses an old set."""
    from interpbench.frames.build import FRAMES_VERSION

    return cache_root() / "frames" / f"v{FRAMES_VERSION}" / f"heldout-{n}-seed{seed}.npz"


def default_frames_path() -> Path:
    """The default evaluation set: 512 held-out frames, seed 0."""
    return frames_cache_path()


def load_or_build_frames(path: str | Path | None = None, n: int = DEFAULT_N, seed: int = 0,
                         progress: bool = True) -> FrameSet:
    """The FrameSet at ``path`` (default: :func:`default_frames_path`); if absent, or a cache entry
    left incomplete or corrupt, the evaluation set of ``n`` frames is built from the published
    agent on held-out levels and saved there."""
    path = Path(path) if path is not None else default_frames_path()
    if path.with_suffix(".npz").exists() or path.with_suffix(".json").exists():
        try:
            return FrameSet.load(path)
        except CorruptFileError as exc:
            print(f"interpbench: rebuilding the cached frame set ({exc})", file=sys.stderr)
    from interpbench.frames.build import build_frameset

    frames = build_frameset(n, split="heldout", policy="reference", seed=seed, progress=progress)
    frames.save(path)
    return frames
