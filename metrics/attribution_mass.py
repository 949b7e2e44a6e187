"""``attribution-mass``: the share of a feature's positive attribution mass that falls on objects."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import BaseMetric, MetricError, Terms
from interpbench.metrics.maps import (
    Sign,
    check_sign,
    flat_maps,
    mass_on,
    object_mask,
    ratio,
)
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


def mass_parts(values: np.ndarray, objects: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float64 (N, F) each: mass on the objects and total mass of each map ``values`` (N, F, P)."""
    return mass_on(values, objects), values.sum(axis=-1, dtype=np.float64)


@register("attribution-mass")
class AttributionMass(BaseMetric):
    """Share of the feature's positive attribution mass that lies on objects (pooled over frames).

    With v = max(a, 0): score_f = sum_n sum_{p in S_n} v[n, f, p] / sum_n sum_p v[n, f, p], and 0
    for a feature with no positive attribution. Pooling weights each frame by the feature's mass
    in it, so frames where the feature is silent do not add noise. ``pooled=False`` instead
    averages the per-frame shares (Quantus' Relevance Mass Accuracy, frames with no mass scoring
    0); ``sign`` picks positive part, absolute value or signed maps.
    """

    def __init__(self, classes: Sequence[str] | None = None, sign: Sign = "positive", pooled: bool = True) -> None:
        super().__init__(classes)
        self.sign = check_sign(sign)
        if self.sign == "signed":
            # A signed total can be near zero while its parts are not: the share is then
            # summation-order noise (one report's Spearman moved 0.156 -> -0.048 between machines).
            raise MetricError(f"{type(self).__name__}: sign='signed' divides by a signed total that can be near "
                              "zero (an ill-conditioned ratio); use 'positive' or 'abs'")
        self.pooled = pooled

    def parts(self, attr: AttributionSet, frames: FrameSet) -> tuple[np.ndarray, np.ndarray]:
        """float64 (N, F) each: every map's mass on the objects and its total mass."""
        return mass_parts(flat_maps(attr, self.sign), object_mask(frames, self.classes))

    def shares(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        """float64 (N, F): each map's share of its mass on the objects."""
        return ratio(*self.parts(attr, frames))

    def frame_terms(self, attr: AttributionSet, frames: FrameSet) -> Terms:
        """Pooled: each frame's mass on objects and total mass; else each map's share of mass."""
        if not self.pooled:
            return {"share": self.shares(attr, frames)}
        on, total = self.parts(attr, frames)
        return {"on": on, "total": total}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        if self.pooled:
            return ratio(totals["on"], totals["total"])
        return totals["share"] / n_frames[:, None]
