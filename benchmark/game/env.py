"""CoinRun through procgen, and the one place that defines which level seeds are used for what.

Level seeds are the unit of "diversity" in this benchmark, so training and evaluation ranges must
never overlap. Procgen draws a level seed uniformly from ``[start_level, start_level +
num_levels)``; we therefore give every range an explicit start and size:

* training on L levels uses seeds ``[0, L)`` (L <= ``MAX_TRAIN_LEVELS`` = 1,000,000), so a model
  trained on 100 levels saw a subset of the levels a 100,000-level model saw, as in the
  reference study;
* held-out evaluation uses seeds ``[HELDOUT_START, HELDOUT_START + HELDOUT_LEVELS)`` =
  ``[1,000,000,000, 1,100,000,000)``, a thousand times beyond the largest training range.

The published reference agent was trained on *unbounded* levels (any int32 seed), so for it no
range is strictly held out; the chance that one of its ~10^5-10^6 training levels falls in a
given evaluation frame set is negligible but not zero.
"""

from __future__ import annotations

import contextlib
import gc
import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from interpbench.infra.errors import InterpbenchError

MAX_TRAIN_LEVELS = 1_000_000
HELDOUT_START = 1_000_000_000
HELDOUT_LEVELS = 100_000_000

#: The level counts of the reference study (Hilton et al., Distill 2020).
LEVEL_COUNTS: tuple[int, ...] = (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)

DistributionMode = Literal["easy", "hard"]
Split = Literal["train", "heldout"]

#: Procgen's 15 CoinRun actions (its ``get_combos`` order), kept for readable logs.
NUM_ACTIONS = 15
#: The combo with no key pressed (procgen's ``default_action``): what an env that is only waiting does.
IDLE_ACTION = 4


@dataclass(frozen=True)
class LevelRange:
    """A half-open range of procgen level seeds: ``[start, start + count)``."""

    start: int
    count: int

    def __contains__(self, seed: int) -> bool:
        return self.start <= seed < self.start + self.count

    def as_dict(self) -> dict[str, int]:
        return {"start": self.start, "count": self.count}


def training_levels(num_levels: int) -> LevelRange:
    """Seeds a model trained on ``num_levels`` distinct levels may see."""
    if not 1 <= num_levels <= MAX_TRAIN_LEVELS:
        raise InterpbenchError(
            f"level count must be in [1, {MAX_TRAIN_LEVELS:,}], got {num_levels:,}"
        )
    return LevelRange(0, num_levels)


def heldout_levels() -> LevelRange:
    """Seeds reserved for evaluation; no training range can reach them."""
    return LevelRange(HELDOUT_START, HELDOUT_LEVELS)


def level_range(split: Split, num_levels: int | None = None) -> LevelRange:
    """The seeds of a split. ``train`` needs the model's level count; for ``heldout`` a count
    restricts play to the first ``num_levels`` held-out seeds (a small fixed test set), and
    None means the whole held-out range."""
    if split == "heldout":
        if num_levels is None:
            return heldout_levels()
        if not 1 <= num_levels <= HELDOUT_LEVELS:
            raise InterpbenchError(f"held-out level count must be in [1, {HELDOUT_LEVELS:,}], got {num_levels:,}")
        return LevelRange(HELDOUT_START, num_levels)
    if split == "train":
        if num_levels is None:
            raise InterpbenchError("the train split needs a level count")
        return training_levels(num_levels)
    raise InterpbenchError(f"unknown split {split!r}; expected 'train' or 'heldout'")


_NATIVE_FUNCTIONS = ("libenv_act", "libenv_observe", "libenv_close", "get_state", "set_state")


def deadlock_free_env(construct: Callable[[], Any]) -> Any:
    """``construct()`` a gym3 env so that neither it nor any other env can deadlock the process.

    cffi builds a library's function accessors lazily, under one lock shared by every procgen
    env; gym3's ``CEnv.__del__`` calls ``libenv_close`` through such an accessor. If the cyclic
    garbage collector finalizes an env while that lock is held (during ``dlopen`` or a first
    call), the finalizer waits on the lock forever. So: no cyclic collection while the env is
    made, and all accessors it will need, ``libenv_close`` included, are made right away.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        env = construct()
        for name in _NATIVE_FUNCTIONS:
            getattr(env._c_lib, name)
        return env
    finally:
        if enabled:
            gc.enable()


@contextlib.contextmanager
def quiet_gym_import():
    """gym3 imports the unmaintained ``gym`` package, which prints a banner to stderr."""
    with contextlib.redirect_stderr(io.StringIO()):
        yield


def make_env(
    num: int,
    levels: LevelRange,
    *,
    seed: int,
    distribution_mode: DistributionMode = "hard",
    paint_vel_info: bool = False,
    num_threads: int | None = None,
):
    """A vectorized CoinRun env (gym3 interface) over the given level range.

    ``seed`` seeds procgen's level sampler, so the same arguments give the same episodes.
    """
    if distribution_mode not in ("easy", "hard"):
        raise InterpbenchError(f"unknown distribution mode {distribution_mode!r}")
    with quiet_gym_import():
        from procgen import ProcgenGym3Env

    return deadlock_free_env(lambda: ProcgenGym3Env(
        num=num,
        env_name="coinrun",
        start_level=levels.start,
        num_levels=levels.count,
        rand_seed=seed,
        distribution_mode=distribution_mode,
        paint_vel_info=paint_vel_info,
        num_threads=num_threads if num_threads is not None else min(4, os.cpu_count() or 1),
    ))
