"""``area-normalized``: intersection over attribution area, the original proposal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import Terms
from interpbench.metrics.maps import ratio
from interpbench.metrics.overlap import OverlapMetric
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    pass


@register("area-normalized")
class AreaNormalized(OverlapMetric):
    """Share of the feature's present attribution pixels that lie on objects (pooled over frames).

    score_f = sum_n |A_nf ∩ S_n| / sum_n |A_nf|, 0 for a feature with nothing present. Pooling
    over frames weights each frame by how much of the feature is present in it.
    """

    def overlap_terms(self, intersection: np.ndarray, area: np.ndarray, object_area: np.ndarray,
                      n_pixels: int) -> Terms:
        return {"intersection": intersection, "area": area}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        return ratio(totals["intersection"], totals["area"])
