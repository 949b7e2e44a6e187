"""The score table of a zoo: every metric on every checkpoint, per feature, with its controls.

For each checkpoint and metric the table holds (all per feature unless said otherwise):

* ``trained``: the score on the whole FrameSet, the number the leaderboard ranks;
* ``boot``: the score on each of B frame resamples (shared by all checkpoints, see ``plan``);
* ``randomized``: the score of a weight-randomized twin of the model (Adebayo et al. 2018);
* ``shuffled``: the score with each frame's masks swapped for another frame's;
* ``area_bins``: the *model* score on K bins of frames sorted by object area, to see whether a
  metric merely tracks how much of the frame objects cover.

Per-feature scores become a model's score only through :meth:`ScoreTable.model_scores`, which
applies the metric's own ``aggregate`` and orientation (``metrics.base``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from interpbench.infra import atomic
from interpbench.infra.errors import InterpbenchError
from interpbench.metrics.base import Metric, oriented_model_scores

#: Frame resamples per checkpoint. Frame-additive metrics score them all in one call; the others
#: pay one call per resample (tests/benchmarks/test_bench_scoring.py).
DEFAULT_BOOTSTRAP = 50


@dataclass(frozen=True)
class ScoringConfig:
    """Everything besides checkpoint, frames and metric that decides a score."""

    n_bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = 0
    head: str = "value"
    n_features: int = 8
    area_bins: int = 8

    def __post_init__(self) -> None:
        if self.n_bootstrap < 0 or self.area_bins < 2 or self.n_features < 1:
            raise InterpbenchError(f"invalid scoring settings {self}")


@dataclass
class MetricScores:
    """One metric on one checkpoint: trained (F,), boot (B, F), randomized (F,), shuffled (F,),
    area_bins (K,) model scores."""

    trained: np.ndarray
    boot: np.ndarray
    randomized: np.ndarray
    shuffled: np.ndarray
    area_bins: np.ndarray

    def save(self, path: Path) -> None:
        with atomic.atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, **asdict(self))

    @classmethod
    def load(cls, path: Path) -> MetricScores | None:
        """The cached entry, or None when it is unreadable or incomplete (then it is rebuilt)."""
        try:
            with np.load(path, allow_pickle=False) as z:
                loaded = cls(**{k: z[k] for k in z.files})
        except Exception:  # any damage to our own cache entry (numpy raises many kinds): rebuild it
            return None
        arrays = [loaded.trained, loaded.boot, loaded.randomized, loaded.shuffled, loaded.area_bins]
        return loaded if all(np.isfinite(a).all() for a in arrays) else None


@dataclass
class ScoreTable:
    """Scores of a zoo. ``checkpoints`` is indexed by name (columns method, num_levels, run,
    preset, test_completion, path); ``scores[metric][checkpoint]``; ``metric_objects[metric]`` the
    metric instances (for ``aggregate`` and orientation); ``errors[metric]`` says why a metric is
    missing; ``bin_area`` (K,) is the mean object area of each area bin."""

    checkpoints: pd.DataFrame
    scores: dict[str, dict[str, MetricScores]]
    metric_objects: dict[str, Metric]
    errors: dict[str, str]
    bin_area: np.ndarray
    frames_hash: str
    n_frames: int
    config: ScoringConfig

    @property
    def metrics(self) -> list[str]:
        return list(self.scores)

    @property
    def higher_is_better(self) -> dict[str, bool]:
        return {name: bool(getattr(m, "higher_is_better", True)) for name, m in self.metric_objects.items()}

    def stacked(self, metric: str, field: str, names: pd.Index | None = None) -> np.ndarray:
        """``field`` of ``metric`` for the checkpoints ``names`` (default: all, table order), on axis 0."""
        per = self.scores[metric]
        return np.stack([getattr(per[name], field) for name in (self.checkpoints.index if names is None else names)])

    def model_scores(self, metric: str, field: str = "trained", names: pd.Index | None = None) -> np.ndarray:
        """Oriented model scores (higher = better) of ``field`` per checkpoint: (n,) for trained,
        randomized and shuffled, (n, B) for boot; ``area_bins`` (n, K) are model scores already."""
        values = self.stacked(metric, field, names)
        m = self.metric_objects[metric]
        if field == "area_bins":
            return (1.0 if getattr(m, "higher_is_better", True) else -1.0) * values
        return oriented_model_scores(m, values)

    def long(self) -> pd.DataFrame:
        """One row per (checkpoint, metric, feature): the per-feature scores, for scores.csv."""
        rows = []
        for metric, per in self.scores.items():
            for name, s in per.items():
                ckpt = self.checkpoints.loc[name]
                for f in range(len(s.trained)):
                    rows.append({"checkpoint": name, "method": ckpt["method"], "num_levels": ckpt["num_levels"],
                                 "run": ckpt["run"], "metric": metric, "feature": f, "score": s.trained[f],
                                 "randomized": s.randomized[f], "shuffled_masks": s.shuffled[f]})
        return pd.DataFrame(rows)

    def per_model(self) -> pd.DataFrame:
        """Model scores (the metric's own aggregate, not oriented): checkpoints x metrics."""
        return pd.DataFrame({metric: self.model_scores(metric) * (1.0 if up else -1.0)
                             for metric, up in self.higher_is_better.items()}, index=self.checkpoints.index)
