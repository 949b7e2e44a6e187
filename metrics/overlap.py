"""Where a feature's attribution is *present*, and its overlap with the objects: shared by
``raw-overlap``, ``area-normalized`` and ``chance-corrected-overlap``.

Definition of "present". With v = max(a, 0) the positive attribution of feature f,

    present(n, f, p)  <=>  v[n, f, p] > 0  and  v[n, f, p] >= threshold * max_{n', p'} v[n', f, p']

i.e. at least ``threshold`` (default 0.1) of the feature's largest attribution over the *whole*
FrameSet. A set-wide maximum (as Network Dissection's set-wide activation threshold) means a frame
where the feature is barely active has little or nothing present, instead of always having its
own top pixels; an all-zero feature has nothing present anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import BaseMetric
from interpbench.metrics.maps import flat_maps, memoised, object_mask

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


def present(attr: AttributionSet, threshold: float) -> np.ndarray:
    """bool (N, F, P): where each feature's attribution is present (module docstring)."""
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")

    def compute() -> np.ndarray:
        values = flat_maps(attr, "positive")
        peak = values.max(axis=(0, 2))[None, :, None]
        return (values > 0) & (values >= threshold * peak)

    return memoised(attr, ("present", threshold), compute)


class OverlapMetric(BaseMetric):
    """Base of the metrics built on the present-pixel set A and the object mask S."""

    def __init__(self, classes: Sequence[str] | None = None, threshold: float = 0.1) -> None:
        super().__init__(classes)
        self.threshold = threshold

    def counts(self, attr: AttributionSet, frames: FrameSet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """float64 (N, F) each: |A ∩ S|, |A|, and |S| broadcast over features."""
        shown = present(attr, self.threshold)
        objects = object_mask(frames, self.classes)
        intersection = np.count_nonzero(shown & objects[:, None, :], axis=-1)
        area = np.count_nonzero(shown, axis=-1)
        object_area = np.broadcast_to(np.count_nonzero(objects, axis=-1)[:, None], area.shape)
        return intersection.astype(np.float64), area.astype(np.float64), object_area.astype(np.float64)
