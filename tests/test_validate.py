"""Validation: vectorized correlations against scipy, bootstrap pieces, and recovery of the true
ranking of a synthetic zoo built so that it is known (``tests/synthetic_zoo.py``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import synthetic_zoo as sz
from scipy import stats
from sklearn.metrics import roc_auc_score

import interpbench.scoring.score as scoring
from interpbench.data.zoo import read_zoo
from interpbench.infra.errors import InterpbenchError
from interpbench.scoring.plan import resample_indices, shuffled_masks
from interpbench.scoring.score import score_zoo
from interpbench.scoring.table import ScoringConfig
from interpbench.validation.labels import (
    human_only,
    load_aggregate,
    load_feature_judgments,
)
from interpbench.validation.validate import (
    area_correlation,
    feature_auroc,
    human_replicates,
    kendall_rows,
    percentile_interval,
    researcher_draws,
    spearman_rows,
    validate,
)

CONFIG = ScoringConfig(n_bootstrap=16, area_bins=4)


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    yield from sz.isolated_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """A scored synthetic zoo, its judgments, and the validation of the synthetic metrics."""
    sz.load_metrics()
    root = tmp_path_factory.mktemp("synthetic")
    zoo = sz.make_zoo(root / "zoo")
    frames = sz.make_frames(32)
    table = score_zoo(zoo, frames, list(sz.METRICS), config=CONFIG, attribute=sz.synthetic_attribute,
                      progress=False)
    labels = load_aggregate(sz.write_labels(root / "labels"))
    return {"root": root, "zoo": zoo, "frames": frames, "table": table, "labels": labels,
            "validation": validate(table, labels)}


def test_spearman_rows_matches_scipy_with_ties_and_constants():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, size=(50, 14)).astype(float)  # many ties
    y = rng.random((50, 14))
    x[0] = 3.0  # constant row
    got = spearman_rows(x, y)
    assert np.isnan(got[0])
    want = [stats.spearmanr(a, b).statistic for a, b in zip(x[1:], y[1:])]
    np.testing.assert_allclose(got[1:], want, atol=1e-12)
    np.testing.assert_allclose(kendall_rows(x[1:], y[1:]), [stats.kendalltau(a, b).statistic
                                                            for a, b in zip(x[1:], y[1:])], atol=1e-12)


def test_percentile_interval_ignores_nan_and_covers_the_middle():
    reps = np.concatenate([np.linspace(0, 1, 1001), [np.nan]])
    lo, hi = percentile_interval(reps)
    assert lo == pytest.approx(0.025) and hi == pytest.approx(0.975)
    assert all(np.isnan(percentile_interval(np.array([np.nan]))))


def test_researcher_resampling_moves_whole_researchers():
    by_researcher = np.array([[0.0, 1.0], [0.2, 0.6], [0.4, 0.8]])
    draws = researcher_draws(2, 500, seed=1)
    reps = human_replicates(by_researcher, draws)
    assert reps.shape == (500, 3)
    # Every replicate is the mean of the same researcher picks for every model.
    np.testing.assert_allclose(reps[0], by_researcher[:, draws[0]].mean(axis=1))
    assert {tuple(r) for r in np.round(reps, 6)} == {(0.0, 0.2, 0.4), (1.0, 0.6, 0.8), (0.5, 0.4, 0.6)}


def test_feature_auroc_matches_sklearn():
    rng = np.random.default_rng(2)
    scores = pd.DataFrame({"checkpoint": ["a"] * 8 + ["b"] * 8, "feature": list(range(8)) * 2,
                           "score": rng.random(16)})
    judgments = scores[["checkpoint", "feature"]].assign(interpretable=rng.integers(0, 11, 16) / 10)
    want = roc_auc_score(judgments["interpretable"] >= 0.5, scores["score"])
    assert feature_auroc(scores, judgments) == pytest.approx(want)
    assert np.isnan(feature_auroc(scores, judgments.assign(interpretable=1.0)))


def test_area_correlation_detects_area_tracking():
    area = np.array([0.1, 0.2, 0.3, 0.4])
    assert area_correlation(area, np.array([[1, 2, 3, 4], [2, 3, 4, 5.0]])) == pytest.approx(1.0)
    assert area_correlation(area, np.array([[4, 3, 2, 1.0]])) == pytest.approx(-1.0)


def test_resamples_are_shared_and_shuffled_masks_move():
    a = resample_indices(32, 5, seed=3)
    np.testing.assert_array_equal(a, resample_indices(32, 5, seed=3))
    frames = sz.make_frames(16)
    shuffled = shuffled_masks(frames, seed=0)
    moved = [not np.array_equal(shuffled.masks[i], frames.masks[i]) for i in range(16)]
    assert all(moved)
    assert sorted(map(bytes, np.packbits(shuffled.masks, axis=None).reshape(16, -1))) == sorted(
        map(bytes, np.packbits(frames.masks, axis=None).reshape(16, -1)))


def test_validation_recovers_the_known_ranking(synthetic):
    board = synthetic["validation"].leaderboard.set_index("name")
    # Overlap ranks checkpoints exactly by planted quality, as do the judgments: rho = tau = 1,
    # also in every bootstrap replicate. Lower-is-better orientation gives the same answer.
    for metric in ("synthetic-overlap", "synthetic-distance"):
        assert board.loc[metric, ["spearman", "kendall", "spearman_lo", "spearman_hi"]].tolist() == pytest.approx(
            [1.0, 1.0, 1.0, 1.0])
        assert board.loc[metric, "beats_randomized"] == 1.0
        assert board.loc[metric, "beats_shuffled_masks"] == 1.0
        assert board.loc[metric, "area_spearman"] > 0.9  # overlap with masks does track object area
    assert board.loc["synthetic-noise", "spearman"] < 0.9
    assert board.loc["synthetic-noise", "spearman_hi"] - board.loc["synthetic-noise", "spearman_lo"] > 0.3
    assert board.loc["synthetic-overlap", "rank"] in (1, 2) and board.loc["synthetic-noise", "rank"] == 3
    assert board.loc["human: researcher 1 vs 2", "kind"] == "ceiling"
    assert set(board.index) >= {"baseline: log level count", "baseline: test completion"}


def test_validation_point_figures_match_scipy(synthetic):
    table, v = synthetic["table"], synthetic["validation"]
    board = v.leaderboard.set_index("name")
    human = v.matched["human"].to_numpy()
    noise = np.array([table.scores["synthetic-noise"][n].trained.mean() for n in v.matched.index])
    assert board.loc["synthetic-noise", "spearman"] == pytest.approx(stats.spearmanr(noise, human).statistic)
    assert board.loc["synthetic-noise", "kendall"] == pytest.approx(stats.kendalltau(noise, human).statistic)
    levels = np.log(v.matched["num_levels"].to_numpy(float))
    assert board.loc["baseline: log level count", "spearman"] == pytest.approx(stats.spearmanr(levels, human).statistic)


def test_scores_come_from_the_cache_on_a_rerun(synthetic, monkeypatch):
    def fail(*args, **kwargs):
        raise AssertionError("a cached checkpoint was scored again")

    monkeypatch.setattr(scoring, "_score_checkpoint", fail)
    again = score_zoo(synthetic["zoo"], synthetic["frames"], list(sz.METRICS), config=CONFIG,
                      attribute=sz.synthetic_attribute, progress=False)
    for metric in sz.METRICS:
        np.testing.assert_array_equal(again.stacked(metric, "boot"), synthetic["table"].stacked(metric, "boot"))


def test_a_different_setting_is_not_a_cache_hit(synthetic, monkeypatch):
    calls = []
    real = scoring._score_checkpoint
    monkeypatch.setattr(scoring, "_score_checkpoint", lambda *a, **k: calls.append(1) or real(*a, **k))
    score_zoo(synthetic["zoo"], synthetic["frames"], ["synthetic-noise"], config=ScoringConfig(n_bootstrap=2, area_bins=4),
              attribute=sz.synthetic_attribute, progress=False)
    assert len(calls) == len(read_zoo(synthetic["zoo"]))


def test_several_methods_need_a_choice(synthetic):
    table = synthetic["table"]
    mixed = table.checkpoints.copy()
    mixed.loc[mixed.index[0], "method"] = "other"
    with pytest.raises(InterpbenchError, match="--method"):
        validate(replace(table, checkpoints=mixed), synthetic["labels"])
    v = validate(replace(table, checkpoints=mixed), synthetic["labels"], method="synthetic")
    assert len(v.matched) == len(mixed) - 1


def test_feature_auroc_uses_human_judgments_only(synthetic, tmp_path):
    """Per-feature judgments (a test fixture): features of the better half of the zoo judged
    interpretable. A model-made row saying the opposite must not count."""
    table = synthetic["table"]
    names = table.checkpoints.index
    good = {n for n in names if sz.quality(*table.checkpoints.loc[n, ["num_levels", "run"]]) > 0.4}
    rows = [f"{n},{f},rater,binary,{int(n in good)},,,,human" for n in names for f in range(CONFIG.n_features)]
    rows += [f"{n},{f},bot,binary,{int(n not in good)},,,,model:fixture" for n in names for f in range(2)]
    path = tmp_path / "judgments.csv"
    path.write_text("checkpoint,feature,labeller,scale,judgment,object,confidence,seconds,made_by\n" + "\n".join(rows))
    known = {n: CONFIG.n_features for n in names}
    judgments = human_only(load_feature_judgments([path], known))
    board = validate(table, synthetic["labels"], judgments=judgments).leaderboard.set_index("name")
    assert board.loc["synthetic-overlap", "auroc"] == pytest.approx(1.0)
    assert board.loc["synthetic-distance", "auroc"] == pytest.approx(1.0)  # oriented like the correlations
    assert np.isnan(board.loc["baseline: log level count", "auroc"])
