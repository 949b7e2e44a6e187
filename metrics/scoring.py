"""Score many metrics on one (AttributionSet, FrameSet), isolating failures per metric.

One broken plugin must not cost a whole leaderboard run: each metric's failure is recorded
under its name and the others still score.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

import numpy as np

from interpbench.metrics.base import Metric, MetricError, weighted_scores
from interpbench.metrics.registry import available, get

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet


@contextlib.contextmanager
def time_limit(seconds: float | None, name: str) -> Iterator[None]:
    """Raise ``MetricError`` in the block once ``seconds`` of wall time have passed (None: no limit).

    A timer signal, so it works only in the main thread of a POSIX process (elsewhere the limit is
    not applied); a long call inside numpy is interrupted when it returns to Python."""
    usable = hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()
    if seconds is None or not usable:
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise MetricError(f"metric {name!r} exceeded its time limit of {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def weighted_all(metrics: Mapping[str, Metric], attr: AttributionSet, frames: FrameSet,
                 weights: np.ndarray, time_limit_s: float | None = None) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(R, F) scores of each metric on R reweightings of the frames (``metrics.base.weighted_scores``).

    Returns ``(scores, errors)``: ``errors`` maps each metric that raised, returned a wrong shape
    or a non-finite value, or ran past ``time_limit_s`` (per metric and call), to a message naming it.
    """
    scores: dict[str, np.ndarray] = {}
    errors: dict[str, str] = {}
    for spec, metric in metrics.items():
        try:
            with time_limit(time_limit_s, spec):
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
