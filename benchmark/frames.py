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
from dataclasses import dataclass, field
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
    from benchmark.masks import masks_for_states

    levels = level_range(split, num_levels)
    policy_seed, rng = derived_seeds(seed)
    actor = policy_from_spec(policy, policy_seed) if isinstance(policy, str) else policy
    env = make_env(num_envs, levels, seed=seed, distribution_mode=distribution_mode, paint_vel_info=paint_vel_info)
    start = time.perf_counter()
    rec = record_frames(env, actor, rng, n, record_prob=record_prob, max_per_episode=max_per_episode, progress=progress)
    rollout_seconds = time.perf_counter() - start

    masks = masks_for_states(rec.states, MASK_CLASSES)  # one renderer per process: its set-up costs seconds
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
            "env_steps": rec.env_steps,
        },
        "distinct_levels": len(set(rec.level_seeds)),
        "episodes": rec.episodes,
        "code_version": code_version(),
        "build_seconds": round(time.perf_counter() - start, 2),
        "rollout_seconds": round(rollout_seconds, 2),
    }
    return FrameSet(
        obs=np.stack(rec.obs),
        masks=masks,
        classes=MASK_CLASSES,
        level_seeds=np.asarray(rec.level_seeds, dtype=np.int64),
        states=rec.states,
        provenance=provenance,
    )


@dataclass
class Recorded:
    """Frames picked during a rollout, in (step, env) order, and what it took to get them."""

    obs: list[np.ndarray] = field(default_factory=list)
    states: list[bytes] = field(default_factory=list)
    level_seeds: list[int] = field(default_factory=list)
    episodes: int = 0  # distinct episodes that gave at least one frame
    env_steps: int = 0


def record_frames(
    env: Any,
    policy: Policy,
    rng: np.random.Generator,
    n: int,
    *,
    record_prob: float,
    max_per_episode: int,
    progress: bool,
) -> Recorded:
    """Step ``env`` with ``policy`` until ``n`` frames are recorded (see the module docstring).

    The rng draws one number per env per step whatever happens, so the choice of frames depends
    only on the seeds, never on timing.
    """
    rec = Recorded()
    num_envs = env.num
    taken = np.zeros(num_envs, dtype=np.int64)  # frames recorded in each env's current episode
    episode_index = np.zeros(num_envs, dtype=np.int64)
    episodes: set[tuple[int, int]] = set()
    with tqdm(total=n, desc="frames", unit="frame", disable=not progress) as bar:
        _, obs, first = env.observe()
        while True:
            if rec.env_steps:
                episode_index += first
            taken[first] = 0
            record = np.flatnonzero((rng.random(num_envs) < record_prob) & (taken < max_per_episode))
            if len(record):
                all_states = env.callmethod("get_state")
                info = env.get_info()
                kept = record[: n - len(rec.states)]
                for i in kept:
                    rec.obs.append(obs["rgb"][i].copy())
                    rec.states.append(bytes(all_states[i]))
                    rec.level_seeds.append(int(info[i]["level_seed"]))
                    episodes.add((int(i), int(episode_index[i])))
                taken[record] += 1
                bar.update(len(kept))
            if len(rec.states) >= n:
                break
            env.act(policy.act(obs["rgb"]))
            _, obs, first = env.observe()
            rec.env_steps += num_envs
    rec.episodes = len(episodes)
    return rec
