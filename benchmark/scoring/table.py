"""The score table of a zoo: every metric on every checkpoint, per feature, with its controls.

For each checkpoint and metric the table holds (all per feature unless said otherwise):

* ``trained``: the score on the whole FrameSet, the number the leaderboard ranks;
* ``boot``: the score on each of B frame resamples (shared by all checkpoints, see ``plan``);
* ``refits``: the score on the whole set with each of R refitted NMF bases (resamples of the
  fit frames), so that intervals can include the fit's chance;
* ``randomized``: the scores of T weight-randomized twins initialised as the students are
  (Adebayo et al. 2018; ``controls``), the same T networks for every checkpoint;
* ``cascade``: the scores of S steps of the cascading randomization of the model's own weights,
  top layer first (``ScoreTable.cascade_steps`` names them);
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
#: Own-play frames each basis is fitted on (docs/attribution.md: the measured cost of each size).
DEFAULT_OWN_PLAY_FRAMES = 256
#: The NMF fit protocols (``attribution.fit_set.FIT_SOURCES``, kept here torch-free).
NMF_FITS = ("own-play", "scoring-frames")
#: Steps of the cascading randomization (``controls.CASCADE``: heads, dense_1, dense, 4a, 3a).
MAX_CASCADE_DEPTH = 5


@dataclass(frozen=True)
class ScoringConfig:
    """Everything besides checkpoint, frames and metric that decides a score."""

    n_bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = 0
    head: str = "value"
    n_features: int = 8
    area_bins: int = 8
    #: Randomized twins (student initialisation); the issue asks for at least 5.
    n_twins: int = 5
    #: NMF refits per checkpoint, each on a bootstrap resample of the fit frames.
    n_refits: int = 2
    #: Where each basis is fitted: the model's own play on its training levels (the study's
    #: protocol) or the scoring frames themselves (``attribution.fit_set``).
    nmf_fit: str = "own-play"
    own_play_frames: int = DEFAULT_OWN_PLAY_FRAMES
    own_play_seed: int = 0
    #: Non-zero attribution rows an NMF fit sees at most (a seeded sample; docs/attribution.md).
    nmf_max_rows: int = 100_000
    #: Steps of the cascading randomization scored, top first (``controls.CASCADE``). Off by
    #: default: at 17.6 CPU s per checkpoint and step it would break the cold report's budget
    #: (docs/attribution.md); ``--cascade-depth N`` turns it on (docs/validation.md has its figures).
    cascade_depth: int = 0
    #: The attribution method (``attribution.methods``; ``--attribution``) and the layer attributed
    #: (None: the architecture's default, 2b for the clear CNN; ``agents.architectures``).
    attribution: str = "integrated-gradients"
    layer: str | None = None

    def __post_init__(self) -> None:
        if (self.n_bootstrap < 0 or self.area_bins < 2 or self.n_features < 1 or self.n_twins < 1
                or self.n_refits < 0 or self.own_play_frames < 1 or self.nmf_max_rows < self.n_features
                or not 0 <= self.cascade_depth <= MAX_CASCADE_DEPTH):
            raise InterpbenchError(f"invalid scoring settings {self}")
        if self.nmf_fit not in NMF_FITS:
            raise InterpbenchError(f"nmf_fit must be one of {NMF_FITS}, got {self.nmf_fit!r}")


@dataclass
class MetricScores:
    """One metric on one checkpoint: trained (F,), boot (B, F), refits (R, F), randomized
    (T, F), cascade (S, F), shuffled (F,) per-feature scores, area_bins (K,) model scores."""

    trained: np.ndarray
    boot: np.ndarray
    refits: np.ndarray
    randomized: np.ndarray
    cascade: np.ndarray
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
        return loaded if all(np.isfinite(a).all() for a in asdict(loaded).values()) else None


@dataclass
class ScoreTable:
    """Scores of a zoo. ``checkpoints`` is indexed by name (columns method, num_levels, run,
    preset, test_completion, path); ``scores[metric][checkpoint]``; ``metric_objects[metric]`` the
    metric instances (for ``aggregate`` and orientation); ``errors[metric]`` says why a metric is
    missing; ``bin_area`` (K,) is the mean object area of each area bin; ``cascade_steps`` names
    the rows of every ``cascade`` field, top layer first."""

    checkpoints: pd.DataFrame
    scores: dict[str, dict[str, MetricScores]]
    metric_objects: dict[str, Metric]
    errors: dict[str, str]
    bin_area: np.ndarray
    frames_hash: str
    n_frames: int
    config: ScoringConfig
    cascade_steps: tuple[str, ...] = ()

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
        """Oriented model scores (higher = better) of ``field`` per checkpoint: (n,) for trained
        and shuffled, (n, B) boot, (n, R) refits, (n, T) randomized, (n, S) cascade;
        ``area_bins`` (n, K) are model scores already."""
        values = self.stacked(metric, field, names)
        m = self.metric_objects[metric]
        if field == "area_bins":
            return (1.0 if getattr(m, "higher_is_better", True) else -1.0) * values
        return oriented_model_scores(m, values)

    def long(self) -> pd.DataFrame:
        """One row per (checkpoint, metric, feature): the per-feature scores, for scores.csv
        (``randomized``: the mean over the twins)."""
        rows = []
        for metric, per in self.scores.items():
            for name, s in per.items():
                ckpt = self.checkpoints.loc[name]
                for f in range(len(s.trained)):
                    rows.append({"checkpoint": name, "method": ckpt["method"], "num_levels": ckpt["num_levels"],
                                 "run": ckpt["run"], "metric": metric, "feature": f, "score": s.trained[f],
                                 "randomized": s.randomized[:, f].mean(), "shuffled_masks": s.shuffled[f]})
        return pd.DataFrame(rows)

    def per_model(self) -> pd.DataFrame:
        """Model scores (the metric's own aggregate, not oriented): checkpoints x metrics."""
        return pd.DataFrame({metric: self.model_scores(metric) * (1.0 if up else -1.0)
                             for metric, up in self.higher_is_better.items()}, index=self.checkpoints.index)
