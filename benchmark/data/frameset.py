"""``FrameSet``: the fixed evaluation frames every metric is scored on.

A FrameSet is plain data (numpy arrays + a provenance dict) so that metrics never need torch or
procgen. It is stored as one ``.npz`` (arrays) plus a ``.json`` sidecar (classes, provenance,
content hash) so that a person can read how it was made without loading arrays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interpbench.data.sidecar import check_array, read_only, read_pair, write_pair
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
FORMAT = "interpbench.frameset/1"


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
        read_only(self.obs, self.masks, self.level_seeds)

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

    def take(self, index: np.ndarray | slice) -> FrameSet:
        """The frames at ``index`` (repeats allowed), sharing classes and provenance. No hashing:
        bootstrap replicates and area bins take thousands of these."""
        picked = np.arange(len(self))[index]
        return FrameSet(obs=self.obs[picked], masks=self.masks[picked], classes=self.classes,
                        level_seeds=self.level_seeds[picked], states=[self.states[i] for i in picked],
                        provenance=self.provenance)

    def subset(self, index: np.ndarray | slice) -> FrameSet:
        """:meth:`take`, recording the parent set's hash in the provenance (for saved subsets)."""
        part = self.take(index)
        part.provenance = {**self.provenance, "subset_of": self.content_hash()}
        return part

    def with_masks(self, masks: np.ndarray) -> FrameSet:
        """The same frames with other masks (a control: masks of other frames)."""
        return FrameSet(obs=self.obs, masks=masks, classes=self.classes, level_seeds=self.level_seeds,
                        states=self.states, provenance=self.provenance)

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
        """Write ``path`` (.npz) and its ``.json`` sidecar as one unit; returns the npz path."""
        arrays = {
            "obs": self.obs,
            "masks": np.packbits(self.masks, axis=-1),
            "level_seeds": self.level_seeds.astype(np.int64),
            "states": np.frombuffer(b"".join(self.states), dtype=np.uint8),
            "state_lengths": np.array([len(s) for s in self.states], dtype=np.int64),
        }
        meta = {"format": FORMAT, "n": len(self), "classes": list(self.classes),
                "content_hash": self.content_hash(), "provenance": self.provenance}
        return write_pair(path, arrays, meta)

    @classmethod
    def load(cls, path: str | Path) -> FrameSet:
        """Read a FrameSet written by :meth:`save`.

        Every way the pair can be wrong (missing, truncated, mixed with another run's sidecar,
        arrays of the wrong dtype or shape, a sidecar with wrong types) is a ``CorruptFileError``
        naming the file, so a cache that holds a damaged entry rebuilds it."""
        arrays, meta = read_pair(path, kind="FrameSet", fmt=FORMAT, hint="build one with `interpbench frames`")
        npz = Path(path).with_suffix(".npz")

        def arr(key: str, dtype: Any, ndim: int) -> np.ndarray:
            return check_array(arrays, key, dtype=dtype, ndim=ndim, source=npz, kind="FrameSet")

        obs, masks = arr("obs", np.uint8, 4), arr("masks", np.uint8, 4)
        seeds, lengths, blob = arr("level_seeds", np.int64, 1), arr("state_lengths", np.int64, 1), arr("states", np.uint8, 1)
        classes, provenance = meta.get("classes"), meta.get("provenance", {})
        if not isinstance(classes, list) or not all(isinstance(c, str) for c in classes):
            raise CorruptFileError(f"{npz.with_suffix('.json')}: classes must be a list of names, got {classes!r}")
        if not isinstance(provenance, dict):
            raise CorruptFileError(f"{npz.with_suffix('.json')}: provenance must be an object, got {provenance!r}")
        n = len(obs)
        if meta.get("n") != n or masks.shape != (n, len(classes), OBS_SHAPE[0], OBS_SHAPE[1] // 8):
            raise CorruptFileError(
                f"{npz}: {n} frames (sidecar says {meta.get('n')!r}) with packed masks {masks.shape}, expected "
                f"{(n, len(classes), OBS_SHAPE[0], OBS_SHAPE[1] // 8)}")
        if (lengths.shape != (n,) or (lengths < 0).any() or (lengths > len(blob)).any()
                or int(lengths.sum()) != len(blob)):
            raise CorruptFileError(f"{npz}: state lengths do not add up to the stored state bytes")
        offsets = np.concatenate([[0], np.cumsum(lengths)]).tolist()
        state_bytes = blob.tobytes()
        try:
            frames = cls(
                obs=obs,
                masks=np.unpackbits(masks, axis=-1, count=OBS_SHAPE[1]).astype(bool),
                classes=tuple(classes),
                level_seeds=seeds,
                states=[state_bytes[a:b] for a, b in zip(offsets[:-1], offsets[1:])],
                provenance=provenance,
            )
        except InterpbenchError as exc:  # shapes or classes that contradict each other
            raise CorruptFileError(f"cannot read FrameSet {npz}: {exc}") from exc
        if frames.content_hash() != meta.get("content_hash"):
            raise CorruptFileError(f"{npz}: contents do not match the hash in its sidecar")
        return frames
