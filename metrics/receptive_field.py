"""Gaussian effective-receptive-field weights over a layer's analytic receptive field.

The analytic field travels in ``AttributionSet.geometry`` (composed layer by layer in
``interpbench.attribution.geometry.compose``; for the clear CNN's layer 2b: size 24, stride 2, offset 0.5, so
unit (i, j) looks at a 24 x 24 window centred between pixels 2i and 2i+1).

Luo et al. (2016) found that a unit's *effective* receptive field is roughly Gaussian and much
narrower than the analytic one, so input pixels are weighted by a Gaussian around the centre,
cut off at the analytic field's edge.
"""

from __future__ import annotations

import numpy as np

from interpbench.data.layers import LayerGeometry


def unit_weights(geometry: LayerGeometry, n_units: int, n_pixels: int, sigma_fraction: float = 0.25) -> np.ndarray:
    """float64 (n_pixels, n_units): how unit i's attribution spreads over pixels, along one axis.

    W[x, i] is proportional to exp(-(x - c_i)^2 / (2 sigma^2)) for |x - c_i| <= (size - 1) / 2 and
    0 outside, with c_i = offset + i * stride and sigma = sigma_fraction * size; each column sums
    to 1 over the pixels inside the image (padding shows nothing, so no mass goes there). The 2-D
    weights are the outer product of two such columns (separable).
    """
    if sigma_fraction <= 0:
        raise ValueError(f"sigma_fraction must be positive, got {sigma_fraction}")
    centres = geometry.offset + geometry.stride * np.arange(n_units)
    distance = np.arange(n_pixels)[:, None] - centres[None, :]
    sigma = sigma_fraction * geometry.size
    weights = np.exp(-(distance**2) / (2 * sigma**2)) * (np.abs(distance) <= (geometry.size - 1) / 2 + 1e-9)
    column_sums = weights.sum(axis=0, keepdims=True)
    return weights / np.where(column_sums == 0, 1.0, column_sums)
