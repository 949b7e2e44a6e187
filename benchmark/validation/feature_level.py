"""The leaderboard's feature-level columns: does a metric's per-feature score tell the features
people judged interpretable from the rest, in each labelling study that exists?

Why its own module: the model-level columns rank checkpoints; these rank features, against a
different kind of judgment (a study's raters, not the published percentages), with the study's own
exclusion rules and ceiling. It is a pure function of two plain tables, so ``validate``, the tests
and notebooks call the same thing, and no file is read here
(``interpbench.labelling.store.load_human_studies`` reads the studies).

For each metric, each study and each of the study's task types (2AFC, rating):

1. the study's rows made by people (``labels.human_only``: scripted or other model-made rows never
   count) and, of those, the main rows of the raters the study's exclusion criteria keep
   (``feature_labels.included_main_rows``; nothing is deleted, excluded raters are counted);
2. the panel's judgment of each feature: the mean over included raters of judgment / the scale's
   maximum (2AFC: the share who picked the frame where the feature is stronger; rating: mean / 10).
   A feature counts as interpretable when that mean is at least :data:`INTERPRETABLE_AT` (the rule of
   ``human_labels/README.md``, applied to the panel's mean);
3. AUROC (``sklearn.metrics.roc_auc_score``) and the point-biserial correlation
   (``scipy.stats.pointbiserialr``) of the metric's oriented scores (higher = more interpretable)
   against that label, over the judged features the metric scored;
4. 95% percentile intervals from a bootstrap clustered by checkpoint: a replicate draws the
   checkpoints with replacement and takes all their features along, because features of one
   checkpoint share its training and are not independent draws. A checkpoint drawn k times gives
   its features weight k, and the weighted AUROC and weighted Pearson correlation equal the plain
   ones on the duplicated sample; they are computed for all replicates at once (a library call per
   replicate would take minutes over every metric). Replicates with one class only are dropped;
   ``n_replicates`` says how many were kept;
5. beside them, the study's noise ceiling for that task type, as ``interpbench agreement`` computes
   it (``feature_labels.noise_ceiling`` on the same included raters). It bounds a correlation with
   the panel's mean judgment, so it is the yardstick of ``point_biserial`` more than of ``auroc``.

Where a figure cannot be estimated (no human judgment, every rater excluded, nothing scored, fewer
than :data:`MIN_CHECKPOINTS` checkpoints, one class only, constant scores) it is NaN and
``reason`` says why; ``reason`` is empty when every figure of the row is estimated.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.metrics import roc_auc_score

from interpbench.infra.errors import InterpbenchError
from interpbench.validation.feature_labels import StudyJudgments, included_main_rows, judgment_matrix, noise_ceiling
from interpbench.validation.inference import percentile_interval
from interpbench.validation.labels import SCALES, human_only
from interpbench.validation.ranks import weighted_pearson

#: Bootstrap replicates of the clustered intervals.
N_REPLICATES = 2000
#: Fewest checkpoints a checkpoint-clustered interval is drawn from (as the model-level columns need 3).
MIN_CHECKPOINTS = 3
#: A feature is judged interpretable when the panel's mean judgment is at least this share of the scale.
INTERPRETABLE_AT = 0.5
SCORE_COLUMNS: tuple[str, ...] = ("checkpoint", "feature", "metric", "score")
COLUMNS: tuple[str, ...] = (
    "metric", "study", "trial_type", "auroc", "auroc_low", "auroc_high", "point_biserial", "point_biserial_low",
    "point_biserial_high", "n_features", "n_interpretable", "n_checkpoints", "n_raters", "n_raters_excluded",
    "n_unscored", "n_replicates", "ceiling", "reason",
)


class FeatureLevelError(InterpbenchError):
    """A score or judgment table the feature-level analysis cannot use; the message says what is wrong."""


@dataclass(frozen=True)
class _Panel:
    """One task type of one study after exclusions: each judged feature's panel mean (``judged``:
    checkpoint, feature, human) and why nothing is estimable for any metric (``reason``)."""

    study: str
    trial_type: str
    judged: pd.DataFrame
    n_raters: int
    n_excluded: int
    ceiling: float
    reason: str


def _as_features(values: pd.Series, what: str) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce")
    if numbers.isna().any() or (numbers % 1 != 0).any():
        bad = values[numbers.isna() | (numbers % 1 != 0)].iloc[0]
        raise FeatureLevelError(f"{what}: feature {bad!r} is not a feature index")
    return numbers.astype("int64")


def _panels(study: StudyJudgments) -> list[_Panel]:
    rows = study.judgments
    rows = human_only(rows[rows["study"] == study.name])
    main, raters = included_main_rows(study.criteria, rows)
    n_excluded = sum(r.excluded for r in raters)
    panels = []
    for trial_type in study.task_types:
        typed = main[main["trial_type"] == trial_type]
        empty = pd.DataFrame({"checkpoint": pd.Series(dtype=str), "feature": pd.Series(dtype="int64"),
                              "human": pd.Series(dtype=float)})
        if typed.empty:
            judged_before = (~rows["demo"] & ~rows["catch"] & (rows["trial_type"] == trial_type)).any()
            reason = "every rater of this task is excluded" if judged_before else "no human judgment of this task"
            panels.append(_Panel(study.name, trial_type, empty, 0, n_excluded, math.nan, reason))
            continue
        scales = typed["scale"].unique()
        if len(scales) != 1 or scales[0] not in SCALES:
            raise FeatureLevelError(f"study {study.name}: {trial_type} rows have scale(s) {list(scales)}; "
                                    f"expected one of {list(SCALES)}")
        typed = typed.assign(feature=_as_features(typed["feature"], f"study {study.name}"))
        matrix = judgment_matrix(typed)
        judged = (matrix.mean(axis=0) / SCALES[scales[0]]).rename("human").reset_index()
        ceiling = noise_ceiling(matrix.to_numpy(dtype=float), study.seed).noise_ceiling
        panels.append(_Panel(study.name, trial_type, judged, int(matrix.shape[0]), n_excluded, ceiling, ""))
    return panels


def checkpoint_weights(checkpoints: np.ndarray, n_replicates: int, rng: np.random.Generator) -> np.ndarray:
    """(n_replicates, n) weights: how often each feature's checkpoint was drawn in a replicate that
    draws the distinct checkpoints with replacement (every feature of a checkpoint shares its weight)."""
    names, codes = np.unique(checkpoints, return_inverse=True)
    draws = rng.integers(0, len(names), size=(n_replicates, len(names)))
    counts = np.zeros((n_replicates, len(names)), dtype=np.int64)
    np.add.at(counts, (np.arange(n_replicates)[:, None], draws), 1)
    return counts[:, codes]


def weighted_auroc(scores: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUROC per row of ``weights`` (B, n): the Mann-Whitney probability, ties counting half, of the
    sample where feature i appears ``weights[b, i]`` times; NaN where a replicate has one class."""
    pos, neg = scores[labels], scores[~labels]
    wins = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    w_pos, w_neg = weights[:, labels].astype(float), weights[:, ~labels].astype(float)
    pairs = w_pos.sum(axis=1) * w_neg.sum(axis=1)
    won = np.einsum("bi,ij,bj->b", w_pos, wins, w_neg)
    return np.divide(won, pairs, out=np.full(len(weights), np.nan), where=pairs > 0)


