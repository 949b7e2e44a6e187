"""Per-class enrichment: uniform attribution gives 1 everywhere; attribution on one class gives it
1 / its area share and the others 0; mirroring the masks removes an off-centre class's enrichment."""

from __future__ import annotations

import numpy as np
import pytest

from interpbench.attribution.enrichment import class_enrichment
from interpbench.infra.errors import ShapeError


def _masks(n: int = 3) -> np.ndarray:
    """Two classes: 'object' in the left 16 columns, 'rest' elsewhere; a third never present."""
    masks = np.zeros((n, 3, 64, 64), bool)
    masks[:, 0, :, :16] = True
    masks[:, 1, :, 16:] = True
    return masks


def test_uniform_attribution_is_attended_in_proportion_to_area():
    enrichment = class_enrichment(np.ones((3, 2, 64, 64), np.float32), _masks())
    assert np.allclose(enrichment[:2], 1.0) and np.isnan(enrichment[2])


def test_attribution_on_one_class_and_its_mirrored_control():
    masks = _masks()
    maps = np.zeros((3, 2, 64, 64), np.float32)
    maps[:, 1, :, :16] = -2.0  # sign does not matter: saliency is |attribution|
    maps[1] = 0.0  # a frame without attribution counts as uniform
    enrichment = class_enrichment(maps, masks)
    assert enrichment[0] == pytest.approx((2 / 3 + 1 / 3 * 0.25) / 0.25)
    assert enrichment[1] == pytest.approx((1 / 3 * 0.75) / 0.75)
    assert class_enrichment(maps, masks[..., ::-1])[0] == pytest.approx(1 / 3)


def test_shapes_must_agree():
    with pytest.raises(ShapeError):
        class_enrichment(np.ones((2, 1, 64, 64)), _masks(3))
    with pytest.raises(ShapeError):
        class_enrichment(np.ones((3, 64, 64)), _masks(3))
