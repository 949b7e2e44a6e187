"""Receptive-field geometry of the clear CNN, checked against gradients, and the projection of
hidden maps to input resolution."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interpbench.agents.models import ClearCNN
from interpbench.attribution.geometry import project_to_input, projection_matrix
from interpbench.data.layers import LayerGeometry, clear_cnn_geometry, compose
from interpbench.infra.errors import InterpbenchError


def test_layer_2b_geometry() -> None:
    assert clear_cnn_geometry("1a") == LayerGeometry(7, 1, 0.0)
    assert clear_cnn_geometry("2a") == LayerGeometry(16, 2, 0.5)
    assert clear_cnn_geometry() == LayerGeometry(24, 2, 0.5)
    assert compose([(3, 1, 1), (2, 2, 0), (3, 2, 0)]) == LayerGeometry(8, 4, 2.5)
    with pytest.raises(InterpbenchError):
        clear_cnn_geometry("5z")


def test_geometry_matches_the_gradient_support_of_a_unit() -> None:
    """With positive weights every unit is active, so the input pixels a 2b unit's gradient
    reaches are exactly its receptive field."""
    model = ClearCNN()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(0.01)
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    i, j = 10, 13
    model.forward_to("2b", x)[0, 0, i, j].backward()
    rows, cols = np.nonzero(x.grad[0].abs().sum(0).numpy())
    geom = clear_cnn_geometry()
    for idx, hit in ((i, rows), (j, cols)):
        centre = geom.offset + idx * geom.stride
        assert hit.min() == centre - (geom.size - 1) / 2 and hit.max() == centre + (geom.size - 1) / 2


def test_projection_preserves_mass_and_centres() -> None:
    geom = clear_cnn_geometry()
    m = projection_matrix(geom, 32, 64)
    assert np.allclose(m.sum(axis=0), 1.0)
    centroids = (np.arange(64)[:, None] * m).sum(axis=0)
    assert np.allclose(centroids[1:-1], geom.offset + geom.stride * np.arange(1, 31))
    hidden = np.random.default_rng(0).normal(size=(2, 3, 32, 32)).astype(np.float32)
    maps = project_to_input(hidden, geom)
    assert maps.shape == (2, 3, 64, 64)
    assert np.allclose(maps.sum(axis=(2, 3)), hidden.sum(axis=(2, 3)), atol=1e-4)
    flat = project_to_input(np.ones((1, 1, 32, 32), np.float32), geom)
    assert np.allclose(flat, 0.25)  # one unit per 2x2 pixels
    # For 2b the projection is bilinear 2x upsampling with half-pixel centres, divided by 4.
    bilinear = torch.nn.functional.interpolate(torch.from_numpy(hidden), scale_factor=2, mode="bilinear")
    assert np.allclose(maps, bilinear.numpy() / 4, atol=1e-6)
