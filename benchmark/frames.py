"""Build the FrameSet every metric is scored on: on-policy CoinRun frames with exact masks.

Why frames are picked the way they are:
* *On-policy*: metrics judge what a model attends to on the frames it actually meets, so a
  policy (by default the published agent) plays, and frames are taken from its episodes.
* *Many distinct levels*: frames from one level are near-duplicates, so every episode gives at
  most ``max_per_episode`` frames. At each step an env records its current frame with
  probability ``record_prob`` (until its episode's cap), so frames fall at random times inside
  episodes rather than only at their start.
* *Reproducible*: the env, the policy and the recording draws each get a seed derived from
  ``seed``; the frames kept are the first ``n`` in (step, env) order. Same arguments, same bytes.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import time
from typing import Any

import numpy as np
from tqdm import tqdm

import benchmark
from benchmark.env import DistributionMode, Split, level_range, make_env
from benchmark.errors import InterpbenchError
from benchmark.frameset import MASK_CLASSES, FrameSet
from benchmark.policies import Policy, policy_from_spec
from benchmark.reference import REPO_ROOT

#: The default evaluation set: 512 frames from held-out levels.
DEFAULT_N = 512


def derived_seeds(seed: int) -> tuple[int, np.random.Generator]:
    """Independent streams for the policy and the recording draws; a random policy seeded with
    ``seed`` itself would otherwise draw the same numbers as the recorder."""
    policy_seq, record_seq = np.random.SeedSequence(seed).spawn(2)
    return int(policy_seq.generate_state(1)[0]), np.random.default_rng(record_seq)


def code_version() -> str:
    """Package version plus git commit (and ``-dirty``) when run from a checkout."""
    try:
        commit = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{benchmark.__version__}+{commit}" if commit else benchmark.__version__


def build_frameset(
    n: int = DEFAULT_N,
    *,
    split: Split = "heldout",
    policy: str | Policy = "reference",
    seed: int = 0,
    distribution_mode: DistributionMode = "hard",
    paint_vel_info: bool = False,
    num_levels: int | None = None,
    num_envs: int = 64,
    record_prob: float = 1 / 16,
    max_per_episode: int = 2,
    progress: bool = True,
) -> FrameSet:
    """Play ``policy`` on the split's levels and keep ``n`` frames with states and object masks.

    ``policy`` is a spec for :func:`policy_from_spec` (seeded from ``seed``) or a ready policy,
    whose seeding is then the caller's business.
    """
    if n < 1:
        raise InterpbenchError(f"a FrameSet needs at least one frame, got n={n}")
    if not 0 < record_prob <= 1 or max_per_episode < 1:
        raise InterpbenchError("record_prob must be in (0, 1] and max_per_episode >= 1")
    from benchmark.masks import MaskRenderer

    levels = level_range(split, num_levels)
    policy_seed, rng = derived_seeds(seed)
    actor = policy_from_spec(policy, policy_seed) if isinstance(policy, str) else policy
    env = make_env(num_envs, levels, seed=seed, distribution_mode=distribution_mode, paint_vel_info=paint_vel_info)

    obs_kept: list[np.ndarray] = []
    states: list[bytes] = []
    seeds: list[int] = []
    taken = np.zeros(num_envs, dtype=np.int64)  # frames recorded in each env's current episode
    episodes: set[tuple[int, int]] = set()  # (env, episode index) pairs that gave a frame
    episode_index = np.zeros(num_envs, dtype=np.int64)
    steps = 0
    start = time.perf_counter()
    with tqdm(total=n, desc="frames", unit="frame", disable=not progress) as bar:
        _, obs, first = env.observe()
        while True:
            if steps:
                episode_index += first
            taken[first] = 0
            record = np.flatnonzero((rng.random(num_envs) < record_prob) & (taken < max_per_episode))
            if len(record):
                all_states = env.callmethod("get_state")
                info = env.get_info()
                for i in record[: n - len(states)]:
                    obs_kept.append(obs["rgb"][i].copy())
                    states.append(bytes(all_states[i]))
                    seeds.append(int(info[i]["level_seed"]))
                    episodes.add((int(i), int(episode_index[i])))
                taken[record] += 1
                bar.update(min(len(record), n - bar.n))
            if len(states) >= n:
                break
            env.act(actor.act(obs["rgb"]))
            _, obs, first = env.observe()
            steps += 1
    rollout_seconds = time.perf_counter() - start

    masks = MaskRenderer(classes=MASK_CLASSES, batch=64).masks(states)
    provenance: dict[str, Any] = {
        "env": "procgen:coinrun",
        "procgen_version": importlib.metadata.version("procgen2"),
        "distribution_mode": distribution_mode,
        "paint_vel_info": paint_vel_info,
        "split": split,
        "level_range": levels.as_dict(),
        "policy": actor.describe(),
        "seed": seed,
        "sampling": {
            "num_envs": num_envs,
            "record_prob": record_prob,
            "max_per_episode": max_per_episode,
            "env_steps": steps * num_envs,
        },
        "distinct_levels": len(set(seeds)),
        "episodes": len(episodes),
        "code_version": code_version(),
        "build_seconds": round(time.perf_counter() - start, 2),
        "rollout_seconds": round(rollout_seconds, 2),
    }
    return FrameSet(
        obs=np.stack(obs_kept),
        masks=masks,
        classes=MASK_CLASSES,
        level_seeds=np.asarray(seeds, dtype=np.int64),
        states=states,
        provenance=provenance,
    )
