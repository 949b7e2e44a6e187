"""Intervals and tests for a metric's agreement with the human target, in the level-count design.

* **Interval** (:func:`spearman_interval`): replicate b draws level counts with replacement
  (:func:`~interpbench.validation.design.cluster_bootstrap_counts`) and, in the hierarchical
  design the leaderboard uses (:func:`replicate_scores`), scores each checkpoint on frame
  resample b with one of its NMF fits drawn at random (a refit enters as its shift from the main
  fit on the full frame set). The interval is normal on Fisher's z scale with the bootstrap
  standard error times ``sqrt(G / (G - 1))``, the small-sample bias of a bootstrap variance over G
  clusters. ``scripts/coverage_simulation.py`` measures the coverage on synthetic zoos with a
  known Spearman and the real zoo's noise (docs/validation.md): the plain percentile interval over
  7 clusters covers less than 95%; resampling level counts alone, slightly less than the
  hierarchical design; resampling checkpoints within level counts as well, more.
* **Test** (:func:`permutation_pvalue`): one-sided (a metric declares its orientation, so
  agreement means a positive correlation), exact over all permutations of the level counts'
  targets; Holm's step-down adjustment across the metrics of a report (:func:`holm`).
* **Power** (:func:`detectable_difference`): the smallest difference a test of this design
  detects with 80% power, from the bootstrap standard error.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from interpbench.validation.design import Design, cluster_permutations
from interpbench.validation.ranks import spearman_rows

LEVEL = 0.95
POWER = 0.80
#: Replicates of the cluster bootstrap.
DEFAULT_REPLICATES = 2000
#: Correlations are clipped to this before atanh, so a replicate of exactly +-1 stays finite.
CLIP = 0.9999
#: Above this share of replicates at exactly +-1, a Spearman's interval is the percentile one.
BOUNDARY_SHARE = 0.05


def percentile_interval(replicates: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central ``level`` percentile interval of the finite replicates (NaN, NaN if none)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    lo, hi = np.percentile(finite, [tail, 100 - tail])
    return float(lo), float(hi)


def replicate_scores(trained: np.ndarray, boot: np.ndarray, refits: np.ndarray, n_replicates: int,
                     seed: int) -> np.ndarray:
    """(B', n) model scores of every checkpoint in each replicate: frame resample ``b mod B``
    (the full set when there are none) plus the shift of one NMF fit drawn per checkpoint.

    ``trained`` (n,), ``boot`` (n, B), ``refits`` (n, R) are oriented model scores.
    """
    n = len(trained)
    frames = boot[:, np.arange(n_replicates) % boot.shape[1]].T if boot.shape[1] else np.tile(trained, (n_replicates, 1))
    if refits.shape[1] == 0:
        return frames
    shifts = np.concatenate([np.zeros((n, 1)), refits - trained[:, None]], axis=1)  # (n, 1 + R)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 12]))
    fit = rng.integers(0, shifts.shape[1], size=(n_replicates, n))
    return frames + shifts[np.arange(n)[None, :], fit]


def fisher_interval(point: float, replicates: np.ndarray, n_clusters: int, level: float = LEVEL) -> tuple[float, float]:
    """``tanh(z ± q * SE)``: z = atanh(point), SE the replicates' SD on the z scale times
    sqrt(G / (G - 1)), q the normal quantile. (NaN, NaN) when the point or the replicates are undefined."""
    finite = replicates[np.isfinite(replicates)]
    if not np.isfinite(point) or finite.size < 2 or n_clusters < 2:
        return float("nan"), float("nan")
    se = corrected_sd(np.arctanh(np.clip(finite, -CLIP, CLIP)), n_clusters)
    q = stats.norm.ppf(1 - (1 - level) / 2)
    z0 = np.arctanh(np.clip(point, -CLIP, CLIP))
    return float(np.tanh(z0 - q * se)), float(np.tanh(z0 + q * se))


def spearman_interval(point: float, replicates: np.ndarray, n_clusters: int,
                      level: float = LEVEL) -> tuple[float, float, str]:
    """The leaderboard's interval of a Spearman and the method that gave it.

    Fisher z (:func:`fisher_interval`) unless more than :data:`BOUNDARY_SHARE` of the replicates
    are exactly +-1 (a score that is a function of level count, such as the log-L baseline, often
    ranks a replicate's few level counts perfectly): z is infinite there, the normal approximation
    fails and the percentile interval of the replicates is used instead."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size and np.mean(np.abs(finite) > 1 - 1e-9) > BOUNDARY_SHARE:
        return (*percentile_interval(finite, level), "percentile")
    return (*fisher_interval(point, replicates, n_clusters, level), "fisher-z")


def normal_interval(point: float, replicates: np.ndarray, n_clusters: int, level: float = LEVEL) -> tuple[float, float]:
    """``point ± q * SE`` with the same small-sample corrected SE, for a difference of Spearmans."""
    finite = replicates[np.isfinite(replicates)]
    if not np.isfinite(point) or finite.size < 2 or n_clusters < 2:
        return float("nan"), float("nan")
    half = stats.norm.ppf(1 - (1 - level) / 2) * corrected_sd(finite, n_clusters)
    return float(point - half), float(point + half)


def corrected_sd(replicates: np.ndarray, n_clusters: int) -> float:
    """The replicates' SD times sqrt(G / (G - 1)) (NaN with fewer than two finite replicates)."""
    finite = replicates[np.isfinite(replicates)]
    if finite.size < 2 or n_clusters < 2:
        return float("nan")
    return float(finite.std(ddof=1) * np.sqrt(n_clusters / (n_clusters - 1)))


def bootstrap_spearman(scores: np.ndarray, target: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """(B,) Spearman of replicate scores (B, n) with the target (n,) under cluster counts (B, n)."""
    return spearman_rows(scores, np.broadcast_to(target, scores.shape), counts)


def permutation_null(scores: np.ndarray, cluster_target: np.ndarray, design: Design, seed: int) -> np.ndarray:
    """(P,) Spearman of ``scores`` (n,) with the cluster targets reassigned by every permutation
    of the clusters (the first is the observed assignment)."""
    perms = cluster_permutations(design.n_clusters, seed)
    permuted = cluster_target[perms][:, design.cluster]  # (P, n)
    return spearman_rows(np.broadcast_to(scores, permuted.shape), permuted)


def permutation_pvalue(null: np.ndarray, observed: float) -> float:
    """One-sided p: the share of permutations whose Spearman is at least the observed one."""
    if not np.isfinite(observed):
        return float("nan")
    finite = null[np.isfinite(null)]
    return float(np.mean(finite >= observed - 1e-12))


def critical_spearman(null: np.ndarray, alpha: float = 1 - LEVEL) -> float:
    """The smallest Spearman that the one-sided permutation test rejects at ``alpha``."""
    finite = np.sort(null[np.isfinite(null)])
    for value in np.unique(finite):
        if np.mean(finite >= value - 1e-12) <= alpha:
            return float(value)
    return float("nan")


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm's step-down adjusted p-values (NaN entries stay NaN and do not count).

    Written out because it is five lines and the project's scientific stack (scipy) has only the
    Benjamini-Hochberg procedure, which controls a different error rate.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full_like(p, np.nan)
    live = np.flatnonzero(np.isfinite(p))
    order = live[np.argsort(p[live], kind="stable")]
    m = len(order)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (m - k) * p[i]))
        out[i] = running
    return out


def detectable_difference(replicates: np.ndarray, n_clusters: int, level: float = LEVEL, power: float = POWER) -> float:
    """Smallest true difference a two-sided test at ``level`` detects with ``power``, given the
    corrected bootstrap standard error of the estimate: ``(z_(1-alpha/2) + z_power) * SE``."""
    z = stats.norm.ppf(1 - (1 - level) / 2) + stats.norm.ppf(power)
    return float(z * corrected_sd(replicates, n_clusters))

