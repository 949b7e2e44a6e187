"""Frame-additive scoring: every reweighting of the frames (bootstrap replicates, area bins) from
one metric call and a matrix product (``metrics.base.weighted_scores``), against re-running the
metric on the frames each reweighting draws (``take``), in the same process. The numbers must
agree; the speed-up is asserted as a ratio, never as an absolute time.

Size: the default evaluation set, 512 frames x 8 features, and the default plan (the full set,
50 bootstrap replicates, 8 area bins: 59 rows). Re-running every frame-additive built-in on all
59 rows takes over a minute on 2 shared cores, so by default the re-run path covers row 0, the first
``INTERPBENCH_BENCH_BOOT_ROWS`` (default 10) replicates and all 8 bins, and the asserted ratio is
(re-run seconds on those rows) / (per-frame seconds on *all* 59 rows): a lower bound of the true
ratio, which is in extra_info as an extrapolation (``=50`` times the whole plan). The re-run path
scores each drawn frame set once for all metrics, so the arrays they share are computed once per
row, as they are once in all on the per-frame path: the comparison favours the re-run path.

Numerical agreement on every row of a whole plan is checked on a smaller case (64 x 4).
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest

from interpbench.metrics import available, get
from interpbench.metrics.base import checked_scores, has_frame_form, take_weighted, weighted_scores
from interpbench.metrics.testing import random_case
from interpbench.scoring.plan import Plan

pytestmark = pytest.mark.slow

N, F = 512, 8
N_BOOTSTRAP, N_BINS = 50, 8
BOOT_ROWS = int(os.environ.get("INTERPBENCH_BENCH_BOOT_ROWS", "10"))
RTOL, ATOL = 1e-9, 1e-12


def builtins() -> dict[str, object]:
    return {name: get(name) for name, info in available().items() if info.origin == "built-in"}


def frame_additive() -> dict[str, object]:
    metrics = {name: m for name, m in builtins().items() if has_frame_form(m)}
    assert len(metrics) >= 5, f"only {sorted(metrics)} are frame-additive"
    return metrics


def rerun(metrics, attr, frames, weights: np.ndarray) -> dict[str, np.ndarray]:
    """(R, F) per metric: each row's drawn frames taken once, every metric scored on them."""
    rows: dict[str, list[np.ndarray]] = {name: [] for name in metrics}
    for row in weights:
        index = take_weighted(row)
        drawn_attr, drawn_frames = attr.take(index), frames.take(index)
        for name, metric in metrics.items():
            rows[name].append(checked_scores(metric, drawn_attr, drawn_frames))
    return {name: np.stack(r) for name, r in rows.items()}


def per_frame(metrics, attr, frames, weights: np.ndarray) -> dict[str, np.ndarray]:
    return {name: weighted_scores(metric, attr, frames, weights) for name, metric in metrics.items()}


def fresh(attr, frames):
    """New data objects around the same arrays: nothing memoised by an earlier round is reused."""
    return attr.take(slice(None)), frames.take(np.arange(len(frames)))


@pytest.fixture(scope="module")
def inputs():
    attr, frames = random_case(N, F, seed=0)
    plan = Plan.make(frames, N_BOOTSTRAP, N_BINS, seed=0)
    return attr, frames, plan


def test_weighted_scores_agree_with_rerun_on_a_whole_plan():
    """Every built-in (frame-additive or not) on every row of a whole plan, on a small case."""
    attr, frames = random_case(64, 4, seed=1)
    weights = Plan.make(frames, N_BOOTSTRAP, N_BINS, seed=1).weights
    metrics = builtins()
    assert sum(has_frame_form(m) for m in metrics.values()) < len(metrics)  # both paths of weighted_scores
    want = rerun(metrics, *fresh(attr, frames), weights)
    got = per_frame(metrics, *fresh(attr, frames), weights)
    for name in metrics:
        assert got[name].shape == (len(weights), 4)
        np.testing.assert_allclose(got[name], want[name], rtol=RTOL, atol=ATOL, err_msg=name)


def test_bench_per_frame_against_rerun(benchmark, inputs) -> None:
    attr, frames, plan = inputs
    metrics = frame_additive()
    weights = plan.weights
    assert weights.shape == (1 + N_BOOTSTRAP + N_BINS, N)
    rows = np.r_[0, 1 : 1 + min(BOOT_ROWS, N_BOOTSTRAP), 1 + N_BOOTSTRAP : len(weights)]

    fast = benchmark.pedantic(lambda a, f: per_frame(metrics, a, f, weights), setup=lambda: (fresh(attr, frames), {}),
                              rounds=3, iterations=1)
    fast_s = benchmark.stats.stats.min

    started = time.perf_counter()
    slow = rerun(metrics, *fresh(attr, frames), weights[rows])
    slow_s = time.perf_counter() - started

    for name in metrics:
        np.testing.assert_allclose(fast[name][rows], slow[name], rtol=RTOL, atol=ATOL, err_msg=name)
    # extrapolated to all rows by the frames each row draws (bins draw an eighth of the set)
    per_frame_drawn = slow_s / weights[rows].sum()
    whole_plan_s = per_frame_drawn * weights.sum()
    ratio = slow_s / fast_s
    benchmark.extra_info.update(metrics=len(metrics), rows_rerun=len(rows), rows=len(weights),
                                per_frame_s=round(fast_s, 3), rerun_s=round(slow_s, 2), ratio=round(ratio, 1),
                                whole_plan_ratio_estimate=round(whole_plan_s / fast_s, 1))
    print(f"\n{len(metrics)} frame-additive built-ins, {N}x{F} maps: per-frame {fast_s:.3f} s for {len(weights)} rows, "
          f"re-run {slow_s:.2f} s for {len(rows)} rows: {ratio:.1f}x (whole plan: ~{whole_plan_s / fast_s:.0f}x)")
    assert ratio >= 5, f"per-frame scoring only {ratio:.1f}x faster than re-running ({fast_s:.3f} s vs {slow_s:.2f} s)"
