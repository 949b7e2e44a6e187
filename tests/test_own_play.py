"""The study's NMF protocol: bases fitted on the model's own play on its training levels, held
fixed and applied to the scoring frames; refits on resamples of the fit frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from attribution_helpers import env_frameset

import interpbench.attribution.attribute as attribution
from interpbench.agents.models import ClearCNN, load_checkpoint, save_checkpoint
from interpbench.agents.own_play import play_frames
from interpbench.attribution.attribute import attribute_bases, layer_attributions
from interpbench.attribution.features import FeatureBasis, fit_feature_basis
from interpbench.attribution.fit_set import BasisFit, fit_levels, own_play_frames
from interpbench.game.env import LevelRange
from interpbench.infra.errors import InterpbenchError

LEVELS = 5
FIT = BasisFit(source="own-play", own_play_frames=24, own_play_stride=2)


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("INTERPBENCH_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def checkpoint(tmp_path: Path):
    torch.manual_seed(0)
    meta = {"method": "distill", "num_levels": LEVELS, "run": 1, "config": {"gather": {"distribution_mode": "hard"}}}
    return load_checkpoint(save_checkpoint(ClearCNN(), tmp_path / "distill-L5-r1", meta))


def test_own_play_is_on_the_training_levels_and_seeded(checkpoint) -> None:
    assert fit_levels(checkpoint) == (LevelRange(0, LEVELS), "hard")
    a = play_frames(checkpoint.model, LevelRange(0, LEVELS), 24, seed=0, num_envs=8, stride=2)
    assert a.obs.shape == (24, 64, 64, 3) and a.obs.dtype == np.uint8
    assert ((a.level_seeds >= 0) & (a.level_seeds < LEVELS)).all()
    b = play_frames(checkpoint.model, LevelRange(0, LEVELS), 24, seed=0, num_envs=8, stride=2)
    np.testing.assert_array_equal(a.obs, b.obs)
    np.testing.assert_array_equal(a.level_seeds, b.level_seeds)
    c = play_frames(checkpoint.model, LevelRange(0, LEVELS), 24, seed=1, num_envs=8, stride=2)
    assert not np.array_equal(a.obs, c.obs)
    wide = play_frames(checkpoint.model, LevelRange(500, 10**5), 24, seed=0, num_envs=8, stride=2)
    assert (wide.level_seeds >= 500).all() and len(np.unique(wide.level_seeds)) > LEVELS


def test_fit_levels_need_the_checkpoints_training_record(checkpoint) -> None:
    checkpoint.meta.pop("config")
    with pytest.raises(InterpbenchError, match="distribution mode"):
        fit_levels(checkpoint)
    checkpoint.meta.pop("num_levels")
    with pytest.raises(InterpbenchError, match="num_levels"):
        fit_levels(checkpoint)


def test_the_own_play_basis_is_fitted_on_own_play_and_applied_to_the_scoring_frames(cache_dir, checkpoint) -> None:
    frames = env_frameset(8)
    (attr,) = attribute_bases(checkpoint, frames, [FIT], n_features=3)
    played = own_play_frames(checkpoint, FIT)
    assert ((played.level_seeds >= 0) & (played.level_seeds < LEVELS)).all()
    expected = fit_feature_basis(layer_attributions(checkpoint.model, played.obs), 3, max_rows=FIT.max_rows,
                                 seed=FIT.row_seed())
    np.testing.assert_array_equal(attr.components, expected.components)
    raw = layer_attributions(checkpoint.model, frames.obs)
    np.testing.assert_array_equal(attr.hidden, FeatureBasis(expected.components).transform(raw))
    scoring_fit = fit_feature_basis(raw, 3, max_rows=FIT.max_rows, seed=FIT.row_seed())
    assert not np.allclose(attr.components, scoring_fit.components), "the basis was fitted on the scoring frames"
    assert attr.method["features"]["fit"]["source"] == "own-play"
    assert attr.method["features"]["fit"]["levels"] == {"start": 0, "count": LEVELS}


def test_refits_differ_from_the_main_fit_and_are_deterministic(cache_dir, checkpoint, monkeypatch) -> None:
    frames = env_frameset(8)
    fits = [BasisFit(**{**FIT.__dict__, "refit": r}) for r in range(3)]
    calls: list[int] = []
    real = attribution.layer_attributions

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(attribution, "layer_attributions", counting)
    sets = attribute_bases(checkpoint, frames, fits, n_features=3, cache=False)
    assert len(calls) == 2, "integrated gradients once for the scoring frames, once for the own play"
    for other in sets[1:]:
        assert not np.allclose(other.components, sets[0].components)
    assert not np.allclose(sets[1].components, sets[2].components)
    again = attribute_bases(checkpoint, frames, fits, n_features=3, cache=False)
    for a, b in zip(sets, again):
        assert a.content_hash() == b.content_hash()
    cached = attribute_bases(checkpoint, frames, fits, n_features=3)  # write, then read back the same
    assert [a.content_hash() for a in cached] == [a.content_hash() for a in sets]
    calls.clear()
    reread = attribute_bases(checkpoint, frames, fits, n_features=3)
    assert calls == [] and [a.content_hash() for a in reread] == [a.content_hash() for a in sets]
