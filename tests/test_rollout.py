"""Completion evaluation: a fixed quota of first episodes per env, a sane interval, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from interpbench.agents.models import ClearCNN, preprocess, save_checkpoint
from interpbench.agents.policies import ModelPolicy, RandomPolicy, policy_from_spec
from interpbench.agents.rollout import (
    episode_quotas,
    evaluate_completion,
    wilson_interval,
)
from interpbench.cli.main import main
from interpbench.game.env import level_range


@pytest.mark.parametrize("n, envs", [(200, 64), (10, 4), (3, 8), (64, 64)])
def test_quotas_are_even_and_sum_to_n(n: int, envs: int) -> None:
    quotas = episode_quotas(n, envs)
    assert quotas.sum() == n and quotas.max() - quotas.min() <= 1


def test_wilson_interval() -> None:
    low, high = wilson_interval(200, 200)
    assert high == 1.0 and 0.97 < low < 0.99  # 200/200 still leaves room below 1
    low, high = wilson_interval(48, 200)
    assert low < 0.24 < high and 0 < low and high < 1
    assert wilson_interval(0, 0) == (0.0, 1.0)


def test_random_policy_evaluation_is_reproducible() -> None:
    levels = level_range("train", 50)
    first = evaluate_completion(RandomPolicy(seed=2), levels, 8, seed=2, num_envs=4, progress=False)
    again = evaluate_completion(RandomPolicy(seed=2), levels, 8, seed=2, num_envs=4, progress=False)
    for key in ("completed", "distinct_levels", "mean_episode_length", "env_steps"):
        assert first[key] == again[key]
    assert first["episodes"] == 8 and first["num_envs"] == 4
    assert 1 <= first["distinct_levels"] <= 8
    low, high = first["ci95"]
    assert low <= first["completion_rate"] <= high


def test_policy_specs(tmp_path: Path) -> None:
    obs = np.zeros((5, 64, 64, 3), np.uint8)
    a, b = policy_from_spec("random", 3), policy_from_spec("random", 3)
    assert np.array_equal(a.act(obs), b.act(obs)) and a.act(obs).shape == (5,)
    with pytest.raises(Exception, match="neither"):
        policy_from_spec(str(tmp_path / "nope"), 0)


def test_model_policy_is_seeded_and_greedy_is_argmax(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = ClearCNN()
    obs = np.random.default_rng(0).integers(0, 256, size=(32, 64, 64, 3), dtype=np.uint8)
    a, b = ModelPolicy(model, seed=7), ModelPolicy(model, seed=7)
    assert np.array_equal(a.act(obs), b.act(obs))
    with torch.no_grad():
        argmax = model(preprocess(obs))[0].argmax(1).numpy()
    assert np.array_equal(ModelPolicy(model, seed=0, greedy=True).act(obs), argmax)
    path = save_checkpoint(model, tmp_path / "tiny", {"method": "test"})
    loaded = policy_from_spec(str(path), 7)
    assert np.array_equal(loaded.act(obs), ModelPolicy(model, seed=7).act(obs))
    assert len(loaded.describe()["checkpoint_sha256"]) == 64


def test_evaluate_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "eval.json"
    argv = ["evaluate", "random", "--split", "train", "--levels", "20", "--episodes", "6"]
    assert main([*argv, "--seed", "1", "--num-envs", "3", "--json", str(out), "--no-progress"]) == 0
    result = json.loads(out.read_text())
    assert result["episodes"] == 6 and result["split"] == "train"
    assert result["levels"] == {"start": 0, "count": 20}
    assert "completed" in capsys.readouterr().out
    assert main(["evaluate", "random", "--split", "train", "--episodes", "6"]) == 2
    assert main(["evaluate", "random", "--episodes", "0"]) == 2
