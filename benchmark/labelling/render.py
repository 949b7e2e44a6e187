"""Pictures of a trial as PNG bytes: frames, optionally with attribution overlaid as the gallery
draws it (``interpbench.attribution.gallery.overlay``: red raises the head's output, blue lowers
it, opacity sqrt(|a| / peak) per panel).

Why not the gallery's figures: those carry titles with frame indices, level seeds and the
checkpoint name, which a blinded rater must not see. Here the pixels alone are drawn (nearest
neighbour, upscaled), with Pillow, and the PNG carries no text chunks.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from PIL import Image

from interpbench.attribution.gallery import overlay

#: Upscaling of a 64x64 frame (nearest neighbour keeps the game's pixels sharp).
SCALE = 3
#: Pixels between panels of a grid.
GAP = 6
BACKGROUND = (255, 255, 255)


def panel(obs: np.ndarray, amap: np.ndarray | None = None) -> np.ndarray:
    """uint8 (64, 64, 3): the frame, with ``amap`` overlaid when given."""
    if amap is None:
        return np.asarray(obs, dtype=np.uint8)
    return (overlay(obs, amap) * 255).round().astype(np.uint8)


def png(image: np.ndarray, scale: int = SCALE) -> bytes:
    """One uint8 (H, W, 3) image, upscaled, as PNG bytes."""
    big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
    buffer = io.BytesIO()
    Image.fromarray(big).save(buffer, format="PNG", compress_level=1)  # fast; pictures are small
    return buffer.getvalue()


def grid(panels: Sequence[np.ndarray], cols: int, gap: int = GAP, scale: int = SCALE) -> np.ndarray:
    """uint8 image of ``panels`` (each (h, w, 3)) in rows of ``cols``, upscaled, white gaps."""
    if not panels:
        raise ValueError("no panels to draw")
    h, w = panels[0].shape[0] * scale, panels[0].shape[1] * scale
    cols = max(1, min(cols, len(panels)))
    rows = -(-len(panels) // cols)
    out = np.empty((rows * h + (rows - 1) * gap, cols * w + (cols - 1) * gap, 3), dtype=np.uint8)
    out[:] = BACKGROUND
    for k, image in enumerate(panels):
        r, c = divmod(k, cols)
        big = np.repeat(np.repeat(image, scale, axis=0), scale, axis=1)
        out[r * (h + gap): r * (h + gap) + h, c * (w + gap): c * (w + gap) + w] = big
    return out


def grid_png(panels: Sequence[np.ndarray], cols: int) -> bytes:
    """:func:`grid` as PNG bytes."""
    return png(grid(panels, cols), scale=1)
