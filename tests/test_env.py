"""Level ranges: training and evaluation seeds must never meet, whatever the level count."""

from __future__ import annotations

import numpy as np
import pytest

from interpbench.game.env import (
    HELDOUT_LEVELS,
    HELDOUT_START,
    LEVEL_COUNTS,
    MAX_TRAIN_LEVELS,
    LevelRange,
    heldout_levels,
    level_range,
    make_env,
    training_levels,
)
from interpbench.infra.errors import InterpbenchError


def overlaps(a: LevelRange, b: LevelRange) -> bool:
    return a.start < b.start + b.count and b.start < a.start + a.count


@pytest.mark.parametrize("count", [1, *LEVEL_COUNTS, MAX_TRAIN_LEVELS])
def test_training_ranges_never_overlap_heldout(count: int) -> None:
    train = training_levels(count)
    assert train == LevelRange(0, count)
    assert not overlaps(train, heldout_levels())
    assert not overlaps(level_range("train", count), level_range("heldout", 200))


def test_training_ranges_are_nested() -> None:
    """A model trained on fewer levels saw a subset of what a larger run saw (as in the study)."""
    ranges = [training_levels(c) for c in LEVEL_COUNTS]
    assert all(a.start == b.start and a.count < b.count for a, b in zip(ranges, ranges[1:]))


def test_heldout_count_restricts_to_the_first_seeds() -> None:
    assert level_range("heldout") == LevelRange(HELDOUT_START, HELDOUT_LEVELS)
    small = level_range("heldout", 200)
    assert small == LevelRange(HELDOUT_START, 200)
    assert HELDOUT_START in small and HELDOUT_START + 200 not in small


@pytest.mark.parametrize(
    "split, count",
    [("train", None), ("train", 0), ("train", MAX_TRAIN_LEVELS + 1), ("heldout", 0), ("test", 10)],
)
def test_bad_ranges_are_input_errors(split: str, count: int | None) -> None:
    with pytest.raises(InterpbenchError):
        level_range(split, count)  # type: ignore[arg-type]


def test_unknown_distribution_mode() -> None:
    with pytest.raises(InterpbenchError, match="distribution mode"):
        make_env(1, heldout_levels(), seed=0, distribution_mode="medium")  # type: ignore[arg-type]


def test_env_plays_only_its_range_and_is_seeded() -> None:
    levels = level_range("train", 5)

    def first_seeds(seed: int) -> list[int]:
        env = make_env(8, levels, seed=seed)
        return [info["level_seed"] for info in env.get_info()]

    seeds = first_seeds(3)
    assert all(s in levels for s in seeds)
    assert seeds == first_seeds(3)
    obs = make_env(2, heldout_levels(), seed=0).observe()[1]["rgb"]
    assert obs.dtype == np.uint8 and obs.shape == (2, 64, 64, 3)
