"""Copying a track's per-metric figures into the leaderboard, one way for every track.

The interventional, feature-level and known-answer tracks each add columns to the leaderboard;
joining them by one function keeps their missing values alike (NaN for a baseline row or a
metric the track did not score) and their dtypes as the track's (a boolean column with gaps
stays object, so it draws yes/no/blank rather than 1.0/0.0/NaN).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def with_metric_columns(board: pd.DataFrame, rows: pd.DataFrame, columns: Mapping[str, str]) -> pd.DataFrame:
    """``board`` with each leaderboard column of ``columns`` (board column -> ``rows`` column) taken
    from the row of ``rows`` whose ``metric`` is the board row's ``name`` (the first, if several)."""
    if rows.empty:
        return board.assign(**{column: np.nan for column in columns})
    by_metric = rows.drop_duplicates("metric").set_index("metric")
    return board.assign(**{column: board["name"].map(by_metric[source]) for column, source in columns.items()})
