"""``area-normalized``: intersection over attribution area, the original proposal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.maps import ratio
from interpbench.metrics.overlap import OverlapMetric
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@register("area-normalized")
class AreaNormalized(OverlapMetric):
    """Share of the feature's present attribution pixels that lie on objects (pooled over frames).

    score_f = sum_n |A_nf ∩ S_n| / sum_n |A_nf|, 0 for a feature with nothing present. Pooling
    over frames weights each frame by how much of the feature is present in it.
    """

    def score(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        intersection, area, _ = self.counts(attr, frames)
        return ratio(intersection.sum(axis=0), area.sum(axis=0))
