"""``random-attribution``: a control whose attribution carries no information at all."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.attribution_mass import mass_parts
from interpbench.metrics.base import BaseMetric, Terms
from interpbench.metrics.maps import object_mask, ratio
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@register("random-attribution")
class RandomAttribution(BaseMetric):
    """Control: ``attribution-mass`` of seeded uniform random maps in place of the feature's own.

    With u[n, f, p] ~ U[0, 1) i.i.d., drawn for each frame from
    ``numpy.random.default_rng([seed, level seed, crc32(state)])`` (seed 0):
    score_f = sum_n sum_{p in S_n} u[n, f, p] / sum_n sum_p u[n, f, p], about the mean object area
    share. It ignores the model entirely: any metric worth reporting must agree with humans
    better than this does. The noise is a function of the frame, so the same frames give the same
    scores in any order or resample.
    """

    def __init__(self, classes: Sequence[str] | None = None, seed: int = 0) -> None:
        super().__init__(classes)
        self.seed = seed

    def frame_terms(self, attr: AttributionSet, frames: FrameSet) -> Terms:
        shape = (attr.n_features, attr.maps[0, 0].size)
        noise = np.stack([
            np.random.default_rng([self.seed, int(level) % 2**32, zlib.crc32(state)]).random(shape, dtype=np.float32)
            for level, state in zip(frames.level_seeds, frames.states)
        ]) if len(frames) else np.zeros((0, *shape), dtype=np.float32)
        on, total = mass_parts(noise, object_mask(frames, self.classes))
        return {"on": on, "total": total}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        return ratio(totals["on"], totals["total"])
