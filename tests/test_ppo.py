"""PPO: the advantage estimator, reward scaling, and a tiny run that is interrupted and resumed."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interpbench.baselines import ppo, runtime


def test_gae_matches_the_textbook_recursion_and_stops_at_episode_ends():
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [0.2], [0.1]])
    dones = torch.tensor([[0.0], [0.0], [1.0]])  # obs 2 began a new episode: no bootstrap across 1->2
    next_value, next_done = torch.tensor([0.3]), torch.tensor([0.0])
    g, lam = 0.9, 0.8
    d2 = 2.0 + g * 0.3 - 0.1
    d1 = 0.0 - 0.2  # episode ended after step 1
    d0 = 1.0 + g * 0.2 - 0.5
    expected = [d0 + g * lam * d1, d1, d2]
    got = ppo.gae(rewards, values, dones, next_value, next_done, g, lam)
    np.testing.assert_allclose(got.squeeze(1).numpy(), expected, rtol=1e-6)


def test_reward_normalizer_brings_returns_to_unit_scale():
    norm = ppo.RewardNormalizer(num_envs=4, gamma=0.99)
    rng = np.random.default_rng(0)
    scaled = [norm(rng.choice([0.0, 10.0], size=4, p=[0.9, 0.1]), rng.random(4) < 0.02) for _ in range(3000)]
    assert 0.05 < np.abs(np.concatenate(scaled)).max() <= 10.0
    assert np.sqrt(norm.var) > 1.0  # it learned the scale of the 10-point reward


def test_interrupted_run_continues_from_its_last_checkpoint(tmp_path, monkeypatch):
    config = ppo.PRESETS["tiny"]  # evaluates held-out completion once, after the last update
    assert config.num_updates == 2
    real_save = runtime.save_state

    def save_then_die(path, state, settings):
        real_save(path, state, settings)
        raise KeyboardInterrupt

    monkeypatch.setattr(runtime, "save_state", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        ppo.train_ppo(5, tmp_path, config, seed=1, device=torch.device("cpu"), progress=False)
    assert torch.load(tmp_path / "ppo_state.pt", weights_only=False)["update"] == 1

    monkeypatch.setattr(runtime, "save_state", real_save)
    agent, info = ppo.train_ppo(5, tmp_path, config, seed=1, device=torch.device("cpu"), progress=False)
    log = [json.loads(line) for line in (tmp_path / "train_log.jsonl").read_text().splitlines()]
    assert [r["update"] for r in log] == [1, 2]  # update 1 was not redone
    assert info["env_steps"] == config.total_steps and 1 <= info["distinct_levels_seen"] <= 5
    assert 0.0 <= log[-1]["test_completion"] <= 1.0
    logits, value = agent(torch.rand(2, 3, 64, 64))
    assert logits.shape == (2, 15) and torch.isfinite(value).all()
