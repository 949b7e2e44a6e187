"""Completion rate of a policy on a level range: the number behind "train vs test" generalization.

Vectorized rollouts are biased toward short episodes if one simply counts the first n episodes
to finish across all envs (fast failures finish first). Here every env contributes a fixed
quota of its *first* episodes, decided before any episode is played, so the sample does not
depend on episode lengths.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from interpbench.agents.inputs import live_observations
from interpbench.agents.policies import Policy
from interpbench.game.env import IDLE_ACTION, DistributionMode, LevelRange, make_env
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar


def wilson_interval(successes: int, trials: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion; unlike the normal approximation it
    stays inside [0, 1] and is informative at 200/200, where a good agent often sits."""
    if trials <= 0:
        return (0.0, 1.0)
    p = successes / trials
    denom = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denom
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def episode_quotas(n_episodes: int, num_envs: int) -> np.ndarray:
    """How many first episodes each env contributes: as even as possible, summing to n."""
    quotas = np.full(num_envs, n_episodes // num_envs, dtype=np.int64)
    quotas[: n_episodes % num_envs] += 1
    return quotas


def evaluate_completion(
    policy: Policy,
    levels: LevelRange,
    n_episodes: int,
    *,
    seed: int,
    distribution_mode: DistributionMode = "hard",
    num_envs: int = 64,
    progress: bool = True,
) -> dict[str, Any]:
    """Play ``n_episodes`` episodes on ``levels`` and report the fraction that reached the coin.

    An episode counts as completed when procgen reports ``prev_level_complete`` on the step that
    ends it (CoinRun also ends episodes on death and at its 1,000-step time limit). ``env_steps``
    counts the steps the policy chose, not those of envs idling after their quota.
    """
    if n_episodes < 1:
        raise InterpbenchError(f"need at least one episode, got {n_episodes}")
    num_envs = min(num_envs, n_episodes)
    quotas = episode_quotas(n_episodes, num_envs)
    env = make_env(num_envs, levels, seed=seed, distribution_mode=distribution_mode)
    counted = np.zeros(num_envs, dtype=np.int64)
    ep_len = np.zeros(num_envs, dtype=np.int64)
    completed: list[int] = []
    lengths: list[int] = []
    seeds: list[int] = []
    steps = 0
    start = time.perf_counter()
    _, obs, _ = env.observe()
    with progress_bar(total=n_episodes, desc="episodes", unit="ep", enabled=progress) as bar:
        while (playing := counted < quotas).any():
            # Envs that have played their quota idle: the policy acts only for the others,
            # which saves the forward passes of the tail (~40% of them for 500 episodes).
            actions = np.full(num_envs, IDLE_ACTION, dtype=np.int32)
            actions[playing] = policy.act(live_observations(env, obs["rgb"], policy.input_masks)[playing])
            env.act(actions)
            _, obs, first = env.observe()
            steps += int(playing.sum())
            ep_len += 1
            ended = np.flatnonzero(first)
            if len(ended):
                info = env.get_info()
                for i in ended:
                    if counted[i] < quotas[i]:
                        completed.append(int(info[i]["prev_level_complete"]))
                        seeds.append(int(info[i]["prev_level_seed"]))
                        lengths.append(int(ep_len[i]))
                        counted[i] += 1
                        bar.update(1)
                ep_len[ended] = 0
    seconds = time.perf_counter() - start
    successes = int(sum(completed))
    low, high = wilson_interval(successes, n_episodes)
    return {
        "completion_rate": successes / n_episodes,
        "ci95": [low, high],
        "ci_method": "wilson",
        "completed": successes,
        "episodes": n_episodes,
        "distinct_levels": len(set(seeds)),
        "mean_episode_length": float(np.mean(lengths)),
        "levels": levels.as_dict(),
        "distribution_mode": distribution_mode,
        "seed": seed,
        "num_envs": num_envs,
        "policy": policy.describe(),
        "env_steps": steps,
        "seconds": round(seconds, 2),
    }
