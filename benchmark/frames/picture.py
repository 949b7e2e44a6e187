"""A PNG contact sheet of a FrameSet: frames beside their colour-coded class masks.

The quickest human check that masks line up with what the agent sees, so ``interpbench frames
--picture`` writes one next to every set it builds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from interpbench.data.frameset import FrameSet
from interpbench.infra import atomic

#: One fixed colour per mask class (RGB 0-255), so pictures of different sets compare at a glance.
CLASS_COLOURS: dict[str, tuple[int, int, int]] = {
    "background": (40, 40, 40),
    "agent": (230, 60, 60),
    "coin": (250, 210, 30),
    "enemy": (170, 70, 210),
    "saw": (245, 245, 245),
    "lava": (255, 120, 0),
    "crate": (150, 100, 50),
    "wall": (120, 170, 200),
    "vel_info": (90, 220, 120),
}


def colour_masks(frames: FrameSet, index: np.ndarray) -> np.ndarray:
    """uint8 (k, 64, 64, 3): each pixel painted in the colour of its class."""
    palette = np.array([CLASS_COLOURS[c] for c in frames.classes], dtype=np.uint8)
    return palette[frames.masks[index].argmax(axis=1)]


def _rgb(colour: tuple[int, int, int]) -> tuple[float, float, float]:
    """A 0-255 colour as matplotlib's 0-1 triple."""
    red, green, blue = colour
    return red / 255, green / 255, blue / 255


def save_picture(frames: FrameSet, path: str | Path, count: int = 16, columns: int = 4) -> Path:
    """Write a grid of ``count`` evenly spaced frames, each beside its mask, with a legend."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from matplotlib.patches import Patch

    path = Path(path)
    index = np.unique(np.linspace(0, len(frames) - 1, min(count, len(frames))).round().astype(int))
    painted = colour_masks(frames, index)
    rows = -(-len(index) // columns)
    fig, axes = plt.subplots(rows, 2 * columns, figsize=(2 * columns * 1.6, rows * 1.75), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for k, i in enumerate(index):
        r, c = divmod(k, columns)
        axes[r, 2 * c].imshow(frames.obs[i], interpolation="nearest")
        axes[r, 2 * c].set_title(f"#{i} level {frames.level_seeds[i]}", fontsize=6)
        axes[r, 2 * c + 1].imshow(painted[k], interpolation="nearest")
    legend = [Patch(color=_rgb(CLASS_COLOURS[c]), label=c) for c in frames.classes]
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    with atomic.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=110)
    plt.close(fig)
    return path
