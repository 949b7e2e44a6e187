"""The leaderboard's interventional track: per-feature scores against measured object dependence.

Why a separate track: the human target says nothing about single features of *our* checkpoints,
while hiding objects from the frames (``interpbench intervene hide``) measures, per feature, how
much of its attribution depends on which class. A metric that sees what a feature is about
should score object-selective features higher. The table is measured ground truth, never a human
label, and it only applies to the features it was measured on: the same checkpoints (weights),
scoring frames, NMF fit, attribution method and layer. Anything else would compare a metric's
scores of one set of features with the interventions on another, so ``applicability`` refuses it
and the report says why instead of printing a figure.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from interpbench.attribution.fit_set import BasisFit
from interpbench.interventions.table import MeasuredTable
from interpbench.interventions.track import SELECTIVE_THRESHOLD, feature_level_intervention_rows, selectivity_vs_levels

#: Columns of the per-metric rows (``track.feature_level_intervention_rows``) the report shows.
SHOWN_COLUMNS = ("metric", "n_features", "n_checkpoints", "spearman_selectivity", "ci_low_selectivity",
                 "ci_high_selectivity", "auroc_selective", "n_selective")

PER_CHECKPOINT = ("checkpoint", "num_levels", "selectivity", "features")


@dataclass(frozen=True)
class InterventionTrack:
    """Per metric, agreement with the measured object dependence; and the zoo's selectivity against
    level count (the diversity question asked causally). ``reason`` says why it is empty."""

    rows: pd.DataFrame
    diversity: dict[str, float]
    source: dict[str, Any]
    selectivity: pd.DataFrame  # per checkpoint: num_levels, mean selectivity (the diversity figure)
    reason: str = ""

    @classmethod
    def empty(cls, reason: str) -> InterventionTrack:
        return cls(pd.DataFrame(columns=list(SHOWN_COLUMNS)), {}, {}, pd.DataFrame(columns=list(PER_CHECKPOINT)),
                   reason)


def applicability(table: MeasuredTable, *, frames_sha256: str, fit: BasisFit, method: str, layer: str,
                  weights: Mapping[str, str]) -> str:
    """Why ``table`` does not describe the features being scored ("" when it does).

    ``weights``: name -> weights hash of the checkpoints scored; every one must be in the table
    with the same hash."""
    meta = table.provenance

    def recorded(key: str) -> dict[str, Any]:
        value = meta.get(key)
        return value if isinstance(value, dict) else {}

    attribution, fitted = recorded("attribution"), recorded("basis").get("fit")
    checks = [
        (recorded("frames").get("sha256") == frames_sha256, "it was measured on other scoring frames"),
        (fitted == dataclasses.asdict(fit), f"its NMF basis was fitted otherwise ({fitted})"),
        (attribution.get("method") == method and attribution.get("layer") == layer,
         f"it attributes with {attribution.get('method')!r} at layer {attribution.get('layer')!r}, the scoring "
         f"with {method!r} at {layer!r}"),
    ]
    for ok, why in checks:
        if not ok:
            return f"the measured table does not apply: {why}; regenerate it with `interpbench intervene hide`"
    measured = recorded("checkpoint_sha256")
    stale = sorted(name for name, sha in weights.items() if measured.get(name) != sha)
    if stale:
        return (f"the measured table does not apply: {len(stale)} scored checkpoint(s) are missing from it or have "
                f"other weights (first: {stale[0]}); regenerate it with `interpbench intervene hide`")
    return ""


def intervention_track(feature_scores: pd.DataFrame, table: MeasuredTable) -> InterventionTrack:
    """The track from oriented per-feature scores (metric, checkpoint, feature, score) and an
    applicable object-dependence table."""
    measured = table.rows[table.rows["checkpoint"].isin(feature_scores["checkpoint"])]
    rows = feature_level_intervention_rows(feature_scores, measured)
    source = {key: table.provenance.get(key) for key in ("command", "code_version", "csv_sha256")}
    source["selective_threshold"] = SELECTIVE_THRESHOLD
    per = (measured.groupby("checkpoint", sort=False)
           .agg(num_levels=("num_levels", "first"), selectivity=("selectivity", "mean"), features=("feature", "size"))
           .reset_index())
    return InterventionTrack(rows, selectivity_vs_levels(measured), source, per[list(PER_CHECKPOINT)])
