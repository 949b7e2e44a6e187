"""Agreement between metrics and human judgments: rank correlations, bootstrap intervals, sanity.

Pure functions on arrays and tables, so that every number of the leaderboard can be recomputed
from ``scores.csv`` and the label files without running a model.

The bootstrap: replicate ``b`` re-scores every checkpoint on the same resampled frames
(``boot[b]``, from :mod:`interpbench.scoring.plan`) and pairs it with a resample of the researchers
(``researcher_draws[b]``), so the interval covers both the choice of evaluation frames and the
choice of judges. The human ceiling has neither frames nor a second pair of judges to resample;
its interval resamples the 14 models instead. Intervals are 95% percentile intervals.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from interpbench.infra.errors import InterpbenchError
from interpbench.metrics.base import orientation

if TYPE_CHECKING:
    from interpbench.scoring.table import ScoreTable
    from interpbench.validation.labels import AggregateJudgments

LEVEL = 0.95
#: Researcher draws for the baselines and the ceiling when the table has no frame resamples.
DEFAULT_REPLICATES = 1000


@dataclass(frozen=True)
class Agreement:
    """A rank correlation with the human target and its bootstrap replicates."""

    spearman: float
    kendall: float
    spearman_boot: np.ndarray  # (B,)
    kendall_boot: np.ndarray  # (B,)

    def row(self) -> dict[str, float]:
        s_lo, s_hi = percentile_interval(self.spearman_boot)
        k_lo, k_hi = percentile_interval(self.kendall_boot)
        return {"spearman": self.spearman, "spearman_lo": s_lo, "spearman_hi": s_hi,
                "kendall": self.kendall, "kendall_lo": k_lo, "kendall_hi": k_hi}


def spearman_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho of each row pair of ``x`` and ``y`` (B, n), vectorized; NaN for a constant row.

    Average ranks for ties, then Pearson on ranks: the same definition as ``scipy.stats.spearmanr``.
    """
    rx = stats.rankdata(np.atleast_2d(x), axis=1)
    ry = stats.rankdata(np.atleast_2d(y), axis=1)
    rx -= rx.mean(axis=1, keepdims=True)
    ry -= ry.mean(axis=1, keepdims=True)
    denom = np.sqrt((rx**2).sum(axis=1) * (ry**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rx * ry).sum(axis=1) / denom
    return np.where(denom > 0, rho, np.nan)


def kendall_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Kendall's tau-b of each row pair (B, n); n is the number of checkpoints (~14), so a loop is cheap."""
    x, y = np.atleast_2d(x), np.atleast_2d(y)
    return np.array([stats.kendalltau(a, b).statistic for a, b in zip(x, y)], dtype=np.float64)


def percentile_interval(replicates: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` percentile interval of the finite replicates (NaN, NaN if none)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def researcher_draws(n_researchers: int, n_replicates: int, seed: int) -> np.ndarray:
    """int (B, R): which researchers each replicate uses, drawn with replacement."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    return rng.integers(0, n_researchers, size=(n_replicates, n_researchers))


def human_replicates(by_researcher: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """(B, n): each model's mean judgment over the researchers of each replicate.

    ``by_researcher`` is (n models, R). A researcher is resampled as a whole (the same draw for
    every model), since a judge's leniency is shared across the models they judge.
    """
    return by_researcher[:, draws].mean(axis=2).T


def agreement(model: np.ndarray, model_boot: np.ndarray, human: np.ndarray, human_boot: np.ndarray) -> Agreement:
    """Spearman and Kendall of ``model`` (n,) with ``human`` (n,), with paired replicates (B, n)."""
    return Agreement(
        spearman=float(spearman_rows(model, human)[0]),
        kendall=float(stats.kendalltau(model, human).statistic),
        spearman_boot=spearman_rows(model_boot, human_boot),
        kendall_boot=kendall_rows(model_boot, human_boot),
    )


def ceiling(by_researcher: np.ndarray, n_replicates: int, seed: int) -> Agreement:
    """Researcher 1 vs researcher 2 over the models; the interval resamples models (pairs)."""
    if by_researcher.shape[1] != 2:
        raise ValueError(f"the ceiling compares two researchers, got {by_researcher.shape[1]}")
    a, b = by_researcher[:, 0], by_researcher[:, 1]
    rng = np.random.default_rng(np.random.SeedSequence([seed, 2]))
    idx = rng.integers(0, len(a), size=(n_replicates, len(a)))
    return agreement(a, a[idx], b, b[idx])


def feature_auroc(feature_scores: pd.DataFrame, judgments: pd.DataFrame) -> float:
    """AUROC of per-feature scores for telling features judged interpretable from the rest.

    ``feature_scores``: checkpoint, feature, score (oriented: higher = more interpretable).
    ``judgments``: human per-feature judgments (``interpbench.validation.labels``), one row per labeller; a
    feature counts as interpretable when its judgment is at least half its scale. NaN when the
    judgments do not hold both classes.
    """
    merged = judgments.merge(feature_scores, on=["checkpoint", "feature"], how="inner")
    labels = merged["interpretable"].to_numpy() >= 0.5
    if merged.empty or labels.all() or not labels.any():
        return float("nan")
    u = stats.mannwhitneyu(merged.loc[labels, "score"], merged.loc[~labels, "score"]).statistic
    return float(u / (labels.sum() * (~labels).sum()))


def fraction_above(trained: np.ndarray, control: np.ndarray) -> float:
    """Share of checkpoints whose (oriented) score beats the control's: 1.0 is the healthy answer."""
    return float(np.mean(trained > control))


def area_correlation(bin_area: np.ndarray, bin_scores: np.ndarray) -> float:
    """Mean over checkpoints of Spearman(object area of a frame bin, the metric's score on it).

    ``bin_area`` (K,), ``bin_scores`` (n checkpoints, K). Near +1 means the score mostly tracks how
    much of the frame objects cover, not what the model attends to.
    """
    rho = spearman_rows(np.broadcast_to(bin_area, bin_scores.shape), bin_scores)
    return float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")


# -- the leaderboard -------------------------------------------------------------------------------


@dataclass
class Validation:
    """The leaderboard and what its figures are drawn from.

    leaderboard: one row per metric, the ceiling and each baseline (see ``docs/validation.md``).
    matched:     the checkpoints validated, with their human target (index: checkpoint name).
    model_boot:  per metric, (B, n) oriented model scores (the metric's aggregate) per replicate.
    correlation_boot: per leaderboard row, the Spearman replicates behind its interval.
    unmatched:   checkpoints that have no published judgment for their (level count, run).
    """

    leaderboard: pd.DataFrame
    matched: pd.DataFrame
    model_boot: dict[str, np.ndarray]
    correlation_boot: dict[str, np.ndarray]
    unmatched: list[str] = field(default_factory=list)


def match_checkpoints(table: ScoreTable, labels: AggregateJudgments, method: str | None) -> tuple[pd.DataFrame, np.ndarray, list[str]]:
    """Checkpoints of one training method joined to the judgments with the same (level count, run).

    Returns (matched checkpoints with a ``human`` column, their by-researcher fractions (n, R),
    names of the checkpoints that have no judgment).
    """
    methods = sorted(table.checkpoints["method"].unique())
    if method is None and len(methods) > 1:
        raise InterpbenchError(f"the zoo holds several training methods {methods}; choose one with --method")
    method = method or methods[0]
    if method not in methods:
        raise InterpbenchError(f"no checkpoints of method {method!r} in the zoo; it has {methods}")
    ckpts = table.checkpoints[table.checkpoints["method"] == method]
    by_researcher = labels.by_researcher()
    keys = pd.MultiIndex.from_frame(ckpts[["num_levels", "run"]])
    found = keys.isin(by_researcher.index)
    matched = ckpts[found].assign(human=labels.human_fraction().loc[keys[found]].to_numpy())
    if len(matched) < 3:
        raise InterpbenchError(
            f"only {len(matched)} checkpoint(s) of method {method!r} match a judged (level count, run); need 3"
        )
    return matched, by_researcher.loc[keys[found]].to_numpy(), ckpts.index[~found].tolist()


def _metric_row(table: ScoreTable, metric: str, matched: pd.DataFrame, human_boot: np.ndarray,
                judgments: pd.DataFrame | None) -> tuple[dict, np.ndarray, Agreement]:
    names = matched.index
    model = table.model_scores(metric, "trained", names)
    boot = table.model_scores(metric, "boot", names).T  # (B, n)
    agree = agreement(model, boot, matched["human"].to_numpy(), human_boot)
    sign = orientation(table.metric_objects[metric])
    auroc = float("nan")
    if judgments is not None and not judgments.empty:
        per_feature = pd.DataFrame([{"checkpoint": n, "feature": f, "score": sign * v}
                                    for n in names for f, v in enumerate(table.scores[metric][n].trained)])
        auroc = feature_auroc(per_feature, judgments)
    row = {
        "kind": "metric", "name": metric, "higher_is_better": table.higher_is_better[metric], **agree.row(),
        "auroc": auroc,
        "beats_randomized": fraction_above(model, table.model_scores(metric, "randomized", names)),
        "beats_shuffled_masks": fraction_above(model, table.model_scores(metric, "shuffled", names)),
        "area_spearman": area_correlation(table.bin_area, table.model_scores(metric, "area_bins", names)),
    }
    return row, boot, agree


def validate(table: ScoreTable, labels: AggregateJudgments, *, judgments: pd.DataFrame | None = None,
             method: str | None = None, seed: int = 0) -> Validation:
    """Every metric of ``table`` against the human judgments, beside the ceiling and the baselines.

    Metric intervals pair the table's frame resamples with researcher draws; with no frame
    resamples (``n_bootstrap = 0``) metric intervals are NaN and only the point figures count.
    """
    matched, by_researcher, unmatched = match_checkpoints(table, labels, method)
    n_boot = table.config.n_bootstrap
    human = matched["human"].to_numpy()
    human_boot = human_replicates(by_researcher, researcher_draws(by_researcher.shape[1], n_boot, seed))
    # Baselines and the ceiling have no frames; their replicates are researcher (or model) draws only.
    baseline_draws = researcher_draws(by_researcher.shape[1], n_boot or DEFAULT_REPLICATES, seed)
    baseline_human = human_replicates(by_researcher, baseline_draws)
    rows: list[dict] = []
    model_boot: dict[str, np.ndarray] = {}
    correlation_boot: dict[str, np.ndarray] = {}

    top = ceiling(labels.by_researcher().to_numpy(), n_boot or DEFAULT_REPLICATES, seed)
    rows.append({"kind": "ceiling", "name": "human: researcher 1 vs 2", **top.row()})
    correlation_boot[rows[-1]["name"]] = top.spearman_boot
    baselines = {"baseline: log level count": np.log(matched["num_levels"].to_numpy(dtype=float)),
                 "baseline: test completion": matched["test_completion"].to_numpy(dtype=float)}
    for name, values in baselines.items():
        agree = agreement(values, np.broadcast_to(values, baseline_human.shape), human, baseline_human)
        rows.append({"kind": "baseline", "name": name, **agree.row()})
        correlation_boot[name] = agree.spearman_boot
    for metric in table.metrics:
        row, boot, agree = _metric_row(table, metric, matched, human_boot, judgments)
        rows.append(row)
        model_boot[metric] = boot
        correlation_boot[metric] = agree.spearman_boot

    board = pd.DataFrame(rows)
    board["vs_ceiling"] = board["spearman"] / top.spearman
    board["n_checkpoints"] = np.where(board["kind"] == "ceiling", len(labels.by_researcher()), len(matched))
    order = board["kind"].map({"ceiling": 0, "baseline": 1, "metric": 2})
    board = board.assign(_order=order).sort_values(["_order", "spearman"], ascending=[True, False],
                                                   na_position="last").drop(columns="_order")
    is_metric = (board["kind"] == "metric").to_numpy()
    board.insert(0, "rank", pd.array(np.where(is_metric, np.cumsum(is_metric), 0), dtype="Int64"))
    board.loc[~is_metric, "rank"] = pd.NA
    return Validation(board.reset_index(drop=True), matched, model_boot, correlation_boot, unmatched)
