"""Interventional ground truth: hiding (bit-identical when nothing is hidden), selectivity,
ablation, failure causes, the measured tables and the feature-level track, and their bad input."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import torch

from interpbench.agents.models import load_checkpoint
from interpbench.attribution.attribute import layer_attributions
from interpbench.attribution.features import fit_feature_basis
from interpbench.data.frameset import FrameSet
from interpbench.frames.build import build_frameset
from interpbench.infra.errors import CorruptFileError, InterpbenchError
from interpbench.infra.provenance import REPO_ROOT
from interpbench.interventions.ablation import FeatureAblated, play_outcomes, run_ablation
from interpbench.interventions.causes import OUTCOMES, CauseProbe
from interpbench.interventions.dependence import ObjectDependence, feature_mass, object_dependence
from interpbench.interventions.effects import ablation_effects
from interpbench.interventions.hiding import Hider, UnpatchableStateError
from interpbench.interventions.measure import Subject
from interpbench.interventions.selectivity import held_out_top_vs_other, profile_summary, selectivity_rows
from interpbench.interventions.table import load_table, write_table
from interpbench.interventions.track import feature_level_intervention_rows, selectivity_vs_levels

ZOO_CHECKPOINT = REPO_ROOT / "baselines" / "zoo" / "distill-L100-r1.safetensors"


@pytest.fixture(scope="module")
def frames() -> FrameSet:
    return build_frameset(8, policy="random", seed=3, num_envs=8, progress=False)


@pytest.fixture(scope="module")
def model():
    return load_checkpoint(ZOO_CHECKPOINT).model


@pytest.fixture(scope="module")
def basis(model, frames):
    return fit_feature_basis(layer_attributions(model, frames.obs), 4)


@pytest.fixture(scope="module")
def hider(frames) -> Hider:
    return Hider(frames)


# -- hiding and dependence -------------------------------------------------------------------------


def test_hiding_nothing_changes_nothing(frames, hider, model, basis):
    rendered = hider.renderer.render(hider.states)
    assert np.array_equal(rendered, frames.obs)
    assert np.array_equal(feature_mass(model, rendered, basis), feature_mass(model, frames.obs, basis))
    dep = object_dependence(model, frames, basis, ["vel_info"], hider=hider)  # never painted here
    assert not dep.changed.any() and np.array_equal(dep.drops, np.zeros_like(dep.drops))


def test_hiding_a_class_changes_only_frames_that_show_it(frames, hider, model, basis):
    dep = object_dependence(model, frames, basis, ["agent", "wall"], hider=hider)
    assert dep.changed.all()  # every frame shows the agent and some wall
    assert np.abs(dep.drops).max() > 0
    hidden = hider.hide("coin")
    shows_coin = frames.masks[:, frames.class_index("coin")].any(axis=(1, 2))
    assert not (shows_coin & ~hidden.changed).any()


def test_wall_surfaces_and_interiors_are_hidden_apart(frames, hider, model, basis):
    """Hiding the walls' top surfaces and their interiors each changes a part of what hiding the
    whole class changes; the two parts are reported beside ``wall``, never as classes of their own."""
    wall = frames.masks[:, frames.class_index("wall")]
    whole, top, mid = (hider.hide(name).obs for name in ("wall", "wall_top", "wall_mid"))
    moved = [(obs != frames.obs).any(-1) for obs in (whole, top, mid)]
    assert moved[1].any() and moved[2].any()
    assert not (moved[1] & moved[2] & wall).any()  # a wall pixel is a surface or an interior, never both
    assert (moved[1] | moved[2])[wall].mean() > 0.95 and moved[0][wall].mean() > 0.95
    dep = object_dependence(model, frames, basis, ["agent", "wall"], hider=hider)
    assert dep.classes == ("agent", "wall") and dep.parts == ("wall_top", "wall_mid")
    rows = selectivity_rows(dep, "c")
    assert {"drop_wall_top", "drop_wall_mid"} <= set(rows.columns) and rows["n_classes"].eq(2).all()
    assert np.abs(dep.part_drops).max() > 0


def test_unknown_class_is_refused_before_any_work(frames, hider, model, basis):
    with pytest.raises(InterpbenchError, match="dragon"):
        object_dependence(model, frames, basis, ["saw", "dragon"], hider=hider)
    with pytest.raises(InterpbenchError, match="dragon"):
        hider.hide("dragon")


def test_unpatchable_state_is_one_clear_error(frames):
    states = list(frames.states)
    states[2] = states[2][:-9]
    broken = dataclasses.replace(frames, states=states)
    with pytest.raises(UnpatchableStateError, match="frame 2"):
        Hider(broken)
    swapped = dataclasses.replace(frames, states=[*frames.states[1:], frames.states[0]])
    with pytest.raises(UnpatchableStateError, match="do not re-render"):
        Hider(swapped)


# -- selectivity ----------------------------------------------------------------------------------


def _dependence(drops: np.ndarray, seeds: np.ndarray) -> ObjectDependence:
    c, n, f = drops.shape
    return ObjectDependence(tuple(f"k{i}" for i in range(c)), np.ones((n, f)), drops, np.ones((c, n), bool), seeds)


def test_selectivity_is_chance_corrected():
    top, share, sel = profile_summary(np.array([[1.0, 0, 0, 0], [1, 1, 1, 1], [-1, 0, 0, 0]]), 4)
    assert list(top) == [0, 0, -1]
    assert sel[0] == pytest.approx(1.0) and sel[1] == pytest.approx(0.0) and np.isnan(sel[2])


def test_held_out_top_class_is_picked_and_tested_on_different_levels():
    seeds = np.arange(40)
    drops = np.zeros((3, 40, 2))
    drops[0, seeds % 2 == 0, 0] = 1.0  # feature 0: class 0 on the picking half only ...
    drops[1, seeds % 2 == 1, 0] = 1.0  # ... and class 1 on the testing half: the pick fails there
    drops[2, :, 1] = 1.0  # feature 1: class 2 everywhere
    result = held_out_top_vs_other(_dependence(drops, seeds)).set_index("feature")
    assert result.loc[0, "top_class"] == "k0" and not result.loc[0, "top_wins"]
    assert result.loc[1, "top_class"] == "k2" and result.loc[1, "top_wins"]
    rows = selectivity_rows(_dependence(drops, seeds), "x")
    assert list(rows["top_class"]) == ["k0", "k2"]  # tie broken by order; feature 1 fully selective
    assert rows.loc[1, "selectivity"] == pytest.approx(1.0)


# -- ablation and causes ----------------------------------------------------------------------------


def test_ablation_removes_exactly_the_feature_direction(model, basis):
    ablated = FeatureAblated(model, basis, 1)
    x = torch.rand(3, 3, 64, 64)
    acts = model.forward_to("2b", x)
    u = ablated.direction
    kept = acts - (acts * u).sum(1, keepdim=True) * u
    assert torch.allclose((kept * u).sum(1), torch.zeros(1), atol=1e-5)
    for got, want in zip(ablated(x), model.forward_from("2b", kept)):
        assert torch.equal(got, want)


def test_feature_index_out_of_range(model, basis):
    with pytest.raises(InterpbenchError, match="out of range"):
        FeatureAblated(model, basis, basis.n_features)


def test_every_episode_end_gets_a_cause():
    from interpbench.agents.policies import RandomPolicy

    counts = play_outcomes(RandomPolicy(0), 24, seed=5, probe=CauseProbe(), num_envs=8)
    assert sum(counts.values()) == 24 and set(counts) == set(OUTCOMES)
    assert counts["unexplained"] == 0 and counts["multiple"] == 0
    assert counts["saw"] + counts["enemy"] + counts["lava"] > 0  # random play dies


@pytest.mark.slow
def test_ablation_resumes_without_replaying(tmp_path, frames, monkeypatch):
    import interpbench.interventions.ablation as ablation

    subject = Subject("L100", ZOO_CHECKPOINT, 100.0)
    monkeypatch.setattr(ablation, "checkpoint_basis", lambda ck, fr, fit=None: fit_feature_basis(
        layer_attributions(ck.model, fr.obs), 4))
    kwargs = dict(n_episodes=4, chunk=2, features=[0], progress_file=tmp_path / "p.json")
    first, _ = run_ablation([subject], frames, **kwargs)
    monkeypatch.setattr(ablation, "play_outcomes", lambda *a, **k: pytest.fail("replayed a finished chunk"))
    again, _ = run_ablation([subject], frames, **kwargs)
    pd.testing.assert_frame_equal(first, again)
    partial, _ = run_ablation([subject], frames, **{**kwargs, "n_episodes": 8}, play=False)  # 2 of 4 chunks done
    pd.testing.assert_frame_equal(partial, first)
    assert list(first["feature"]) == [-1, 0] and (first[list(OUTCOMES)].sum(axis=1) == 4).all()
    with pytest.raises(InterpbenchError, match="out of range"):
        run_ablation([subject], frames, **{**kwargs, "features": [9]})
    with pytest.raises(InterpbenchError, match="other settings"):
        run_ablation([subject], frames, **{**kwargs, "chunk": 3})


def test_ablation_effects_against_the_unablated_run():
    base = {"checkpoint": "a", "episodes": 100, "completed": 90, "saw": 2, "enemy": 4, "lava": 4, "multiple": 0,
            "timeout": 0, "unexplained": 0}
    rows = pd.DataFrame([{**base, "feature": -1}, {**base, "feature": 0, "completed": 80, "saw": 12}])
    effect = ablation_effects(rows).iloc[0]
    assert effect["top_cause"] == "saw" and effect["top_cause_ratio"] == pytest.approx(6.0)
    assert effect["specificity"] == pytest.approx(1.0) and effect["completion_drop"] == pytest.approx(0.1)


# -- tables ---------------------------------------------------------------------------------------


def _table(n_checkpoints: int = 4, features: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = [{"checkpoint": f"c{i}", "num_levels": 10.0 ** (i % 4 + 2), "feature": f, "top_class": "saw" if f else "coin",
             "selectivity": rng.uniform(), "top_share": 0.5, "n_classes": 8, "frames": 16, "drop_saw": 0.1}
            for i in range(n_checkpoints) for f in range(features)]
    return pd.DataFrame(rows)


def test_table_round_trip_and_strict_loading(tmp_path):
    path = write_table(tmp_path / "od.csv", "object_dependence", _table(), {"command": "test"})
    loaded = load_table(path, "object_dependence")
    assert loaded.provenance["source"] == "measured" and loaded.provenance["command"] == "test"
    pd.testing.assert_frame_equal(loaded.rows, pd.read_csv(path))
    with pytest.raises(CorruptFileError, match="kind"):
        load_table(path, "ablation")
    path.write_text(path.read_text().replace("saw", "lava", 1))
    with pytest.raises(CorruptFileError, match="contents differ"):
        load_table(path, "object_dependence")
    meta = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**meta, "source": "human"}))
    with pytest.raises(CorruptFileError, match="not 'measured'"):
        load_table(path, "object_dependence")
    path.with_suffix(".json").unlink()
    with pytest.raises(CorruptFileError, match="missing"):
        load_table(path, "object_dependence")


def test_bad_rows_write_nothing(tmp_path):
    with pytest.raises(CorruptFileError, match="selectivity"):
        write_table(tmp_path / "od", "object_dependence", _table().drop(columns="selectivity"), {})
    assert list(tmp_path.iterdir()) == []


# -- the feature-level track ----------------------------------------------------------------------


def test_track_rows_follow_the_scores():
    table = _table(6, 4)
    scores = pd.concat([
        table.assign(metric="good", score=table["selectivity"], implied_class=table["top_class"]),
        table.assign(metric="bad", score=-table["selectivity"], implied_class="wall"),
    ])[["metric", "checkpoint", "feature", "score", "implied_class"]]
    rows = feature_level_intervention_rows(scores, table).set_index("metric")
    assert rows.loc["good", "spearman_selectivity"] == pytest.approx(1.0)
    assert rows.loc["bad", "spearman_selectivity"] == pytest.approx(-1.0)
    assert rows.loc["good", "ci_low_selectivity"] <= 1.0 <= rows.loc["good", "ci_high_selectivity"] + 1e-12
    assert rows.loc["good", "auroc_selective"] == pytest.approx(1.0)
    assert rows.loc["good", "implied_agreement"] == 1.0 and rows.loc["bad", "implied_agreement"] == 0.0
    assert np.isnan(rows.loc["good", "spearman_ablation"])


def test_track_refuses_a_feature_the_table_lacks():
    table = _table()
    scores = pd.DataFrame({"metric": "m", "checkpoint": "c0", "feature": [0, 7], "score": [1.0, 2.0]})
    with pytest.raises(InterpbenchError, match="feature index 7 out of range"):
        feature_level_intervention_rows(scores, table)


def test_selectivity_against_level_count_is_clustered_by_level_count():
    table = _table(8, 2)
    table["selectivity"] = np.log10(table["num_levels"]) / 10
    result = selectivity_vs_levels(table)
    assert result["spearman"] == pytest.approx(1.0) and result["level_counts"] == 4


def test_a_table_applies_only_to_the_features_it_was_measured_on():
    """A measured table scored against other frames, another NMF fit, another attribution method or
    layer, or other weights is refused with the reason, never silently compared."""
    from interpbench.attribution.fit_set import BasisFit
    from interpbench.interventions.table import MeasuredTable
    from interpbench.validation.interventional import applicability

    fit = BasisFit(source="own-play")
    meta = {"frames": {"sha256": "f"}, "basis": {"fit": dataclasses.asdict(fit)},
            "attribution": {"method": "integrated-gradients", "layer": "2b"}, "checkpoint_sha256": {"a": "1", "b": "2"}}
    table = MeasuredTable("object_dependence", _table(), meta)
    same = {"frames_sha256": "f", "fit": fit, "method": "integrated-gradients", "layer": "2b",
            "weights": {"a": "1", "b": "2"}}
    assert applicability(table, **same) == ""
    for change, why in [({"frames_sha256": "g"}, "other scoring frames"),
                        ({"fit": BasisFit(source="scoring-frames")}, "fitted otherwise"),
                        ({"method": "saliency"}, "'saliency'"), ({"layer": "3a"}, "'3a'"),
                        ({"weights": {"a": "1", "b": "3"}}, "other weights (first: b)"),
                        ({"weights": {"a": "1", "c": "2"}}, "missing from it")]:
        reason = applicability(table, **{**same, **change})
        assert why in reason and "interpbench intervene hide" in reason
