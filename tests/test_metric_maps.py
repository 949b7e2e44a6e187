"""The shared selection helper: exact whatever the shape, the ties, or how rows split over threads."""

from __future__ import annotations

import numpy as np
import pytest

from interpbench.metrics.maps import kth_largest, top_k_hits


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(1, 1, 16), (3, 1, 16), (5, 7, 64)])
@pytest.mark.parametrize("k", [1, 2, 9, 16])
def test_kth_largest_matches_a_full_sort(shape, k, dtype) -> None:
    rng = np.random.default_rng(k)
    values = (rng.integers(-3, 4, size=shape) * rng.choice([0.5, 1.7e-30, 3e30], size=shape)).astype(dtype)
    values[..., ::5] = -0.0  # ties, tiny and huge magnitudes, signed zeros
    expected = np.sort(values, axis=-1)[..., -k:][..., :1]
    np.testing.assert_array_equal(kth_largest(values, k), expected)


def test_top_k_hits_shares_ties_at_the_kth_value() -> None:
    values = np.array([[[5.0, 1.0, 1.0, 1.0, 0.0]]], dtype=np.float32)
    mask = np.array([[False, True, False, False, True]])
    # top 2: the 5 (off the mask), then one of three tied 1s, of which one is on the mask
    assert top_k_hits(values, mask, 2)[0, 0] == pytest.approx(1 / 3)
    assert top_k_hits(values, mask, 4)[0, 0] == pytest.approx(1.0)


def test_top_k_hits_is_the_same_whatever_the_split_over_threads() -> None:
    rng = np.random.default_rng(0)
    values = rng.standard_normal((7, 3, 256)).astype(np.float32)
    mask = rng.random((7, 256)) < 0.3
    whole = top_k_hits(values, mask, 40)
    one_by_one = np.concatenate([top_k_hits(values[i : i + 1], mask[i : i + 1], 40) for i in range(7)])
    np.testing.assert_array_equal(whole, one_by_one)
    expected = [[np.count_nonzero(mask[n][np.argsort(values[n, f])[-40:]]) for f in range(3)] for n in range(7)]
    np.testing.assert_array_equal(whole, expected)
