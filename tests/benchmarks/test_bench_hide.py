"""Object dependence's cost against the plain attribution of the same frames, in the same run.

Hiding re-renders every frame once per class (and wall part) and attributes again only the frames
that changed, so its cost should be about (classes + parts) plain attributions, and no more: the
ratio is what is asserted, never an absolute time. The whole zoo's wall-clock figure comes from
the command (``interpbench intervene hide``, its table's ``seconds_per_checkpoint``; docs/interventions.md).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from interpbench.agents.models import load_checkpoint
from interpbench.attribution.features import FeatureBasis
from interpbench.frames.build import build_frameset
from interpbench.infra.provenance import REPO_ROOT
from interpbench.interventions.dependence import feature_mass, object_dependence
from interpbench.interventions.hiding import Hider, parts_of

N_FRAMES = 32


def test_bench_hide_against_plain_attribution(benchmark) -> None:
    checkpoint = load_checkpoint(REPO_ROOT / "baselines" / "zoo" / "distill-L100-r1.safetensors")
    frames = build_frameset(N_FRAMES, policy="random", seed=3, num_envs=8, progress=False)
    basis = FeatureBasis(np.random.default_rng(0).random((8, 32), dtype=np.float32))
    hider = Hider(frames)
    feature_mass(checkpoint.model, frames.obs[:2], basis)  # warm-up
    started = time.perf_counter()
    feature_mass(checkpoint.model, frames.obs, basis)
    plain_s = time.perf_counter() - started
    dep = benchmark.pedantic(lambda: object_dependence(checkpoint.model, frames, basis, hider=hider),
                             rounds=1, iterations=1)
    hide_s = benchmark.stats.stats.min
    hidden = len(dep.classes) + len(parts_of(dep.classes))
    ratio = hide_s / plain_s
    benchmark.extra_info.update({"frames": N_FRAMES, "hidden": hidden, "ratio_to_plain": round(ratio, 2),
                                 "changed_share": round(float(dep.changed.mean()), 3)})
    assert dep.drops.shape == (len(dep.classes), N_FRAMES, 8)
    # re-rendering is cheap beside attribution: the cost is at most one plain attribution per
    # hidden class or part, plus the base, with room for timer noise on a shared machine
    assert ratio <= 2.0 * (hidden + 1), ratio


@pytest.fixture(autouse=True)
def _one_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
