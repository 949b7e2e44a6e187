"""Does the leaderboard's interval cover, and does its test hold its level? Synthetic zoos with a
known Spearman, run through the very functions the leaderboard uses.

A synthetic zoo has the real design (G level counts x K runs). Level count g has a latent human
target ``u_g ~ N(0, 1)`` (the per-level-count mean the leaderboard correlates with). A metric's
model score of checkpoint i in cluster g is

    m_i = a u_g + b v_g + w e_i + s_f f_i + s_n n_i

with ``v_g`` a cluster-level part unrelated to the target, ``e_i`` the checkpoint's own part,
``f_i`` the noise of the frame set and ``n_i`` the noise of its NMF fit (all N(0, 1)). The
scorer sees the frame resamples ``m_i + s_f f'_ib`` and refits ``m_i - s_n n_i + s_n n'_ir``, as
the harness's replicates. Everything is normal, so the population Spearman of (m, u) is known in
closed form, ``(6 / pi) asin(r / 2)`` with r their Pearson correlation: that is the truth an
interval should cover. ``scripts/coverage_simulation.py`` runs the full study (and estimates the
noise from the committed report); ``tests/test_calibration.py`` a small one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interpbench.validation.design import Design, cluster_bootstrap_counts
from interpbench.validation.inference import (
    bootstrap_spearman,
    permutation_null,
    permutation_pvalue,
    replicate_scores,
    spearman_interval,
)
from interpbench.validation.ranks import spearman


@dataclass(frozen=True)
class NoiseModel:
    """Shares of a metric's variance. The defaults are the shipped zoo's, rounded, as the script
    measured them (its noise_model in reports/coverage.json), with the leaderboard's 50 frame
    resamples and 2 refits.

    between_share: of the checkpoint-level variance (without frame and fit noise), the share
                   between level counts.
    frame_sd, fit_sd: SD of frame-set and NMF-fit noise relative to the checkpoint-level SD.
    """

    between_share: float = 0.6
    frame_sd: float = 0.17
    fit_sd: float = 0.24
    n_levels: int = 7
    n_runs: int = 2
    n_frame_resamples: int = 50
    n_refits: int = 2

    def coefficients(self, association: float) -> tuple[float, float, float]:
        """(a, b, w) for a cluster-level correlation ``association`` between metric and target."""
        between = np.sqrt(self.between_share)
        return (association * between, np.sqrt(1 - association**2) * between, np.sqrt(1 - self.between_share))

    def true_spearman(self, association: float) -> float:
        a, b, w = self.coefficients(association)
        r = a / np.sqrt(a * a + b * b + w * w + self.frame_sd**2 + self.fit_sd**2)
        return float(6 / np.pi * np.arcsin(r / 2))


@dataclass(frozen=True)
class SyntheticZoo:
    design: Design
    cluster_target: np.ndarray  # (G,)
    score: np.ndarray  # (n,)
    boot: np.ndarray  # (n, B)
    refits: np.ndarray  # (n, R)


def synthetic_zoo(noise: NoiseModel, association: float, rng: np.random.Generator) -> SyntheticZoo:
    g, k = noise.n_levels, noise.n_runs
    design = Design.from_levels(np.repeat(np.arange(g), k))
    a, b, w = noise.coefficients(association)
    u, v = rng.normal(size=g), rng.normal(size=g)
    fit = rng.normal(size=g * k)
    score = a * u[design.cluster] + b * v[design.cluster] + w * rng.normal(size=g * k) \
        + noise.frame_sd * rng.normal(size=g * k) + noise.fit_sd * fit
    boot = score[:, None] + noise.frame_sd * rng.normal(size=(g * k, noise.n_frame_resamples))
    refits = (score - noise.fit_sd * fit)[:, None] + noise.fit_sd * rng.normal(size=(g * k, noise.n_refits))
    return SyntheticZoo(design, u, score, boot, refits)


@dataclass(frozen=True)
class ZooResult:
    truth: float
    estimate: float
    lo: float
    hi: float
    p_value: float

    @property
    def covered(self) -> bool:
        return self.lo <= self.truth <= self.hi


def analyse(zoo: SyntheticZoo, truth: float, n_replicates: int, seed: int, hierarchical: bool = True) -> ZooResult:
    """The leaderboard's interval and test on one synthetic zoo (``hierarchical=False``: level
    counts resampled alone)."""
    target = zoo.cluster_target[zoo.design.cluster]
    counts = cluster_bootstrap_counts(zoo.design, n_replicates, seed)
    replicates = (replicate_scores(zoo.score, zoo.boot, zoo.refits, n_replicates, seed) if hierarchical
                  else np.broadcast_to(zoo.score, counts.shape))
    point = spearman(zoo.score, target)
    lo, hi, _ = spearman_interval(point, bootstrap_spearman(replicates, target, counts), zoo.design.n_clusters)
    p = permutation_pvalue(permutation_null(zoo.score, zoo.cluster_target, zoo.design, seed), point)
    return ZooResult(truth, point, lo, hi, p)


def study(noise: NoiseModel, associations: tuple[float, ...], n_zoos: int, n_replicates: int,
          seed: int, hierarchical: bool = True) -> list[tuple[float, list[ZooResult]]]:
    """``n_zoos`` synthetic zoos per association; each zoo analysed with its own seed."""
    out = []
    for j, association in enumerate(associations):
        rng = np.random.default_rng(np.random.SeedSequence([seed, j]))
        truth = noise.true_spearman(association)
        out.append((association, [analyse(synthetic_zoo(noise, association, rng), truth, n_replicates,
                                          seed * 100_003 + j * 10_007 + z, hierarchical) for z in range(n_zoos)]))
    return out
