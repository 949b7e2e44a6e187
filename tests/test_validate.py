"""Validation: vectorized correlations against scipy, bootstrap pieces, and recovery of the true
ranking of a synthetic zoo built so that it is known (``tests/synthetic_zoo.py``)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import synthetic_zoo as sz
from scipy import stats

import interpbench.scoring.score as scoring
from interpbench.data.zoo import read_zoo
from interpbench.infra.errors import InterpbenchError
from interpbench.scoring.plan import resample_indices, shuffled_masks
from interpbench.scoring.score import score_zoo
from interpbench.scoring.table import ScoringConfig
from interpbench.validation.design import NotEstimable
from interpbench.validation.inference import percentile_interval
from interpbench.validation.labels import (
    load_aggregate,
)
from interpbench.validation.validate import area_correlation, validate

CONFIG = ScoringConfig(n_bootstrap=16, area_bins=4, cascade_depth=2)


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


def test_percentile_interval_ignores_nan_and_covers_the_middle():
    reps = np.concatenate([np.linspace(0, 1, 1001), [np.nan]])
    lo, hi = percentile_interval(reps)
    assert lo == pytest.approx(0.025) and hi == pytest.approx(0.975)
    assert all(np.isnan(percentile_interval(np.array([np.nan]))))


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


def _level_mean_target(v) -> np.ndarray:
    return v.matched["human_level_mean"].to_numpy()


def test_validation_recovers_the_known_ranking(synthetic):
    """Overlap ranks checkpoints exactly by planted quality. The target is the per-level-count
    mean (tied within a level count), so the best Spearman is that of quality with it; the
    permutation p is the smallest the 4 level counts allow (1/4!)."""
    v = synthetic["validation"]
    board = v.leaderboard.set_index("name")
    quality = [sz.quality(*v.matched.loc[n, ["num_levels", "run"]]) for n in v.matched.index]
    best = stats.spearmanr(quality, _level_mean_target(v)).statistic
    for metric in ("synthetic-overlap", "synthetic-distance"):  # lower-is-better is oriented alike
        assert board.loc[metric, "spearman"] == pytest.approx(best)
        assert board.loc[metric, "spearman_lo"] <= best <= board.loc[metric, "spearman_hi"]
        assert board.loc[metric, "p_value"] == pytest.approx(1 / 24)
        assert board.loc[metric, "beats_randomized"] == 1.0
        assert board.loc[metric, "n_twins"] >= 5
        assert board.loc[metric, "beats_shuffled_masks"] == 1.0
        assert board.loc[metric, "area_spearman"] > 0.9  # overlap with masks does track object area
        assert board.loc[metric, "paired_min"] <= board.loc[metric, "paired_mean"] <= board.loc[metric, "paired_max"]
    assert board.loc["synthetic-noise", "spearman"] < 0.9
    assert board.loc["synthetic-noise", "p_value"] > board.loc["synthetic-overlap", "p_value"]
    assert board.loc["synthetic-overlap", "rank"] in (1, 2) and board.loc["synthetic-noise", "rank"] == 3
    assert set(board["kind"]) == {"baseline", "metric"}
    assert set(v.ceilings["name"]) == {"rater vs rater", "noise ceiling", "L-ceiling", "log L"}
    assert set(board.index) >= {"baseline: log level count", "baseline: test completion"}
    assert np.isnan(board.loc["baseline: log level count", "vs_log_l_lo"])
    # Holm over the 3 metrics: the smallest p times 3 at least.
    assert board.loc["synthetic-overlap", "p_holm"] >= board.loc["synthetic-overlap", "p_value"]


def test_cascade_rows_name_each_step(synthetic):
    v, table = synthetic["validation"], synthetic["table"]
    assert list(v.cascade["step"].drop_duplicates()) == list(table.cascade_steps)
    overlap = v.cascade[v.cascade["metric"] == "synthetic-overlap"]
    assert (overlap["beats_cascade"] == 1.0).all()  # cascaded synthetic models get pure noise


def test_validation_point_figures_match_scipy(synthetic):
    table, v = synthetic["table"], synthetic["validation"]
    board = v.leaderboard.set_index("name")
    human = _level_mean_target(v)
    noise = np.array([table.scores["synthetic-noise"][n].trained.mean() for n in v.matched.index])
    assert board.loc["synthetic-noise", "spearman"] == pytest.approx(stats.spearmanr(noise, human).statistic)
    assert board.loc["synthetic-noise", "kendall"] == pytest.approx(stats.kendalltau(noise, human).statistic)
    levels = np.log(v.matched["num_levels"].to_numpy(float))
    assert board.loc["baseline: log level count", "spearman"] == pytest.approx(stats.spearmanr(levels, human).statistic)


def test_hierarchical_intervals_also_resample_frames_and_fits(synthetic):
    wide = synthetic["validation"].leaderboard.set_index("name")
    plain = validate(synthetic["table"], synthetic["labels"], hierarchical=False).leaderboard.set_index("name")
    assert (plain["spearman"] == wide["spearman"]).all()  # the points do not change
    noise = "synthetic-noise"
    assert (plain.loc[noise, "spearman_lo"], plain.loc[noise, "spearman_hi"]) != (
        wide.loc[noise, "spearman_lo"], wide.loc[noise, "spearman_hi"])


def test_one_level_count_is_not_estimable(synthetic):
    table = synthetic["table"]
    one = table.checkpoints.assign(num_levels=table.checkpoints["num_levels"].iloc[0])
    with pytest.raises(NotEstimable, match="one level count"):
        validate(replace(table, checkpoints=one), synthetic["labels"])


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
