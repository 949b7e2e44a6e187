"""``AttributionSet``: per-feature attribution maps of one model on one FrameSet.

Metrics see only this object and the FrameSet, so anything model-specific a metric needs (the
layer's receptive-field geometry, say) travels in ``meta``. Plain numpy, no torch, so metric code
and plugins stay light.
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

FORMAT = "interpbench.attributionset/1"


@dataclass(frozen=True)
class LayerGeometry:
    """Where a hidden unit at (i, j) looks in the input: the analytic receptive field.

    Unit (i, j) is centred on input pixel ``(offset + i * stride, offset + j * stride)`` and its
    receptive field is ``size`` x ``size`` pixels (composed layer by layer as in Network
    Dissection: size = (s2 - 1) * step1 + s1, offset = o2 * step1 + o1, step = step1 * step2).
    """

    size: int
    stride: int
    offset: float

    def as_dict(self) -> dict[str, float]:
        return {"size": self.size, "stride": self.stride, "offset": self.offset}


@dataclass(eq=False)
class AttributionSet:
    """maps:       float32 (N, F, 64, 64), feature attribution at input resolution.
    hidden:     float32 (N, F, h, w), the same at the layer's own resolution.
    layer:      analysed layer name ("2b" for the clear CNN).
    head:       "value" or "policy".
    method:     attribution method and its parameters, e.g. {"name": "integrated-gradients", ...}.
    components: float32 (F, channels), NMF components mapping layer channels to features
                (identity rows when features are raw channels).
    geometry:   receptive-field geometry of ``layer``.
    meta:       provenance: checkpoint hash, FrameSet hash, versions.
    """

    maps: np.ndarray
    hidden: np.ndarray
    layer: str
    head: str
    method: dict[str, Any]
    components: np.ndarray
    geometry: LayerGeometry
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.maps.ndim != 4 or self.maps.shape[2:] != (64, 64):
            raise ShapeError(f"maps must be (N, F, 64, 64), got {self.maps.shape}")
        if self.hidden.ndim != 4 or self.hidden.shape[:2] != self.maps.shape[:2]:
            raise ShapeError(f"hidden {self.hidden.shape} does not match maps {self.maps.shape} in (N, F)")
        if self.components.ndim != 2 or self.components.shape[0] != self.maps.shape[1]:
            raise ShapeError(
                f"components must be (F, channels) with F = {self.maps.shape[1]}, got {self.components.shape}"
            )
        if not (np.isfinite(self.maps).all() and np.isfinite(self.hidden).all()):
            raise InterpbenchError("attribution maps contain NaN or inf")
        if self.head not in ("value", "policy"):
            raise InterpbenchError(f"head must be 'value' or 'policy', got {self.head!r}")

    @property
    def n_frames(self) -> int:
        return self.maps.shape[0]

    @property
    def n_features(self) -> int:
        return self.maps.shape[1]

    def content_hash(self) -> str:
        h = hashlib.sha256()
        for arr in (self.maps, self.hidden, self.components):
            h.update(str(arr.shape).encode())
            h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
        h.update(json.dumps([self.layer, self.head, self.method], sort_keys=True).encode())
        return h.hexdigest()

    def save(self, path: str | Path) -> Path:
        path = Path(path).with_suffix(".npz")
        with atomic.atomic_path(path, suffix=".npz") as tmp:
            np.savez_compressed(
                tmp,
                maps=self.maps.astype(np.float32),
                hidden=self.hidden.astype(np.float32),
                components=self.components.astype(np.float32),
            )
        atomic.write_json(
            path.with_suffix(".json"),
            {
                "format": FORMAT,
                "layer": self.layer,
                "head": self.head,
                "method": self.method,
                "geometry": self.geometry.as_dict(),
                "meta": self.meta,
                "content_hash": self.content_hash(),
            },
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> AttributionSet:
        path = Path(path).with_suffix(".npz")
        meta_path = path.with_suffix(".json")
        for p in (path, meta_path):
            if not p.exists():
                raise InterpbenchError(f"AttributionSet file not found: {p} (make one with `interpbench attribute`)")
        try:
            meta = json.loads(meta_path.read_text())
            with np.load(path) as z:
                arrays = {k: z[k] for k in z.files}
            if meta.get("format") != FORMAT:
                raise ValueError(f"format is {meta.get('format')!r}, expected {FORMAT!r}")
            attr = cls(
                maps=arrays["maps"],
                hidden=arrays["hidden"],
                components=arrays["components"],
                layer=meta["layer"],
                head=meta["head"],
                method=meta["method"],
                geometry=LayerGeometry(**meta["geometry"]),
                meta=meta.get("meta", {}),
            )
        except (OSError, KeyError, TypeError, ValueError, zipfile.BadZipFile) as exc:
            raise CorruptFileError(f"cannot read AttributionSet {path}: {exc}") from exc
        if attr.content_hash() != meta.get("content_hash"):
            raise CorruptFileError(f"{path}: contents do not match the hash in {meta_path.name}")
        return attr
