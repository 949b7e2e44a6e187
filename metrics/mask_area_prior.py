"""``mask-area-prior``: a control that knows only how much of each frame is object."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import BaseMetric, Terms
from interpbench.metrics.maps import flat_maps, object_area_share, ratio
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@register("mask-area-prior")
class MaskAreaPrior(BaseMetric):
    """Control: object area share of the frames, weighted by the feature's mass in each frame.

    With w_nf = sum_p max(a[n, f, p], 0) and c_n = |S_n| / P:
    score_f = sum_n w_nf c_n / sum_n w_nf (0 for a feature with no mass). It is what
    ``attribution-mass`` would be if the feature spread its mass uniformly within every frame, so
    a metric that only tracks how much object is on screen when a feature fires cannot beat it.
    """

    def frame_terms(self, attr: AttributionSet, frames: FrameSet) -> Terms:
        mass = flat_maps(attr, "positive").sum(axis=-1, dtype=np.float64)
        return {"weighted": mass * object_area_share(frames, self.classes)[:, None], "mass": mass}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        return ratio(totals["weighted"], totals["mass"])
