"""Each item's frames, chosen and drawn once when the study starts.

2AFC (as IMI, Zimmermann et al. 2023): the ``references`` frames where the feature is strongest,
attribution overlaid; then two query frames without overlay, one drawn from the next
``query_pool`` strongest frames and one from the ``query_pool`` weakest. The rater picks the one
where the feature is stronger. Strength is the gallery's: peak |attribution| at the layer's own
resolution (``interpbench.attribution.gallery.feature_strength``).

Rating (as Hilton et al. 2020): the ``examples`` strongest frames, attribution overlaid.

Catch items: a *mask* feature is exactly one object class's mask (strength: that class's area;
the weaker query shows no pixel of the class), a *noise* feature is signed Gaussian noise on
random frames. Which frames an item shows is seeded by the study seed and the item alone, so every
rater sees the same pictures for the same item and a resumed study shows what it showed before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from interpbench.attribution.gallery import feature_strength
from interpbench.labelling import render
from interpbench.labelling.plan import CatchItem, FeatureItem, Item, stable_seed
from interpbench.labelling.sources import Materials
from interpbench.labelling.study import Study, StudyError

#: Panels per row in the reference and example grids.
COLUMNS = 4


@dataclass(frozen=True)
class PreparedItem:
    """An item's pictures and what they were drawn from.

    images: PNG bytes; 2AFC: ``reference``, ``stronger``, ``weaker`` (the session puts the two
            queries on sides A and B per rater); rating: ``examples``.
    shown:  frame indices of the overlaid panels; ``maps``: (k, 64, 64) the maps overlaid on them
            (what a scripted rater may look at, as a person looks at the pictures).
    """

    item: Item
    images: Mapping[str, bytes]
    shown: np.ndarray
    maps: np.ndarray


def _overlaid(materials: Materials, shown: np.ndarray, maps: np.ndarray) -> bytes:
    panels = [render.panel(materials.frames.obs[i], m) for i, m in zip(shown, maps)]
    return render.grid_png(panels, COLUMNS)


def _plain(materials: Materials, index: int) -> bytes:
    return render.png(render.panel(materials.frames.obs[index]))


def _prepare_feature(study: Study, materials: Materials, item: FeatureItem, strength: np.ndarray) -> PreparedItem:
    attr = materials.attributions[item.checkpoint]
    order = np.argsort(-strength[:, item.feature], kind="stable")
    rng = np.random.default_rng(stable_seed(study.seed, "queries", item.checkpoint, item.feature))
    if item.trial_type == "rating":
        shown = order[: study.examples]
        maps = np.asarray(attr.maps[shown, item.feature])
        return PreparedItem(item, {"examples": _overlaid(materials, shown, maps)}, shown, maps)
    shown = order[: study.references]
    maps = np.asarray(attr.maps[shown, item.feature])
    stronger = int(rng.choice(order[study.references: study.references + study.query_pool]))
    weaker = int(rng.choice(order[-study.query_pool:]))
    images = {"reference": _overlaid(materials, shown, maps), "stronger": _plain(materials, stronger),
              "weaker": _plain(materials, weaker)}
    return PreparedItem(item, images, shown, maps)


def _prepare_synthetic(study: Study, materials: Materials, item: CatchItem) -> PreparedItem:
    frames = materials.frames
    rng = np.random.default_rng(stable_seed(study.seed, "catch", item.index, item.kind, item.cls, item.trial_type))
    k = study.references if item.trial_type == "2afc" else study.examples
    if item.kind == "noise":
        shown = np.sort(rng.choice(len(frames), size=min(k, len(frames)), replace=False))
        maps = rng.standard_normal((len(shown), *frames.obs.shape[1:3])).astype(np.float32)
        return PreparedItem(item, {"examples": _overlaid(materials, shown, maps)}, shown, maps)
    area = frames.masks[:, frames.class_index(item.cls)].sum(axis=(1, 2))
    present = np.argsort(-area, kind="stable")[: int((area > 0).sum())]
    absent = np.flatnonzero(area == 0)
    need = k + (1 if item.trial_type == "2afc" else 0)
    if len(present) < need or (item.trial_type == "2afc" and len(absent) == 0):
        raise StudyError(f"study {study.name}: catch class {item.cls!r} is in {len(present)} of {len(frames)} frames "
                         f"and missing from {len(absent)}; a catch trial needs it in at least {need} and missing from "
                         "at least one (choose other catch classes)")
    candidates = present[: max(need, min(len(present), 2 * need))]
    picked = rng.choice(candidates, size=need, replace=False)
    shown = np.sort(picked[:k])
    maps = frames.masks[shown, frames.class_index(item.cls)].astype(np.float32)
    if item.trial_type == "rating":
        return PreparedItem(item, {"examples": _overlaid(materials, shown, maps)}, shown, maps)
    images = {"reference": _overlaid(materials, shown, maps), "stronger": _plain(materials, int(picked[k])),
              "weaker": _plain(materials, int(rng.choice(absent)))}
    return PreparedItem(item, images, shown, maps)


def check_materials(study: Study, materials: Materials) -> None:
    """Refuse materials the study cannot use: features, head or frames other than it asks for."""
    for name, attr in materials.attributions.items():
        if attr.n_features != study.n_features or attr.head != study.head:
            raise StudyError(f"study {study.name} asks for {study.n_features} features of the {study.head} head; "
                             f"{name} has {attr.n_features} of the {attr.head} head")
    if len(materials.frames) < study.needs_frames or len(materials.frames) < study.examples:
        raise StudyError(f"study {study.name} needs at least {max(study.needs_frames, study.examples)} frames "
                         f"(references + 2 query pools, or examples); the FrameSet has {len(materials.frames)}")
    missing = [c for c in study.catch_classes if c not in materials.frames.classes]
    if missing:
        raise StudyError(f"study {study.name}: catch classes {missing} are not mask classes of the FrameSet "
                         f"({list(materials.frames.classes)})")


def prepare_items(study: Study, materials: Materials, items: list[Item]) -> dict[Item, PreparedItem]:
    """Every item's pictures, in memory."""
    check_materials(study, materials)
    strengths = {name: feature_strength(attr) for name, attr in materials.attributions.items()}
    prepared: dict[Item, PreparedItem] = {}
    for item in items:
        if item in prepared:
            continue
        if isinstance(item, FeatureItem):
            prepared[item] = _prepare_feature(study, materials, item, strengths[item.checkpoint])
        else:
            prepared[item] = _prepare_synthetic(study, materials, item)
    return prepared
