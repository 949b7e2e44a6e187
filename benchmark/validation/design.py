"""The validation design: checkpoints nested in level counts, and how it may be resampled.

In the zoo (as in the study) the level count L is what carries the human signal: 97% of the
target's variance lies between level counts, and a student's run number has no link to the
study's run 1 or 2. So the unit of resampling and of permutation is the level count (a
*cluster*), not the checkpoint:

* :func:`cluster_bootstrap_counts` draws clusters with replacement and keeps every checkpoint of
  a drawn cluster. Resampling checkpoints *within* clusters as well (with two per cluster) makes
  the interval too wide: it counts the within-cluster variance twice (Ren et al. 2010,
  "Nonparametric bootstrapping for hierarchical data"); the coverage study
  (``scripts/coverage_simulation.py``) measures both.
* :func:`cluster_permutations` reassigns the clusters' targets among clusters: the design-based
  null "the metric says nothing about the target" without pretending 14 checkpoints are 14
  independent units.
* :func:`run_relabelings` lists every way of pairing the students of a level count with the
  study's runs, to measure how much a run-paired figure depends on an arbitrary pairing.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from interpbench.infra.errors import InterpbenchError

#: Above this many cluster permutations, draw this many at random instead of enumerating.
MAX_EXACT_PERMUTATIONS = 10_000


class NotEstimable(InterpbenchError):
    """The design cannot carry the requested figure (e.g. one level count, < 3 checkpoints)."""


@dataclass(frozen=True)
class Design:
    """``cluster[i]``: the cluster (0..G-1) of checkpoint i; ``labels[g]``: what cluster g is (its L)."""

    cluster: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_levels(cls, levels: np.ndarray) -> Design:
        labels, cluster = np.unique(np.asarray(levels), return_inverse=True)
        return cls(cluster.astype(np.int64), labels)

    @property
    def n(self) -> int:
        return len(self.cluster)

    @property
    def n_clusters(self) -> int:
        return len(self.labels)

    def require_estimable(self) -> None:
        """Refuse a design whose rank correlations are undefined or meaningless."""
        if self.n < 3:
            raise NotEstimable(f"{self.n} checkpoint(s): a rank correlation needs at least 3")
        if self.n_clusters < 2:
            raise NotEstimable(
                f"all checkpoints share one level count ({self.labels[0]}): the target does not vary, "
                "so no agreement is estimable"
            )

    def cluster_means(self, values: np.ndarray) -> np.ndarray:
        """(G,) mean of ``values`` (n,) over each cluster's checkpoints."""
        sums = np.bincount(self.cluster, weights=values, minlength=self.n_clusters)
        return sums / np.bincount(self.cluster, minlength=self.n_clusters)


def cluster_bootstrap_counts(design: Design, n_replicates: int, seed: int) -> np.ndarray:
    """float (B, n): how often each checkpoint is in replicate b (its cluster's draw count)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 10]))
    draws = rng.integers(0, design.n_clusters, size=(n_replicates, design.n_clusters))
    per_cluster = np.stack([np.bincount(row, minlength=design.n_clusters) for row in draws])
    return per_cluster[:, design.cluster].astype(np.float64)


def cluster_permutations(n_clusters: int, seed: int) -> np.ndarray:
    """int (P, G): every permutation of the clusters (the identity first), or the identity plus
    random ones when there are more than :data:`MAX_EXACT_PERMUTATIONS`."""
    if math.factorial(n_clusters) <= MAX_EXACT_PERMUTATIONS:
        return np.array(list(itertools.permutations(range(n_clusters))), dtype=np.int64)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 11]))
    drawn = np.stack([rng.permutation(n_clusters) for _ in range(MAX_EXACT_PERMUTATIONS - 1)])
    return np.concatenate([np.arange(n_clusters)[None], drawn])


def run_relabelings(runs: np.ndarray, design: Design) -> np.ndarray:
    """int (P, n): for each way of swapping study runs within level counts, which study run each
    checkpoint is paired with. Only level counts with exactly two runs can be swapped; there are
    2^(such level counts) pairings, the first the identity."""
    runs = np.asarray(runs)
    swappable = [g for g in range(design.n_clusters) if len(np.unique(runs[design.cluster == g])) == 2]
    out = []
    for flips in itertools.product((False, True), repeat=len(swappable)):
        relabelled = runs.copy()
        for g, flip in zip(swappable, flips):
            if flip:
                members = design.cluster == g
                a, b = np.unique(runs[members])
                relabelled[members] = np.where(runs[members] == a, b, a)
        out.append(relabelled)
    return np.stack(out)
