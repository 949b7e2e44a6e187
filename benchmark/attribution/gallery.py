"""Feature gallery: for each NMF feature, the frames where it is strongest, attribution overlaid.

Human labellers judge a feature ("does it track coins?") from examples, and reports show the
same pictures, so both read one directory:

* ``feature_<f>.png``: the top-k frames of feature f, each with its attribution overlaid (red:
  the feature raises the head's output there, blue: lowers it). Opacity is sqrt(|a| / peak),
  scaled per panel: peaks differ by orders of magnitude between a feature's top frames, and a
  shared scale leaves all but the first panel blank; each title gives the peak to compare;
* ``overview.png``: one row per feature, its top frames, for reports;
* ``gallery.json``: which frames were shown, with level seeds and strengths, and provenance.

A feature's strength in a frame is its peak |attribution| over positions at the layer's own
resolution: features are spatially local, and a peak picks the frames a labeller can read most
easily, as the article's thumbnails do (they rank frames by a feature's maximum).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.infra import atomic
from interpbench.infra.errors import ShapeError

POSITIVE = np.array([1.0, 0.1, 0.1])
NEGATIVE = np.array([0.1, 0.3, 1.0])
MAX_OPACITY = 0.85


def feature_strength(attr: AttributionSet) -> np.ndarray:
    """(N, F): peak |attribution| of each feature in each frame."""
    return np.abs(attr.hidden).max(axis=(2, 3))


def top_frames(attr: AttributionSet, k: int = 8) -> np.ndarray:
    """(F, k') frame indices, strongest first, k' = min(k, N); ties broken by frame index."""
    strength = feature_strength(attr)
    order = np.argsort(-strength, axis=0, kind="stable")
    return order[: min(k, attr.n_frames)].T


def overlay(obs: np.ndarray, amap: np.ndarray) -> np.ndarray:
    """float (H, W, 3) in [0, 1]: the frame with a signed map blended in, opacity
    sqrt(|map| / max |map|) (the square root keeps weaker parts of the map visible)."""
    peak = np.abs(amap).max()
    alpha = MAX_OPACITY * np.sqrt(np.abs(amap) / (peak if peak > 0 else 1.0))[..., None]
    colour = np.where(amap[..., None] >= 0, POSITIVE, NEGATIVE)
    return np.clip(obs.astype(np.float64) / 255 * (1 - alpha) + colour * alpha, 0, 1)


def _panel(ax: Any, image: np.ndarray, title: str) -> None:
    ax.imshow(image, interpolation="nearest")
    ax.set_title(title, fontsize=7)
    ax.set_axis_off()


def _save(fig: Figure, path: Path) -> None:
    with atomic.atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=100, format="png")


def write_gallery(attr: AttributionSet, frames: FrameSet, out_dir: str | Path, k: int = 8) -> list[Path]:
    """Write the gallery of ``attr`` (computed on ``frames``) into ``out_dir``; returns the files."""
    if attr.n_frames != len(frames):
        raise ShapeError(f"AttributionSet has {attr.n_frames} frames but the FrameSet has {len(frames)}")
    out = Path(out_dir)
    top = top_frames(attr, k)
    strength = feature_strength(attr)
    written: list[Path] = []
    cols = top.shape[1]
    overview = Figure(figsize=(1.3 * cols, 1.4 * attr.n_features))
    axes = overview.subplots(attr.n_features, cols, squeeze=False)
    index: list[dict[str, Any]] = []
    for f, picked in enumerate(top):
        fig = Figure(figsize=(2.2 * min(cols, 4), 2.7 * -(-cols // 4)))
        grid = fig.subplots(-(-cols // 4), min(cols, 4), squeeze=False).ravel()
        for slot, i in enumerate(picked):
            image = overlay(frames.obs[i], attr.maps[i, f])
            _panel(grid[slot], image, f"frame {i}  seed {frames.level_seeds[i]}\npeak {strength[i, f]:.3g}")
            _panel(axes[f, slot], image, f"f{f} #{i}")
        for ax in grid[len(picked) :]:
            ax.set_axis_off()
        title = f"{attr.meta.get('checkpoint', '')} feature {f} ({attr.head} head, layer {attr.layer})"
        fig.suptitle(title, fontsize=9)
        fig.tight_layout()
        _save(fig, out / f"feature_{f}.png")
        written.append(out / f"feature_{f}.png")
        index.append(
            {
                "feature": f,
                "image": f"feature_{f}.png",
                "frames": picked.tolist(),
                "level_seeds": frames.level_seeds[picked].tolist(),
                "peak": strength[picked, f].tolist(),
                "component": attr.components[f].tolist(),
            }
        )
    overview.tight_layout()
    _save(overview, out / "overview.png")
    atomic.write_json(
        out / "gallery.json",
        {
            "checkpoint": attr.meta.get("checkpoint"),
            "checkpoint_sha256": attr.meta.get("checkpoint_sha256"),
            "frames_sha256": frames.content_hash(),
            "head": attr.head,
            "layer": attr.layer,
            "method": attr.method,
            "strength": "peak |attribution| over positions of the feature map at the layer's resolution",
            "colours": "red: raises the head's output; blue: lowers it",
            "features": index,
        },
    )
    return [*written, out / "overview.png", out / "gallery.json"]
