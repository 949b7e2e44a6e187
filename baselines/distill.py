"""Distillation: a student trained from scratch to match the published agent.

The student is the clear CNN (the study's network, the shipped zoo) or any other registered
architecture (``--architecture impala-cnn``, ``baselines/zoo-impala``): the loss only needs its
``(logits, value)``, and the data (the teacher's outputs on its frames) does not depend on it.

This is the CPU-feasible way to make a level-count sweep: PPO needs tens of millions of steps per
model, while a student needs only the teacher's outputs on frames from its L levels (see
``interpbench.baselines.gather``). Policy is matched by KL(teacher || student), value by MSE on the teacher's
value. Every student processes the same number of samples whatever L is, so level count is the
only thing that differs between them.

Minibatch order is a pure function of (seed, epoch), and the state (weights, optimizer, step) is
saved every ``checkpoint_every`` steps, so an interrupted student resumes where it stopped and
ends as it would have unbroken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interpbench.agents.architectures import get_architecture
from interpbench.agents.init import init_orthogonal
from interpbench.agents.models import ARCHITECTURE as CLEAR_CNN
from interpbench.agents.models import ClearCNN, preprocess
from interpbench.baselines import runtime
from interpbench.baselines.gather import Dataset, GatherConfig
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar


@dataclass(frozen=True)
class DistillConfig:
    """A student's data and optimisation budget."""

    gather: GatherConfig
    train_samples: int  # samples processed by the optimizer, equal for every level count
    batch_size: int = 128
    lr: float = 5e-4
    value_coef: float = 0.1  # teacher values reach ~10 (CoinRun's reward); keep KL the main term
    checkpoint_every: int = 50  # optimizer steps
    # Forward and backward under bfloat16 autocast (weights and Adam stay float32): twice the
    # samples/s of float32 on one core of a CPU with bf16 units (scripts/training_speed.py),
    # which is what makes "medium" fit.
    bf16: bool = False
    # The last ``anneal_samples`` samples decay the learning rate linearly to zero. At a constant
    # rate the shipped weights are wherever the last noisy steps left them (docs/training.md,
    # Status: a student lost 16 points of training-level completion while its KL kept falling).
    anneal_samples: int = 0

    def total_steps(self) -> int:
        return -(-self.train_samples // self.batch_size)

    def anneal_start(self) -> int:
        """The optimizer step where the decay begins (``total_steps()`` when there is none)."""
        return self.total_steps() - self.anneal_samples // self.batch_size

    def lr_at(self, step: int) -> float:
        start, total = self.anneal_start(), self.total_steps()
        return self.lr if step < start else self.lr * (total - step) / (total - start)

    def lr_schedule(self) -> list[int]:
        """What a saved state records of the schedule: [anneal start, total steps]."""
        return [self.anneal_start(), self.total_steps()]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def resume_settings(self) -> dict[str, Any]:
        """What a resumed student must share with its saved state: all but the budget (extending
        it continues the same run, see scripts/distill_curve.py), the save interval and the anneal
        (checked step by step instead, see :func:`continues`)."""
        budget = ("train_samples", "checkpoint_every", "anneal_samples")
        return {k: v for k, v in self.as_dict().items() if k not in budget}


def continues(saved: dict[str, Any], config: DistillConfig) -> bool:
    """Whether a saved state's steps are the first steps of a run under ``config``: it was made
    under the same schedule, or every step it took was at the constant rate, as under ``config``
    (so never past ``config``'s end, where its anneal, if any, has begun)."""
    schedule = saved.get("lr_schedule")  # absent from states of constant-rate presets
    if schedule == config.lr_schedule():
        return True
    constant_until = schedule[0] if schedule else saved["step"]
    return saved["step"] <= min(constant_until, config.anneal_start())


def _batch_indices(n: int, batch_size: int, seed: int, step: int) -> np.ndarray:
    """Indices of minibatch ``step``: epochs are seeded permutations, so resuming needs no RNG state."""
    per_epoch = n // batch_size
    if per_epoch == 0:
        raise ValueError(f"dataset of {n} frames is smaller than one batch of {batch_size}")
    epoch, k = divmod(step, per_epoch)
    order = np.random.default_rng([seed, epoch]).permutation(n)
    return order[k * batch_size : (k + 1) * batch_size]


def policy_kl(logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """Mean over frames of KL(teacher || policy), both given as action logits."""
    return F.kl_div(F.log_softmax(logits, 1), F.log_softmax(teacher_logits, 1), log_target=True, reduction="batchmean")


def distill_loss(
    student: nn.Module, obs: torch.Tensor, teacher_logits: torch.Tensor, teacher_value: torch.Tensor, value_coef: float
) -> tuple[torch.Tensor, dict[str, float]]:
    """KL(teacher || student) over actions + value_coef * MSE(value); also returns the parts."""
    logits, value = (out.float() for out in student(obs))
    kl = policy_kl(logits, teacher_logits)
    mse = F.mse_loss(value, teacher_value)
    agree = (logits.argmax(1) == teacher_logits.argmax(1)).float().mean()
    return kl + value_coef * mse, {"kl": kl.item(), "value_mse": mse.item(), "argmax_agreement": agree.item()}


def fresh_student(architecture: str, num_actions: int, seed: int) -> nn.Module:
    """A student before its first step, a function of ``seed``.

    The clear CNN starts from the orthogonal scheme (``agents.init``: torch's default starves its
    L2-pooled stack), drawn from torch's global generator as the shipped students were. Any other
    architecture starts as its registry initialises it, which is how the randomization controls
    draw its twins (for the IMPALA CNN, CleanRL's scheme)."""
    torch.manual_seed(seed)
    if architecture == CLEAR_CNN:
        return init_orthogonal(ClearCNN(num_actions=num_actions))
    return get_architecture(architecture).fresh(num_actions, seed)


def state_settings(config: DistillConfig, architecture: str) -> dict[str, Any]:
    """What a saved state must share with the run resuming it: the config's resume settings and,
    for a student that is not the clear CNN, its architecture. Clear-CNN states predate the choice
    and record none, so keeping it out of theirs lets every existing run resume."""
    settings = config.resume_settings()
    return settings if architecture == CLEAR_CNN else {**settings, "architecture": architecture}


def _saved_state(
    state_path: Path, warm_start: Path | None, config: DistillConfig, settings: dict[str, Any], log: runtime.JsonlLog
) -> dict[str, Any] | None:
    """The run's own saved state, else a usable ``warm_start`` state (marked as such), else None."""
    if (saved := runtime.load_state(state_path, settings)) is not None:
        if not continues(saved, config):
            raise InterpbenchError(f"{state_path} took steps this run would not (another learning-rate schedule, "
                                   f"or past its end); delete {state_path.parent} to train it afresh")
        return saved
    if warm_start is None:
        return None
    saved = runtime.load_state(warm_start, settings)
    if saved is None or not continues(saved, config):
        return None  # nothing to start from, or a run that has left this one's path (or passed its end)
    saved["warm_started_from"] = {"state": str(warm_start), "step": saved["step"]}
    log.write(warm_started_from=saved["warm_started_from"])
    return saved


def train_student(
    data: Dataset,
    run_dir: Path,
    config: DistillConfig,
    *,
    seed: int,
    device: torch.device,
    progress: bool = True,
    warm_start: Path | None = None,
    architecture: str = CLEAR_CNN,
) -> tuple[nn.Module, dict[str, Any]]:
    """Train (or resume) a student of ``architecture`` in ``run_dir``; returns it and a summary for the metadata.

    ``warm_start``: the state file of the same run (seed, data, settings) under a smaller budget,
    used when ``run_dir`` has no state of its own and its steps are this run's first steps
    (:func:`continues`). Minibatches are a function of the step, so continuing it ends exactly
    where training from scratch would, without redoing the steps both budgets share.
    """
    state_path = run_dir / "student_state.pt"
    log = runtime.JsonlLog(run_dir / "train_log.jsonl")
    student = fresh_student(architecture, data.logits.shape[1], seed).to(device)
    optimizer = torch.optim.Adam(student.parameters(), lr=config.lr)
    step, seconds = 0, 0.0
    total = config.total_steps()
    settings = state_settings(config, architecture)
    saved = _saved_state(state_path, warm_start, config, settings, log)
    # Kept in every saved state, so the metadata says where the run began however often it resumed.
    origin = {"warm_started_from": saved["warm_started_from"]} if saved and "warm_started_from" in saved else {}
    if saved is not None:
        student.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step, seconds = saved["step"], saved["seconds"]

    def save(at: int, elapsed: float) -> None:
        runtime.save_state(state_path, {
            "model": student.state_dict(), "optimizer": optimizer.state_dict(),
            "step": at, "seconds": elapsed, "lr_schedule": config.lr_schedule(), **origin,
        }, settings)

    seconds = optimise(student, optimizer, config, lambda idx: data.obs[idx], data, seed, step=step, seconds=seconds,
                       device=device, log=log, save=save, desc=run_dir.name, progress=progress)
    return student.eval().to(memory_format=torch.contiguous_format), {  # type: ignore[call-overload]
        "samples": total * config.batch_size, "optimizer_steps": total, "train_seconds": round(seconds, 1),
        **origin,
    }


class TeacherTargets(Protocol):
    """What the loop reads of a dataset: the teacher's outputs per row."""

    logits: np.ndarray
    value: np.ndarray


def optimise(model: nn.Module, optimizer: torch.optim.Optimizer, config: DistillConfig,
             inputs: Callable[[np.ndarray], np.ndarray], targets: TeacherTargets, seed: int, *, step: int,
             seconds: float, device: torch.device, log: runtime.JsonlLog, save: Callable[[int, float], None],
             desc: str, progress: bool) -> float:
    """The distillation loop from ``step`` to the config's last: each step's minibatch is a
    function of (seed, step) (so a resumed run ends where an unbroken one would), ``inputs(idx)``
    gives the network's observations for dataset rows ``idx`` and ``targets`` the teacher's
    ``logits`` and ``value``; every ``checkpoint_every`` steps the window's losses are logged and
    ``save(step, seconds)`` is called. Shared by the students and the glass-box agents, whose
    inputs differ (frames, or frames with mask planes). Returns the run's total seconds."""
    total = config.total_steps()
    # torch's stubs leave out the memory_format keyword that Module.to takes.
    model.to(memory_format=torch.channels_last).train()  # type: ignore[call-overload]
    window: list[dict[str, float]] = []
    started = time.perf_counter()
    bar = progress_bar(total=total, initial=step, desc=desc, unit="step", enabled=progress)
    while step < total:
        for group in optimizer.param_groups:
            group["lr"] = config.lr_at(step)
        idx = np.sort(_batch_indices(len(targets.logits), config.batch_size, seed, step))  # sorted: faster gather
        obs = preprocess(inputs(idx)).to(device).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, torch.bfloat16, enabled=config.bf16):
            loss, parts = distill_loss(
                model, obs, torch.from_numpy(targets.logits[idx]).to(device),
                torch.from_numpy(targets.value[idx]).to(device), config.value_coef,
            )
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        window.append(parts)
        bar.update(1)
        if step % config.checkpoint_every == 0 or step == total:
            elapsed = seconds + time.perf_counter() - started
            means = {k: round(float(np.mean([w[k] for w in window])), 4) for k in window[0]}
            log.write(step=step, samples=step * config.batch_size, seconds=round(elapsed, 1), **means)
            bar.set_postfix(means)
            window = []
            save(step, elapsed)
    bar.close()
    return seconds + time.perf_counter() - started


PRESETS: dict[str, DistillConfig] = {
    # Seconds on one CPU core: for tests of the machinery only.
    "tiny": DistillConfig(GatherConfig(steps=256, frames=64, shards=2, num_envs=8), train_samples=64,
                          batch_size=16, checkpoint_every=2),
    # The first zoo: all 14 students, data gathering and 500+500-episode evaluations within about
    # 90 minutes of a 2-core machine shared with other work (docs/training.md). Too little to show
    # the study's effects; now for trying the pipeline in minutes.
    "mini": DistillConfig(GatherConfig(steps=49_152, frames=10_240, shards=4), train_samples=20_480),
    # The zoo after "mini": bfloat16 play and training, 8x the teacher steps of "mini" (~4,300
    # episodes, so up to ~4,600 distinct levels at L = 100,000), 4x its frames, 37.5x its
    # optimisation: probe students showed the effects only after several hundred thousand
    # samples (docs/history.md).
    "medium": DistillConfig(GatherConfig(steps=393_216, frames=40_960, teacher_bf16=True),
                            train_samples=768_000, lr=1e-3, bf16=True),
    # "medium" trained 1.5x longer, the extra third annealing the learning rate to zero: its
    # students were still improving at 768,000 samples (training two on to 1,152,000 lowered their
    # KL 0.23-0.26 -> 0.15-0.19), and at a constant rate the final weights were noisy
    # (docs/history.md). Its first 768,000 samples are "medium"'s, so a job continues the
    # medium student of its run where one exists (base_preset). The shipped zoo's preset.
    "large": DistillConfig(GatherConfig(steps=393_216, frames=40_960, teacher_bf16=True),
                           train_samples=1_152_000, lr=1e-3, bf16=True, anneal_samples=384_000),
    # The shipped IMPALA-CNN student (baselines/zoo-impala), sized for about 30-40 minutes of one
    # niced thread on a 2-core CPU without bf16 units, shared with other work. There bfloat16
    # autocast was about an order of magnitude slower than float32, for the teacher's forward and
    # IMPALA training alike (one-off probes under load), so all is float32; the shipped JSON
    # records the run's own times. A third of "large"'s teacher steps with its frame count, a fifth
    # of its samples, the last third annealed.
    "impala": DistillConfig(GatherConfig(steps=131_072, frames=40_960), train_samples=230_400, lr=1e-3,
                            anneal_samples=76_800),
}


def base_preset(name: str) -> str:
    """The first preset (in definition order) that differs from ``name`` at most in its budget.

    Such presets make the same dataset and the same run up to the smaller budget, so they share
    the base preset's data and a job may continue the base preset's student of the same run.
    """
    settings = PRESETS[name].resume_settings()
    return next(other for other, config in PRESETS.items() if config.resume_settings() == settings)


def data_preset(name: str) -> str:
    """The first preset (in definition order) that gathers as ``name`` does: the one whose folder
    holds the dataset. The data depends only on the teacher, the level count and the gather
    config, so presets differing in anything else (the student's budget, rate or precision) share
    it; for presets that also share a base preset this is that base."""
    gather = PRESETS[name].gather
    return next(other for other, config in PRESETS.items() if config.gather == gather)
