"""Build small AttributionSet / FrameSet pairs from numpy arrays, for metric tests and plugins.

A metric test wants a hand-drawn case ("all attribution on the coin") without an environment,
a model or files; this builds the two data objects around given maps and a class label image,
with dummy observations and states. Numpy only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import MASK_CLASSES, FrameSet
from interpbench.data.layers import LayerGeometry, clear_cnn_geometry
from interpbench.metrics.maps import object_mask

#: Receptive field of the clear CNN's layer 2b, the analysed layer.
CLEAR_CNN_2B = clear_cnn_geometry("2b")


def make_frames(labels: np.ndarray, classes: Sequence[str] = MASK_CLASSES) -> FrameSet:
    """A FrameSet whose masks are the one-hot encoding of ``labels`` (N, 64, 64), class indices."""
    labels = np.asarray(labels)
    classes = tuple(classes)
    masks = labels[:, None, :, :] == np.arange(len(classes))[None, :, None, None]
    n = len(labels)
    return FrameSet(
        obs=np.zeros((n, 64, 64, 3), dtype=np.uint8),
        masks=masks,
        classes=classes,
        level_seeds=np.arange(n, dtype=np.int64),
        states=[b"test"] * n,
        provenance={"made_by": "interpbench.metrics.testing"},
    )


def make_attribution(
    maps: np.ndarray,
    hidden: np.ndarray | None = None,
    geometry: LayerGeometry = CLEAR_CNN_2B,
) -> AttributionSet:
    """An AttributionSet around ``maps`` (N, F, 64, 64); ``hidden`` defaults to zeros (N, F, 32, 32)."""
    maps = np.asarray(maps, dtype=np.float32)
    n, f = maps.shape[:2]
    if hidden is None:
        hidden = np.zeros((n, f, 32, 32), dtype=np.float32)
    return AttributionSet(
        maps=maps,
        hidden=np.asarray(hidden, dtype=np.float32),
        layer="2b",
        head="value",
        method={"name": "test"},
        components=np.eye(f, dtype=np.float32),
        geometry=geometry,
    )


def random_case(
    n: int, f: int, seed: int = 0, classes: Sequence[str] = MASK_CLASSES
) -> tuple[AttributionSet, FrameSet]:
    """Random signed maps and hidden maps with random rectangles of random classes on each frame."""
    rng = np.random.default_rng(seed)
    maps = rng.normal(size=(n, f, 64, 64)).astype(np.float32)
    hidden = rng.normal(size=(n, f, 32, 32)).astype(np.float32)
    labels = np.zeros((n, 64, 64), dtype=np.int64)
    for i in range(n):  # a handful of rectangles per frame: test-data set-up, not metric code
        for _ in range(6):
            y, x = rng.integers(0, 56, size=2)
            h, w = rng.integers(2, 9, size=2)
            labels[i, y : y + h, x : x + w] = rng.integers(1, len(classes))
    return make_attribution(maps, hidden), make_frames(labels, classes)


def quantus_scores(class_name: str, attr: AttributionSet, frames: FrameSet) -> np.ndarray:
    """float64 (N, F): Quantus 0.6.0's ``class_name`` with its defaults on every (frame, feature)
    map, through its public call (the reference the Quantus-equivalent metrics are tested and
    timed against). Needs the ``dev`` extra; objects are every class but background."""
    import warnings

    import quantus

    n, f = attr.maps.shape[:2]
    a = attr.maps.reshape(n * f, 1, 64, 64)
    s = np.repeat(object_mask(frames).reshape(n, 1, 64, 64), f, axis=0).astype(np.float32)
    metric = getattr(quantus, class_name)(disable_warnings=True, display_progressbar=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = metric(
            model=None, x_batch=np.zeros_like(a), y_batch=np.zeros(n * f, dtype=int), a_batch=a, s_batch=s, batch_size=256
        )
    return np.asarray(result, dtype=np.float64).reshape(n, f)
