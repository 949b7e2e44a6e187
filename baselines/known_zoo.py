"""The known-answer zoo: glass-box agents with k of 8 layer-2b groups planted as object masks.

Each agent is ``agents.glass_box.GlassBoxCNN``: its layer 2b is built (not learned) from the
game's own object masks (k groups) and fixed random features of the frame (8 - k groups); the
layers above are distilled from the published agent as the main zoo's students are
(``baselines.distill``: its loss, schedule and resume rule), so each agent plays as well as what it
is given allows. Which groups are planted: the first k of a permutation of the eight drawn per
seed, so the agents of one seed are nested (k + 1 adds one group to k's) and share their random
features; seeds differ in both.

One dataset serves every agent: teacher play on the training levels with, per kept frame, the
teacher's logits and value and the frame's pixel-exact class map (``game.masks`` from the state
at that step). Like the main zoo's, every stage is on disk (dataset shards, training state saved
every ``checkpoint_every`` steps, each completion measurement), so re-running a job or the zoo
continues where it stopped and a finished agent is a no-op.
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from interpbench.agents.glass_box import GROUPS, INPUT_MASKS, GlassBoxCNN
from interpbench.agents.init import init_orthogonal
from interpbench.agents.inputs import with_mask_planes
from interpbench.agents.models import ClearCNN, preprocess, save_checkpoint
from interpbench.baselines import runtime
from interpbench.baselines.distill import DistillConfig, continues, optimise
from interpbench.baselines.gather import GatherConfig, concat_shards
from interpbench.baselines.zoo import EVAL_SEED
from interpbench.data.frameset import MASK_CLASSES
from interpbench.data.zoo import known_answer_zoo
from interpbench.game.env import heldout_levels, make_env, training_levels
from interpbench.infra import atomic
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar
from interpbench.infra.provenance import REPO_ROOT, code_version

KNOWN_ZOO_DIR = known_answer_zoo()
RUNS_DIR = REPO_ROOT / "runs" / "known"
#: The planted degrees of the shipped zoo, in training order: the middle first (do the upper
#: layers use what is planted?), then the ends, then halving the gaps, so an interrupted zoo
#: already spans the range of k.
KS: tuple[int, ...] = (4, 0, 8, 2, 6, 1, 3, 5, 7)
SEEDS: tuple[int, ...] = (1, 2)
CONSTRUCTION = ("layer 2b = 8 groups x 4 channels; object group: the class mask (game state) space-to-depth "
                "64x64 -> 32x32x4; entangled group: 4 channels of a fixed He-normal 6x6 stride-2 ReLU convolution "
                "of the RGB frame (seeded); layers 3a and up distilled from the published agent")


@dataclass(frozen=True)
class KnownConfig:
    """The zoo's budget: the shared dataset and optimisation (a distillation config), the
    training level count, and the episodes of each completion measurement."""

    distill: DistillConfig
    num_levels: int
    eval_episodes: int


PRESETS: dict[str, KnownConfig] = {
    # Seconds on one core: for tests of the machinery only.
    "tiny": KnownConfig(DistillConfig(GatherConfig(steps=128, frames=64, shards=2, num_envs=8), train_samples=64,
                                      batch_size=16, checkpoint_every=2), num_levels=100, eval_episodes=2),
    # The shipped zoo (docs/known-answer.md: cost per agent and of the whole zoo).
    "known": KnownConfig(DistillConfig(GatherConfig(steps=262_144, frames=40_960), train_samples=128_000,
                                       batch_size=128, lr=1e-3, anneal_samples=32_000), num_levels=100_000,
                         eval_episodes=500),
}


@dataclass(frozen=True)
class Planted:
    """What one agent has planted: ``k`` object groups (the first k of the seed's permutation)."""

    k: int
    seed: int

    def __post_init__(self) -> None:
        if not 0 <= self.k <= len(GROUPS):
            raise InterpbenchError(f"k must be in [0, {len(GROUPS)}], got {self.k}")

    @property
    def object_groups(self) -> tuple[str, ...]:
        order = np.random.default_rng([self.seed, 41]).permutation(len(GROUPS))
        return tuple(GROUPS[i] for i in sorted(order[: self.k]))

    @property
    def name(self) -> str:
        return f"glass-box-k{self.k}"

    def describe(self) -> dict[str, Any]:
        planted = self.object_groups
        return {"k": self.k, "object_groups": list(planted), "entangled_groups": [g for g in GROUPS if g not in planted],
                "seed": self.seed, "construction": CONSTRUCTION}


# -- the shared dataset: teacher play with each kept frame's class map ------------------------


@dataclass
class KnownDataset:
    """Teacher-labelled frames and their class maps (index into ``MASK_CLASSES`` per pixel)."""

    obs: np.ndarray  # uint8 (N, 64, 64, 3)
    class_map: np.ndarray  # uint8 (N, 64, 64)
    logits: np.ndarray  # float32 (N, A)
    value: np.ndarray  # float32 (N,)
    summary: dict[str, Any]

    def __len__(self) -> int:
        return len(self.obs)

    def inputs(self, index: np.ndarray) -> np.ndarray:
        """What a glass-box network is given for frames ``index`` (``agents.inputs``)."""
        one_hot = self.class_map[index, None] == np.arange(len(MASK_CLASSES), dtype=np.uint8)[None, :, None, None]
        return with_mask_planes(self.obs[index], one_hot, MASK_CLASSES, INPUT_MASKS)


def _play_shard(teacher: ClearCNN, num_levels: int, config: GatherConfig, shard: int) -> dict[str, Any]:
    """One shard of teacher play (``baselines.gather``'s sampling: pre-drawn (step, env) slots,
    epsilon-random actions), keeping each kept frame's class map from the state at that step."""
    from interpbench.game.masks import masks_for_states

    started = time.perf_counter()
    rng = np.random.default_rng([config.seed, num_levels, shard, 7])
    gen = torch.Generator().manual_seed(int(rng.integers(2**31)))
    steps, n = config.steps_per_env(), config.num_envs
    keep = np.zeros(steps * n, dtype=bool)
    keep[rng.choice(steps * n, size=config.frames_in_shard(shard), replace=False)] = True
    env = make_env(n, training_levels(num_levels), seed=int(rng.integers(2**31)),
                   distribution_mode=config.distribution_mode, num_threads=1)  # type: ignore[arg-type]
    out: dict[str, list[np.ndarray]] = {"obs": [], "class_map": [], "logits": [], "value": [], "level_seed": []}
    finished = completed = 0
    _, obs, _ = env.observe()
    for rows in keep.reshape(steps, n):
        x = preprocess(obs["rgb"]).contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            logits, value = teacher(x)
        if rows.any():
            states, info = env.callmethod("get_state"), env.get_info()
            kept = np.flatnonzero(rows)
            out["obs"].append(obs["rgb"][kept])
            out["class_map"].append(masks_for_states([states[i] for i in kept]).argmax(1).astype(np.uint8))
            out["logits"].append(logits[kept].numpy())
            out["value"].append(value[kept].numpy())
            out["level_seed"].append(np.array([info[i]["level_seed"] for i in kept], dtype=np.int64))
        actions = torch.multinomial(torch.softmax(logits, 1), 1, generator=gen).squeeze(1).numpy()
        explore = rng.random(n) < config.epsilon
        actions[explore] = rng.integers(0, logits.shape[1], size=int(explore.sum()))
        env.act(actions.astype(np.int32))
        _, obs, first = env.observe()
        if first.any():
            info = env.get_info()
            finished += int(first.sum())
            completed += sum(int(info[i]["prev_level_complete"]) for i in np.flatnonzero(first))
    env.close()
    return {**{k: np.concatenate(v) for k, v in out.items()}, "episodes_finished": finished,
            "episodes_completed": completed, "seconds": time.perf_counter() - started}


def gather_known(teacher: ClearCNN, directory: Path, config: GatherConfig, num_levels: int, *,
                 progress: bool = True) -> dict[str, Any]:
    """Make (or finish: shards are kept) the shared dataset in ``directory``; returns its summary."""
    summary_path, config_path = directory / "dataset.json", directory / "gather_config.json"
    if config.teacher_bf16:
        raise InterpbenchError("the known-answer dataset labels frames with the teacher in float32 (teacher_bf16=False)")
    settings = {**asdict(config), "num_levels": num_levels}
    with runtime.file_lock(directory):
        if summary_path.exists():
            summary = json.loads(summary_path.read_text())
            runtime.require_same_settings(summary["config"], settings, summary_path)
            return summary
        if config_path.exists():
            runtime.require_same_settings(json.loads(config_path.read_text()), settings, config_path)
        else:
            atomic.write_json(config_path, settings)
        teacher = teacher.eval().to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        for shard in progress_bar(range(config.shards), desc="gather known", unit="shard", enabled=progress):
            path = directory / f"shard-{shard:03d}.npz"
            if not path.exists():
                with atomic.atomic_path(path, suffix=".npz") as tmp:
                    np.savez(tmp, **_play_shard(teacher, num_levels, config, shard))
        shards = [np.load(p) for p in sorted(directory.glob("shard-*.npz"))]
        seeds = np.concatenate([s["level_seed"] for s in shards])
        finished = sum(int(s["episodes_finished"]) for s in shards)
        summary = {"num_levels": num_levels, "frames": len(seeds), "distinct_levels": len(np.unique(seeds)),
                   "episodes_finished": finished,
                   "teacher_completion_in_data": sum(int(s["episodes_completed"]) for s in shards) / max(finished, 1),
                   "env_steps": config.steps_per_env() * config.num_envs * config.shards,
                   "wall_time_s": round(sum(float(s["seconds"]) for s in shards), 1), "config": settings}
        atomic.write_json(summary_path, summary)
    return summary


def load_known_dataset(directory: Path) -> KnownDataset:
    """All shards of a finished dataset, concatenated."""
    summary = json.loads((directory / "dataset.json").read_text())
    return KnownDataset(**concat_shards(directory, ("obs", "class_map", "logits", "value")), summary=summary)


# -- one agent: train the layers above 2b, resumably -------------------------------------------


def train_glass_box(data: KnownDataset, run_dir: Path, config: DistillConfig, planted: Planted, *,
                    device: torch.device, progress: bool = True) -> tuple[GlassBoxCNN, dict[str, Any]]:
    """Distil the layers above 2b of the glass-box network ``planted`` describes, in ``run_dir``
    (resuming its saved state); returns the network and a summary for the metadata."""
    state_path = run_dir / "student_state.pt"
    log = runtime.JsonlLog(run_dir / "train_log.jsonl")
    settings = {**config.resume_settings(), "planted": planted.describe()}
    torch.manual_seed(planted.seed)
    model = init_orthogonal(GlassBoxCNN(data.logits.shape[1], planted.object_groups, planted.seed)).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)  # the bottom is buffers: not trained
    step, seconds, total = 0, 0.0, config.total_steps()
    if (saved := runtime.load_state(state_path, settings)) is not None:
        if not continues(saved, config):
            raise InterpbenchError(f"{state_path} took steps this run would not; delete {run_dir} to train it afresh")
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step, seconds = saved["step"], saved["seconds"]

    def save(at: int, elapsed: float) -> None:
        runtime.save_state(state_path, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                        "step": at, "seconds": elapsed, "lr_schedule": config.lr_schedule()}, settings)

    seconds = optimise(model, optimizer, config, data.inputs, data, planted.seed, step=step, seconds=seconds,
                       device=device, log=log, save=save, desc=run_dir.name, progress=progress)
    summary = {"samples": total * config.batch_size, "optimizer_steps": total, "train_seconds": round(seconds, 1)}
    return model.eval().to(memory_format=torch.contiguous_format), summary  # type: ignore[call-overload]


