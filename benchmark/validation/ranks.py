"""Rank correlations of many replicates at once, with multiplicities.

A cluster-bootstrap replicate draws whole level counts with replacement, so a checkpoint can
appear 0, 1, 2, ... times. Rather than materialise each replicate's sample (ragged when clusters
differ in size), every replicate is a row of *counts* over the same checkpoints, and Spearman's rho
is computed on the expanded sample from the counts: midranks with ties, then Pearson on ranks,
both weighted by the counts. With all counts 1 this is exactly ``scipy.stats.spearmanr``.

Written by hand because scipy's ``spearmanr`` takes neither weights nor a batch of rows, and the
leaderboard needs thousands of replicates for every metric (n is ~14, so the pairwise (B, n, n)
comparison below is small and fully vectorized).
"""

from __future__ import annotations

import numpy as np


def weighted_ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Midranks (B, n) of each row of ``values`` in the sample that repeats element i ``counts[b, i]`` times.

    Element i's rank is the count of smaller elements plus the mean position inside its tie group:
    ``sum_j c_j [v_j < v_i] + (sum_j c_j [v_j == v_i] + 1) / 2``.
    """
    v = np.atleast_2d(values)
    c = np.broadcast_to(counts, v.shape).astype(np.float64)
    less = (v[:, None, :] < v[:, :, None]).astype(np.float64)
    equal = (v[:, None, :] == v[:, :, None]).astype(np.float64)
    below = np.einsum("bij,bj->bi", less, c)
    tied = np.einsum("bij,bj->bi", equal, c)
    return below + (tied + 1.0) / 2.0


def weighted_pearson(x: np.ndarray, y: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Pearson r of each row pair (B, n), element i counted ``counts[b, i]`` times (rows of ``x``
    and ``y`` broadcast against ``counts``); NaN for a row constant in either. With a 0/1 ``x``
    it is the point-biserial correlation."""
    c = np.asarray(counts, dtype=np.float64)
    x, y, c = np.broadcast_arrays(np.atleast_2d(x).astype(np.float64), np.atleast_2d(y).astype(np.float64), c)
    total = c.sum(axis=1, keepdims=True)
    dx = x - (c * x).sum(axis=1, keepdims=True) / total
    dy = y - (c * y).sum(axis=1, keepdims=True) / total
    sxx, syy = (c * dx * dx).sum(axis=1), (c * dy * dy).sum(axis=1)
    # Constant up to rounding: the spread is a negligible share of the second moment.
    live = (sxx > 1e-12 * (c * x * x).sum(axis=1)) & (syy > 1e-12 * (c * y * y).sum(axis=1)) & (sxx > 0) & (syy > 0)
    spread = np.sqrt(np.where(live, sxx * syy, 1.0))
    return np.where(live, (c * dx * dy).sum(axis=1) / spread, np.nan)


def spearman_rows(x: np.ndarray, y: np.ndarray, counts: np.ndarray | None = None) -> np.ndarray:
    """Spearman's rho (B,) of each row pair of ``x`` and ``y`` (B, n) or (n,), optionally with counts."""
    x2, y2 = np.atleast_2d(x).astype(np.float64), np.atleast_2d(y).astype(np.float64)
    x2, y2 = np.broadcast_arrays(x2, y2)
    c = np.ones(x2.shape) if counts is None else np.broadcast_to(counts, x2.shape)
    return weighted_pearson(weighted_ranks(x2, c), weighted_ranks(y2, c), c)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman's rho of two vectors (NaN when either is constant)."""
    return float(spearman_rows(x, y)[0])


def partial_spearman(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> float:
    """Spearman of ``x`` and ``y`` controlling ``z``: the partial correlation of their ranks.

    NaN when ``z`` determines ``x`` or ``y`` completely (a zero denominator is not averaged away).
    """
    rxy, rxz, ryz = spearman(x, y), spearman(x, z), spearman(y, z)
    denom = (1 - rxz**2) * (1 - ryz**2)
    if not np.isfinite(denom) or denom < 1e-6:
        return float("nan")
    return float((rxy - rxz * ryz) / np.sqrt(denom))
