"""Attribution speed: the batched implementation against captum's LayerIntegratedGradients in the
same run (the ratio is asserted, never an absolute time), and the whole pipeline's frames/s.

``INTERPBENCH_BENCH_FRAMES`` sets the pipeline's frame count (default 64 keeps the suite fast;
docs/attribution.md gives the 512-frame figure and the command that measured it).
"""

from __future__ import annotations

import os
import time

import pytest
import torch
from attribution_helpers import env_frameset

from interpbench.attribution.attribute import (
    attribute_checkpoint,
    captum_layer_attributions,
    layer_attributions,
)

N_COMPARE = 16
N_PIPELINE = int(os.environ.get("INTERPBENCH_BENCH_FRAMES", "64"))


@pytest.fixture()
def two_threads():
    """Time on the 2 cores CI has; conftest's 1 thread is for the functional tests."""
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def _seconds(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


@pytest.mark.reference
def test_bench_batched_vs_captum(benchmark, reference_checkpoint, two_threads) -> None:
    model, obs = reference_checkpoint.model, env_frameset(N_COMPARE).obs
    layer_attributions(model, obs[:2])  # warm-up: first-call allocations are not the method's cost
    captum_s = min(_seconds(lambda: captum_layer_attributions(model, obs)) for _ in range(2))
    ours = benchmark.pedantic(lambda: layer_attributions(model, obs), rounds=2, iterations=1)
    ours_s = benchmark.stats.stats.min
    ratio = captum_s / ours_s
    benchmark.extra_info.update(
        {
            "frames": N_COMPARE,
            "frames_per_s": round(N_COMPARE / ours_s, 1),
            "captum_frames_per_s": round(N_COMPARE / captum_s, 1),
            "speedup_vs_captum": round(ratio, 2),
        }
    )
    assert ours.shape == (N_COMPARE, 32, 32, 32)
    assert ratio >= 1.0


@pytest.mark.reference
def test_bench_attribute_checkpoint(benchmark, reference_checkpoint, two_threads) -> None:
    frames = env_frameset(N_PIPELINE)
    attr = benchmark.pedantic(
        lambda: attribute_checkpoint(reference_checkpoint, frames, cache=False), rounds=1, iterations=1
    )
    seconds = benchmark.stats.stats.min
    benchmark.extra_info.update({"frames": N_PIPELINE, "frames_per_s": round(N_PIPELINE / seconds, 1)})
    assert attr.maps.shape == (N_PIPELINE, 8, 64, 64)
