"""Where a feature's attribution is *present*, and its overlap with the objects: shared by
``raw-overlap``, ``area-normalized`` and ``chance-corrected-overlap``.

Definition of "present". With v = max(a, 0) the positive attribution of feature f,

    present(n, f, p)  <=>  v[n, f, p] > 0  and  v[n, f, p] >= threshold * max_{n', p'} v[n', f, p']

i.e. at least ``threshold`` (default 0.1) of the feature's largest attribution over the *whole*
FrameSet. A set-wide maximum (as Network Dissection's set-wide activation threshold) means a frame
where the feature is barely active has little or nothing present, instead of always having its
own top pixels; an all-zero feature has nothing present anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import BaseMetric, Terms
from interpbench.metrics.maps import flat_maps, object_mask

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


def check_threshold(threshold: float) -> None:
    if not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")


class OverlapMetric(BaseMetric):
    """Base of the metrics built on the present-pixel set A and the object mask S.

    Present depends on the feature's peak over the *whole* frame set, so these are not
    frame-additive: a resample without the peak frame has a lower threshold. They score
    reweightings themselves (``score_weighted``): a row's threshold is ``threshold`` times the
    largest per-frame peak among the frames it draws, so each feature needs the per-frame counts
    at only the few distinct thresholds its rows have, and the numbers equal a re-run on the
    drawn frames. A subclass says which per-frame terms it needs from |A ∩ S|, |A| and |S|
    (``overlap_terms``) and how totals make a score (``combine``).
    """

    def __init__(self, classes: Sequence[str] | None = None, threshold: float = 0.1) -> None:
        super().__init__(classes)
        check_threshold(threshold)
        self.threshold = threshold

    def overlap_terms(self, intersection: np.ndarray, area: np.ndarray, object_area: np.ndarray,
                      n_pixels: int) -> Terms:
        """Per-frame terms (each (N,)) from |A ∩ S|, |A| and |S| (float64 (N,) each)."""
        raise NotImplementedError

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def score(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        return self.score_weighted(attr, frames, np.ones((1, attr.n_frames)))[0]

    def score_weighted(self, attr: AttributionSet, frames: FrameSet, weights: np.ndarray) -> np.ndarray:
        """(R, F) scores on the reweightings ``weights`` (R, N) of the frames."""
        values = flat_maps(attr, "positive")  # (N, F, P)
        objects = object_mask(frames, self.classes)  # (N, P)
        object_area = np.count_nonzero(objects, axis=-1).astype(np.float64)
        n_pixels = values.shape[-1]
        frame_peak = values.max(axis=-1)  # (N, F) float32
        drawn = weights > 0
        totals: dict[str, np.ndarray] = {}
        for f in range(values.shape[1]):
            row_peak = np.where(drawn, frame_peak[None, :, f], -np.inf).max(axis=1).astype(np.float32)  # (R,)
            cut = self.threshold * row_peak  # float32, as ``present`` computes it
            for value in np.unique(cut):
                rows = np.flatnonzero(cut == value)
                shown = (values[:, f] > 0) & (values[:, f] >= value)  # (N, P)
                terms = self.overlap_terms(np.count_nonzero(shown & objects, axis=-1).astype(np.float64),
                                           np.count_nonzero(shown, axis=-1).astype(np.float64), object_area, n_pixels)
                for key, term in terms.items():
                    totals.setdefault(key, np.zeros((len(weights), values.shape[1])))[rows, f] = weights[rows] @ term
        return np.asarray(self.combine(totals, weights.sum(axis=1)), dtype=np.float64)
