"""``raw-overlap``: the unnormalized intersection of a feature's attribution with the objects."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.overlap import OverlapMetric
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@register("raw-overlap")
class RawOverlap(OverlapMetric):
    """Share of all image pixels where the feature's attribution is present and an object is.

    score_f = sum_n |A_nf ∩ S_n| / (N * P), with A the present pixels (``interpbench.metrics.overlap``), S the
    object mask and P = 64 * 64. Unnormalized on purpose: it grows with attribution area and
    object area, which is what the normalized variants correct for.
    """

    def score(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        intersection, _, _ = self.counts(attr, frames)
        n_pixels = attr.maps.shape[2] * attr.maps.shape[3]
        return intersection.sum(axis=0) / (attr.n_frames * n_pixels)
