"""Hand-computed cases for every built-in metric, on one tiny drawn scene.

Scene (one 64x64 frame, P = 4096): a coin block C (rows 0-7, cols 0-7, 64 px) and the agent G
(rows 60-63, cols 60-63, 16 px) are the objects, so |S| = 80; a background block B (rows 32-39,
cols 32-39, 64 px). Features (positive attribution unless said):
  f0: 1 on C.
  f1: 1 on C and on B, 0.05 on G (below the 10% presence threshold).
  f2: all zero.
  f3: 2 on C, -1 on B (signed).
  f4: 1 on C, 4 on G (equal mass on coin and agent).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from interpbench.metrics import get
from interpbench.metrics.base import MetricError, checked_scores
from interpbench.metrics.testing import make_attribution, make_frames

P = 4096
C = (slice(0, 8), slice(0, 8))
G = (slice(60, 64), slice(60, 64))
B = (slice(32, 40), slice(32, 40))


@pytest.fixture(scope="module")
def scene():
    labels = np.zeros((1, 64, 64), dtype=np.int64)
    labels[0][C] = 2  # coin
    labels[0][G] = 1  # agent
    maps = np.zeros((1, 5, 64, 64), dtype=np.float32)
    maps[0, 0][C] = 1
    maps[0, 1][C], maps[0, 1][B], maps[0, 1][G] = 1, 1, 0.05
    maps[0, 3][C], maps[0, 3][B] = 2, -1
    maps[0, 4][C], maps[0, 4][G] = 1, 4
    return make_attribution(maps), make_frames(labels)


def scores(name: str, scene, **params) -> np.ndarray:
    attr, frames = scene
    metric = type(get(name))(**params) if params else get(name)
    return checked_scores(metric, attr, frames)


def test_raw_overlap(scene) -> None:
    # f1: present = C and B (G is at 5% of the peak), on objects = C: 64 px of 4096
    np.testing.assert_allclose(scores("raw-overlap", scene)[:3], [64 / P, 64 / P, 0])
    # a 1% presence threshold lets f1's agent pixels count too
    np.testing.assert_allclose(scores("raw-overlap", scene, threshold=0.01)[1], 80 / P)


def test_area_normalized(scene) -> None:
    np.testing.assert_allclose(scores("area-normalized", scene)[:5], [1, 0.5, 0, 1, 80 / 80])


def test_attribution_mass(scene) -> None:
    on, total = 64 + 16 * 0.05, 128 + 16 * 0.05
    np.testing.assert_allclose(scores("attribution-mass", scene)[:4], [1, on / total, 0, 1], rtol=1e-6)


def test_objects_of_interest_is_a_parameter(scene) -> None:
    # only the agent counts: f4 has 64 of its 128 mass units on it, f0 none
    np.testing.assert_allclose(scores("attribution-mass", scene, classes=("agent",))[[0, 4]], [0, 0.5])


def test_chance_corrected_overlap(scene) -> None:
    # f1: I = 64, |A| = 128, |S| = 80: chance 128*80/P, best min(128, 80) = 80
    chance = 128 * 80 / P
    expected = [1, (64 - chance) / (80 - chance), 0]
    np.testing.assert_allclose(scores("chance-corrected-overlap", scene)[:3], expected)


def test_chance_corrected_mass(scene) -> None:
    w = 128 + 16 * 0.05
    chance = w * 80 / P
    expected = [1, (64.8 - chance) / (w - chance), 0]
    np.testing.assert_allclose(scores("chance-corrected-mass", scene)[:3], expected, rtol=1e-6)


def test_chance_corrected_is_zero_at_chance() -> None:
    # uniform attribution over a frame is exactly what random placement gets
    labels = np.zeros((1, 64, 64), dtype=np.int64)
    labels[0, :16] = 3
    attr, frames = make_attribution(np.ones((1, 1, 64, 64))), make_frames(labels)
    for name in ("chance-corrected-mass", "chance-corrected-overlap"):
        np.testing.assert_allclose(checked_scores(get(name), attr, frames), [0.0], atol=1e-12)


def test_thresholded_saliency(scene) -> None:
    # k = ceil(5% of 4096) = 205: f0's 64 ones, then 141 places shared by the 4032 tied zeros,
    # 16 of which (the agent) are on objects
    f0 = (64 + 141 * 16 / 4032) / 205
    assert scores("thresholded-saliency", scene)[0] == pytest.approx(f0)
    # q = 64 / 4096: f0's top 64 pixels are C; q = 128 / 4096: f1's are C and B, half on objects
    assert scores("thresholded-saliency", scene, share=64 / P)[0] == pytest.approx(1)
    assert scores("thresholded-saliency", scene, share=128 / P)[1] == pytest.approx(0.5)


def test_pointing_game(scene) -> None:
    # f1's maximum is tied over C and B: half a hit; f2 is all zero: the mask's area share
    np.testing.assert_allclose(scores("pointing-game", scene)[:5], [1, 0.5, 80 / P, 1, 1])


def test_top_k_intersection(scene) -> None:
    f0 = (64 + 936 * 16 / 4032) / 1000
    assert scores("top-k-intersection", scene)[0] == pytest.approx(f0)
    np.testing.assert_allclose(scores("top-k-intersection", scene, k=64)[[0, 3]], [1, 1])


def test_relevance_mass_accuracy_and_attribution_localisation(scene) -> None:
    # f3: positive mass on objects 128 of a positive total 128 (the -64 off objects is not
    # relevance for the value); absolute 128 of 192. The signed form is refused (ill-conditioned).
    assert scores("relevance-mass-accuracy", scene)[3] == pytest.approx(1.0)
    assert scores("attribution-localisation", scene)[3] == pytest.approx(2 / 3)
    with pytest.raises(MetricError, match="ill-conditioned"):
        get("relevance-mass-accuracy[sign=signed]")


def test_object_consistency(scene) -> None:
    k = 8  # object classes: every class but background
    p = np.array([64, 0.8]) / 64.8
    f1 = 1 + (p * np.log(p)).sum() / math.log(k)
    expected = [1, f1, 0, 1, 1 - math.log(2) / math.log(k)]
    np.testing.assert_allclose(scores("object-consistency", scene), expected)


def test_mask_area_prior() -> None:
    # frame 0: 80 object pixels; frame 1: none. The feature has mass 1 in frame 0, 3 in frame 1.
    labels = np.zeros((2, 64, 64), dtype=np.int64)
    labels[0][C], labels[0][G] = 2, 1
    maps = np.zeros((2, 2, 64, 64), dtype=np.float32)
    maps[0, 0, 10, 10], maps[1, 0, 20, 20] = 1, 3
    scores = checked_scores(get("mask-area-prior"), make_attribution(maps), make_frames(labels))
    np.testing.assert_allclose(scores, [(80 / P * 1) / 4, 0])


def test_random_attribution_ignores_the_model() -> None:
    labels = np.zeros((8, 64, 64), dtype=np.int64)
    labels[:, :16] = 2  # a quarter of every frame is coin
    frames = make_frames(labels)
    rng = np.random.default_rng(1)
    a, b = (make_attribution(rng.normal(size=(8, 3, 64, 64))) for _ in range(2))
    first = checked_scores(get("random-attribution"), a, frames)
    np.testing.assert_array_equal(first, checked_scores(get("random-attribution"), b, frames))
    np.testing.assert_allclose(first, 0.25, atol=0.01)
    other_seed = checked_scores(type(get("random-attribution"))(seed=1), a, frames)
    assert not np.array_equal(first, other_seed)


def test_receptive_field_weighted_equal_weights() -> None:
    # size 2, stride 2, offset 0.5: unit (i, j) covers pixels 2i..2i+1 x 2j..2j+1 with equal
    # weights 1/4. Unit (3, 5) covers rows 6-7, cols 10-11; objects on row 6 of those: half.
    from interpbench.data.layers import LayerGeometry

    labels = np.zeros((1, 64, 64), dtype=np.int64)
    labels[0, 6, 10:12] = 4
    hidden = np.zeros((1, 2, 32, 32), dtype=np.float32)
    hidden[0, 0, 3, 5] = 2.0
    hidden[0, 1, 3, 5], hidden[0, 1, 20, 20] = 1.0, 3.0  # the second unit sees no object
    attr = make_attribution(np.zeros((1, 2, 64, 64)), hidden, LayerGeometry(size=2, stride=2, offset=0.5))
    metric = type(get("receptive-field-weighted"))(sigma_fraction=1.0)
    np.testing.assert_allclose(checked_scores(metric, attr, make_frames(labels)), [0.5, 0.5 / 4])
