"""``thresholded-saliency``: precision on objects of a feature's top-q attribution pixels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import BaseMetric
from interpbench.metrics.maps import (
    Sign,
    check_sign,
    flat_maps,
    object_mask,
    top_k_count,
    top_k_hits,
)
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@register("thresholded-saliency")
class ThresholdedSaliency(BaseMetric):
    """Precision on objects of each map's top-q attribution pixels (q = 5%), averaged over frames.

    With k = ceil(q * P) (205 of 4096 pixels at q = 5%) and T_k the k pixels of largest positive
    attribution max(a, 0): score_f = mean_n |T_k(n, f) ∩ S_n| / k. Pixels tied at the k-th value
    share the remaining places (``interpbench.metrics.maps.top_k_hits``), so a silent frame scores the mask's
    area share rather than an arbitrary 0 or 1. ``k`` fixes the count instead of ``share``.
    """

    def __init__(
        self,
        classes: Sequence[str] | None = None,
        share: float = 0.05,
        sign: Sign = "positive",
        k: int | None = None,
    ) -> None:
        super().__init__(classes)
        self.share, self.k = share, k
        self.sign = check_sign(sign)

    def score_frames(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        """float64 (N, F): each map's top-k precision on the objects; the score is their mean."""
        values = flat_maps(attr, self.sign)
        k = self.k if self.k is not None else top_k_count(values.shape[-1], self.share)
        return top_k_hits(values, object_mask(frames, self.classes), k) / k
