"""Agreement statistics of a study: how far the raters agree, and what that allows a metric.

Computed from the judgment file and the study file alone (no model, no zoo), with the study's
exclusion rules applied here, at analysis time: a rater who fails them stays in the file and in
the report, marked excluded with the reason, and their rows are left out of the statistics.

Per task type, over the checkpoint features every included rater judged (demo and catch trials
never count):

* Krippendorff's alpha (``krippendorff`` package): nominal for 2AFC (each judgment is right or
  wrong), interval for the 0-10 rating; 95% percentile interval from ``bootstrap`` resamples of
  the features (the unit the leaderboard ranks). NaN where it is undefined (one rater, or no
  variation at all).
* split-half reliability: the raters are split in two random halves (every split when there are
  few raters), each feature's mean judgment per half is computed, and the halves are
  rank-correlated over features (Spearman, as the leaderboard ranks); the mean over splits is
  stepped up to the full panel with Spearman-Brown, r_full = 2 r / (1 + r): the reliability of the
  panel's mean judgment. Its square root is the noise ceiling: no metric's correlation with the
  panel's mean can be expected above it.
* per-feature 2AFC accuracy (the objective measure, as in IMI): the mean correctness per feature.
"""

from __future__ import annotations

import html
import itertools
import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import krippendorff
import numpy as np
import pandas as pd
from scipy import stats

from interpbench.labelling.study import Study

LEVEL = 0.95
#: Random splits for split-half reliability when there are too many raters to try every split.
MAX_SPLITS = 200
Level = Literal["nominal", "interval"]
MEASUREMENT: dict[str, Level] = {"2afc": "nominal", "rating": "interval"}


@dataclass(frozen=True)
class RaterSummary:
    """One rater's catch accuracy, speed and exclusion."""

    rater: str
    main_trials: int
    catch_trials: int
    catch_accuracy: float
    median_seconds: float
    excluded: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class TypeAgreement:
    """Agreement of the included raters on one task type."""

    trial_type: str
    raters: int
    features: int
    alpha: float
    alpha_low: float
    alpha_high: float
    split_half: float
    spearman_brown: float
    noise_ceiling: float
    mean_judgment: float


@dataclass
class StudyAgreement:
    study: str
    raters: list[RaterSummary]
    types: list[TypeAgreement]
    exclusion: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"study": self.study, "exclusion": self.exclusion,
                "raters": [asdict(r) for r in self.raters], "types": [asdict(t) for t in self.types]}


def catch_passed(study: Study, rows: pd.DataFrame) -> pd.Series:
    """Per catch row: did the rater give the obvious answer? 2AFC: the right frame; rating: at
    least ``rating_positive_min`` for a class mask, at most ``rating_negative_max`` for noise."""
    two_afc = rows["trial_type"] == "2afc"
    positive = rows["catch_expect"] == "positive"
    judged = rows["judgment"]
    return (two_afc & (judged == 1)) | (~two_afc & positive & (judged >= study.rating_positive_min)) | \
        (~two_afc & ~positive & (judged <= study.rating_negative_max))


def rater_summaries(study: Study, judgments: pd.DataFrame) -> list[RaterSummary]:
    """Catch accuracy, median seconds per counted trial and the study's exclusions, per rater."""
    out = []
    for rater, rows in judgments.groupby("labeller", sort=True):
        counted = rows[~rows["demo"]]
        catch = counted[counted["catch"]]
        accuracy = float(catch_passed(study, catch).mean()) if len(catch) else math.nan
        median = float(counted["seconds"].median()) if len(counted) else math.nan
        reasons = []
        if study.catch_trials and not len(catch):
            reasons.append("no catch trial answered yet")
        elif len(catch) and accuracy < study.min_catch_accuracy:
            reasons.append(f"catch accuracy {accuracy:.2f} < {study.min_catch_accuracy:g}")
        if len(counted) and median < study.min_median_seconds:
            reasons.append(f"median {median:.1f} s per trial < {study.min_median_seconds:g} s")
        out.append(RaterSummary(str(rater), int((~counted["catch"]).sum()), len(catch), accuracy, median,
                                bool(reasons), tuple(reasons)))
    return out


