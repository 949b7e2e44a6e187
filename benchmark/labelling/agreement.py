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
* split-half reliability, its Spearman-Brown step-up and the noise ceiling it implies
  (``interpbench.validation.feature_labels``, where the exclusions live too: the leaderboard's
  feature-level columns apply the same ones and show the same ceiling).
* per-feature 2AFC accuracy (the objective measure, as in IMI): the mean correctness per feature.
"""

from __future__ import annotations

import html
import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import krippendorff
import numpy as np
import pandas as pd

from interpbench.labelling.study import Study
from interpbench.validation.feature_labels import RaterSummary, included_main_rows, judgment_matrix, noise_ceiling

LEVEL = 0.95
Level = Literal["nominal", "interval"]
MEASUREMENT: dict[str, Level] = {"2afc": "nominal", "rating": "interval"}


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


def _alpha(matrix: np.ndarray, level: Level) -> float:
    pairable = (np.isfinite(matrix).sum(axis=0) >= 2)
    if matrix.shape[0] < 2 or not pairable.any():
        return math.nan
    try:
        value = float(krippendorff.alpha(reliability_data=matrix[:, pairable], level_of_measurement=level))
    except (ValueError, ZeroDivisionError, FloatingPointError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def type_agreement(study: Study, rows: pd.DataFrame, trial_type: str) -> TypeAgreement:
    """Agreement statistics of one task type on the included raters' main rows."""
    rows = rows[rows["trial_type"] == trial_type]
    matrix = judgment_matrix(rows).to_numpy(dtype=float)
    level = MEASUREMENT[trial_type]
    alpha = _alpha(matrix, level)
    rng = np.random.default_rng(study.agreement_seed)
    boot = []
    if math.isfinite(alpha) and study.bootstrap:
        for _ in range(study.bootstrap):
            boot.append(_alpha(matrix[:, rng.integers(0, matrix.shape[1], matrix.shape[1])], level))
    finite = np.array([b for b in boot if math.isfinite(b)])
    low, high = (np.quantile(finite, [(1 - LEVEL) / 2, (1 + LEVEL) / 2]) if len(finite) else (math.nan, math.nan))
    ceiling = noise_ceiling(matrix, study.agreement_seed)
    scale = 1 if trial_type == "2afc" else 10
    mean = float(rows["judgment"].mean() / scale) if len(rows) else math.nan
    return TypeAgreement(trial_type, int(matrix.shape[0]), int(matrix.shape[1]), alpha, float(low), float(high),
                         ceiling.split_half, ceiling.spearman_brown, ceiling.noise_ceiling, mean)


def study_agreement(study: Study, judgments: pd.DataFrame) -> StudyAgreement:
    """Every statistic of the module docstring for ``judgments`` (one study's file)."""
    judgments = judgments[judgments["study"] == study.name]
    main, raters = included_main_rows(study.criteria, judgments)
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
