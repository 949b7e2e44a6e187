"""What every checkpoint is scored on besides the whole frame set: resamples, area bins, controls.

Every reweighting of the frames is a row of counts over them, ``weights`` (R, N): the full set
(all ones), each bootstrap replicate (how often it drew each frame) and each area bin (0/1). A
frame-additive metric scores all rows with one call (``metrics.base.weighted_scores``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from interpbench.data.frameset import FrameSet
from interpbench.metrics.maps import object_area_share


def resample_indices(n_frames: int, n_replicates: int, seed: int) -> np.ndarray:
    """int (B, N): frame indices of each bootstrap replicate, drawn with replacement.

    Drawn once from the seed and shared by all checkpoints, so replicate ``b`` compares every
    checkpoint on the same frames, as the full-sample correlation does."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    return rng.integers(0, n_frames, size=(n_replicates, n_frames))


def shuffled_masks(frames: FrameSet, seed: int) -> FrameSet:
    """The frames with every frame's masks moved to another frame: a random permutation that is
    a single cycle, so no frame keeps its own masks."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    order = rng.permutation(len(frames))
    source = np.empty_like(order)
    source[order] = np.roll(order, 1)  # frame order[i] gets the masks of frame order[i-1]
    return frames.with_masks(frames.masks[source])


def area_bins(frames: FrameSet, k: int) -> tuple[list[np.ndarray], np.ndarray]:
    """K bins of frames by object area (non-background share), and each bin's mean area."""
    area = object_area_share(frames)
    bins = np.array_split(np.argsort(area, kind="stable"), k)
    return bins, np.array([area[b].mean() for b in bins])


@dataclass
class Plan:
    """The reweightings of one frame set: row 0 the full set, then B replicates, then K bins."""

    weights: np.ndarray  # (1 + B + K, N)
    n_bootstrap: int
    bin_area: np.ndarray  # (K,)
    shuffled: FrameSet

    @classmethod
    def make(cls, frames: FrameSet, n_bootstrap: int, n_bins: int, seed: int) -> Plan:
        n = len(frames)
        boot = np.stack([np.bincount(r, minlength=n) for r in resample_indices(n, n_bootstrap, seed)]) \
            if n_bootstrap else np.zeros((0, n))
        bins, bin_area = area_bins(frames, n_bins)
        in_bin = np.zeros((n_bins, n))
        for i, b in enumerate(bins):
            in_bin[i, b] = 1.0
        weights = np.concatenate([np.ones((1, n)), boot, in_bin]).astype(np.float64)
        return cls(weights, n_bootstrap, bin_area, shuffled_masks(frames, seed))

    def split(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(full (F,), boot (B, F), bins (K, F)) of scores on :attr:`weights`' rows."""
        return rows[0], rows[1 : 1 + self.n_bootstrap], rows[1 + self.n_bootstrap :]
