"""Per-class attribution enrichment: how much more attribution a class of object gets than its
area alone would give it.

The overlap metrics score the union of all object classes, and in CoinRun walls cover far more
of the screen than the coin, enemies, saws and crates together, so a union score mostly says how
an agent attends to walls. Splitting by class shows where attribution really lands, and the
same figure with every frame's masks mirrored left-right (the maps stay put) is its control: a
map aligned with the objects loses its enrichment when the masks move, one that is not keeps it.
"""

from __future__ import annotations

import numpy as np

from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.infra.errors import ShapeError


def class_enrichment(maps: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """(C,) mean over frames of a class's share of attribution, divided by its mean share of area.

    maps: (N, F, H, W) attribution; each frame's saliency is the sum of |map| over features,
    normalised to 1 per frame (a frame with no attribution counts as uniform).
    masks: (N, C, H, W) one-hot class masks. A class absent from every frame gets NaN.
    1 means "attended in proportion to its area"; above 1, attended more.
    """
    if maps.ndim != 4 or masks.ndim != 4 or maps.shape[0] != masks.shape[0] or maps.shape[2:] != masks.shape[2:]:
        raise ShapeError(f"maps (N, F, H, W) and masks (N, C, H, W) must agree in N, H, W; got {maps.shape}, {masks.shape}")
    saliency = np.abs(maps).sum(axis=1, dtype=np.float64)
    total = saliency.sum(axis=(1, 2), keepdims=True)
    pixels = saliency.shape[1] * saliency.shape[2]
    share = np.divide(saliency, total, out=np.full_like(saliency, 1.0 / pixels), where=total > 0)
    flat_masks = masks.reshape(masks.shape[0], masks.shape[1], -1).astype(np.float64)
    mass = np.einsum("ncp,np->c", flat_masks, share.reshape(share.shape[0], -1)) / len(share)
    area = flat_masks.mean(axis=(0, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(area > 0, mass / area, np.nan)


def enrichment_table(attr: AttributionSet, frames: FrameSet) -> dict[str, dict[str, float]]:
    """Per class: enrichment with the frames' own masks and with the masks mirrored left-right."""
    own = class_enrichment(attr.maps, frames.masks)
    mirrored = class_enrichment(attr.maps, frames.masks[..., ::-1])
    return {name: {"own": float(a), "mirrored": float(b)} for name, a, b in zip(frames.classes, own, mirrored)}
