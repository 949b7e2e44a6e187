"""Where a study's pictures come from: each checkpoint's AttributionSet on one FrameSet.

Why injected: computing attributions needs torch and minutes per checkpoint, while the app only
needs the arrays. :func:`zoo_materials` takes the attribution function as an argument (the command
line passes the cached ``attribute_checkpoint``; tests pass a synthetic one), so the app and its
tests never depend on how the maps were made.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.data.zoo import read_zoo_metadata
from interpbench.infra.errors import InterpbenchError, ShapeError

#: ``attribute(checkpoint_path, frames) -> AttributionSet``: one checkpoint's maps on ``frames``.
Attribute = Callable[[Path, FrameSet], AttributionSet]


@dataclass(frozen=True)
class Materials:
    """The frames and, per checkpoint name, its AttributionSet on those frames.

    Checkpoint names stay on the server: trials refer to them only through opaque tokens.
    """

    frames: FrameSet
    attributions: Mapping[str, AttributionSet]

    def __post_init__(self) -> None:
        if not self.attributions:
            raise InterpbenchError("no checkpoints to label")
        for name, attr in self.attributions.items():
            if attr.n_frames != len(self.frames):
                raise ShapeError(f"{name}: AttributionSet has {attr.n_frames} frames, the FrameSet {len(self.frames)}")

    def fingerprint(self) -> dict[str, object]:
        """What the study's pictures were made from, for the provenance file: a study resumed on
        other frames or other maps would show raters other pictures than its first judgments."""
        return {
            "frames_sha256": self.frames.content_hash(),
            "n_frames": len(self.frames),
            "classes": list(self.frames.classes),
            "checkpoints": {name: {"attribution_sha256": attr.content_hash(), "n_features": attr.n_features,
                                   "checkpoint_sha256": attr.meta.get("checkpoint_sha256"),
                                   "head": attr.head, "layer": attr.layer}
                            for name, attr in sorted(self.attributions.items())},
        }

    def digest(self) -> str:
        """sha256 over :meth:`fingerprint`: one string to compare."""
        return hashlib.sha256(repr(sorted(self.fingerprint().items())).encode()).hexdigest()


def zoo_materials(zoo: str | Path, frames: FrameSet, attribute: Attribute, names: list[str] | None = None) -> Materials:
    """Materials for every checkpoint of ``zoo`` (or those in ``names``), via ``attribute``."""
    metas = read_zoo_metadata(zoo)
    known = [m["name"] for m in metas]
    if names is not None:
        unknown = sorted(set(names) - set(known))
        if unknown:
            raise InterpbenchError(f"{zoo}: no checkpoint(s) {unknown}; the zoo has {known}")
        metas = [m for m in metas if m["name"] in names]
    return Materials(frames, {m["name"]: attribute(Path(m["path"]), frames) for m in metas})
