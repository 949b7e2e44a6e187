"""Quantus 0.6.0's localisation metrics, computed as single vectorized numpy expressions.

Each is one of the built-ins configured as Quantus configures it by default (signs as Quantus'
``abs`` defaults; its default max-normalisation does not change these scale-free ratios), scored
per frame and averaged over frames. They agree with Quantus to 1e-6 except where Quantus 0.6.0 is
undefined or defective: a frame with an empty object mask, or with zero total attribution, scores
0 here (Quantus: NaN, or 1 for Pointing Game); tied maxima share the hit (Quantus: any tied
maximum on the mask is a hit).
"""

from __future__ import annotations

from collections.abc import Sequence

from interpbench.metrics.attribution_mass import AttributionMass
from interpbench.metrics.maps import Sign
from interpbench.metrics.registry import register
from interpbench.metrics.thresholded_saliency import ThresholdedSaliency

#: Our name -> the Quantus 0.6.0 class that computes the same per-map quantity.
QUANTUS_CLASSES: dict[str, str] = {
    "pointing-game": "PointingGame",
    "top-k-intersection": "TopKIntersection",
    "relevance-mass-accuracy": "RelevanceMassAccuracy",
    "attribution-localisation": "AttributionLocalisation",
}


@register("pointing-game")
class PointingGame(ThresholdedSaliency):
    """Share of frames whose single largest attribution pixel lies on an object (Quantus).

    score_f = mean_n [argmax_p a[n, f, p] in S_n], signed maps, no pixel tolerance.
    """

    def __init__(self, classes: Sequence[str] | None = None, sign: Sign = "signed") -> None:
        super().__init__(classes, sign=sign, k=1)


@register("top-k-intersection")
class TopKIntersection(ThresholdedSaliency):
    """Share of each map's k = 1000 largest pixels on objects, mean over frames (Quantus).

    score_f = mean_n |topk(a[n, f]) ∩ S_n| / k, signed maps.
    """

    def __init__(self, classes: Sequence[str] | None = None, k: int = 1000, sign: Sign = "signed") -> None:
        super().__init__(classes, sign=sign, k=k)


@register("relevance-mass-accuracy")
class RelevanceMassAccuracy(AttributionMass):
    """Per-frame share of positive relevance on objects, mean over frames (Quantus, CLEVR-XAI).

    score_f = mean_n sum_{p in S_n} max(a, 0) / sum_p max(a, 0): Quantus' RelevanceMassAccuracy
    on positive relevance, as CLEVR-XAI (Arras et al. 2022) defines it and Quantus' callers pass
    it. On signed maps the denominator can be near zero, which made the score machine-dependent.
    """

    def __init__(self, classes: Sequence[str] | None = None, sign: Sign = "positive") -> None:
        super().__init__(classes, sign=sign, pooled=False)

    score_frames = AttributionMass.shares  # per-map scores, averaged over frames


@register("attribution-localisation")
class AttributionLocalisation(AttributionMass):
    """Per-frame share of absolute attribution on objects, mean over frames (Quantus).

    score_f = mean_n sum_{p in S_n} |a[n, f, p]| / sum_p |a[n, f, p]| (Quantus' unweighted default).
    """

    def __init__(self, classes: Sequence[str] | None = None, sign: Sign = "abs") -> None:
        super().__init__(classes, sign=sign, pooled=False)

    score_frames = AttributionMass.shares  # per-map scores, averaged over frames
