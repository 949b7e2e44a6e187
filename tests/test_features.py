"""NMF features of signed attributions: recover planted features, signed maps in the head's
units, fixed components reproducible on new frames."""

from __future__ import annotations

import numpy as np
import pytest

from interpbench.attribution.features import FeatureBasis, fit_feature_basis
from interpbench.infra.errors import InterpbenchError, ShapeError


def planted(n: int = 6, features: int = 3, channels: int = 12, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Signed attributions that are exactly (loadings_pos - loadings_neg) @ components, with
    every position either positive or negative or zero, and the components."""
    rng = np.random.default_rng(seed)
    components = rng.random((features, channels)) * (rng.random((features, channels)) < 0.5)
    components[np.arange(features), np.arange(features)] = 1.0  # keep rows distinct and non-zero
    loadings = rng.random((n, 8, 8, features)) * (rng.random((n, 8, 8, features)) < 0.3)
    sign = rng.choice([-1.0, 0.0, 1.0], size=(n, 8, 8, 1))
    attr = (sign * loadings) @ components
    return attr.transpose(0, 3, 1, 2).astype(np.float32), components


def test_fit_recovers_planted_features_and_signed_maps_sum_to_channel_totals() -> None:
    attr, components = planted()
    basis = fit_feature_basis(attr, 3, max_iter=2000, tol=1e-8)
    fitted = basis.components / np.linalg.norm(basis.components, axis=1, keepdims=True)
    truth = components / np.linalg.norm(components, axis=1, keepdims=True)
    assert (fitted @ truth.T).max(axis=0).min() > 0.99  # each planted feature found
    maps = basis.transform(attr)
    assert maps.shape == (6, 3, 8, 8) and maps.dtype == np.float32
    assert np.allclose(maps.sum(axis=1), attr.sum(axis=1), atol=1e-3)


def test_zero_positions_get_zero_features_and_sign_is_kept() -> None:
    attr, _ = planted()
    basis = fit_feature_basis(attr, 3)
    maps = basis.transform(attr)
    zero = ~attr.any(axis=1)
    assert zero.any() and (maps.transpose(0, 2, 3, 1)[zero] == 0).all()
    assert np.array_equal(basis.transform(-attr), -maps)


def test_fit_and_transform_are_reproducible_and_apply_to_new_frames() -> None:
    attr, _ = planted()
    a, b = fit_feature_basis(attr, 3), fit_feature_basis(attr, 3)
    assert np.array_equal(a.components, b.components)
    assert np.array_equal(a.transform(attr), b.transform(attr))
    new, _ = planted(seed=1)
    fixed = FeatureBasis(a.components.copy(), a.params)
    assert np.array_equal(fixed.transform(new), a.transform(new))


def test_bad_inputs() -> None:
    attr, _ = planted()
    with pytest.raises(InterpbenchError):
        fit_feature_basis(attr, 13)
    with pytest.raises(InterpbenchError):
        fit_feature_basis(np.zeros_like(attr), 3)
    with pytest.raises(ShapeError):
        fit_feature_basis(attr[0], 3)
    with pytest.raises(ShapeError):
        fit_feature_basis(attr, 3).loadings(np.ones((4, 5)))


def test_row_sample_is_seeded_and_capped() -> None:
    """max_rows fits on a seeded sample: the same seed gives the same basis, another seed another
    one, and a cap above the row count is the full fit."""
    attr, _ = planted(n=20)
    a, b = fit_feature_basis(attr, 3, max_rows=50, seed=1), fit_feature_basis(attr, 3, max_rows=50, seed=1)
    np.testing.assert_array_equal(a.components, b.components)
    assert not np.array_equal(a.components, fit_feature_basis(attr, 3, max_rows=50, seed=2).components)
    np.testing.assert_array_equal(fit_feature_basis(attr, 3, max_rows=10**9).components,
                                  fit_feature_basis(attr, 3).components)
    with pytest.raises(InterpbenchError):
        fit_feature_basis(attr, 3, max_rows=2)
