"""Chance-corrected overlap and mass: 0 is what a random placement would get, 1 is perfect.

For each frame n and feature f, with an observed overlap o, the overlap e expected from placing
the same attribution uniformly at random in the image, and the best overlap b possible for that
attribution size and mask area, pooled over frames:

    score_f = (sum_n o_nf - sum_n e_nf) / (sum_n b_nf - sum_n e_nf)      (0 when b = e everywhere)

Negative means below chance. This is Cohen's kappa's construction; pooling sums before dividing,
so a frame counts in proportion to how much attribution it has.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.attribution_mass import mass_parts
from interpbench.metrics.base import BaseMetric, Terms
from interpbench.metrics.maps import flat_maps, object_area_share, object_mask, ratio
from interpbench.metrics.overlap import OverlapMetric
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


def chance_corrected(observed: np.ndarray, chance: np.ndarray, best: np.ndarray) -> np.ndarray:
    """(o - e) / (b - e) of totals over frames, elementwise (0 where b = e)."""
    return ratio(observed - chance, best - chance)


@register("chance-corrected-overlap")
class ChanceCorrectedOverlap(OverlapMetric):
    """Overlap of present attribution with objects beyond random placement; 0 chance, 1 perfect.

    With A the present pixels (``interpbench.metrics.overlap``), S the objects and P pixels: o = |A ∩ S|,
    e = |A| |S| / P (expected intersection of |A| uniformly placed pixels), b = min(|A|, |S|).
    Corrects both ``raw-overlap`` and ``area-normalized``: their area factors cancel.
    """

    def overlap_terms(self, intersection: np.ndarray, area: np.ndarray, object_area: np.ndarray,
                      n_pixels: int) -> Terms:
        return {"observed": intersection, "chance": area * object_area / n_pixels,
                "best": np.minimum(area, object_area)}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        return chance_corrected(totals["observed"], totals["chance"], totals["best"])


@register("chance-corrected-mass")
class ChanceCorrectedMass(BaseMetric):
    """Positive attribution mass on objects beyond a uniform spread; 0 chance, 1 perfect.

    With v = max(a, 0), w = sum_p v (the map's mass) and c = |S| / P: o = sum_{p in S} v,
    e = w c, b = w (0 on a frame without objects). Equals (attribution-mass - mask-area-prior) / (1 - mask-area-prior).
    """

    def frame_terms(self, attr: AttributionSet, frames: FrameSet) -> Terms:
        on, total = mass_parts(flat_maps(attr, "positive"), object_mask(frames, self.classes))
        area_share = object_area_share(frames, self.classes)[:, None]
        return {"observed": on, "chance": total * area_share, "best": total * (area_share > 0)}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        return chance_corrected(totals["observed"], totals["chance"], totals["best"])

