"""``receptive-field-weighted``: attribution at the layer's own units, spread over what they see."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import BaseMetric, Terms
from interpbench.metrics.maps import object_mask, ratio
from interpbench.metrics.receptive_field import unit_weights
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@register("receptive-field-weighted")
class ReceptiveFieldWeighted(BaseMetric):
    """Share of hidden-unit attribution on objects, each unit spread over its receptive field.

    With h = max(attr.hidden, 0) (N, F, h, w), W the (64, units) Gaussian-weighted analytic
    receptive-field spread of ``attr.geometry`` (``interpbench.metrics.receptive_field.unit_weights``) and S_n
    the object mask, the input-resolution mass is W h W^T; its share on objects, pooled over frames:

        score_f = sum_n <h[n, f], W^T S_n W> / sum_n sum h[n, f]

    (W^T S_n W is each unit's weighted share of its field on objects; columns of W sum to 1, so a
    unit's whole mass lands in the image). Unlike the input-resolution maps this does not depend on
    how attribution was upsampled: it asks what each unit can see.
    """

    def __init__(self, classes: Sequence[str] | None = None, sigma_fraction: float = 0.25) -> None:
        super().__init__(classes)
        self.sigma_fraction = sigma_fraction

    def frame_terms(self, attr: AttributionSet, frames: FrameSet) -> Terms:
        n, f, rows, cols = attr.hidden.shape
        height, width = frames.masks.shape[2:]
        w_rows = unit_weights(attr.geometry, rows, height, self.sigma_fraction)
        w_cols = unit_weights(attr.geometry, cols, width, self.sigma_fraction)
        objects = object_mask(frames, self.classes).reshape(n, height, width)
        seen = w_rows.T @ objects @ w_cols  # (N, rows, cols): object share of each unit's field
        hidden = np.maximum(attr.hidden, 0).reshape(n, f, -1).astype(np.float64)
        on = np.matmul(hidden, seen.reshape(n, -1, 1))[..., 0]
        return {"on": on, "total": hidden.sum(axis=2)}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        return ratio(totals["on"], totals["total"])
