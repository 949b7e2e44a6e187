"""Score many metrics on one (AttributionSet, FrameSet), isolating failures per metric.

One broken plugin must not cost a whole leaderboard run: each metric's failure is recorded
under its name and the others still score.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
from interpbench.metrics.base import MetricError, checked_scores
from interpbench.metrics.registry import available, get

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


def score_all(
    attr: AttributionSet, frames: FrameSet, names: Iterable[str] | None = None
) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Per-feature scores (F,) of each metric in ``names`` (default: every registered one).

    Returns ``(scores, errors)``: ``errors`` maps the name of each metric that raised, returned a
    wrong shape or a non-finite value to a message naming it. An unknown name is the caller's
    mistake and raises ``MetricError`` before anything is scored.
    """
    names = list(available()) if names is None else list(names)
    metrics = {name: get(name) for name in names}
    scores: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    for name, metric in metrics.items():
        try:
            scores[name] = checked_scores(metric, attr, frames)
        except MetricError as exc:
            errors[name] = str(exc)
    return scores, errors
