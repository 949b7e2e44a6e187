"""The Quantus-equivalent metrics agree with Quantus 0.6.0 per map, to 1e-6, on random inputs.

Compared where Quantus' documented defects do not reach (see docs/metrics.md): every object mask
is non-empty (Quantus scores an empty mask NaN, or 1 in Pointing Game), no ``weighted`` options
(Attribution Localisation's area ratio depends on the batch size), continuous maps (no ties), and
Relevance Mass Accuracy on maps shifted positive so no total is near zero.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from metrics import get
from metrics.maps import object_mask
from metrics.testing import make_attribution, random_case

quantus = pytest.importorskip("quantus")

CASES = {
    # our name: (Quantus class, shift added to the random maps)
    "pointing-game": ("PointingGame", 0.0),
    "top-k-intersection": ("TopKIntersection", 0.0),
    "relevance-mass-accuracy": ("RelevanceMassAccuracy", 2.0),
    "attribution-localisation": ("AttributionLocalisation", 0.0),
}


def quantus_batches(attr, frames) -> dict[str, np.ndarray]:
    """Quantus' inputs: one (B, 1, 64, 64) sample per (frame, feature), in frame-major order."""
    n, f = attr.maps.shape[:2]
    a = attr.maps.reshape(n * f, 1, 64, 64)
    s = np.repeat(object_mask(frames).reshape(n, 1, 64, 64), f, axis=0).astype(np.float32)
    return {"x_batch": np.zeros_like(a), "y_batch": np.zeros(n * f, dtype=int), "a_batch": a, "s_batch": s}


def run_quantus(class_name: str, attr, frames) -> np.ndarray:
    metric = getattr(quantus, class_name)(disable_warnings=True, display_progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = metric(model=None, batch_size=256, **quantus_batches(attr, frames))
    return np.asarray(result, dtype=np.float64).reshape(attr.maps.shape[:2])


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_quantus_per_map(name: str) -> None:
    class_name, shift = CASES[name]
    attr, frames = random_case(24, 3, seed=7)
    attr = make_attribution(attr.maps + shift)
    assert object_mask(frames).any(axis=1).all(), "every frame must have objects (Quantus: NaN)"
    ours = get(name).per_frame(attr, frames)
    theirs = run_quantus(class_name, attr, frames)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert ours.std() > 0, "a comparison on constant scores would prove little"
