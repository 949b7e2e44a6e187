"""The Quantus-equivalent metrics agree with Quantus 0.6.0 per map, to 1e-6, on random inputs.

Compared where Quantus' documented defects do not reach (see docs/metrics.md): every object mask
is non-empty (Quantus scores an empty mask NaN, or 1 in Pointing Game), no ``weighted`` options
(Attribution Localisation's area ratio depends on the batch size), continuous maps (no ties), and
Relevance Mass Accuracy on maps shifted positive so that no total is near zero.
"""

from __future__ import annotations

import numpy as np
import pytest

from interpbench.metrics import get
from interpbench.metrics.maps import object_mask
from interpbench.metrics.quantus_equivalents import QUANTUS_CLASSES
from interpbench.metrics.testing import make_attribution, quantus_scores, random_case

pytest.importorskip("quantus")

SHIFT = {"relevance-mass-accuracy": 2.0}


@pytest.mark.parametrize("name", sorted(QUANTUS_CLASSES))
def test_matches_quantus_per_map(name: str) -> None:
    attr, frames = random_case(24, 3, seed=7)
    attr = make_attribution(attr.maps + SHIFT.get(name, 0.0))
    assert object_mask(frames).any(axis=1).all(), "every frame must have objects (Quantus: NaN)"
    ours = get(name).score_frames(attr, frames)
    theirs = quantus_scores(QUANTUS_CLASSES[name], attr, frames)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert ours.std() > 0, "a comparison on constant scores would prove little"
