"""The Metric protocol every registered metric follows, and the base class built-ins share.

A metric is any object with a ``name``, ``higher_is_better`` and a ``score(attr, frames)`` that
returns one finite float per feature. Plain functions of the two data objects keep metrics easy to
write, test and vectorize; nothing model-specific is passed besides what AttributionSet carries.

A model's score is the mean of its per-feature scores unless the metric defines
``aggregate(scores) -> float``: an optional hook (a plugin need not have it), which
:func:`model_score` honours.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np
from interpbench.infra.errors import InterpbenchError

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


class MetricError(InterpbenchError):
    """A metric failed or returned something unusable; the message names the metric."""


@runtime_checkable
class Metric(Protocol):
    name: str  # registry key, kebab-case
    higher_is_better: bool

    def score(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        """Per-feature scores, float (F,)."""
        ...


class BaseMetric:
    """Shared configuration of the built-ins: which mask classes are "objects of interest".

    ``classes=None`` means every class of the FrameSet except background (the default of
    ``FrameSet.object_mask``), so a study can ask "does this feature look at coins?" by passing
    ``classes=("coin",)`` without a new metric.
    """

    name: str
    higher_is_better: bool = True

    def __init__(self, classes: Sequence[str] | None = None) -> None:
        self.classes = tuple(classes) if classes is not None else None

    def score(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        raise NotImplementedError

    def aggregate(self, scores: np.ndarray) -> float:
        """The model's score from its per-feature scores: the mean over features."""
        return float(np.mean(scores))


def model_score(metric: Metric, scores: np.ndarray) -> float:
    """One number per model: the metric's own ``aggregate`` if it has one, else the mean."""
    hook = getattr(metric, "aggregate", None)
    value = float(hook(scores)) if callable(hook) else float(np.mean(scores))
    if not np.isfinite(value):
        raise MetricError(f"metric {metric.name!r} aggregated its scores to {value}")
    return value


def checked_scores(metric: Metric, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
    """Run ``metric`` and insist on a finite float vector of length F, naming the metric if not.

    A NaN silently averaged into a leaderboard is worse than a crash, so it is an error here.
    """
    if len(frames) != attr.n_frames:
        raise MetricError(f"{metric.name}: FrameSet has {len(frames)} frames, AttributionSet {attr.n_frames}")
    try:
        raw = metric.score(attr, frames)
    except MetricError:
        raise
    except Exception as exc:  # a plugin may raise anything; report it under its name
        raise MetricError(f"metric {metric.name!r} raised {type(exc).__name__}: {exc}") from exc
    scores = np.asarray(raw, dtype=np.float64)
    if scores.shape != (attr.n_features,):
        raise MetricError(f"metric {metric.name!r} returned shape {scores.shape}, expected ({attr.n_features},)")
    if not np.isfinite(scores).all():
        bad = np.flatnonzero(~np.isfinite(scores)).tolist()
        raise MetricError(f"metric {metric.name!r} returned NaN or inf for feature(s) {bad}")
    return scores
