"""The analytic receptive field of the clear CNN's layer 2b, composed from its layer list
(``interpbench.attribution.geometry``) and checked against the gradient support of a real 2b unit; and the
Gaussian effective-receptive-field weights of ``receptive-field-weighted``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interpbench.agents.models import ClearCNN, l2_pool
from interpbench.data.layers import ANALYSED_LAYER, CONV_LAYERS, POOLED, LayerGeometry, clear_cnn_specs, compose
from interpbench.metrics import get
from interpbench.metrics.base import checked_scores
from interpbench.metrics.receptive_field import unit_weights
from interpbench.metrics.testing import CLEAR_CNN_2B, make_attribution, make_frames


def test_clear_cnn_2b_receptive_field_from_layer_list() -> None:
    assert clear_cnn_specs(ANALYSED_LAYER) == [(7, 1, 3), (2, 2, 0), (5, 1, 2), (5, 1, 2)]
    assert compose(clear_cnn_specs(ANALYSED_LAYER)) == LayerGeometry(size=24, stride=2, offset=0.5)
    assert CLEAR_CNN_2B == compose(clear_cnn_specs(ANALYSED_LAYER))


def test_receptive_field_is_the_gradient_support_of_a_2b_unit() -> None:
    torch.manual_seed(0)
    model = ClearCNN()
    with torch.no_grad():  # large biases keep every ReLU open, so the support is the whole field
        for name, *_ in CONV_LAYERS:
            model.get_submodule(name).conv.bias.fill_(10.0)
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    h = x
    for name, *_ in CONV_LAYERS:
        h = model.get_submodule(name)(h)
        if name == ANALYSED_LAYER:
            break
        if name in POOLED:
            h = l2_pool(h)
    i, j = 12, 9
    h[0, :, i, j].sum().backward()
    rows, cols = np.nonzero(x.grad[0].abs().sum(0).numpy())
    geometry = compose(clear_cnn_specs(ANALYSED_LAYER))
    half = (geometry.size - 1) / 2
    centre_i, centre_j = geometry.offset + geometry.stride * i, geometry.offset + geometry.stride * j
    assert (rows.min(), rows.max()) == (centre_i - half, centre_i + half)
    assert (cols.min(), cols.max()) == (centre_j - half, centre_j + half)


def test_unit_weights_gaussian_inside_the_field_and_normalized_in_the_image() -> None:
    w = unit_weights(CLEAR_CNN_2B, 32, 64, sigma_fraction=0.25)
    np.testing.assert_allclose(w.sum(axis=0), 1.0)
    # unit 16 is centred at 32.5: field = pixels 21..44, Gaussian with sigma 6
    support = np.flatnonzero(w[:, 16])
    assert (support[0], support[-1]) == (21, 44)
    expected = np.exp(-((np.arange(21, 45) - 32.5) ** 2) / (2 * 6.0**2))
    np.testing.assert_allclose(w[21:45, 16], expected / expected.sum())
    # unit 0 (centre 0.5) keeps all its mass in the image: pixels 0..12
    assert np.flatnonzero(w[:, 0]).tolist() == list(range(13))


@pytest.mark.parametrize("left_columns, expected", [(33, 0.5), (64, 1.0), (20, 0.0)])
def test_receptive_field_weighted_centre_unit(left_columns: int, expected: float) -> None:
    # one active 2b unit at (16, 16), centred at pixel (32.5, 32.5); objects fill the columns
    # left of ``left_columns``: symmetric about the centre for 33 (half), all or none of the field
    labels = np.zeros((1, 64, 64), dtype=np.int64)
    labels[0, :, :left_columns] = 7
    hidden = np.zeros((1, 1, 32, 32), dtype=np.float32)
    hidden[0, 0, 16, 16] = 1.0
    attr = make_attribution(np.zeros((1, 1, 64, 64)), hidden)
    scores = checked_scores(get("receptive-field-weighted"), attr, make_frames(labels))
    np.testing.assert_allclose(scores, [expected], atol=1e-12)
