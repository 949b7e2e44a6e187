"""One zoo checkpoint from start to finish: train (resumably), measure completion, ship.

A job is (method, level count, run, preset, architecture). Its working files live under
``runs/<preset>/<name>/`` (``runs/<preset>/<architecture>/<name>/`` for a student that is not the
clear CNN; a distillation dataset, which does not depend on the student, under
``runs/<data preset>/data/``, see ``distill.data_preset``), the shipped checkpoint at
``<zoo>/<name>.safetensors`` + ``.json`` (``name`` = ``<method>-L<levels>-r<run>``; each
architecture has its zoo, ``ZOO_DIRS``, whose reader keys checkpoints by method, level count and run). Every stage keeps its result on disk (dataset shards,
training state, each completion measurement), so running a job again after an interruption
redoes only what was not finished, and running a finished job is a no-op.
"""

from __future__ import annotations

import copy
import importlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from interpbench.agents import impala
from interpbench.agents.models import ARCHITECTURE as CLEAR_CNN
from interpbench.agents.models import save_checkpoint
from interpbench.baselines import runtime
from interpbench.data.zoo import default_zoo
from interpbench.game.env import heldout_levels, training_levels
from interpbench.infra import atomic
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.provenance import REPO_ROOT, code_version
from interpbench.infra.resources import package_path

METHODS = ("ppo", "distill")
#: The budget a method trains with unless told otherwise (presets live in each method's module).
DEFAULT_PRESET = {"ppo": "reference", "distill": "large"}
ZOO_DIR = default_zoo()
#: The shipped zoo of each architecture a job can train (``--architecture``), the first the default.
ZOO_DIRS: dict[str, Path] = {CLEAR_CNN: ZOO_DIR, impala.ARCHITECTURE: package_path("interpbench.baselines", "zoo-impala")}
RUNS_DIR = REPO_ROOT / "runs"
#: Completion is measured on this many episodes per split (each on its own level where the
#: split has that many); the tiny preset exists only to test the machinery.
EVAL_EPISODES: dict[str, int] = {"tiny": 1, "medium": 1000, "large": 1000}
DEFAULT_EVAL_EPISODES = 500
#: Fixed evaluation seeds: every checkpoint meets the same sequence of levels in each split.
EVAL_SEED = {"train": 0, "test": 0}


@dataclass(frozen=True)
class Job:
    """What to train; ``seed`` is the run number, so a job is reproducible from its name (and its
    zoo, which says the architecture)."""

    method: str
    num_levels: int
    run: int
    preset: str
    architecture: str = CLEAR_CNN

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise InterpbenchError(f"unknown method {self.method!r}; expected one of {METHODS}")
        if self.architecture not in ZOO_DIRS:
            raise InterpbenchError(f"unknown architecture {self.architecture!r}; expected one of {list(ZOO_DIRS)}")
        if self.method == "ppo" and self.architecture != CLEAR_CNN:
            raise InterpbenchError(f"ppo trains the {CLEAR_CNN} only; distil a {self.architecture} (--method distill)")
        training_levels(self.num_levels)  # validates the count

    @property
    def name(self) -> str:
        return f"{self.method}-L{self.num_levels}-r{self.run}"

    @property
    def seed(self) -> int:
        return self.run

    def run_dir(self, runs_dir: Path, preset: str | None = None) -> Path:
        """The job's working folder under ``preset`` (default its own); clear-CNN runs keep the
        folders they had before the architecture became a choice."""
        folder = runs_dir / (preset or self.preset)
        return folder / self.name if self.architecture == CLEAR_CNN else folder / self.architecture / self.name

    def command(self) -> str:
        architecture = "" if self.architecture == CLEAR_CNN else f" --architecture {self.architecture}"
        return (f"interpbench train --method {self.method} --levels {self.num_levels} "
                f"--run {self.run} --preset {self.preset}{architecture}")


def config_for(job: Job) -> Any:
    """The preset's config object for the job's method."""
    presets = importlib.import_module(f"interpbench.baselines.{job.method}").PRESETS
    if job.preset not in presets:
        raise InterpbenchError(f"unknown {job.method} preset {job.preset!r}; expected one of {sorted(presets)}")
    return presets[job.preset]


