"""Teacher rollouts on the L training levels: the only data a distilled student ever sees.

The level count is the diversity knob, so a dataset must really hold frames from many distinct
levels. A level enters the data only through an episode played on it, and CoinRun episodes of the
teacher last ~50 steps; so we play many episodes and keep a few random frames of each (frames are
drawn uniformly over all (step, env) slots), rather than long stretches of few episodes. The true
number of distinct levels among the kept frames is recorded, because for large L it is bounded by
the number of episodes the budget allows, not by L.

Exploration: with probability ``epsilon`` an env takes a uniform random action instead of the
teacher's sampled one, so the data also holds states off the teacher's path (where a student that
errs will find itself) with the teacher's label for them.

The work is split into shards, each played in a freshly seeded env and saved atomically, so an
interrupted gather resumes at the first missing shard and gives the same data as an unbroken one.
"""

from __future__ import annotations

import json
import time
from dataclasses import MISSING, asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interpbench.agents.models import ClearCNN, preprocess
from interpbench.baselines import runtime
from interpbench.game.env import make_env, training_levels
from interpbench.infra import atomic
from interpbench.infra.progress import progress_bar


@dataclass(frozen=True)
class GatherConfig:
    """How one level count's dataset is played and sampled."""

    steps: int  # env steps in all (summed over envs): the teacher-forward budget
    frames: int  # frames kept: the student's dataset size, equal for every level count
    shards: int = 8
    epsilon: float = 0.25
    num_envs: int = 64
    seed: int = 0
    distribution_mode: str = "hard"
    # Act with the teacher under bfloat16 autocast (faster on CPUs with bf16 units); the
    # kept frames' labels are always recomputed in float32, so only the play differs slightly.
    teacher_bf16: bool = False

    def steps_per_env(self) -> int:
        return -(-self.steps // (self.shards * self.num_envs))

    def frames_in_shard(self, shard: int) -> int:
        return self.frames // self.shards + (shard < self.frames % self.shards)


@dataclass
class Dataset:
    """Frames with the teacher's outputs on them."""

    obs: np.ndarray  # uint8 (N, 64, 64, 3)
    logits: np.ndarray  # float32 (N, A)
    value: np.ndarray  # float32 (N,)
    level_seed: np.ndarray  # int64 (N,)
    summary: dict[str, Any]

    def __len__(self) -> int:
        return len(self.obs)


def _play_shard(
    teacher: ClearCNN, num_levels: int, config: GatherConfig, shard: int
) -> dict[str, np.ndarray | int]:
    """Play one shard in a fresh env; keep the frames at pre-drawn (step, env) slots."""
    started = time.perf_counter()
    rng = np.random.default_rng([config.seed, num_levels, shard])
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    steps, n = config.steps_per_env(), config.num_envs
    keep = np.zeros(steps * n, dtype=bool)
    keep[rng.choice(steps * n, size=config.frames_in_shard(shard), replace=False)] = True
    keep = keep.reshape(steps, n)
    env = make_env(
        n, training_levels(num_levels), seed=int(rng.integers(2**31)),
        distribution_mode=config.distribution_mode, num_threads=1,  # type: ignore[arg-type]
    )
    out: dict[str, list[np.ndarray]] = {"obs": [], "logits": [], "value": [], "level_seed": []}
    played: set[int] = set()
    finished = completed = 0
    _, obs, _ = env.observe()
    for t in range(steps):
        info = env.get_info()
        played.update(int(i["level_seed"]) for i in info)
        x = preprocess(obs["rgb"]).contiguous(memory_format=torch.channels_last)
        with torch.no_grad(), torch.autocast("cpu", torch.bfloat16, enabled=config.teacher_bf16):
            logits, value = teacher(x)
        rows = np.flatnonzero(keep[t])
        if len(rows):
            if config.teacher_bf16:
                with torch.no_grad():
                    labels, values = teacher(x[rows])
            else:
                labels, values = logits[rows], value[rows]
            out["obs"].append(obs["rgb"][rows])
            out["logits"].append(labels.numpy())
            out["value"].append(values.numpy())
            out["level_seed"].append(np.array([info[i]["level_seed"] for i in rows], dtype=np.int64))
        actions = torch.multinomial(torch.softmax(logits.float(), 1), 1, generator=gen).squeeze(1).numpy()
        explore = rng.random(n) < config.epsilon
        actions[explore] = rng.integers(0, logits.shape[1], size=int(explore.sum()))
        env.act(actions.astype(np.int32))
        _, obs, first = env.observe()
        if first.any():
            info = env.get_info()
            finished += int(first.sum())
            completed += sum(int(info[i]["prev_level_complete"]) for i in np.flatnonzero(first))
    arrays = {k: np.concatenate(v) for k, v in out.items()}
    return {**arrays, "levels_played": np.array(sorted(played)), "episodes_finished": finished,
            "episodes_completed": completed, "seconds": time.perf_counter() - started}


def gather(
    teacher: ClearCNN, num_levels: int, directory: Path, config: GatherConfig, *, progress: bool = True
) -> dict[str, Any]:
    """Make (or finish) the dataset for ``num_levels`` in ``directory``; returns its summary."""
    summary_path, config_path = directory / "dataset.json", directory / "gather_config.json"
    settings = asdict(config)
    with runtime.file_lock(directory):
        if summary_path.exists():
            summary = json.loads(summary_path.read_text())
            runtime.require_same_settings(_with_defaults(summary["config"]), settings, summary_path)
            return summary
        if config_path.exists():  # shards of an interrupted gather: only the same config may add to them
            runtime.require_same_settings(_with_defaults(json.loads(config_path.read_text())), settings, config_path)
        else:
            atomic.write_json(config_path, settings)
        teacher = teacher.eval().to(memory_format=torch.channels_last)
        for shard in progress_bar(range(config.shards), desc=f"gather L={num_levels}", unit="shard", enabled=progress):
            path = directory / f"shard-{shard:03d}.npz"
            if not path.exists():
                with atomic.atomic_path(path, suffix=".npz") as tmp:
                    np.savez(tmp, **_play_shard(teacher, num_levels, config, shard))
        summary = _summarize(directory, num_levels, config)
        atomic.write_json(summary_path, summary)
    return summary


def _with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A recorded config, with fields added to GatherConfig since at their defaults (which keep
    the old behaviour), so older datasets stay usable."""
    defaults = {f.name: f.default for f in fields(GatherConfig) if f.default is not MISSING}
    return {**defaults, **saved}


def _summarize(directory: Path, num_levels: int, config: GatherConfig) -> dict[str, Any]:
    seeds, played, finished, completed, seconds = [], [], 0, 0, 0.0
    for path in sorted(directory.glob("shard-*.npz")):
        with np.load(path) as shard:
            seeds.append(shard["level_seed"])
            played.append(shard["levels_played"])
            finished += int(shard["episodes_finished"])
            completed += int(shard["episodes_completed"])
            seconds += float(shard["seconds"])
    seeds_all = np.concatenate(seeds)
    return {
        "num_levels": num_levels,
        "frames": int(len(seeds_all)),
        "distinct_levels": int(len(np.unique(seeds_all))),
        "distinct_levels_played": int(len(np.unique(np.concatenate(played)))),
        "episodes_finished": finished,
        "teacher_completion_in_data": completed / max(finished, 1),
        "env_steps": config.steps_per_env() * config.num_envs * config.shards,
        "config": asdict(config),
        "wall_time_s": round(seconds, 1),
    }


def load_dataset(directory: Path) -> Dataset:
    """All shards of a finished dataset, concatenated."""
    summary = json.loads((directory / "dataset.json").read_text())
    return Dataset(**concat_shards(directory, ("obs", "logits", "value", "level_seed")), summary=summary)


def concat_shards(directory: Path, keys: tuple[str, ...]) -> dict[str, np.ndarray]:
    """``keys`` of every ``shard-*.npz`` in ``directory``, concatenated in shard order."""
    parts: dict[str, list[np.ndarray]] = {key: [] for key in keys}
    for path in sorted(directory.glob("shard-*.npz")):
        with np.load(path) as shard:
            for key in keys:
                parts[key].append(shard[key])
    return {key: np.concatenate(values) for key, values in parts.items()}
