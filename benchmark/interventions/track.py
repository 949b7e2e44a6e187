"""The feature-level validation track: a metric's per-feature scores against measured interventions.

A pure function of two tables, for the leaderboard to call (``feature_level_intervention_rows``)
and for the diversity question (``selectivity_vs_levels``). Intervals are percentile intervals
of a bootstrap that resamples whole clusters (checkpoints, or level counts), because features of
one checkpoint share its training and are not independent.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from interpbench.infra.errors import InterpbenchError

#: A feature counts as "selective" when its chance-corrected object selectivity is at least this.
SELECTIVE_THRESHOLD = 0.5
N_BOOT = 2000


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


def clustered_spearman(x: Sequence[float], y: Sequence[float], clusters: Sequence[object], *,
                       n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float, float]:
    """(Spearman rho, 2.5% and 97.5% of its bootstrap over whole clusters); NaN where undefined."""
    xs, ys, cs = np.asarray(x, float), np.asarray(y, float), np.asarray(clusters)
    keep = np.isfinite(xs) & np.isfinite(ys)
    xs, ys, cs = xs[keep], ys[keep], cs[keep]
    rho = _spearman(xs, ys)
    groups = [np.flatnonzero(cs == c) for c in pd.unique(cs)]
    if np.isnan(rho) or len(groups) < 2:
        return rho, float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    reps = np.array([_spearman(xs[idx], ys[idx]) for idx in (
        np.concatenate([groups[g] for g in rng.integers(0, len(groups), len(groups))]) for _ in range(n_boot))])
    reps = reps[np.isfinite(reps)]
    if len(reps) == 0:
        return rho, float("nan"), float("nan")
    return rho, float(np.quantile(reps, 0.025)), float(np.quantile(reps, 0.975))


def _check_columns(frame: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InterpbenchError(f"{what} lacks column(s) {missing}; it has {list(frame.columns)}")


def _matched(feature_scores: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Scores joined to the table; a checkpoint of the table scored on a feature it lacks is bad input."""
    _check_columns(feature_scores, ("metric", "checkpoint", "feature", "score"), "feature_scores")
    _check_columns(table, ("checkpoint", "feature", "selectivity", "top_class"), "the intervention table")
    sizes = table.groupby("checkpoint")["feature"].max() + 1
    shared = feature_scores[feature_scores["checkpoint"].isin(sizes.index)]
    bad = shared[(shared["feature"] < 0) | (shared["feature"] >= shared["checkpoint"].map(sizes))]
    if len(bad):
        first = bad.iloc[0]
        raise InterpbenchError(f"feature index {int(first['feature'])} out of range for checkpoint "
                               f"{first['checkpoint']!r}, which has {int(sizes[first['checkpoint']])} features")
    merged = shared.merge(table, on=["checkpoint", "feature"], how="inner", suffixes=("", "_table"))
    if merged.empty:
        raise InterpbenchError("no (checkpoint, feature) of feature_scores is in the intervention table")
    return merged


def feature_level_intervention_rows(feature_scores: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """One row per metric: how its per-feature scores agree with the measured interventions.

    ``feature_scores``: metric, checkpoint, feature, score (oriented: higher = more interpretable),
    optionally ``implied_class`` (the object the metric says the feature is about, e.g. the class
    holding most of its attribution; empty where it names none). ``table``: the object-dependence
    table (``interpbench.interventions.table``), optionally with ``ablation_specificity`` merged in
    (``effects.ablation_effects``' ``specificity``). Columns: spearman_selectivity and its
    checkpoint-clustered interval, the same against ablation specificity (NaN where unmeasured),
    auroc_selective (selective: selectivity >= ``SELECTIVE_THRESHOLD``), n_selective,
    implied_agreement (share of features whose implied class is the top hidden class), n_implied.
    """
    merged = _matched(feature_scores, table)
    rows = []
    for metric, g in merged.groupby("metric", sort=True):
        rho, low, high = clustered_spearman(g["score"], g["selectivity"], g["checkpoint"])
        row = {"metric": metric, "n_features": len(g), "n_checkpoints": g["checkpoint"].nunique(),
               "spearman_selectivity": rho, "ci_low_selectivity": low, "ci_high_selectivity": high}
        if "ablation_specificity" in g.columns:
            a, a_low, a_high = clustered_spearman(g["score"], g["ablation_specificity"], g["checkpoint"])
        else:
            a = a_low = a_high = float("nan")
        row.update({"spearman_ablation": a, "ci_low_ablation": a_low, "ci_high_ablation": a_high})
        sel = g["selectivity"].to_numpy(float)
        finite = np.isfinite(sel) & np.isfinite(g["score"].to_numpy(float))
        selective = sel[finite] >= SELECTIVE_THRESHOLD
        row["n_selective"] = int(selective.sum())
        row["auroc_selective"] = (float(roc_auc_score(selective, g["score"].to_numpy(float)[finite]))
                                  if 0 < selective.sum() < len(selective) else float("nan"))
        if "implied_class" in g.columns:
            named = g["implied_class"].fillna("").astype(str) != ""
            row["n_implied"] = int(named.sum())
            row["implied_agreement"] = (float((g.loc[named, "implied_class"] == g.loc[named, "top_class"]).mean())
                                        if named.any() else float("nan"))
        else:
            row["n_implied"], row["implied_agreement"] = 0, float("nan")
        row["selective_threshold"] = SELECTIVE_THRESHOLD
        rows.append(row)
    return pd.DataFrame(rows)


def selectivity_vs_levels(table: pd.DataFrame, column: str = "selectivity") -> dict[str, float]:
    """The diversity question: Spearman of per-checkpoint mean ``column`` with level count, its
    interval from a bootstrap over level counts (runs of one level count are one cluster)."""
    _check_columns(table, ("checkpoint", "num_levels", column), "the intervention table")
    per = table.groupby("checkpoint").agg(num_levels=("num_levels", "first"), value=(column, "mean")).dropna()
    if per["num_levels"].nunique() < 3:
        raise InterpbenchError(f"need checkpoints of at least 3 level counts, got {per['num_levels'].nunique()}")
    rho, low, high = clustered_spearman(per["num_levels"], per["value"], per["num_levels"])
    return {"spearman": rho, "ci_low": low, "ci_high": high, "checkpoints": len(per),
            "level_counts": int(per["num_levels"].nunique())}