def _completion(model: GlassBoxCNN, name: str, levels_split: str, num_levels: int, episodes: int, run_dir: Path,
                progress: bool) -> dict[str, Any]:
    """Completion on the training or held-out levels (masks from the live game state), cached."""
    from interpbench.agents.policies import ModelPolicy
    from interpbench.agents.rollout import evaluate_completion

    path = run_dir / f"eval-{levels_split}.json"
    if path.exists():
        return json.loads(path.read_text())
    levels = training_levels(num_levels) if levels_split == "train" else heldout_levels()
    result = evaluate_completion(ModelPolicy(model, seed=EVAL_SEED[levels_split], spec=name), levels, episodes,
                                 seed=EVAL_SEED[levels_split], progress=progress)
    atomic.write_json(path, result)
    return result


def agent_name(planted: Planted, num_levels: int) -> str:
    return f"{planted.name}-L{num_levels}-r{planted.seed}"


def command(planted: Planted, preset: str) -> str:
    return f"python scripts/known_answer_zoo.py --preset {preset} --k {planted.k} --seed {planted.seed}"


def run_agent(planted: Planted, preset: str = "known", *, zoo_dir: Path = KNOWN_ZOO_DIR, runs_dir: Path = RUNS_DIR,
              device: str = "cpu", progress: bool = True) -> dict[str, Any]:
    """Gather (once, shared), train, evaluate and ship one glass-box agent; a finished one (same
    preset and config in the zoo) is returned as it is."""
    from interpbench.agents.models import load_checkpoint
    from interpbench.agents.reference import require_reference_path

    config = PRESETS[preset]
    name = agent_name(planted, config.num_levels)
    target = zoo_dir / f"{name}.json"
    config_json = json.loads(json.dumps(asdict(config)))
    if target.exists() and (meta := json.loads(target.read_text())).get("config") == config_json:
        return meta
    run_dir = runs_dir / preset / name
    version, dev = code_version(), runtime.select_device(device)
    with runtime.file_lock(run_dir):
        data_dir = runs_dir / preset / "data"
        summary = gather_known(load_checkpoint(require_reference_path()).model, data_dir, config.distill.gather,
                               config.num_levels, progress=progress)
        model, info = train_glass_box(load_known_dataset(data_dir), run_dir, config.distill, planted, device=dev,
                                      progress=progress)
        model = model.cpu().half().float()  # measured exactly as shipped (float16)
        train_c, test_c = (_completion(model, name, split, config.num_levels, config.eval_episodes, run_dir, progress)
                           for split in ("train", "test"))
        meta = {"name": name, "method": planted.name, "num_levels": config.num_levels,
                "distribution_mode": config.distill.gather.distribution_mode, "run": planted.seed,
                "seed": planted.seed, "preset": preset, "planted": planted.describe(), **info,
                "distinct_levels_seen": summary["distinct_levels"],
                "dataset": {k: v for k, v in summary.items() if k != "config"}, "data_shared_by_runs": True,
                "train_completion": train_c, "test_completion": test_c, "wall_time_s": info["train_seconds"],
                "eval_wall_time_s": round(train_c["seconds"] + test_c["seconds"], 1), "hardware": runtime.hardware(dev),
                "config": config_json, "code_version": version, "command": command(planted, preset),
                "storage_dtype": "float16", "num_actions": model.num_actions}
        save_checkpoint(copy.deepcopy(model).half(), zoo_dir / name, meta)
    return meta


def zoo_order(ks: tuple[int, ...] = KS, seeds: tuple[int, ...] = SEEDS) -> list[Planted]:
    """The zoo's agents in training order: seed by seed, each seed's k in ``ks``' order."""
    return [Planted(k, seed) for seed in seeds for k in ks]
