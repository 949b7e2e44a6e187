"""Analytic receptive fields and their Gaussian effective-receptive-field weights.

Composing layers (Network Dissection's rule, for a layer with kernel k, stride s, padding q on
top of a stack with size r, step j and offset o):

    r' = r + (k - 1) * j,   j' = j * s,   o' = o + ((k - 1) / 2 - q) * j

where o is the input coordinate (pixel centres at 0, 1, ...) of the centre of unit 0. For the
clear CNN's layer 2b (conv7 pad 3, L2 pool 2, conv5 pad 2, conv5 pad 2) this gives size 24,
stride 2, offset 0.5: unit (i, j) looks at a 24 x 24 window centred between pixels 2i and 2i+1.

Luo et al. (2016) found that a unit's *effective* receptive field is roughly Gaussian and much
narrower than the analytic one, so input pixels are weighted by a Gaussian around the centre,
cut off at the analytic field's edge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from benchmark.attribution_set import LayerGeometry


def compose(layers: Sequence[tuple[int, int, int]]) -> LayerGeometry:
    """Receptive field of the top of ``layers``, each (kernel, stride, padding), first layer first."""
    size, step, offset = 1, 1, 0.0
    for kernel, stride, padding in layers:
        size += (kernel - 1) * step
        offset += ((kernel - 1) / 2 - padding) * step
        step *= stride
    return LayerGeometry(size=size, stride=step, offset=offset)


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
