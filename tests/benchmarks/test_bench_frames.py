"""Frame-set building speed: the default 512-frame set must build in under a minute on 2 cores.

One round of a 128-frame reference-agent set keeps the suite fast; frames/s is in extra_info
(the full-size timing is in docs/reference-agent.md).
"""

from __future__ import annotations

import time

import pytest

from interpbench.frames.build import build_frameset

N = 128


@pytest.mark.reference
def test_bench_build_frameset(benchmark, reference_jd) -> None:
    started = time.perf_counter()
    frames = benchmark.pedantic(lambda: build_frameset(N, seed=0, progress=False), rounds=1, iterations=1)
    seconds = time.perf_counter() - started
    benchmark.extra_info["frames"] = len(frames)
    benchmark.extra_info["frames_per_s"] = round(len(frames) / seconds, 1)
    benchmark.extra_info["distinct_levels"] = frames.provenance["distinct_levels"]
    benchmark.extra_info["env_steps"] = frames.provenance["sampling"]["env_steps"]
    assert len(frames) == N
