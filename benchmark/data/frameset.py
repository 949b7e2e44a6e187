"""``FrameSet``: the fixed evaluation frames every metric is scored on.

A FrameSet is plain data (numpy arrays + a provenance dict) so that metrics never need torch or
procgen. It is stored as one ``.npz`` (arrays) plus a ``.json`` sidecar (classes, provenance,
content hash) so that a person can read how it was made without loading arrays.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from interpbench.infra import atomic
from interpbench.infra.errors import CorruptFileError, InterpbenchError, ShapeError

#: Mask classes in channel order; every observation pixel belongs to exactly one of them.
MASK_CLASSES: tuple[str, ...] = (
    "background",
    "agent",
    "coin",
    "enemy",
    "saw",
    "lava",
    "crate",
    "wall",
    "vel_info",
)

OBS_SHAPE = (64, 64, 3)


@dataclass(eq=False)
class FrameSet:
    """Observations with pixel-exact per-class object masks and the states they came from.

    obs:         uint8 (N, 64, 64, 3), what the agent sees.
    masks:       bool (N, C, 64, 64), one-hot over ``classes`` at every pixel.
    classes:     mask class names, in channel order.
    level_seeds: int64 (N,), procgen level seed of each frame.
    states:      procgen serialized states (N bytes objects), enough to re-render each frame.
    provenance:  how the set was made (env, distribution mode, level range, policy, seed, ...).
    """

    obs: np.ndarray
    masks: np.ndarray
    classes: tuple[str, ...]
    level_seeds: np.ndarray
    states: list[bytes]
    provenance: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.classes = tuple(self.classes)
        n = len(self.obs)
        if self.obs.dtype != np.uint8 or self.obs.shape[1:] != OBS_SHAPE:
            raise ShapeError(f"obs must be uint8 (N, 64, 64, 3), got {self.obs.dtype} {self.obs.shape}")
        expected = (n, len(self.classes), *OBS_SHAPE[:2])
        if self.masks.dtype != np.bool_ or self.masks.shape != expected:
            raise ShapeError(f"masks must be bool {expected}, got {self.masks.dtype} {self.masks.shape}")
        if self.level_seeds.shape != (n,) or len(self.states) != n:
            raise ShapeError(
                f"{n} frames but {self.level_seeds.shape[0]} level seeds and {len(self.states)} states"
            )
        unknown = [c for c in self.classes if c not in MASK_CLASSES]
        if unknown:
            raise InterpbenchError(f"unknown mask class(es) {unknown}; known: {list(MASK_CLASSES)}")

    def __len__(self) -> int:
        return len(self.obs)

    def class_index(self, name: str) -> int:
        """Channel of a mask class, with an error that lists the valid names."""
        try:
            return self.classes.index(name)
        except ValueError:
            raise InterpbenchError(f"unknown mask class {name!r}; this FrameSet has {list(self.classes)}") from None

    def object_mask(self, classes: tuple[str, ...] | None = None) -> np.ndarray:
        """bool (N, 64, 64): union of the given classes (default: every class but background)."""
        names = classes if classes is not None else tuple(c for c in self.classes if c != "background")
        idx = [self.class_index(c) for c in names]
        return self.masks[:, idx].any(axis=1)

    def subset(self, index: np.ndarray | slice) -> FrameSet:
        picked = np.arange(len(self))[index]
        return FrameSet(
            obs=self.obs[picked],
            masks=self.masks[picked],
            classes=self.classes,
            level_seeds=self.level_seeds[picked],
            states=[self.states[i] for i in picked],
            provenance={**self.provenance, "subset_of": self.content_hash()},
        )

    def content_hash(self) -> str:
        """sha256 of the arrays and classes: the cache key for anything computed from this set."""
        h = hashlib.sha256()
        for arr in (self.obs, self.masks, self.level_seeds):
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr).tobytes())
        h.update("\0".join(self.classes).encode())
        return h.hexdigest()

    # -- storage -----------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.npz) and its ``.json`` sidecar atomically; returns the npz path."""
        path = Path(path).with_suffix(".npz")
        state_lengths = np.array([len(s) for s in self.states], dtype=np.int64)
        with atomic.atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(
                tmp,
                obs=self.obs,
                masks=np.packbits(self.masks, axis=-1),
                level_seeds=self.level_seeds.astype(np.int64),
                states=np.frombuffer(b"".join(self.states), dtype=np.uint8),
                state_lengths=state_lengths,
            )
        meta = {
            "format": "interpbench.frameset/1",
            "n": len(self),
            "classes": list(self.classes),
            "content_hash": self.content_hash(),
            "provenance": self.provenance,
        }
        atomic.write_json(path.with_suffix(".json"), meta)
        return path

    @classmethod
    def load(cls, path: str | Path) -> FrameSet:
        path = Path(path).with_suffix(".npz")
        meta_path = path.with_suffix(".json")
        for p in (path, meta_path):
            if not p.exists():
                raise InterpbenchError(f"FrameSet file not found: {p} (build one with `interpbench frames`)")
        try:
            meta = json.loads(meta_path.read_text())
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
        except (OSError, ValueError, zipfile.BadZipFile, json.JSONDecodeError) as exc:
            raise CorruptFileError(f"cannot read FrameSet {path}: {exc}") from exc
        missing = {"obs", "masks", "level_seeds", "states", "state_lengths"} - arrays.keys()
        if missing or meta.get("format") != "interpbench.frameset/1":
            raise CorruptFileError(f"{path} is not an interpbench FrameSet (missing {sorted(missing)})")
        offsets = np.concatenate([[0], np.cumsum(arrays["state_lengths"])])
        blob = arrays["states"].tobytes()
        if offsets[-1] != len(blob):
            raise CorruptFileError(f"{path}: state lengths do not add up to the stored state bytes")
        frames = cls(
            obs=arrays["obs"],
            masks=np.unpackbits(arrays["masks"], axis=-1, count=OBS_SHAPE[1]).astype(bool),
            classes=tuple(meta["classes"]),
            level_seeds=arrays["level_seeds"],
            states=[blob[a:b] for a, b in zip(offsets[:-1], offsets[1:])],
            provenance=meta.get("provenance", {}),
        )
        if frames.content_hash() != meta.get("content_hash"):
            raise CorruptFileError(f"{path}: contents do not match the hash in {meta_path.name}")
        return frames
