"""Agreement between metrics and human judgments, with what the design can and cannot tell.

Pure functions on arrays and tables, so that every number of the leaderboard can be recomputed
from ``model_scores.csv`` and the label files without running a model (``tests/test_report_recompute.py``).

The design (``docs/validation.md``): 14 checkpoints at 7 level counts; the human target varies
almost only between level counts and a student's run number has no link to the study's runs. So

* the ranked figure, ``spearman``, is against the **per-level-count human means** (both
  researchers, both study runs): it does not depend on how students are paired with study runs;
  the run-paired figure is reported as its mean and range over every pairing;
* intervals come from a **hierarchical bootstrap**: level counts drawn with replacement (all their
  checkpoints kept), frame resample b, one NMF fit drawn per checkpoint, with the small-sample
  correction the coverage study calls for (:mod:`interpbench.validation.inference`);
  ``hierarchical=False`` resamples level counts only; ``sd_frames`` and ``sd_fits`` say how much
  frames and fits alone move a figure;
* tests are **permutations of level counts**, Holm-adjusted across the report's metrics, plus a
  paired comparison with the log-level-count baseline on the same replicates;
* the ceilings (:mod:`interpbench.validation.ceilings`) are named for what they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from interpbench.agents.architectures import layer_info
from interpbench.agents.models import load_checkpoint
from interpbench.attribution.methods import get_method
from interpbench.infra.errors import InterpbenchError
from interpbench.interventions.table import MeasuredTable
from interpbench.metrics.base import orientation
from interpbench.scoring.score import basis_fits
from interpbench.validation.board_columns import with_metric_columns
from interpbench.validation.ceilings import Ceiling, target_ceilings
from interpbench.validation.design import Design, cluster_bootstrap_counts, run_relabelings
from interpbench.validation.feature_level import COLUMNS as FEATURE_LEVEL_COLUMNS
from interpbench.validation.feature_level import feature_level_rows
from interpbench.validation.inference import (
    DEFAULT_REPLICATES,
    LEVEL,
    bootstrap_spearman,
    critical_spearman,
    detectable_difference,
    holm,
    normal_interval,
    percentile_interval,
    permutation_null,
    permutation_pvalue,
    replicate_scores,
    spearman_interval,
)
from interpbench.validation.interventional import InterventionTrack, applicability, intervention_track
from interpbench.validation.known_answer import KnownAnswerTrack, with_known_answer_columns
from interpbench.validation.oracle import COMPLETION_ROW
from interpbench.validation.ranks import partial_spearman, spearman, spearman_rows

if TYPE_CHECKING:
    from interpbench.scoring.table import ScoreTable
    from interpbench.validation.feature_labels import StudyJudgments
    from interpbench.validation.labels import AggregateJudgments

__all__ = ["LEVEL", "Validation", "match_checkpoints", "validate"]

LOG_L = "baseline: log level count"


@dataclass(frozen=True)
class Targets:
    """The human targets of the matched checkpoints.

    level_mean (n,): mean of both researchers over both study runs of the checkpoint's level count;
    by_researcher (n, R): each researcher's per-level-count mean;
    cluster_target (G,): ``level_mean`` per level count (what the permutations move);
    paired (P, n): the two-researcher mean of the study model each checkpoint is paired with, under
    every pairing of students with study runs (row 0: student run r with study run r).
    """

    level_mean: np.ndarray
    by_researcher: np.ndarray
    cluster_target: np.ndarray
    paired: np.ndarray

    @classmethod
    def build(cls, matched: pd.DataFrame, by_researcher: pd.DataFrame, design: Design) -> Targets:
        levels = matched["num_levels"].to_numpy()
        per_level = by_researcher.groupby(level="num_levels").mean()  # (G, R)
        researcher = per_level.loc[levels].to_numpy(dtype=float)  # (n, R)
        pairings = run_relabelings(matched["run"].to_numpy(), design)
        mean = by_researcher.mean(axis=1)
        paired = np.stack([mean.loc[list(zip(levels, runs))].to_numpy(dtype=float) for runs in pairings])
        level_mean = researcher.mean(axis=1)
        return cls(level_mean, researcher, design.cluster_means(level_mean), paired)


@dataclass
class Validation:
    """The leaderboard and what its figures are drawn from.

    leaderboard: one row per metric and baseline (see ``docs/validation.md``).
    ceilings:    rater vs rater, noise ceiling, L-ceiling, log L against the run-paired target.
    cascade:     per metric and cascade step, how the trained checkpoints compare with their own
                 progressively randomized weights.
    feature_level: per metric, study and task type, agreement of per-feature scores with the
                 study's per-feature human judgments (``validation.feature_level``); empty when no
                 study has judgments.
    design:      what the design can detect (checkpoints, level counts, replicates, permutations,
                 the smallest Spearman the permutation test rejects, the detectable difference).
    interventions: per metric, agreement of per-feature scores with the measured object
                 dependence, and the zoo's selectivity against level count
                 (``validation.interventional``); empty, with its reason, when no applicable table.
    known_answer: per metric, agreement with the planted k over the known-answer zoo
                 (``validation.known_answer``); empty, with its reason, when none was scored.
    matched:     the checkpoints validated, with their human target (index: checkpoint name).
    model_boot:  per metric, (B, n) oriented model scores per frame resample (for the figures).
    unmatched:   checkpoints that have no published judgment for their level count.
    """

    leaderboard: pd.DataFrame
    ceilings: pd.DataFrame
    cascade: pd.DataFrame
    feature_level: pd.DataFrame
    design: dict[str, float | int]
    matched: pd.DataFrame
    model_boot: dict[str, np.ndarray]
    unmatched: list[str] = field(default_factory=list)
    interventions: InterventionTrack = field(default_factory=lambda: InterventionTrack.empty("no measured table given"))
    known_answer: KnownAnswerTrack = field(default_factory=lambda: KnownAnswerTrack.empty("no known-answer zoo scored"))


def area_correlation(bin_area: np.ndarray, bin_scores: np.ndarray) -> float:
    """Mean over checkpoints of Spearman(object area of a frame bin, the metric's score on it).

    ``bin_area`` (K,), ``bin_scores`` (n checkpoints, K). Near +1 means the score mostly tracks how
    much of the frame objects cover, not what the model attends to.
    """
    rho = spearman_rows(np.broadcast_to(bin_area, bin_scores.shape), bin_scores)
    return float(np.nanmean(rho)) if np.isfinite(rho).any() else float("nan")


def share_beaten(trained: np.ndarray, control: np.ndarray, counts: np.ndarray) -> tuple[float, float, float]:
    """Share of (checkpoint, control) pairs where the trained score is higher, with its interval
    over the cluster-bootstrap ``counts`` (B, n). ``control`` is (n,) or (n, T)."""
    wins = (trained[:, None] > control.reshape(len(trained), -1)).mean(axis=1)  # (n,) share over the T controls
    boot = (counts * wins).sum(axis=1) / counts.sum(axis=1)
    return (float(wins.mean()), *percentile_interval(boot))


def match_checkpoints(table: ScoreTable, labels: AggregateJudgments, method: str | None) -> tuple[pd.DataFrame, list[str]]:
    """Checkpoints of one training method whose level count has published judgments.

    Returns (matched checkpoints, names of the checkpoints whose level count has no judgment).
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
    return matched, ckpts.index[~found].tolist()


@dataclass(frozen=True)
class _Setting:
    """What every scored row is compared against, drawn once per validation."""

    design: Design
    targets: Targets
    counts: np.ndarray  # (B, n) cluster-bootstrap counts
    log_l: np.ndarray  # (n,)
    log_l_spearman: float  # the baseline's Spearman with the target
    log_l_boot: np.ndarray  # (B,) the baseline's replicates on the same counts
    seed: int
    hierarchical: bool


def _agreement_row(name: str, kind: str, score: np.ndarray, replicates: np.ndarray, s: _Setting) -> dict:
    """Every figure of one scored row: point, interval, test, paired difference, diagnostics.

    ``replicates`` (B, n) are the scores each bootstrap replicate sees (``score`` itself unless
    the validation is hierarchical)."""
    t, g = s.targets, s.design.n_clusters
    point = spearman(score, t.level_mean)
    boot = bootstrap_spearman(replicates, t.level_mean, s.counts)
    null = permutation_null(score, t.cluster_target, s.design, s.seed)
    diff_point = point - s.log_l_spearman
    diff = boot - s.log_l_boot
    paired = spearman_rows(np.broadcast_to(score, t.paired.shape), t.paired)
    live = np.isfinite(paired).any()
    row = {
        "kind": kind, "name": name, "spearman": point,
        **dict(zip(("spearman_lo", "spearman_hi", "interval_method"), spearman_interval(point, boot, g))),
        "p_value": permutation_pvalue(null, point),
        "vs_log_l": diff_point,
        **dict(zip(("vs_log_l_lo", "vs_log_l_hi"),
                   (np.nan, np.nan) if name == LOG_L else normal_interval(diff_point, diff, g))),
        "detectable_difference": np.nan if name == LOG_L else detectable_difference(diff, g),
        "spearman_r1": spearman(score, t.by_researcher[:, 0]),
        "spearman_r2": spearman(score, t.by_researcher[:, 1]),
        "paired_mean": float(np.nanmean(paired)) if live else np.nan,
        "paired_min": float(np.nanmin(paired)) if live else np.nan,
        "paired_max": float(np.nanmax(paired)) if live else np.nan,
        "partial_log_l": partial_spearman(score, t.level_mean, s.log_l),
        "kendall": float(stats.kendalltau(score, t.level_mean).statistic),
    }
    return row


def _spread(rows: np.ndarray, target: np.ndarray) -> float:
    """SD of the Spearman over replicate rows (B, n) of scores with no resampling of checkpoints."""
    if rows.shape[0] < 2:
        return float("nan")
    rho = spearman_rows(rows, np.broadcast_to(target, rows.shape))
    return float(np.nanstd(rho, ddof=1)) if np.isfinite(rho).sum() > 1 else float("nan")


def _metric_row(table: ScoreTable, metric: str, matched: pd.DataFrame,
                s: _Setting) -> tuple[dict, np.ndarray, list[dict]]:
    names = matched.index
    model = table.model_scores(metric, "trained", names)
    frames = table.model_scores(metric, "boot", names)  # (n, B)
    refits = table.model_scores(metric, "refits", names)  # (n, R)
    replicates = (replicate_scores(model, frames, refits, len(s.counts), s.seed) if s.hierarchical
                  else np.broadcast_to(model, s.counts.shape))
    row = _agreement_row(metric, "metric", model, replicates, s)
    row["sd_frames"] = _spread(frames.T, s.targets.level_mean)
    row["sd_fits"] = _spread(np.concatenate([model[None], refits.T]), s.targets.level_mean)
    randomized = table.model_scores(metric, "randomized", names)  # (n, T)
    beats_rand = share_beaten(model, randomized, s.counts)
    beats_shuf = share_beaten(model, table.model_scores(metric, "shuffled", names), s.counts)
    row.update({
        "higher_is_better": table.higher_is_better[metric],
        "beats_randomized": beats_rand[0], "beats_randomized_lo": beats_rand[1], "beats_randomized_hi": beats_rand[2],
        "n_twins": randomized.shape[1],
        "beats_shuffled_masks": beats_shuf[0],
        "area_spearman": area_correlation(table.bin_area, table.model_scores(metric, "area_bins", names)),
    })
    cascade = table.model_scores(metric, "cascade", names)  # (n, S)
    steps = [{"metric": metric, "step": step, "layers_randomized": i + 1,
              **dict(zip(("beats_cascade", "beats_cascade_lo", "beats_cascade_hi"),
                         share_beaten(model, cascade[:, i], s.counts))),
              "spearman_cascaded": spearman(cascade[:, i], s.targets.level_mean)}
             for i, step in enumerate(table.cascade_steps)]
    return row, frames.T, steps


def design_summary(s: _Setting, board: pd.DataFrame) -> dict[str, float | int]:
    """What this design can detect, printed with the report."""
    tie_free = np.arange(s.design.n, dtype=float)  # the null of a score without ties
    null = permutation_null(tie_free, s.targets.cluster_target, s.design, s.seed)
    metrics = board[board["kind"] == "metric"]
    return {
        "n_checkpoints": s.design.n, "n_level_counts": s.design.n_clusters, "n_replicates": len(s.counts),
        "n_permutations": len(null), "critical_spearman": critical_spearman(null),
        "min_p_value": 1.0 / len(null),
        "detectable_difference_median": float(np.nanmedian(metrics["detectable_difference"]))
        if len(metrics) and metrics["detectable_difference"].notna().any() else float("nan"),
    }


def oriented_feature_scores(table: ScoreTable, names: pd.Index) -> pd.DataFrame:
    """checkpoint, feature, metric, score: every per-feature score, oriented (higher = more interpretable)."""
    rows = []
    for metric in table.metrics:
        sign = orientation(table.metric_objects[metric])
        rows += [{"checkpoint": n, "feature": f, "metric": metric, "score": sign * float(v)}
                 for n in names for f, v in enumerate(table.scores[metric][n].trained)]
    return pd.DataFrame(rows, columns=["checkpoint", "feature", "metric", "score"])


def _feature_level(table: ScoreTable, names: pd.Index, studies: list[StudyJudgments], seed: int) -> pd.DataFrame:
    if not studies:
        return pd.DataFrame(columns=list(FEATURE_LEVEL_COLUMNS))
    return feature_level_rows(oriented_feature_scores(table, names), studies, seed=seed)


def _intervention_track(table: ScoreTable, names: pd.Index, measured: MeasuredTable | None) -> InterventionTrack:
    """The interventional track when ``measured`` describes the very features scored (see
    ``interventional.applicability``), else an empty one saying why."""
    if measured is None:
        return InterventionTrack.empty("no measured object-dependence table was given")
    checkpoints = {name: load_checkpoint(table.checkpoints.loc[name, "path"]) for name in names}
    layers = {layer_info(c, table.config.layer).name for c in checkpoints.values()}
    reason = applicability(measured, frames_sha256=table.frames_hash, fit=basis_fits(table.config)[0],
                           method=get_method(table.config.attribution).name, layer=" / ".join(sorted(layers)),
                           weights={name: c.weights_hash() for name, c in checkpoints.items()})
    if reason:
        return InterventionTrack.empty(reason)
    return intervention_track(oriented_feature_scores(table, names), measured)


def _with_intervention_columns(board: pd.DataFrame, track: InterventionTrack) -> pd.DataFrame:
    """The leaderboard's selectivity_spearman (with its checkpoint-clustered interval) and auroc_selective."""
    columns = {"selectivity_spearman": "spearman_selectivity", "selectivity_lo": "ci_low_selectivity",
               "selectivity_hi": "ci_high_selectivity", "auroc_selective": "auroc_selective"}
    return with_metric_columns(board, track.rows, columns)


def _with_feature_columns(board: pd.DataFrame, feature_level: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard's auroc and point_biserial: the study and task with the most judged features."""
    best = feature_level.sort_values("n_features", ascending=False, kind="stable")
    return with_metric_columns(board, best, {"auroc": "auroc", "point_biserial": "point_biserial"})


def _ceilings_frame(ceilings: list[Ceiling]) -> pd.DataFrame:
    return pd.DataFrame([c.row() for c in ceilings])


def validate(table: ScoreTable, labels: AggregateJudgments, *, studies: list[StudyJudgments] | None = None,
             interventions: MeasuredTable | None = None, known_answer: KnownAnswerTrack | None = None,
             method: str | None = None, seed: int = 0,
             n_replicates: int = DEFAULT_REPLICATES, hierarchical: bool = True) -> Validation:
    """Every metric of ``table`` against the human judgments, beside the ceilings and the baselines.

    ``hierarchical`` (the default) resamples frames and NMF fits inside the intervals besides
    level counts (:mod:`interpbench.validation.inference`; the coverage of both is measured by
    ``scripts/coverage_simulation.py``). Raises :class:`~interpbench.validation.design.NotEstimable` for a zoo with one level count or
    fewer than 3 matched checkpoints: no figure of such a zoo would mean anything.
    ``interventions``: a measured object-dependence table (``interventions.table``) for the
    interventional track; used only where it describes the features scored. ``known_answer``:
    the known-answer track (``validation.known_answer``), whose columns the leaderboard shows.
    """
    matched, unmatched = match_checkpoints(table, labels, method)
    design = Design.from_levels(matched["num_levels"].to_numpy())
    design.require_estimable()
    targets = Targets.build(matched, labels.by_researcher(), design)
    counts = cluster_bootstrap_counts(design, n_replicates, seed)
    log_l = np.log(matched["num_levels"].to_numpy(dtype=float))
    log_l_boot = bootstrap_spearman(np.broadcast_to(log_l, counts.shape), targets.level_mean, counts)
    s = _Setting(design, targets, counts, log_l, spearman(log_l, targets.level_mean), log_l_boot, seed, hierarchical)

    rows = [_agreement_row(name, "baseline", values, np.broadcast_to(values, counts.shape), s)
            for name, values in ((LOG_L, log_l), (COMPLETION_ROW, matched["test_completion"].to_numpy(dtype=float)))]
    model_boot: dict[str, np.ndarray] = {}
    cascade_rows: list[dict] = []
    for metric in table.metrics:
        row, frames, steps = _metric_row(table, metric, matched, s)
        rows.append(row)
        model_boot[metric] = frames
        cascade_rows += steps

    feature_level = _feature_level(table, matched.index, list(studies or []), seed)
    track = _intervention_track(table, matched.index, interventions)
    known_answer = known_answer or KnownAnswerTrack.empty("no known-answer zoo was scored")
    board = with_known_answer_columns(
        _with_intervention_columns(_with_feature_columns(pd.DataFrame(rows), feature_level), track), known_answer)
    ceilings = target_ceilings(labels.by_researcher(), n_replicates, seed)
    noise = next(c for c in ceilings if c.name == "noise ceiling")
    board["vs_ceiling"] = board["spearman"] / noise.spearman
    is_metric = (board["kind"] == "metric").to_numpy()
    board["p_holm"] = np.nan
    board.loc[is_metric, "p_holm"] = holm(board.loc[is_metric, "p_value"].to_numpy())
    board["beats_log_l"] = np.where(is_metric, board["vs_log_l_lo"] > 0, False)
    board["n_checkpoints"] = design.n
    board["n_level_counts"] = design.n_clusters
    order = board["kind"].map({"baseline": 0, "metric": 1})
    board = board.assign(_order=order).sort_values(["_order", "spearman"], ascending=[True, False], kind="stable",
                                                   na_position="last").drop(columns="_order")
    is_metric = (board["kind"] == "metric").to_numpy()
    board.insert(0, "rank", pd.array(np.where(is_metric, np.cumsum(is_metric), 0), dtype="Int64"))
    board.loc[~is_metric, "rank"] = pd.NA
    board = board.reset_index(drop=True)
    return Validation(board, _ceilings_frame(ceilings), pd.DataFrame(cascade_rows), feature_level, design_summary(s, board),
                      matched.assign(human_level_mean=targets.level_mean), model_boot, unmatched, track, known_answer)
