"""``AttributionSet``: per-feature attribution maps of one model on one FrameSet.

Metrics see only this object and the FrameSet, so anything model-specific a metric needs (the
layer's receptive-field geometry, say) travels in ``meta``. Plain numpy, no torch, so metric code
and plugins stay light.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from interpbench.data.layers import LayerGeometry
from interpbench.data.sidecar import check_array, read_only, read_pair, write_pair
from interpbench.infra.errors import CorruptFileError, InterpbenchError, ShapeError

FORMAT = "interpbench.attributionset/1"


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
        read_only(self.maps, self.hidden, self.components)

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

    def take(self, index: np.ndarray | slice) -> AttributionSet:
        """The frames at ``index`` (repeats allowed); no hashing (see ``FrameSet.take``)."""
        return AttributionSet(maps=self.maps[index], hidden=self.hidden[index], layer=self.layer, head=self.head,
                              method=self.method, components=self.components, geometry=self.geometry,
                              meta=self.meta)

    def save(self, path: str | Path) -> Path:
        """Write ``path`` (.npz) and its ``.json`` sidecar as one unit; returns the npz path."""
        arrays = {"maps": self.maps.astype(np.float32), "hidden": self.hidden.astype(np.float32),
                  "components": self.components.astype(np.float32)}
        meta = {"format": FORMAT, "layer": self.layer, "head": self.head, "method": self.method,
                "geometry": self.geometry.as_dict(), "meta": self.meta, "content_hash": self.content_hash()}
        return write_pair(path, arrays, meta)

    @classmethod
    def load(cls, path: str | Path) -> AttributionSet:
        """Read an AttributionSet written by :meth:`save`; anything malformed (wrong dtypes or
        shapes, NaN maps, sidecar fields of the wrong type, another run's sidecar) is a
        ``CorruptFileError`` naming the file, so the attribution cache recomputes the entry."""
        arrays, meta = read_pair(path, kind="AttributionSet", fmt=FORMAT,
                                 hint="make one with `interpbench attribute`")
        npz = Path(path).with_suffix(".npz")
        sidecar = npz.with_suffix(".json")

        def arr(key: str, ndim: int) -> np.ndarray:
            return check_array(arrays, key, dtype=np.float32, ndim=ndim, source=npz, kind="AttributionSet")

        maps, hidden, components = arr("maps", 4), arr("hidden", 4), arr("components", 2)
        fields = {"layer": str, "head": str, "method": dict, "geometry": dict, "meta": dict}
        for key, kind in fields.items():
            if not isinstance(meta.get(key, {} if key == "meta" else None), kind):
                raise CorruptFileError(f"{sidecar}: {key} must be a {kind.__name__}, got {meta.get(key)!r}")
        geometry = meta["geometry"]
        if set(geometry) != {"size", "stride", "offset"}:
            raise CorruptFileError(f"{sidecar}: geometry needs exactly size, stride and offset, got {geometry!r}")
        size, stride, offset = geometry["size"], geometry["stride"], geometry["offset"]
        if (any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in (size, stride))
                or isinstance(offset, bool) or not isinstance(offset, (int, float)) or not math.isfinite(offset)):
            raise CorruptFileError(f"{sidecar}: geometry needs positive integer size and stride and a finite offset, "
                                   f"got {geometry!r}")
        try:
            attr = cls(maps=maps, hidden=hidden, components=components, layer=meta["layer"], head=meta["head"],
                       method=meta["method"], geometry=LayerGeometry(size=size, stride=stride, offset=offset),
                       meta=meta.get("meta", {}))
        except InterpbenchError as exc:  # shapes that contradict each other, NaN maps, an unknown head
            raise CorruptFileError(f"cannot read AttributionSet {npz}: {exc}") from exc
        if not np.isfinite(components).all():
            raise CorruptFileError(f"cannot read AttributionSet {npz}: components contain NaN or inf")
        if attr.content_hash() != meta.get("content_hash"):
            raise CorruptFileError(f"{npz}: contents do not match the hash in its sidecar")
        return attr
