"""Glass-box agents (``agents.glass_box``) and the known-answer zoo's machinery (``baselines.known_zoo``).

The must-shows: a tiny glass-box agent trains in seconds; at play time its object channels are
exactly the masks of the frame it is looking at (the state it acts on re-renders to that frame);
the FrameSet hook gives the same inputs; IG attribution reaches the object channels; the
checkpoint round-trips; the oracle is 0 and 1 at the ends of k.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from interpbench.agents import rollout
from interpbench.agents.glass_box import (
    GROUPS,
    INPUT_MASKS,
    SURFACE_DEPTH,
    TRAINED,
    GlassBoxCNN,
    group_masks,
    object_channel_mask,
    planted_groups,
)
from interpbench.agents.inputs import frame_observations, live_observations
from interpbench.agents.models import Checkpoint, load_checkpoint, preprocess
from interpbench.agents.policies import ModelPolicy
from interpbench.attribution.attribute import attribute_checkpoint, layer_attributions
from interpbench.attribution.fit_set import BasisFit, own_play_frames
from interpbench.baselines import known_zoo
from interpbench.data.frameset import MASK_CLASSES, FrameSet
from interpbench.game.env import training_levels
from interpbench.game.masks import masks_for_states, open_render_env, render_states
from interpbench.game.procgen_state import parse
from interpbench.infra.errors import InterpbenchError
from interpbench.scoring.table import MetricScores, ScoreTable, ScoringConfig
from interpbench.validation.oracle import agreement_with_k, known_answer_rows, planted_share


def _group_masks_numpy(masks: np.ndarray) -> np.ndarray:
    """(N, 8, 64, 64) bool: the groups' masks from one-hot ``masks`` over MASK_CLASSES, written
    independently of the torch code (wall surface: open space within SURFACE_DEPTH rows above)."""
    by_class = {c: masks[:, MASK_CLASSES.index(c)] for c in INPUT_MASKS}
    wall = by_class["wall"]
    surface = np.zeros_like(wall)
    for dy in range(1, SURFACE_DEPTH + 1):
        surface[:, dy:] |= wall[:, dy:] & ~wall[:, :-dy]
    planes = [by_class[c] for c in INPUT_MASKS[:-1]] + [surface, wall & ~surface]
    return np.stack(planes, axis=1)


def _space_to_depth(planes: np.ndarray) -> np.ndarray:
    n, g = planes.shape[:2]
    return planes.reshape(n, g, 32, 2, 32, 2).transpose(0, 1, 3, 5, 2, 4).reshape(n, g * 4, 32, 32)


def test_wall_split_into_surface_and_interior() -> None:
    planes = torch.zeros(1, len(INPUT_MASKS), 64, 64)
    planes[0, -1, 20:40, 10:30] = 1  # a wall block with open space above
    planes[0, -1, 0:8, 40:50] = 1  # a wall cut by the top of the frame: no open space seen above
    surface, interior = group_masks(planes)[0, -2:]
    assert surface[20:20 + SURFACE_DEPTH, 10:30].all() and not surface[20 + SURFACE_DEPTH:40].any()
    assert interior[20 + SURFACE_DEPTH:40, 10:30].all() and not interior[8:20].any()
    assert not surface[0:8, 40:50].any() and interior[0:8, 40:50].all()
    assert torch.equal(surface + interior, planes[0, -1])


def test_glass_box_refuses_the_frame_alone_and_trains_only_above_2b() -> None:
    model = GlassBoxCNN(15, ("coin", "lava"), seed=3)
    with pytest.raises(InterpbenchError, match="mask planes"):
        model(torch.zeros(1, 3, 64, 64))
    trained = {name.split(".")[0] for name, _ in model.named_parameters()}
    assert trained == set(TRAINED)
    assert planted_groups(model) == ("coin", "lava") and object_channel_mask(model).sum() == 8
    with pytest.raises(InterpbenchError, match="object groups"):
        GlassBoxCNN(15, ("coin", "velocity"))


def test_planted_groups_are_nested_in_k_and_differ_between_seeds() -> None:
    for seed in known_zoo.SEEDS:
        groups = [set(known_zoo.Planted(k, seed).object_groups) for k in range(len(GROUPS) + 1)]
        assert all(len(g) == k and g <= groups[k + 1 if k < len(GROUPS) else k] for k, g in enumerate(groups))
    assert known_zoo.Planted(3, 1).object_groups != known_zoo.Planted(3, 2).object_groups


@pytest.fixture(scope="module")
def tiny_agent(tmp_path_factory, reference_jd) -> tuple[dict, Path]:
    """A glass-box agent with 4 planted groups, gathered, trained and evaluated with the tiny preset."""
    root = tmp_path_factory.mktemp("known")
    planted = known_zoo.Planted(4, 1)
    meta = known_zoo.run_agent(planted, "tiny", zoo_dir=root / "zoo", runs_dir=root / "runs", progress=False)
    return meta, root


def test_tiny_agent_ships_what_was_planted_and_round_trips(tiny_agent) -> None:
    meta, root = tiny_agent
    ck = load_checkpoint(root / "zoo" / meta["name"])
    assert isinstance(ck.model, GlassBoxCNN) and ck.meta["architecture"] == "glass-box"
    assert planted_groups(ck.model) == tuple(meta["planted"]["object_groups"]) and meta["planted"]["k"] == 4
    assert meta["method"] == "glass-box-k4" and meta["run"] == 1
    assert meta["train_completion"]["episodes"] == meta["test_completion"]["episodes"] == 2
    saved = (root / "zoo" / f"{meta['name']}.json").read_text()
    again = known_zoo.run_agent(known_zoo.Planted(4, 1), "tiny", zoo_dir=root / "zoo", runs_dir=root / "runs",
                                progress=False)
    assert again == json.loads(saved) and (root / "zoo" / f"{meta['name']}.json").read_text() == saved
    # resuming a finished run takes no step and returns the same weights (before float16 storage)
    data = known_zoo.load_known_dataset(root / "runs" / "tiny" / "data")
    run_dir = root / "runs" / "tiny" / meta["name"]
    model, info = known_zoo.train_glass_box(data, run_dir, known_zoo.PRESETS["tiny"].distill, known_zoo.Planted(4, 1),
                                            device=torch.device("cpu"), progress=False)
    assert info["optimizer_steps"] == known_zoo.PRESETS["tiny"].distill.total_steps()
    torch.testing.assert_close(model.half().float().state_dict(), ck.model.state_dict())


def test_play_time_object_channels_are_the_masks_of_the_frame_seen(tiny_agent, monkeypatch) -> None:
    """The rollout's inputs come from the live state: that state re-renders to the frame the
    agent sees, and the network's object channels are that state's masks, space-to-depth; the
    FrameSet hook, given the same frames and masks, gives the same inputs."""
    meta, root = tiny_agent
    ck = load_checkpoint(root / "zoo" / meta["name"])
    seen: list[tuple[list[bytes], np.ndarray, np.ndarray]] = []

    def recording(env, rgb, wanted):
        obs = live_observations(env, rgb, wanted)
        if len(seen) < 6:
            seen.append((list(env.callmethod("get_state")), rgb.copy(), obs.copy()))
        return obs

    monkeypatch.setattr(rollout, "live_observations", recording)
    rollout.evaluate_completion(ModelPolicy(ck.model, seed=0), training_levels(3), 2, seed=4, num_envs=2,
                                progress=False)
    assert len(seen) == 6
    states = [s for step in seen for s in step[0]]
    rgb = np.concatenate([step[1] for step in seen])
    obs = np.concatenate([step[2] for step in seen])
    assert np.array_equal(render_states(open_render_env(len(states)), [parse(s) for s in states]), rgb)
    masks = masks_for_states(states)
    assert obs.shape == (len(states), 64, 64, 3 + len(INPUT_MASKS)) and np.array_equal(obs[..., :3], rgb)
    with torch.no_grad():
        hidden = ck.model.forward_to("2b", preprocess(obs)).numpy()
    planted = object_channel_mask(ck.model)
    expected = _space_to_depth(_group_masks_numpy(masks)).astype(np.float32)
    np.testing.assert_array_equal(hidden[:, planted], expected[:, planted])
    assert expected[:, planted].any() and not np.array_equal(hidden[:, ~planted], expected[:, ~planted])
    frames = FrameSet(obs=rgb, masks=masks, classes=MASK_CLASSES, level_seeds=np.zeros(len(rgb), np.int64),
                      states=states)
    assert np.array_equal(frame_observations(ck.model, frames), obs)


def test_integrated_gradients_reach_the_object_channels(tiny_agent) -> None:
    meta, root = tiny_agent
    ck = load_checkpoint(root / "zoo" / meta["name"])
    data = known_zoo.load_known_dataset(root / "runs" / "tiny" / "data")
    index = np.arange(16)
    obs = data.inputs(index)
    attr = layer_attributions(ck.model, obs, layer="2b", head="value")
    planted = object_channel_mask(ck.model)
    assert np.abs(attr[:, planted]).sum() > 0 and np.abs(attr[:, ~planted]).sum() > 0
    # the harness's pipeline runs unchanged on a FrameSet (its masks become the network's planes)
    one_hot = data.class_map[index, None] == np.arange(len(MASK_CLASSES))[None, :, None, None]
    frames = FrameSet(obs=data.obs[index], masks=one_hot, classes=MASK_CLASSES,
                      level_seeds=np.zeros(len(index), np.int64), states=[b""] * len(index))
    for fit in (BasisFit(), BasisFit("own-play", own_play_frames=8)):  # own play reads the live masks
        attr_set = attribute_checkpoint(ck, frames, n_features=4, cache=False, fit=fit)
        assert attr_set.hidden.shape == (16, 4, 32, 32) and attr_set.maps.shape == (16, 4, 64, 64)
    assert own_play_frames(ck, BasisFit("own-play", own_play_frames=8), cache=False).obs.shape == (8, 64, 64, 10)
    assert 0 < planted_share(ck, frames) < 1


def test_oracle_is_zero_and_one_at_the_ends_of_k() -> None:
    rng = np.random.default_rng(0)
    one_hot = np.zeros((4, len(MASK_CLASSES), 64, 64), bool)
    classes = rng.integers(0, len(MASK_CLASSES), size=(4, 64, 64))
    np.put_along_axis(one_hot, classes[:, None], True, axis=1)
    frames = FrameSet(obs=rng.integers(0, 256, (4, 64, 64, 3), dtype=np.uint8), masks=one_hot, classes=MASK_CLASSES,
                      level_seeds=np.zeros(4, np.int64), states=[b""] * 4)
    shares = []
    for k in (0, 8):
        torch.manual_seed(0)
        shares.append(planted_share(Checkpoint(GlassBoxCNN(15, known_zoo.Planted(k, 1).object_groups, 1).eval()), frames))
    assert shares == [0.0, 1.0]


def test_agreement_with_k_ranks_and_refuses_one_k() -> None:
    k = np.repeat(np.arange(9), 2)
    rising = k + np.random.default_rng(1).normal(0, 0.1, len(k))
    row = agreement_with_k(rising, k, n_replicates=200)
    assert row["spearman_k"] > 0.95 and row["ci_low"] <= row["spearman_k"] <= row["ci_high"] and row["p_value"] < 0.01
    assert agreement_with_k(-rising, k, n_replicates=200)["spearman_k"] < -0.95
    with pytest.raises(InterpbenchError):
        agreement_with_k(rising[:4], np.zeros(4, np.int64))


class _Stub:
    def __init__(self, name: str, higher_is_better: bool) -> None:
        self.name, self.higher_is_better = name, higher_is_better


def test_known_answer_rows_orient_each_metric_and_read_k_from_the_zoo(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    names, ks = [], []
    for k in range(len(GROUPS) + 1):
        for seed in known_zoo.SEEDS:
            name = f"glass-box-k{k}-L100-r{seed}"
            (tmp_path / f"{name}.safetensors").write_bytes(b"")
            (tmp_path / f"{name}.json").write_text(json.dumps({
                "method": f"glass-box-k{k}", "num_levels": 100, "run": seed,
                "test_completion": {"completion_rate": 0.5}, "planted": {"k": k}}))
            names.append(name)
            ks.append(k)

    def scores(values: np.ndarray) -> dict[str, MetricScores]:
        return {n: MetricScores(trained=np.full(3, v), boot=np.full((4, 3), v) + rng.normal(0, 0.1, (4, 3)),
                                refits=np.full((1, 3), v), randomized=np.zeros((1, 3)), cascade=np.zeros((0, 3)),
                                shuffled=np.zeros(3), area_bins=np.zeros(2)) for n, v in zip(names, values)}

    k = np.array(ks, dtype=np.float64)
    completion = pd.Series(np.linspace(0.4, 0.6, len(names)), index=names)  # rises with k, as in the shipped zoo
    table = ScoreTable(checkpoints=pd.DataFrame({"test_completion": completion[names[::-1]]}, index=pd.Index(names[::-1], name="name")),
                       scores={"rises": scores(k), "falls-lower-better": scores(-k), "seed-only": scores(np.tile(np.array(known_zoo.SEEDS, float), len(GROUPS) + 1))},
                       metric_objects={"rises": _Stub("rises", True), "falls-lower-better": _Stub("f", False),
                                       "seed-only": _Stub("seed-only", True)},
                       errors={}, bin_area=np.zeros(2), frames_hash="x", n_frames=8, config=ScoringConfig())
    rows = known_answer_rows(table, tmp_path, oracle={n: kk / 8 for n, kk in zip(names, ks)}, n_replicates=200)
    assert list(rows.index) == ["oracle:planted-share", "baseline: test completion", "rises", "falls-lower-better", "seed-only"]
    assert rows.loc["baseline: test completion", "spearman_k"] > 0.9
    assert rows.loc["oracle:planted-share", "spearman_k"] == pytest.approx(1.0)
    assert rows.loc["rises", "spearman_k"] == pytest.approx(1.0) and rows.loc["falls-lower-better", "spearman_k"] > 0.99
    assert rows.loc["seed-only", "spearman_k"] == pytest.approx(0.0, abs=1e-12) and (rows["n_k"] == 9).all() and (rows["n_checkpoints"] == 18).all()
    (tmp_path / "stray.json").write_text(json.dumps({"method": "distill", "num_levels": 1, "run": 1,
                                                     "test_completion": {"completion_rate": 0.5}}))
    (tmp_path / "stray.safetensors").write_bytes(b"")
    with pytest.raises(InterpbenchError, match="no planted k"):
        known_answer_rows(table, tmp_path)


def _frames_from_dataset(root: Path, n: int) -> FrameSet:
    data = known_zoo.load_known_dataset(root / "runs" / "tiny" / "data")
    one_hot = data.class_map[:n, None] == np.arange(len(MASK_CLASSES))[None, :, None, None]
    return FrameSet(obs=data.obs[:n], masks=one_hot, classes=MASK_CLASSES, level_seeds=np.zeros(n, np.int64),
                    states=[b""] * n)


def test_frames_without_the_classes_it_reads_are_refused(tiny_agent) -> None:
    meta, root = tiny_agent
    frames = _frames_from_dataset(root, 4)
    fewer = FrameSet(obs=frames.obs, masks=frames.masks[:, :-1], classes=MASK_CLASSES[:-1], level_seeds=frames.level_seeds,
                     states=frames.states)
    assert frame_observations(load_checkpoint(root / "zoo" / meta["name"]).model, fewer).shape[-1] == 10  # vel_info unread
    partial = FrameSet(obs=frames.obs, masks=frames.masks[:, :3], classes=MASK_CLASSES[:3], level_seeds=frames.level_seeds,
                       states=frames.states)
    with pytest.raises(InterpbenchError, match="lack"):
        frame_observations(load_checkpoint(root / "zoo" / meta["name"]).model, partial)


@pytest.mark.slow
def test_a_glass_box_zoo_is_scored_unchanged(tiny_agent, monkeypatch, tmp_path: Path) -> None:
    """score_zoo on a glass-box checkpoint: attributions, twins and cascade through the hook."""
    from interpbench.metrics import registry
    from interpbench.scoring.score import score_zoo

    monkeypatch.setenv("INTERPBENCH_CACHE", str(tmp_path / "cache"))
    registry.available()
    meta, root = tiny_agent
    config = ScoringConfig(n_bootstrap=0, n_twins=1, n_refits=0, nmf_fit="scoring-frames", area_bins=2, n_features=4,
                           cascade_depth=2)
    table = score_zoo(root / "zoo", _frames_from_dataset(root, 16), ["raw-overlap"], config=config, progress=False,
                      n_jobs=1)
    assert not table.errors
    scores = table.scores["raw-overlap"][meta["name"]]
    assert scores.trained.shape == (4,) and np.isfinite(scores.trained).all() and scores.cascade.shape == (2, 4)


def test_an_interrupted_agent_resumes_to_the_unbroken_weights(tiny_agent, tmp_path: Path) -> None:
    """Two steps, stop, two more (the state saved at step 2 is picked up) == four unbroken steps."""
    from dataclasses import replace

    _, root = tiny_agent
    data = known_zoo.load_known_dataset(root / "runs" / "tiny" / "data")
    full = known_zoo.PRESETS["tiny"].distill
    planted, cpu = known_zoo.Planted(2, 2), torch.device("cpu")
    half = replace(full, train_samples=full.train_samples // 2)
    known_zoo.train_glass_box(data, tmp_path / "broken", half, planted, device=cpu, progress=False)
    resumed, _ = known_zoo.train_glass_box(data, tmp_path / "broken", full, planted, device=cpu, progress=False)
    unbroken, _ = known_zoo.train_glass_box(data, tmp_path / "unbroken", full, planted, device=cpu, progress=False)
    torch.testing.assert_close(resumed.state_dict(), unbroken.state_dict(), rtol=0, atol=0)
    steps = [json.loads(line)["step"] for line in (tmp_path / "broken" / "train_log.jsonl").read_text().splitlines()]
    assert steps == [2, 4]
    with pytest.raises(InterpbenchError, match="other settings"):
        known_zoo.train_glass_box(data, tmp_path / "broken", full, known_zoo.Planted(3, 2), device=cpu, progress=False)
