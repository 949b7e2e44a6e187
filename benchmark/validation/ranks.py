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
    """Pearson r of each row pair, element i counted ``counts[b, i]`` times; NaN for a constant row."""
    c = np.broadcast_to(counts, x.shape).astype(np.float64)
    total = c.sum(axis=1, keepdims=True)
    mx = (c * x).sum(axis=1, keepdims=True) / total
    my = (c * y).sum(axis=1, keepdims=True) / total
    dx, dy = x - mx, y - my
    sxy = (c * dx * dy).sum(axis=1)
    sxx = (c * dx * dx).sum(axis=1)
    syy = (c * dy * dy).sum(axis=1)
    denom = np.sqrt(sxx * syy)
    # A row is constant when its spread is zero up to rounding: ranks are exact halves, so a
    # relative tolerance separates true zeros from real spreads.
    scale = np.maximum(total[:, 0], 1.0) ** 3
    live = (sxx > 1e-9 * scale) & (syy > 1e-9 * scale)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(live, sxy / np.where(live, denom, 1.0), np.nan)


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
