"""Metrics for the synthetic zoo, loaded as a plugin file (so they are never counted as built-ins).

Their behaviour on the synthetic zoo is known by construction (``tests/synthetic_zoo.py``):
``synthetic-overlap`` ranks checkpoints exactly by their planted quality, ``synthetic-distance``
is the same with lower-is-better, and ``synthetic-noise`` carries no information.
"""

import hashlib

import numpy as np

from interpbench.metrics.registry import register


def _overlap(attr, frames):
    """(F,) share of |attribution| inside the object mask, over all frames."""
    mass = np.abs(attr.maps)
    inside = (mass * frames.object_mask()[:, None]).sum(axis=(0, 2, 3))
    return inside / mass.sum(axis=(0, 2, 3))


@register("synthetic-overlap")
class SyntheticOverlap:
    """Share of attribution mass on objects."""

    higher_is_better = True

    def score(self, attr, frames):
        return _overlap(attr, frames)


@register("synthetic-distance")
class SyntheticDistance:
    """Share of attribution mass off objects (lower is better)."""

    higher_is_better = False

    def score(self, attr, frames):
        return 1.0 - _overlap(attr, frames)


@register("synthetic-noise")
class SyntheticNoise:
    """A deterministic score unrelated to what the maps show."""

    higher_is_better = True

    def score(self, attr, frames):
        seed = int.from_bytes(hashlib.sha256(attr.maps[:, :, :2, :2].tobytes()).digest()[:4], "little")
        return np.random.default_rng(seed).random(attr.n_features)
