"""The library API every command, the gate, the tests and notebooks call.

Each function is one pipeline step with plain arguments (paths, spec strings, settings) and
returns the stage's data object; the command line is a thin layer that parses arguments and
prints what these return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from interpbench.data.frameset import FrameSet
from interpbench.data.zoo import default_zoo
from interpbench.frames.default import load_or_build_frames
from interpbench.metrics import registry
from interpbench.scoring.score import Attribute, score_zoo
from interpbench.scoring.table import ScoreTable, ScoringConfig
from interpbench.validation.labels import (
    DISTILL2020_DIR,
    PER_FEATURE_DIR,
    AggregateJudgments,
    feature_judgment_files,
    human_only,
    load_aggregate,
    load_feature_judgments,
)
from interpbench.validation.validate import Validation, validate


@dataclass
class Evaluation:
    """What one validation run produced: the scores, the judgments, the leaderboard."""

    table: ScoreTable
    labels: AggregateJudgments
    validation: Validation


def load_plugins(plugins: Sequence[str | Path] = ()) -> list[str]:
    """Import plugin files; returns warnings for entry-point plugins that failed to load."""
    for path in plugins:
        registry.load_plugin_file(path)
    return registry.load_failures()


def frames(path: str | Path | None = None, *, progress: bool = True) -> FrameSet:
    """The FrameSet at ``path``, or the default evaluation set (built on first use, cached)."""
    return load_or_build_frames(progress=progress) if path is None else FrameSet.load(path)


def score(
    metrics: Sequence[str] | None = None,
    *,
    zoo: str | Path | None = None,
    frames_path: str | Path | None = None,
    config: ScoringConfig = ScoringConfig(),
    plugins: Sequence[str | Path] = (),
    progress: bool = True,
    attribute: Attribute | None = None,
    n_jobs: int | None = None,
    time_limit_s: float | None = None,
) -> ScoreTable:
    """Score metric specs (default: all registered) on every checkpoint of ``zoo`` (default: shipped)."""
    load_plugins(plugins)
    return score_zoo(zoo or default_zoo(), frames(frames_path, progress=progress), metrics, config=config,
                     attribute=attribute, progress=progress, n_jobs=n_jobs, time_limit_s=time_limit_s)


def evaluate_zoo(
    metrics: Sequence[str] | None = None,
    *,
    labels: str | Path = DISTILL2020_DIR,
    feature_labels: str | Path = PER_FEATURE_DIR,
    method: str | None = None,
    **score_options: object,
) -> Evaluation:
    """Score, then validate against the stored human judgments (``validate``'s leaderboard)."""
    judgments_aggregate = load_aggregate(labels)
    table = score(metrics, **score_options)  # type: ignore[arg-type]
    known = {name: table.config.n_features for name in table.checkpoints.index}
    judgments = human_only(load_feature_judgments(feature_judgment_files(feature_labels), known))
    validation = validate(table, judgments_aggregate, judgments=judgments, method=method, seed=table.config.seed)
    return Evaluation(table, judgments_aggregate, validation)


def leaderboard_row(evaluation: Evaluation, spec: str) -> pd.Series:
    """The leaderboard row of one metric spec."""
    return evaluation.validation.leaderboard.set_index("name").loc[registry.canonical_spec(spec)]
