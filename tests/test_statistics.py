"""The validation statistics: weighted ranks against scipy, the design's resampling and
permutations, Holm, the intervals, and the ceilings recomputed from the stored judgments."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from interpbench.validation.ceilings import noise_ceiling, spearman_brown, target_ceilings
from interpbench.validation.design import (
    Design,
    NotEstimable,
    cluster_bootstrap_counts,
    cluster_permutations,
    run_relabelings,
)
from interpbench.validation.inference import (
    critical_spearman,
    fisher_interval,
    holm,
    permutation_null,
    permutation_pvalue,
    replicate_scores,
)
from interpbench.validation.labels import load_aggregate
from interpbench.validation.ranks import partial_spearman, spearman_rows

LEVELS = np.repeat([100, 300, 1000, 3000, 10000, 30000, 100000], 2)


def test_spearman_rows_match_scipy_with_ties_and_constants():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(40, 14)).astype(float)
    y = rng.normal(size=(40, 14))
    x[0] = 1.0  # constant row
    expected = [stats.spearmanr(a, b).statistic if np.ptp(a) else np.nan for a, b in zip(x, y)]
    np.testing.assert_allclose(spearman_rows(x, y), expected, atol=1e-12, equal_nan=True)


def test_counts_equal_the_expanded_sample():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=14), rng.normal(size=14)
    counts = rng.integers(0, 3, size=14).astype(float)
    counts[:3] = 1
    expanded = stats.spearmanr(np.repeat(x, counts.astype(int)), np.repeat(y, counts.astype(int))).statistic
    assert spearman_rows(x, y, counts)[0] == pytest.approx(expanded, abs=1e-12)


def test_cluster_bootstrap_keeps_clusters_whole():
    design = Design.from_levels(LEVELS)
    counts = cluster_bootstrap_counts(design, 500, seed=3)
    assert counts.shape == (500, 14)
    np.testing.assert_array_equal(counts[:, 0::2], counts[:, 1::2])  # both runs of a level count move together
    assert (counts.sum(axis=1) == 14).all()  # 7 clusters of 2 drawn per replicate


def test_permutations_are_exact_and_start_with_the_identity():
    perms = cluster_permutations(7, seed=0)
    assert perms.shape == (math.factorial(7), 7)
    np.testing.assert_array_equal(perms[0], np.arange(7))
    assert len({tuple(p) for p in perms}) == len(perms)


def test_permutation_p_of_a_perfect_score_is_the_smallest_possible():
    design = Design.from_levels(LEVELS)
    target = np.arange(7.0)
    null = permutation_null(np.log(LEVELS.astype(float)), target, design, seed=0)
    assert permutation_pvalue(null, null[0]) == pytest.approx(1 / 5040)
    tie_free = permutation_null(np.arange(14.0), target, design, seed=0)
    critical = critical_spearman(tie_free)
    below = np.unique(tie_free)[np.unique(tie_free) < critical - 1e-12].max()
    assert np.mean(tie_free >= critical - 1e-12) <= 0.05 < np.mean(tie_free >= below - 1e-12)


def test_holm_against_the_definition():
    p = np.array([0.01, 0.04, np.nan, 0.03, 0.20])
    adjusted = holm(p)
    # sorted 0.01, 0.03, 0.04, 0.20 times 4, 3, 2, 1, made monotone
    np.testing.assert_allclose(adjusted, [0.04, 0.09, np.nan, 0.09, 0.20], equal_nan=True)


def test_run_relabelings_swap_runs_within_level_counts_only():
    design = Design.from_levels(LEVELS)
    runs = np.tile([1, 2], 7)
    pairings = run_relabelings(runs, design)
    assert pairings.shape == (128, 14)
    np.testing.assert_array_equal(pairings[0], runs)
    assert (np.sort(pairings.reshape(128, 7, 2), axis=2) == [1, 2]).all()


def test_replicates_use_frame_resamples_and_fit_shifts():
    trained = np.zeros(3)
    boot = np.array([[1.0, 2.0]] * 3)
    refits = np.full((3, 1), 10.0)
    reps = replicate_scores(trained, boot, refits, 4, seed=0)
    assert set(np.unique(reps)) <= {1.0, 2.0, 11.0, 12.0}
    np.testing.assert_array_equal(replicate_scores(trained, boot, refits[:, :0], 4, 0)[:, 0], [1, 2, 1, 2])


def test_fisher_interval_is_undefined_not_invented():
    assert all(math.isnan(v) for v in fisher_interval(float("nan"), np.ones(10), 7))
    lo, hi = fisher_interval(0.5, np.random.default_rng(0).normal(0.5, 0.1, 500), 7)
    assert lo < 0.5 < hi


def test_partial_spearman_refuses_a_determined_target():
    z = np.arange(10.0)
    assert math.isnan(partial_spearman(np.random.default_rng(0).normal(size=10), z * 2, z))


def test_design_refuses_one_level_count_and_too_few_checkpoints():
    with pytest.raises(NotEstimable, match="one level count"):
        Design.from_levels(np.array([100, 100, 100])).require_estimable()
    with pytest.raises(NotEstimable, match="at least 3"):
        Design.from_levels(np.array([100, 1000])).require_estimable()


def test_ceilings_from_the_stored_judgments():
    """Issue 14's figures, recomputed from human_labels/distill2020/ (each +- 0.005)."""
    by = load_aggregate().by_researcher()
    rows = {c.name: c for c in target_ceilings(by, 500, seed=0)}
    r1, r2 = by.iloc[:, 0].to_numpy(), by.iloc[:, 1].to_numpy()
    assert rows["rater vs rater"].spearman == pytest.approx(stats.spearmanr(r1, r2).statistic, abs=1e-12)
    assert rows["rater vs rater"].spearman == pytest.approx(0.787, abs=0.005)
    assert rows["noise ceiling"].spearman == pytest.approx(0.94, abs=0.005)
    assert rows["noise ceiling"].spearman == pytest.approx(math.sqrt(spearman_brown(0.7872)), abs=1e-3)
    assert rows["L-ceiling"].spearman == pytest.approx(0.918, abs=0.005)
    assert rows["log L"].spearman == pytest.approx(0.909, abs=0.005)
    for c in rows.values():
        assert c.lo <= c.spearman <= c.hi
    assert math.isnan(noise_ceiling(-0.2))
