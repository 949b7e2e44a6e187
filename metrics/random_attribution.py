"""``random-attribution``: a control whose attribution carries no information at all."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
from interpbench.metrics.attribution_mass import mass_parts
from interpbench.metrics.base import BaseMetric
from interpbench.metrics.maps import object_mask, ratio
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@register("random-attribution")
class RandomAttribution(BaseMetric):
    """Control: ``attribution-mass`` of seeded uniform random maps in place of the feature's own.

    With u[n, f, p] ~ U[0, 1) i.i.d. from ``numpy.random.default_rng(seed)`` (seed 0):
    score_f = sum_n sum_{p in S_n} u[n, f, p] / sum_n sum_p u[n, f, p], about the mean object area
    share. It ignores the model entirely: any metric worth reporting must agree with humans
    better than this does. Same inputs and seed give the same scores.
    """

    def __init__(self, classes: Sequence[str] | None = None, seed: int = 0) -> None:
        super().__init__(classes)
        self.seed = seed

    def score(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        n, f = attr.maps.shape[:2]
        noise = np.random.default_rng(self.seed).random((n, f, attr.maps[0, 0].size), dtype=np.float32)
        on, total = mass_parts(noise, object_mask(frames, self.classes))
        return ratio(on.sum(axis=0), total.sum(axis=0))
