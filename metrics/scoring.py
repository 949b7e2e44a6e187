"""Score many metrics on one (AttributionSet, FrameSet), isolating failures per metric.

One broken plugin must not cost a whole leaderboard run: each metric's failure is recorded
under its name and the others still score.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import Metric, MetricError, weighted_scores
from interpbench.metrics.registry import available, get

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


def weighted_all(metrics: Mapping[str, Metric], attr: AttributionSet, frames: FrameSet,
                 weights: np.ndarray) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(R, F) scores of each metric on R reweightings of the frames (``metrics.base.weighted_scores``).

    Returns ``(scores, errors)``: ``errors`` maps each metric that raised, returned a wrong shape
    or a non-finite value to a message naming it.
    """
    scores: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    for spec, metric in metrics.items():
        try:
            scores[spec] = weighted_scores(metric, attr, frames, weights)
        except MetricError as exc:
            errors[spec] = str(exc)
    return scores, errors


def score_all(
    attr: AttributionSet, frames: FrameSet, names: Iterable[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Per-feature scores (F,) of each metric spec in ``names`` (default: every registered one).

    An unknown name is the caller's mistake and raises ``MetricError`` before anything is scored.
    """
    specs = list(available()) if names is None else list(names)
    metrics = {spec: get(spec) for spec in specs}
    scores, errors = weighted_all(metrics, attr, frames, np.ones((1, attr.n_frames)))
    return {spec: rows[0] for spec, rows in scores.items()}, errors
