"""Mask speed: recoloured re-rendering against the hide-and-diff ground-truth path on the same
states in the same run (the ratio is asserted, never an absolute time).

``INTERPBENCH_BENCH_MASK_STATES`` sets the number of states (default 256).
"""

from __future__ import annotations

import os
import time

import pytest

from interpbench.game.env import heldout_levels
from interpbench.game.mask_truth import TruthRenderer, collect_states
from interpbench.game.masks import MaskRenderer

N_STATES = int(os.environ.get("INTERPBENCH_BENCH_MASK_STATES", "256"))


@pytest.fixture(scope="module")
def states() -> list[bytes]:
    envs = 32
    collected, _ = collect_states(heldout_levels(), distribution_mode="hard", paint_vel_info=True, num_envs=envs,
                             snapshots=range(10, 10 + 5 * -(-N_STATES // envs), 5), seed=0)
    return collected[:N_STATES]


def test_bench_masks_per_second(benchmark, states) -> None:
    renderer, truth = MaskRenderer(), TruthRenderer()
    renderer.masks(states[:8])  # warm-up: sprites are prepared lazily on first use
    started = time.perf_counter()
    truth.truth(states)
    truth_s = time.perf_counter() - started
    masks = benchmark.pedantic(lambda: renderer.masks(states), rounds=3, iterations=1)
    ours_s = benchmark.stats.stats.min
    benchmark.extra_info.update(
        {
            "states": len(states),
            "masks_per_s": round(len(states) / ours_s),
            "ground_truth_masks_per_s": round(len(states) / truth_s),
            "speedup_vs_ground_truth": round(truth_s / ours_s, 1),
        }
    )
    assert masks.shape[0] == len(states)
    assert truth_s > ours_s