def _not_estimable(panel: _Panel, data: pd.DataFrame, labels: np.ndarray) -> str:
    if panel.reason:
        return panel.reason
    if data.empty:
        return "no judged feature has a score from this metric"
    n_checkpoints = data["checkpoint"].nunique()
    if n_checkpoints < MIN_CHECKPOINTS:
        return f"judged features on {n_checkpoints} checkpoint(s); a checkpoint-clustered interval needs {MIN_CHECKPOINTS}"
    if labels.all() or not labels.any():
        return f"one class only: all {len(labels)} features judged {'' if labels.all() else 'not '}interpretable"
    return ""


def _row(panel: _Panel, metric: str, scores: pd.DataFrame, n_replicates: int, seed: int) -> dict[str, object]:
    merged = panel.judged.merge(scores, on=["checkpoint", "feature"], how="left")
    finite = np.isfinite(merged["score"].to_numpy(dtype=float))
    data = merged[finite]
    labels = data["human"].to_numpy() >= INTERPRETABLE_AT
    row: dict[str, object] = {
        "metric": metric, "study": panel.study, "trial_type": panel.trial_type,
        "auroc": math.nan, "auroc_low": math.nan, "auroc_high": math.nan,
        "point_biserial": math.nan, "point_biserial_low": math.nan, "point_biserial_high": math.nan,
        "n_features": len(data), "n_interpretable": int(labels.sum()), "n_checkpoints": int(data["checkpoint"].nunique()),
        "n_raters": panel.n_raters, "n_raters_excluded": panel.n_excluded, "n_unscored": int((~finite).sum()),
        "n_replicates": 0, "ceiling": panel.ceiling, "reason": _not_estimable(panel, data, labels),
    }
    if row["reason"]:
        return row
    score = data["score"].to_numpy(dtype=float)
    weights = checkpoint_weights(data["checkpoint"].to_numpy(), n_replicates, np.random.default_rng(seed))
    auroc_boot = weighted_auroc(score, labels, weights)
    row["auroc"] = float(roc_auc_score(labels, score))
    row["auroc_low"], row["auroc_high"] = percentile_interval(auroc_boot)
    row["n_replicates"] = int(np.isfinite(auroc_boot).sum())
    if np.ptp(score) == 0:
        row["reason"] = "scores are constant over the judged features: no point-biserial correlation"
        return row
    row["point_biserial"] = float(stats.pointbiserialr(labels, score).statistic)
    row["point_biserial_low"], row["point_biserial_high"] = percentile_interval(weighted_pearson(labels.astype(float), score, weights))
    return row


