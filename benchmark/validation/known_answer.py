"""The leaderboard's known-answer track: each metric against interpretability planted by construction.

Why a track of its own: the human target describes other models, matched to ours by level count,
so a metric that truly measured interpretability could not be told from one that detects the
level count. The known-answer zoo (``baselines/zoo-known``, docs/known-answer.md) plants the
degree k (0-8 of the glass-box network's channel groups at layer 2b are the game's own object
masks) and trains the layers above to play through it; the oracle (``validation.oracle``)
measures how much of the value attribution the planted channels carry. A metric that sees
interpretability must rank these agents by k. The figures are measured ground truth of a
construction, never human judgments.

A metric *sees planted interpretability* when its Spearman with k is at least
:data:`RECOVERS_SPEARMAN` and its 95% interval (k values resampled as clusters) lies above 0;
the leaderboard flags every metric that does not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from interpbench.infra.provenance import shown_path
from interpbench.scoring.table import ScoreTable
from interpbench.validation.board_columns import with_metric_columns
from interpbench.validation.design import NotEstimable
from interpbench.validation.inference import DEFAULT_REPLICATES
from interpbench.validation.oracle import REFERENCE_ROWS, known_answer_rows, planted_k

#: The bar a metric must clear to be said to recover the planted k (issue 15's).
RECOVERS_SPEARMAN = 0.8

#: The per-metric columns the report shows, in order.
SHOWN_COLUMNS = ("metric", "spearman_k", "ci_low", "ci_high", "p_value", "n_checkpoints", "n_k", "recovers_k")

#: Leaderboard column -> known-answer row column.
BOARD_COLUMNS = {"planted_spearman": "spearman_k", "planted_lo": "ci_low", "planted_hi": "ci_high",
                 "sees_planted": "recovers_k"}


def recovers_k(row: pd.Series) -> bool:
    """Spearman with k >= RECOVERS_SPEARMAN and the interval's lower end above 0 (NaN never does)."""
    return bool(row["spearman_k"] >= RECOVERS_SPEARMAN and row["ci_low"] > 0)


@dataclass(frozen=True)
class KnownAnswerTrack:
    """Per metric (and the oracle, first), agreement with the planted k over a known-answer zoo.

    ``zoo``: the folder scored; ``checkpoints``: name -> k of the checkpoints ranked; ``settings``:
    the scoring's frames and resamples; ``reason`` says why the track is empty (no known-answer
    zoo scored, or too few k values to rank)."""

    rows: pd.DataFrame
    zoo: str
    checkpoints: dict[str, int] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)
    reason: str = ""

    @classmethod
    def empty(cls, reason: str, zoo: str = "") -> KnownAnswerTrack:
        return cls(pd.DataFrame(columns=list(SHOWN_COLUMNS)), zoo, reason=reason)

    def metric_rows(self) -> pd.DataFrame:
        """The registered metrics' rows (the oracle's and completion's left out)."""
        return self.rows[~self.rows["metric"].isin(REFERENCE_ROWS)]


def known_answer_track(table: ScoreTable, zoo_dir: Path, oracle: dict[str, float], *,
                       n_replicates: int = DEFAULT_REPLICATES, seed: int = 0) -> KnownAnswerTrack:
    """The track of ``table`` (scored on the known-answer zoo ``zoo_dir``), with the oracle's
    shares (name -> planted share); empty, saying why, where the zoo's k values cannot be ranked."""
    shown = shown_path(zoo_dir, outside="")
    try:
        rows = known_answer_rows(table, zoo_dir, oracle=oracle, n_replicates=n_replicates, seed=seed)
    except NotEstimable as exc:
        return KnownAnswerTrack.empty(f"the known-answer zoo {shown} cannot be ranked by k: {exc}", shown)
    rows = rows.reset_index()
    rows["recovers_k"] = [recovers_k(r) for _, r in rows.iterrows()]
    ks = planted_k(zoo_dir).loc[table.checkpoints.index]
    settings = {"n_frames": int(table.n_frames), "frames_hash": table.frames_hash,
                "bootstrap": table.config.n_bootstrap, "seed": table.config.seed}
    return KnownAnswerTrack(rows[[*SHOWN_COLUMNS, "ci_method"]], shown,
                            {str(n): int(k) for n, k in ks.items()}, settings)


def with_known_answer_columns(board: pd.DataFrame, track: KnownAnswerTrack) -> pd.DataFrame:
    """The leaderboard's planted_spearman, its interval and sees_planted (NaN where not scored)."""
    return with_metric_columns(board, track.metric_rows(), BOARD_COLUMNS)