def _alpha(matrix: np.ndarray, level: Level) -> float:
    pairable = (np.isfinite(matrix).sum(axis=0) >= 2)
    if matrix.shape[0] < 2 or not pairable.any():
        return math.nan
    try:
        value = float(krippendorff.alpha(reliability_data=matrix[:, pairable], level_of_measurement=level))
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def _splits(n: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Boolean masks of the first half, one per split (every split up to MAX_SPLITS, else random)."""
    half = n // 2
    every = list(itertools.combinations(range(n), half))
    if len(every) <= MAX_SPLITS:
        chosen = every
    else:
        chosen = [tuple(rng.choice(n, size=half, replace=False)) for _ in range(MAX_SPLITS)]
    masks = []
    for members in chosen:
        mask = np.zeros(n, dtype=bool)
        mask[list(members)] = True
        masks.append(mask)
    return masks


def split_half(matrix: np.ndarray, rng: np.random.Generator) -> float:
    """Mean Spearman correlation over features between the two halves' mean judgments."""
    if matrix.shape[0] < 2:
        return math.nan
    values = []
    for first in _splits(matrix.shape[0], rng):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # a feature no rater of a half judged
            a, b = np.nanmean(matrix[first], axis=0), np.nanmean(matrix[~first], axis=0)
        keep = np.isfinite(a) & np.isfinite(b)
        if keep.sum() < 3 or np.ptp(a[keep]) == 0 or np.ptp(b[keep]) == 0:
            continue
        values.append(float(stats.spearmanr(a[keep], b[keep]).statistic))
    return float(np.mean(values)) if values else math.nan


def spearman_brown(r: float, factor: float = 2.0) -> float:
    """Reliability of a panel ``factor`` times as large as the one that gave ``r``."""
    if not math.isfinite(r) or factor * r + (1 - r) == 0:
        return math.nan
    return factor * r / (1 + (factor - 1) * r)


def type_agreement(study: Study, rows: pd.DataFrame, trial_type: str) -> TypeAgreement:
    """Agreement statistics of one task type on the included raters' main rows."""
    rows = rows[rows["trial_type"] == trial_type]
    matrix_frame = rows.pivot_table(index="labeller", columns=["checkpoint", "feature"], values="judgment",
                                    aggfunc="first")
    matrix = matrix_frame.to_numpy(dtype=float)
    level = MEASUREMENT[trial_type]
    alpha = _alpha(matrix, level)
    rng = np.random.default_rng(study.agreement_seed)
    boot = []
    if math.isfinite(alpha) and study.bootstrap:
        for _ in range(study.bootstrap):
            boot.append(_alpha(matrix[:, rng.integers(0, matrix.shape[1], matrix.shape[1])], level))
    finite = np.array([b for b in boot if math.isfinite(b)])
    low, high = (np.quantile(finite, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]) if len(finite) else (math.nan, math.nan))
    r = split_half(matrix, rng)
    full = spearman_brown(r)
    ceiling = math.sqrt(full) if math.isfinite(full) and full >= 0 else math.nan
    scale = 1 if trial_type == "2afc" else 10
    mean = float(rows["judgment"].mean() / scale) if len(rows) else math.nan
    return TypeAgreement(trial_type, int(matrix.shape[0]), int(matrix.shape[1]), alpha, float(low), float(high), r,
                         full, ceiling, mean)


def study_agreement(study: Study, judgments: pd.DataFrame) -> StudyAgreement:
    """Every statistic of the module docstring for ``judgments`` (one study's file)."""
    judgments = judgments[judgments["study"] == study.name]
    raters = rater_summaries(study, judgments)
    included = {r.rater for r in raters if not r.excluded}
    main = judgments[~judgments["demo"] & ~judgments["catch"] & judgments["labeller"].isin(included)]
    types = [type_agreement(study, main, t) for t in study.task_types]
    return StudyAgreement(study.name, raters, types,
                          {"min_catch_accuracy": study.min_catch_accuracy,
                           "min_median_seconds": study.min_median_seconds})


def _num(x: float, digits: int = 3) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:.{digits}f}"


def format_report(result: StudyAgreement, escape: bool = False) -> str:
    """A plain-text report (``escape``: HTML-escape every value taken from the file, for
    embedding in a web page; rater ids are pattern-checked when written, so this is a second guard)."""
    esc = html.escape if escape else str
    lines = [f"study {esc(result.study)}: exclusions: catch accuracy >= {result.exclusion['min_catch_accuracy']:g}, "
             f"median time per trial >= {result.exclusion['min_median_seconds']:g} s", "",
             "rater                            main  catch  catch acc.  median s  status"]
    for r in result.raters:
        status = "excluded: " + "; ".join(r.reasons) if r.excluded else "included"
        lines.append(f"{esc(r.rater):<32} {r.main_trials:>5} {r.catch_trials:>6} {_num(r.catch_accuracy, 2):>11} "
                     f"{_num(r.median_seconds, 1):>9}  {esc(status)}")
    lines += ["", "task     raters  features  alpha [95% CI]            split-half  Spearman-Brown  noise ceiling  mean"]
    for t in result.types:
        interval = f"{_num(t.alpha)} [{_num(t.alpha_low)}, {_num(t.alpha_high)}]"
        lines.append(f"{t.trial_type:<8} {t.raters:>6} {t.features:>9}  {interval:<25} {_num(t.split_half):>10} "
                     f"{_num(t.spearman_brown):>15} {_num(t.noise_ceiling):>14}  {_num(t.mean_judgment, 2)}")
    lines += ["", "alpha: Krippendorff (2afc nominal, rating interval), CI over bootstrap resamples of features; "
              "noise ceiling = sqrt(Spearman-Brown); mean: 2afc accuracy, rating / 10"]
    return "\n".join(lines)