def _checked_scores(feature_scores: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in SCORE_COLUMNS if c not in feature_scores.columns]
    if missing:
        raise FeatureLevelError(f"feature scores: missing column(s) {missing}; expected {list(SCORE_COLUMNS)}")
    scores = feature_scores.loc[:, list(SCORE_COLUMNS)]
    scores = scores.assign(feature=_as_features(scores["feature"], "feature scores"),
                           score=pd.to_numeric(scores["score"], errors="coerce").astype(float))
    dupes = scores.duplicated(["metric", "checkpoint", "feature"])
    if dupes.any():
        first = scores.loc[dupes].iloc[0]
        raise FeatureLevelError(f"feature scores: {first['metric']} scores {first['checkpoint']} feature "
                                f"{first['feature']} more than once")
    return scores


def feature_level_rows(feature_scores: pd.DataFrame, studies: list[StudyJudgments], *,
                       n_replicates: int = N_REPLICATES, seed: int = 0) -> pd.DataFrame:
    """One row per (metric, study, task type of the study), with :data:`COLUMNS` (module docstring).

    ``feature_scores``: columns checkpoint, feature, metric, score, the score oriented so that higher
    means more interpretable (a NaN score counts in ``n_unscored``). ``studies``: every study to
    report (``interpbench.labelling.store.load_human_studies``). Each row's replicates come from a
    generator seeded with ``seed``, so metrics scored on the same checkpoints share their draws.
    """
    scores = _checked_scores(feature_scores)
    by_metric = {metric: group.drop(columns="metric") for metric, group in scores.groupby("metric", sort=False)}
    rows = [_row(panel, metric, group, n_replicates, seed)
            for study in studies for panel in _panels(study) for metric, group in by_metric.items()]
    return pd.DataFrame(rows, columns=list(COLUMNS))