def _train(job: Job, run_dir: Path, runs_dir: Path, device: torch.device, progress: bool) -> tuple[nn.Module, dict]:
    """Dispatch to the method; returns the model and method-specific metadata."""
    from interpbench.agents.models import load_checkpoint
    from interpbench.agents.reference import require_reference_path

    config = config_for(job)
    if job.method == "ppo":
        from interpbench.baselines.ppo import train_ppo

        return train_ppo(job.num_levels, run_dir, config, seed=job.seed, device=device, progress=progress)
    from interpbench.baselines.distill import base_preset, data_preset, train_student
    from interpbench.baselines.gather import gather, load_dataset

    # Presets that gather alike share one dataset; those that differ only in budget also continue
    # the base preset's students.
    base = base_preset(job.preset)
    data_dir = runs_dir / data_preset(job.preset) / "data" / f"L{job.num_levels}"
    warm_start = job.run_dir(runs_dir, base) / "student_state.pt" if base != job.preset else None
    teacher = load_checkpoint(require_reference_path()).model
    summary = gather(teacher, job.num_levels, data_dir, config.gather, progress=progress)
    model, info = train_student(load_dataset(data_dir), run_dir, config, seed=job.seed, device=device,
                                progress=progress, warm_start=warm_start, architecture=job.architecture)
    if "warm_started_from" in info:  # say which preset's run it continued, not a path on this machine
        info["warm_started_from"] = {"preset": base, "step": info["warm_started_from"]["step"]}
    return model, {
        **info,
        "distinct_levels_seen": summary["distinct_levels"],
        "dataset": {k: v for k, v in summary.items() if k != "config"},
        "data_shared_by_runs": True,
    }


def _completion(model: nn.Module, job: Job, split: str, run_dir: Path, progress: bool) -> dict[str, Any]:
    """Completion on the job's training levels or on held-out levels, cached in the run dir."""
    from interpbench.agents.policies import ModelPolicy
    from interpbench.agents.rollout import evaluate_completion

    path = run_dir / f"eval-{split}.json"
    if path.exists():
        return json.loads(path.read_text())
    levels = training_levels(job.num_levels) if split == "train" else heldout_levels()
    result = evaluate_completion(
        ModelPolicy(model, seed=EVAL_SEED[split], spec=job.name), levels,
        EVAL_EPISODES.get(job.preset, DEFAULT_EVAL_EPISODES), seed=EVAL_SEED[split], progress=progress,
    )
    atomic.write_json(path, result)
    return result


def finished_meta(job: Job, zoo_dir: Path | None = None) -> dict[str, Any] | None:
    """The shipped metadata when ``job`` is already in the zoo (default: its architecture's) with
    the same preset, config and architecture."""
    target = (zoo_dir or ZOO_DIRS[job.architecture]) / f"{job.name}.json"
    if not target.exists():
        return None
    meta = json.loads(target.read_text())
    same = (meta.get("preset") == job.preset and meta.get("config") == _jsonable(config_for(job))
            and meta.get("architecture", CLEAR_CNN) == job.architecture)
    return meta if same else None


def run_job(
    job: Job,
    *,
    zoo_dir: Path | None = None,
    runs_dir: Path = RUNS_DIR,
    device: str = "auto",
    progress: bool = True,
) -> dict[str, Any]:
    """Train, evaluate and ship one checkpoint (resuming whatever was done) into ``zoo_dir``
    (default: the job's architecture's zoo); returns its metadata."""
    run_dir, zoo_dir = job.run_dir(runs_dir), zoo_dir or ZOO_DIRS[job.architecture]
    with runtime.file_lock(run_dir):
        if (meta := finished_meta(job, zoo_dir)) is not None:
            return meta
        return _run_unlocked(job, run_dir, zoo_dir, runs_dir, device, progress)


def _run_unlocked(job: Job, run_dir: Path, zoo_dir: Path, runs_dir: Path, device: str, progress: bool) -> dict[str, Any]:
    config = config_for(job)
    version = code_version()  # the code this process runs, not whatever is checked out when it ends
    dev = runtime.select_device(device)
    model, info = _train(job, run_dir, runs_dir, dev, progress)
    # Shipped weights are float16 (half the size); measure the model exactly as it is shipped.
    model = model.cpu().half().float()
    train_c = _completion(model, job, "train", run_dir, progress)
    test_c = _completion(model, job, "test", run_dir, progress)
    meta = {
        "name": job.name,
        "method": job.method,
        "architecture": job.architecture,
        "num_levels": job.num_levels,
        "run": job.run,
        "seed": job.seed,
        "preset": job.preset,
        **info,
        "train_completion": train_c,
        "test_completion": test_c,
        "wall_time_s": info["train_seconds"],
        "eval_wall_time_s": round(train_c["seconds"] + test_c["seconds"], 1),
        "hardware": runtime.hardware(dev),
        "config": _jsonable(config),
        "code_version": version,
        "command": job.command(),
        "storage_dtype": "float16",
        "num_actions": model.num_actions,
    }
    save_checkpoint(copy.deepcopy(model).half(), zoo_dir / job.name, meta)
    return meta


def _jsonable(config: Any) -> dict[str, Any]:
    """The config as it reads back from JSON, so a shipped checkpoint's config compares equal."""
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(config)))
