"""The leaderboard's interval covers a known Spearman and its test holds its level, on synthetic
zoos with the real design (a small version of scripts/coverage_simulation.py, whose full run is
in reports/coverage.json)."""

from __future__ import annotations

import numpy as np

from interpbench.validation.calibration import NoiseModel, study


def test_interval_covers_the_truth_about_95_percent():
    (_, zoos), = study(NoiseModel(), (0.6,), n_zoos=120, n_replicates=400, seed=1)
    coverage = np.mean([z.covered for z in zoos])
    # 120 zoos: a binomial 95% band around 0.95 is about 0.91-0.99; a too-narrow interval (the
    # plain percentile over 7 clusters) or one that ignores clusters falls well below it.
    assert 0.90 <= coverage <= 0.99, coverage


def test_permutation_test_rejects_about_5_percent_of_null_zoos():
    (_, zoos), = study(NoiseModel(), (0.0,), n_zoos=300, n_replicates=50, seed=2)
    rate = np.mean([z.p_value <= 0.05 for z in zoos])
    assert 0.02 <= rate <= 0.08, rate


def test_true_spearman_is_the_population_value():
    noise = NoiseModel(frame_sd=0.0, fit_sd=0.0, between_share=1.0 - 1e-9)
    rng = np.random.default_rng(0)
    u = rng.normal(size=200_000)
    a, b, w = noise.coefficients(0.6)
    m = a * u + b * rng.normal(size=u.size) + w * rng.normal(size=u.size)
    from scipy import stats
    assert noise.true_spearman(0.6) == __import__("pytest").approx(stats.spearmanr(m, u).statistic, abs=0.01)
