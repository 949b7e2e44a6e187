"""The Quantus-equivalent metrics agree with Quantus 0.6.0 per map, to 1e-6, on random inputs.

Compared where Quantus' documented defects do not reach (see docs/metrics.md): every object mask
is non-empty (Quantus scores an empty mask NaN, or 1 in Pointing Game), no ``weighted`` options
(Attribution Localisation's area ratio depends on the batch size), continuous maps (no ties).
Relevance Mass Accuracy is ours on positive relevance: Quantus gets the positive part of the
maps, as its callers (CLEVR-XAI) pass them.
"""

from __future__ import annotations

import numpy as np
import pytest

from interpbench.metrics import get
from interpbench.metrics.maps import object_mask
from interpbench.metrics.quantus_equivalents import QUANTUS_CLASSES
from interpbench.metrics.testing import make_attribution, quantus_scores, random_case

pytest.importorskip("quantus")

#: What Quantus is given for each metric: the maps, or (for Relevance Mass Accuracy) their positive part.
QUANTUS_INPUT = {"relevance-mass-accuracy": lambda maps: np.maximum(maps, 0)}


@pytest.mark.parametrize("name", sorted(QUANTUS_CLASSES))
def test_matches_quantus_per_map(name: str) -> None:
    attr, frames = random_case(24, 3, seed=7)
    assert object_mask(frames).any(axis=1).all(), "every frame must have objects (Quantus: NaN)"
    ours = get(name).score_frames(attr, frames)
    given = make_attribution(QUANTUS_INPUT.get(name, lambda maps: maps)(attr.maps))
    theirs = quantus_scores(QUANTUS_CLASSES[name], given, frames)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    assert ours.std() > 0, "a comparison on constant scores would prove little"
