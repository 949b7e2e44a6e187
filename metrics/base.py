"""The Metric protocol, the base class built-ins share, and the one way scores become a model's.

A metric is any object with a ``name``, ``higher_is_better`` and a ``score(attr, frames)`` that
returns one finite float per feature. Plain functions of the two data objects keep metrics easy to
write, test and vectorize; nothing model-specific is passed besides what AttributionSet carries.

Two optional hooks, honoured everywhere through the functions of this module:

* ``aggregate(scores) -> float``: the model's score from its per-feature scores (default: the
  mean). :func:`model_score` and :func:`oriented_model_scores` are the only places that turn
  per-feature scores into a model's score, for the leaderboard, the report and ``score`` alike.
* A *frame-additive* form, for metrics that are functions of sums over frames, so that scoring
  the same frames reweighted (bootstrap replicates, area bins) costs a matrix product instead of a
  re-run: either ``score_frames(attr, frames) -> (N, F)``, when the score is the mean over frames
  of per-frame scores, or ``frame_terms(attr, frames) -> {name: (N, F, ...)}`` with
  ``combine(totals, n_frames) -> (..., F)`` for pooled ratios (score = combine(sum_n terms)). Each
  frame's terms must depend on that frame alone. :func:`weighted_scores` uses the form when a
  metric has one and falls back to one ``score`` call per reweighting when it does not.
* ``score_weighted(attr, frames, weights) -> (R, F)``: a metric whose terms depend on the whole
  frame set (the overlap metrics' set-wide threshold) may score reweightings itself, exactly as
  a re-run on the frames each row draws would.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

from interpbench.infra.errors import InterpbenchError

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet

Terms = dict[str, np.ndarray]


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
    ``FrameSet.object_mask``), so a study can ask "does this feature look at coins?" with
    ``get("attribution-mass", classes=("coin",))`` or ``attribution-mass[classes=coin]``.

    A subclass defines ``score``, or one of the frame-additive forms (module docstring), from
    which ``score`` follows. ``version`` (optional) declares the metric's identity for the score
    cache instead of its source code: bump it when the numbers change.
    """

    name: str
    higher_is_better: bool = True
    version: str | None = None

    def __init__(self, classes: Sequence[str] | None = None) -> None:
        self.classes = tuple(classes) if classes is not None else None

    def score(self, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
        if not has_frame_form(self):
            raise NotImplementedError(f"{type(self).__name__} defines neither score nor a frame-additive form")
        return combined(self, frame_terms(self, attr, frames), np.ones((1, attr.n_frames)))[0]

    def aggregate(self, scores: np.ndarray) -> float:
        """The model's score from its per-feature scores: the mean over features."""
        return float(np.mean(scores))


# -- per-feature scores -> a model's score ---------------------------------------------------------


def orientation(metric: Any) -> float:
    """+1 for a higher-is-better metric, -1 otherwise: oriented scores are "higher = better"."""
    return 1.0 if getattr(metric, "higher_is_better", True) else -1.0


def model_score(metric: Metric, scores: np.ndarray) -> float:
    """One number per model: the metric's own ``aggregate`` if it has one, else the mean."""
    hook = getattr(metric, "aggregate", None)
    try:
        value = float(hook(scores)) if callable(hook) else float(np.mean(scores))
    except Exception as exc:  # a plugin's hook may raise anything; report it under its name
        raise MetricError(f"metric {metric.name!r}: aggregate raised {type(exc).__name__}: {exc}") from exc
    if not np.isfinite(value):
        raise MetricError(f"metric {metric.name!r} aggregated its scores to {value}")
    return value


def oriented_model_scores(metric: Metric, scores: np.ndarray) -> np.ndarray:
    """Oriented model scores of per-feature scores (..., F): one per leading index, float64."""
    scores = np.asarray(scores, dtype=np.float64)
    flat = scores.reshape(-1, scores.shape[-1])
    values = np.array([model_score(metric, row) for row in flat], dtype=np.float64)
    return orientation(metric) * values.reshape(scores.shape[:-1])


# -- frame-additive scoring ------------------------------------------------------------------------


def has_frame_form(metric: object) -> bool:
    """Whether ``metric`` can be scored on reweighted frames by a matrix product."""
    return callable(getattr(metric, "score_frames", None)) or (
        callable(getattr(metric, "frame_terms", None)) and callable(getattr(metric, "combine", None))
    )


def frame_terms(metric: Any, attr: AttributionSet, frames: FrameSet) -> Terms:
    """The metric's per-frame terms, each (N, F, ...) float64 (``score_frames`` -> {"mean": ...})."""
    if callable(getattr(metric, "score_frames", None)):
        raw: Mapping[str, Any] = {"mean": metric.score_frames(attr, frames)}
    else:
        raw = metric.frame_terms(attr, frames)
    terms = {key: np.asarray(value, dtype=np.float64) for key, value in raw.items()}
    bad = {k: v.shape for k, v in terms.items() if v.ndim < 2 or v.shape[:2] != (attr.n_frames, attr.n_features)}
    if bad:
        raise MetricError(f"metric {metric.name!r}: frame terms must be (N={attr.n_frames}, F={attr.n_features}, "
                          f"...), got {bad}")
    return terms


def combined(metric: Any, terms: Mapping[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
    """(R, F) scores on R reweightings of the frames: ``weights`` (R, N) counts each frame's uses."""
    totals = {key: np.tensordot(weights, value, axes=(1, 0)) for key, value in terms.items()}
    n_frames = weights.sum(axis=1)
    if callable(getattr(metric, "score_frames", None)):
        return totals["mean"] / n_frames[:, None]
    return np.asarray(metric.combine(totals, n_frames), dtype=np.float64)


def take_weighted(weights: np.ndarray) -> np.ndarray:
    """Frame indices that realise a row of counts (N,): frame n repeated ``weights[n]`` times."""
    return np.repeat(np.arange(len(weights)), np.asarray(weights).astype(np.int64))


def _checked(metric: Any, scores: Any, shape: tuple[int, ...]) -> np.ndarray:
    try:
        values = np.asarray(scores, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise MetricError(f"metric {metric.name!r} returned non-numeric scores: {exc}") from exc
    if values.shape != shape:
        raise MetricError(f"metric {metric.name!r} returned shape {values.shape}, expected {shape}")
    if not np.isfinite(values).all():
        bad = sorted({int(i) for i in np.argwhere(~np.isfinite(values))[:, -1]})
        raise MetricError(f"metric {metric.name!r} returned NaN or inf for feature(s) {bad}")
    return values


def _guarded(metric: Any, call: Any) -> Any:
    """``call()``, with anything it raises (a plugin may raise anything) reported under the metric's name."""
    try:
        return call()
    except MetricError:
        raise
    except (Exception, SystemExit) as exc:  # SystemExit too: a plugin must not end the run as a success
        raise MetricError(f"metric {metric.name!r} raised {type(exc).__name__}: {exc}") from exc


def checked_scores(metric: Metric, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
    """Run ``metric`` and insist on a finite float vector of length F, naming the metric if not.

    A NaN silently averaged into a leaderboard is worse than a crash, so it is an error here.
    """
    if len(frames) != attr.n_frames:
        raise MetricError(f"{metric.name}: FrameSet has {len(frames)} frames, AttributionSet {attr.n_frames}")
    return _checked(metric, _guarded(metric, lambda: metric.score(attr, frames)), (attr.n_features,))


def weighted_scores(metric: Metric, attr: AttributionSet, frames: FrameSet, weights: np.ndarray) -> np.ndarray:
    """Checked (R, F) scores of ``metric`` on R reweightings of the frames (``weights`` (R, N)).

    A metric with ``score_weighted`` scores the rows itself; a frame-additive metric is called
    once and its terms reweighted; any other metric is scored on the frames each row draws
    (``take``), one call per row. Both give the same numbers up to
    floating-point summation order (tests/benchmarks/test_bench_scoring.py).
    """
    if len(frames) != attr.n_frames:
        raise MetricError(f"{metric.name}: FrameSet has {len(frames)} frames, AttributionSet {attr.n_frames}")
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    own = getattr(metric, "score_weighted", None)
    if callable(own):
        rows = _guarded(metric, lambda: own(attr, frames, weights))
    elif has_frame_form(metric):
        terms = _guarded(metric, lambda: frame_terms(metric, attr, frames))
        rows = _guarded(metric, lambda: combined(metric, terms, weights))
    else:
        def score_drawn(row: np.ndarray) -> np.ndarray:
            index = take_weighted(row)
            raw = _guarded(metric, lambda: metric.score(attr.take(index), frames.take(index)))
            return _checked(metric, raw, (attr.n_features,))

        rows = [score_drawn(row) for row in weights]
    return _checked(metric, rows, (len(weights), attr.n_features))
