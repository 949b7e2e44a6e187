"""Build the FrameSet every metric is scored on: on-policy CoinRun frames with exact masks.

Why frames are picked the way they are:
* *On-policy*: metrics judge what a model attends to on the frames it actually meets, so a
  policy (by default the published agent) plays, and frames are taken from its episodes.
* *Many distinct levels, whole episodes*: frames from one level are near-duplicates, so every
  episode gives ``per_episode`` frames, drawn uniformly over all its time steps (a reservoir
  sample, since the length is unknown until it ends). Frames therefore reach the end of levels,
  where the coin is; taking the first few frames of each episode would almost never show it.
* *Reproducible*: the env, the policy and the recording draws each get a seed derived from
  ``seed``; the frames kept are those of the first episodes to end, in (step, env) order. Same
  arguments, same bytes. (Stopping at ``n`` leaves out the episodes still running, which are
  longer than average; with ~4 episodes per env for the default set the effect is small.)
"""

from __future__ import annotations

import importlib.metadata
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interpbench.agents.policies import Policy, policy_from_spec
from interpbench.data.frameset import MASK_CLASSES, FrameSet
from interpbench.game.env import DistributionMode, Split, level_range, make_env
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar
from interpbench.infra.provenance import code_version

#: The default evaluation set: 512 frames from held-out levels.
DEFAULT_N = 512
#: Bump whenever a change alters which frames a given set of arguments records: cached frame sets
#: are keyed by it, so a stale set is never served after the sampling changes.
FRAMES_VERSION = 2


def derived_seeds(seed: int) -> tuple[int, np.random.Generator]:
    """Independent streams for the policy and the recording draws; a random policy seeded with
    ``seed`` itself would otherwise draw the same numbers as the recorder."""
    policy_seq, record_seq = np.random.SeedSequence(seed).spawn(2)
    return int(policy_seq.generate_state(1)[0]), np.random.default_rng(record_seq)


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
    per_episode: int = 2,
    progress: bool = True,
) -> FrameSet:
    """Play ``policy`` on the split's levels and keep ``n`` frames with states and object masks.

    ``policy`` is a spec for :func:`policy_from_spec` (seeded from ``seed``) or a ready policy,
    whose seeding is then the caller's business.
    """
    if n < 1:
        raise InterpbenchError(f"a FrameSet needs at least one frame, got n={n}")
    if per_episode < 1:
        raise InterpbenchError(f"per_episode must be at least 1, got {per_episode}")
    from interpbench.game.masks import masks_for_states

    levels = level_range(split, num_levels)
    policy_seed, rng = derived_seeds(seed)
    actor = policy_from_spec(policy, policy_seed) if isinstance(policy, str) else policy
    env = make_env(num_envs, levels, seed=seed, distribution_mode=distribution_mode, paint_vel_info=paint_vel_info)
    start = time.perf_counter()
    rec = record_frames(env, actor, rng, n, per_episode=per_episode, progress=progress)
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
            "per_episode": per_episode,
            "env_steps": rec.env_steps,
        },
        "distinct_levels": len(set(rec.level_seeds)),
        "episodes": rec.episodes,
        "code_version": code_version(),
        "frames_version": FRAMES_VERSION,
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
    """Frames picked during a rollout, in the order their episodes ended, and what it took."""

    obs: list[np.ndarray] = field(default_factory=list)
    states: list[bytes] = field(default_factory=list)
    level_seeds: list[int] = field(default_factory=list)
    episodes: int = 0  # episodes that gave frames
    env_steps: int = 0


def record_frames(
    env: Any, policy: Policy, rng: np.random.Generator, n: int, *, per_episode: int, progress: bool
) -> Recorded:
    """Step ``env`` with ``policy`` until ``n`` frames are kept (see the module docstring).

    Each env keeps a reservoir sample (Algorithm R) of ``per_episode`` time steps of its current
    episode and hands it over when the episode ends: a uniform draw over the whole episode, though
    its length is unknown while it runs. The rng draws one number per env per step whatever
    happens, so the choice of frames depends only on the seeds.
    """
    rec = Recorded()
    num = env.num
    seen = np.zeros(num, dtype=np.int64)  # steps of the current episode so far
    slots: list[dict[int, tuple[int, np.ndarray, bytes]]] = [{} for _ in range(num)]  # slot -> (t, obs, state)
    with progress_bar(total=n, desc="frames", unit="frame", enabled=progress) as bar:
        _, obs, first = env.observe()
        while True:
            ended = np.flatnonzero(first) if rec.env_steps else np.array([], dtype=np.int64)
            if len(ended):
                info = env.get_info()
                for i in ended:
                    kept = sorted(slots[i].values(), key=lambda entry: entry[0])[: n - len(rec.states)]
                    rec.obs += [o for _, o, _ in kept]
                    rec.states += [st for _, _, st in kept]
                    rec.level_seeds += [int(info[i]["prev_level_seed"])] * len(kept)
                    rec.episodes += 1
                    bar.update(len(kept))
                    slots[i] = {}
                seen[ended] = 0
                if len(rec.states) >= n:
                    break
            draw = np.floor(rng.random(num) * (seen + 1)).astype(np.int64)
            slot = np.where(seen < per_episode, seen, draw)
            take = np.flatnonzero(slot < per_episode)
            if len(take):
                all_states = env.callmethod("get_state")
                for i in take:
                    slots[i][int(slot[i])] = (int(seen[i]), obs["rgb"][i].copy(), bytes(all_states[i]))
            env.act(policy.act(obs["rgb"]))
            _, obs, first = env.observe()
            seen += 1
            rec.env_steps += num
    return rec
