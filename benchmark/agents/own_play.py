"""A model's own play on a level range: the observations its NMF basis is fitted on.

The study ("Understanding RL Vision", Hilton et al. 2020; lucid's interface code) fitted each
model's features on observations of that model playing its own training levels, not on a
shared evaluation set. Here ``num_envs`` envs play with the model's sampled policy and each
keeps one frame every ``stride`` steps: consecutive frames of one env are nearly identical, so
striding spreads a fixed budget of frames over more states and episodes. Everything is seeded
(the env's level sampler and the policy's generator), so the same arguments give the same frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from interpbench.agents.inputs import live_observations
from interpbench.agents.policies import ModelPolicy
from interpbench.game.env import DistributionMode, LevelRange, make_env
from interpbench.infra.errors import InterpbenchError


@dataclass(frozen=True)
class OwnPlay:
    """uint8 observations (N, 64, 64, 3 + mask planes the model reads, ``agents.inputs``) and the
    level seed each was played on (N,)."""

    obs: np.ndarray
    level_seeds: np.ndarray


def play_frames(
    model: torch.nn.Module,
    levels: LevelRange,
    n_frames: int,
    *,
    seed: int,
    distribution_mode: DistributionMode = "hard",
    num_envs: int = 32,
    stride: int = 8,
) -> OwnPlay:
    """``n_frames`` observations of ``model`` playing ``levels``: ``num_envs`` envs (fewer when
    ``n_frames`` is smaller), each keeping one frame every ``stride`` steps, the first after
    ``stride`` steps (so the start of the first level is not over-represented)."""
    if n_frames < 1 or stride < 1 or num_envs < 1:
        raise InterpbenchError(f"own play needs positive frames, stride and envs, got {n_frames}, {stride}, {num_envs}")
    num_envs = min(num_envs, n_frames)
    rounds = -(-n_frames // num_envs)
    seeds = np.random.SeedSequence([seed, 17]).generate_state(2)
    env = make_env(num_envs, levels, seed=int(seeds[0] % 2**31), distribution_mode=distribution_mode, num_threads=1)
    policy = ModelPolicy(model, int(seeds[1] % 2**31))
    obs_out, seeds_out = [], []
    for _ in range(rounds):
        for _ in range(stride):
            _, obs, _ = env.observe()
            env.act(policy.act(live_observations(env, obs["rgb"], policy.input_masks)))
        _, obs, _ = env.observe()
        obs_out.append(live_observations(env, obs["rgb"], policy.input_masks).copy())
        seeds_out.append(np.array([int(i["level_seed"]) for i in env.get_info()], dtype=np.int64))
    env.close()
    return OwnPlay(np.concatenate(obs_out)[:n_frames], np.concatenate(seeds_out)[:n_frames])
