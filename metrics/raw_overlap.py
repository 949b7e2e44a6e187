"""``raw-overlap``: the unnormalized intersection of a feature's attribution with the objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import Terms
from interpbench.metrics.overlap import OverlapMetric
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    pass


@register("raw-overlap")
class RawOverlap(OverlapMetric):
    """Share of all image pixels where the feature's attribution is present and an object is.

    score_f = sum_n |A_nf ∩ S_n| / (N * P), with A the present pixels (``interpbench.metrics.overlap``), S the
    object mask and P = 64 * 64. Unnormalized on purpose: it grows with attribution area and
    object area, which is what the normalized variants correct for.
    """

    def overlap_terms(self, intersection: np.ndarray, area: np.ndarray, object_area: np.ndarray,
                      n_pixels: int) -> Terms:
        return {"share": intersection / n_pixels}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        return totals["share"] / n_frames[:, None]
