"""``object-consistency``: does a feature's attribution keep falling on the same kind of object?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import BaseMetric, Terms
from interpbench.metrics.maps import flat_maps, object_classes, ratio
from interpbench.metrics.registry import register

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@register("object-consistency")
class ObjectConsistency(BaseMetric):
    """1 - normalized entropy of the feature's positive attribution mass over object classes.

    With v = max(a, 0) and K object classes (background excluded), the feature's mass on class k
    over all frames is M_fk = sum_n sum_{p in S_nk} v[n, f, p]; with p_fk = M_fk / sum_k M_fk,

        score_f = 1 - H(p_f) / log K,   H(p) = -sum_k p_k log p_k  (0 log 0 = 0),

    1 when all object mass is on one class, 0 when it is spread evenly (and for a feature with
    no mass on any object). Human judges called a feature interpretable when it kept pointing at
    one named thing; this asks the same of the masks. With a single class it is 1 whenever the
    feature has any mass on it. Mass on background is ignored (pair it with a mass metric).
    """

    def frame_terms(self, attr: AttributionSet, frames: FrameSet) -> Terms:
        """Each frame's positive mass of each feature on each object class: (N, F, K)."""
        names = object_classes(frames, self.classes)
        idx = [frames.class_index(c) for c in names]
        class_masks = frames.masks[:, idx].reshape(len(frames), len(idx), -1)  # (N, K, P)
        values = flat_maps(attr, "positive")
        return {"mass": np.matmul(values, class_masks.transpose(0, 2, 1).astype(values.dtype))}

    def combine(self, totals: Terms, n_frames: np.ndarray) -> np.ndarray:
        mass = totals["mass"]  # (..., F, K)
        share = ratio(mass, mass.sum(axis=-1, keepdims=True))
        with np.errstate(divide="ignore", invalid="ignore"):
            entropy = -np.where(share > 0, share * np.log(share), 0.0).sum(axis=-1)
        has_mass = mass.sum(axis=-1) > 0
        if mass.shape[-1] == 1:
            return has_mass.astype(np.float64)
        return np.where(has_mass, 1.0 - entropy / np.log(mass.shape[-1]), 0.0)
