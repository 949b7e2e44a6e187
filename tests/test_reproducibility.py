"""The same inputs give the same numbers whatever the thread count.

Metric scores must be bit-identical across ``interpbench.metrics.maps.set_threads`` (each frame is
counted by one thread; sums run in a fixed order). Attribution runs torch, whose reductions may
split differently over threads: there the stated tolerance is 1e-5 relative on the attributions
(docs/architecture.md, "Reproducibility"), and the NMF features fitted on them must agree to 1e-4.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interpbench.agents.models import ClearCNN
from interpbench.attribution.attribute import compute_attribution_set
from interpbench.metrics import maps, registry
from interpbench.metrics.base import weighted_scores
from interpbench.metrics.testing import random_case
from interpbench.scoring.plan import Plan


@pytest.fixture
def restore_threads():
    previous_torch = torch.get_num_threads()
    previous_maps = maps.set_threads(maps._THREADS)
    yield
    torch.set_num_threads(previous_torch)
    maps.set_threads(previous_maps)


def test_metric_scores_do_not_depend_on_threads(restore_threads) -> None:
    attr, frames = random_case(48, 4, seed=3)
    weights = Plan.make(frames, 5, 4, seed=0).weights
    results = {}
    for threads in (1, 2, 3):
        maps.set_threads(threads)
        results[threads] = {name: weighted_scores(registry.get(name), attr.take(slice(None)), frames.take(slice(None)),
                                                  weights) for name in registry.available()}
    for threads in (2, 3):
        for name, scores in results[threads].items():
            np.testing.assert_array_equal(scores, results[1][name], err_msg=f"{name} with {threads} threads")


def test_attribution_within_tolerance_across_torch_threads(restore_threads) -> None:
    torch.manual_seed(0)
    model = ClearCNN().eval()
    obs = np.random.default_rng(0).integers(0, 256, size=(24, 64, 64, 3), dtype=np.uint8)
    sets = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        sets[threads] = compute_attribution_set(model, obs, n_features=4)
    one, two = sets[1], sets[2]
    scale = np.abs(one.hidden).max()
    np.testing.assert_allclose(two.hidden, one.hidden, rtol=1e-5, atol=1e-5 * scale)
    np.testing.assert_allclose(two.components, one.components, rtol=1e-4, atol=1e-4 * np.abs(one.components).max())
