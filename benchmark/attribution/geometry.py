"""Receptive-field geometry of hidden layers, and projection of hidden maps to input resolution.

Metrics compare feature maps with pixel masks, so hidden maps (32x32 for layer 2b) must be put
into the 64x64 input frame. The geometry is analytic: each layer (kernel k, stride s, padding p)
maps unit i to input-side centre ``i * s + (k - 1) / 2 - p``; composing layers gives
``LayerGeometry(size, stride, offset)``. For the clear CNN's 2b (conv 7x7 pad 3 -> L2-pool 2x2
-> conv 5x5 pad 2 -> conv 5x5 pad 2):

    layer          size  stride  offset
    1a conv 7x7      7     1      0
    L2-pool 2x2      8     2      0.5
    2a conv 5x5     16     2      0.5
    2b conv 5x5     24     2      0.5

so unit (i, j) of 2b is centred at input pixel (2i + 0.5, 2j + 0.5), the middle of the 2x2
pixel block it pools, and sees a 24x24 window.

Projection (:func:`project_to_input`): each unit's value is placed at its receptive-field centre
and linearly interpolated between neighbouring centres (clamped at the borders), separably in
rows and columns. For 2b this is bilinear 2x upsampling with half-pixel centres. The weights are
divided by the stride per axis so that every unit's weights sum to one: the projected map has
the same total as the hidden map, and attribution mass is preserved.
"""

from __future__ import annotations

import numpy as np

from interpbench.data.layers import LayerGeometry
from interpbench.infra.errors import ShapeError


def projection_matrix(geometry: LayerGeometry, hidden: int, size: int) -> np.ndarray:
    """(size, hidden) float64: linear interpolation between unit centres, columns summing to 1."""
    pixel_units = (np.arange(size) - geometry.offset) / geometry.stride  # pixel -> fractional unit
    pixel_units = np.clip(pixel_units, 0, hidden - 1)
    low = np.floor(pixel_units).astype(int)
    high = np.minimum(low + 1, hidden - 1)
    frac = pixel_units - low
    m = np.zeros((size, hidden))
    np.add.at(m, (np.arange(size), low), 1 - frac)
    np.add.at(m, (np.arange(size), high), frac)
    mass = m.sum(axis=0, keepdims=True)
    return np.divide(m, mass, out=np.zeros_like(m), where=mass > 0)  # a unit centred off-image gets none


def project_to_input(maps: np.ndarray, geometry: LayerGeometry, size: int = 64) -> np.ndarray:
    """float32 (N, F, size, size) from hidden maps (N, F, h, w), mass-preserving (see module doc)."""
    if maps.ndim != 4:
        raise ShapeError(f"hidden maps must be (N, F, h, w), got {maps.shape}")
    rows = projection_matrix(geometry, maps.shape[2], size)
    cols = projection_matrix(geometry, maps.shape[3], size)
    return np.einsum("ph,nfhw,qw->nfpq", rows, maps.astype(np.float64), cols, optimize=True).astype(np.float32)
