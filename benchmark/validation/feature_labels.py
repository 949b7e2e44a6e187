"""A labelling study's judgments with the study's own rules applied: exclusions, the panel, its ceiling.

Why here, in validation: both ``interpbench agreement`` (the ``labelling`` stage) and the
leaderboard's feature-level columns (``interpbench.validation.feature_level``) must apply the same
exclusions and report the same ceiling, and validation is the earlier stage, so the one copy lives
here and ``interpbench.labelling.agreement`` imports it. Nothing here reads a file: the caller gives
the judgment table (``interpbench.labelling.store.read_study_judgments``'s columns) and the study's
:class:`ExclusionCriteria` (``interpbench.labelling.study.Study.criteria``).

Exclusions are applied at analysis time: an excluded rater's rows stay in the table and in the
report, marked with the reason, and are left out of every statistic.

The ceiling: the included raters are split in two random halves (every split when there are few
raters), each feature's mean judgment per half is computed, and the halves are rank-correlated over
features (Spearman); the mean over splits is stepped up to the whole panel with Spearman-Brown,
r_full = 2 r / (1 + r), the reliability of the panel's mean judgment. Its square root is the noise
ceiling: no metric's correlation with the panel's mean can be expected above it (NaN when r <= 0:
the panel's mean has no reliable signal).
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from interpbench.validation.ceilings import noise_ceiling as ceiling_of
from interpbench.validation.ceilings import spearman_brown

#: Random splits for split-half reliability when there are too many raters to try every split.
MAX_SPLITS = 200


@dataclass(frozen=True)
class ExclusionCriteria:
    """What a study file fixes about who is excluded and what passes a catch trial.

    catch_required: the study has catch trials, so a rater who answered none is excluded (yet).
    A rating catch trial passes at ``rating_positive_min`` or more for a positive (a class mask),
    at ``rating_negative_max`` or less for a negative (noise); a 2AFC one when the right frame was
    picked."""

    min_catch_accuracy: float
    min_median_seconds: float
    catch_required: bool
    rating_positive_min: int
    rating_negative_max: int


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
class StudyJudgments:
    """One study's judgment table with the parts of its study file the analysis needs.

    judgments: the columns of ``interpbench.labelling.store.read_study_judgments`` (``demo`` and
    ``catch`` bool, ``judgment`` int, ``seconds`` float, ``made_by``, ``trial_type``, ``study``).
    seed: the study's agreement seed (the random rater splits of the ceiling, when there are many
    raters)."""

    name: str
    criteria: ExclusionCriteria
    task_types: tuple[str, ...]
    seed: int
    judgments: pd.DataFrame


@dataclass(frozen=True)
class StudyCeiling:
    """Split-half reliability over features, its Spearman-Brown step-up, and the noise ceiling."""

    split_half: float
    spearman_brown: float
    noise_ceiling: float


def catch_passed(criteria: ExclusionCriteria, rows: pd.DataFrame) -> pd.Series:
    """Per catch row: did the rater give the obvious answer (:class:`ExclusionCriteria`)?"""
    two_afc = rows["trial_type"] == "2afc"
    positive = rows["catch_expect"] == "positive"
    judged = rows["judgment"]
    return (two_afc & (judged == 1)) | (~two_afc & positive & (judged >= criteria.rating_positive_min)) | \
        (~two_afc & ~positive & (judged <= criteria.rating_negative_max))


def rater_summaries(criteria: ExclusionCriteria, judgments: pd.DataFrame) -> list[RaterSummary]:
    """Catch accuracy, median seconds per counted trial and the exclusions, per rater."""
    out = []
    for rater, rows in judgments.groupby("labeller", sort=True):
        counted = rows[~rows["demo"]]
        catch = counted[counted["catch"]]
        accuracy = float(catch_passed(criteria, catch).mean()) if len(catch) else math.nan
        median = float(counted["seconds"].median()) if len(counted) else math.nan
        reasons = []
        if criteria.catch_required and not len(catch):
            reasons.append("no catch trial answered yet")
        elif len(catch) and accuracy < criteria.min_catch_accuracy:
            reasons.append(f"catch accuracy {accuracy:.2f} < {criteria.min_catch_accuracy:g}")
        if len(counted) and median < criteria.min_median_seconds:
            reasons.append(f"median {median:.1f} s per trial < {criteria.min_median_seconds:g} s")
        out.append(RaterSummary(str(rater), int((~counted["catch"]).sum()), len(catch), accuracy, median,
                                bool(reasons), tuple(reasons)))
    return out


def included_main_rows(criteria: ExclusionCriteria, judgments: pd.DataFrame) -> tuple[pd.DataFrame, list[RaterSummary]]:
    """The main (not demo, not catch) rows of the raters ``criteria`` keep, and every rater's summary."""
    raters = rater_summaries(criteria, judgments)
    included = {r.rater for r in raters if not r.excluded}
    main = judgments[~judgments["demo"] & ~judgments["catch"] & judgments["labeller"].isin(included)]
    return main, raters


def judgment_matrix(rows: pd.DataFrame) -> pd.DataFrame:
    """Judgments as raters x (checkpoint, feature), NaN where a rater did not judge a feature."""
    return rows.pivot_table(index="labeller", columns=["checkpoint", "feature"], values="judgment", aggfunc="first")


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


def noise_ceiling(matrix: np.ndarray, seed: int) -> StudyCeiling:
    """The ceiling of the module docstring for a raters x features ``matrix`` (the step-up and the
    square root are ``interpbench.validation.ceilings``'s, as the model-level ceiling uses them); the
    random splits (many raters only) are drawn from their own generator seeded with ``seed``, so
    the figure is the same wherever it is computed."""
    r = split_half(matrix, np.random.default_rng(seed))
    if not r > -1:  # NaN, or two halves in opposite order: the step-up divides by zero
        return StudyCeiling(r, math.nan, math.nan)
    return StudyCeiling(r, float(spearman_brown(r)), float(ceiling_of(r)))
