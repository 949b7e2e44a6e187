"""Object dependence: how much of each NMF feature's attribution goes when an object class is hidden.

The basis is held *fixed* (a ``FeatureBasis``, normally the checkpoint's own, from its ordinary
attribution): re-fitting NMF on the edited frames would let the features themselves move, and a
drop would then mix "the feature lost its input" with "the feature is now another one".

A feature's attribution on a frame is its attribution mass, the sum over layer-2b positions of
the absolute value of its signed feature map (value head, integrated gradients, as the scoring
attributions). Only frames whose re-render differs are attributed again: an unchanged frame is
the same input, so its drop is exactly zero. (Changed frames are attributed in other batches
than the originals; torch's batched convolutions then differ in the last bits, about 1e-8 of a
mass, far below any drop reported.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from interpbench.agents.models import ClearCNN
from interpbench.attribution.attribute import layer_attributions
from interpbench.attribution.features import FeatureBasis
from interpbench.data.frameset import FrameSet
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar
from interpbench.interventions.hiding import Hider, check_classes, parts_of


def feature_mass(model: ClearCNN, obs: np.ndarray, basis: FeatureBasis, *, layer: str = "2b") -> np.ndarray:
    """float64 (N, F): each feature's attribution mass on each frame, the basis held fixed."""
    if len(obs) == 0:
        return np.zeros((0, basis.n_features))
    maps = basis.transform(layer_attributions(model, obs, layer=layer))
    return np.abs(maps.astype(np.float64)).sum(axis=(2, 3))


@dataclass(frozen=True)
class ObjectDependence:
    """Per-frame drops of every feature's attribution mass when each class is hidden.

    base:    float64 (N, F) attribution mass on the original frames
    drops:   float64 (C, N, F) base minus the mass with class c hidden (0 where nothing changed)
    changed: bool (C, N) whether hiding class c changed frame n at all
    parts, part_drops: the same drops for the parts of the classes that can be hidden apart
             (``hiding.CLASS_PARTS``: wall surfaces and interiors), (P, N, F); never in ``classes``
    """

    classes: tuple[str, ...]
    base: np.ndarray
    drops: np.ndarray
    changed: np.ndarray
    level_seeds: np.ndarray  # int64 (N,), for splitting frames by level
    parts: tuple[str, ...] = ()
    part_drops: np.ndarray | None = None

    @property
    def n_features(self) -> int:
        return self.base.shape[1]


def object_dependence(
    model: ClearCNN,
    frames: FrameSet,
    basis: FeatureBasis,
    classes: Sequence[str] | None = None,
    *,
    hider: Hider | None = None,
    progress: bool = False,
) -> ObjectDependence:
    """Hide each of ``classes`` (default: every class of the FrameSet) in turn and measure the drops."""
    names = check_classes(frames, tuple(frames.classes) if classes is None else tuple(classes))
    hider = hider if hider is not None else Hider(frames)
    if hider.frames is not frames:
        raise InterpbenchError("the Hider was made for another FrameSet")
    parts = parts_of(names)
    base = feature_mass(model, frames.obs, basis)
    drops = np.zeros((len(names) + len(parts), *base.shape))
    changed = np.zeros((len(names) + len(parts), len(frames)), bool)
    with progress_bar(total=len(drops), desc="hide", unit="class", enabled=progress) as bar:
        for c, name in enumerate(names + parts):
            hidden = hider.hide(name)
            changed[c] = hidden.changed
            drops[c, hidden.changed] = base[hidden.changed] - feature_mass(model, hidden.obs[hidden.changed], basis)
            bar.update()
    n = len(names)
    return ObjectDependence(names, base, drops[:n], changed[:n], np.asarray(frames.level_seeds, np.int64),
                            parts, drops[n:])
