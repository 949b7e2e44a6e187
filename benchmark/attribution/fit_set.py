"""Which frames a checkpoint's NMF basis is fitted on (``BasisFit``), and its own-play frames, cached.

Two protocols:

* ``"own-play"`` (the study's, the scoring default): the basis is fitted on observations of the
  model's own play on its *training* levels (``agents.own_play``; levels ``[0, L)`` and the
  distribution mode of its training data, from the checkpoint's JSON), then held fixed and
  applied to the scoring frames. A model's features are then what it attends to in the world it
  learned, as in "Understanding RL Vision" (Hilton et al. 2020).
* ``"scoring-frames"``: fitted on the scored frames themselves (the harness's first protocol).

Refit ``r >= 1`` fits the same protocol on the r-th bootstrap resample (seeded) of the fit
frames, so that a score's spread over refits shows how much of it is the fit's chance.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from interpbench.agents.inputs import input_masks
from interpbench.agents.models import Checkpoint
from interpbench.agents.own_play import OwnPlay, play_frames
from interpbench.game.env import LevelRange, training_levels
from interpbench.infra import atomic
from interpbench.infra.cache import entry_path
from interpbench.infra.errors import InterpbenchError

FitSource = Literal["own-play", "scoring-frames"]
FIT_SOURCES: tuple[str, ...] = ("own-play", "scoring-frames")
#: Bump when own play with unchanged settings gives other frames.
OWN_PLAY_VERSION = 1


@dataclass(frozen=True)
class BasisFit:
    """How one basis is fitted. ``refit`` 0 is the fit set itself, r >= 1 its r-th resample.

    ``max_rows`` caps the non-zero attribution rows the NMF sees (a seeded uniform sample,
    ``features.fit_feature_basis``); None fits on all of them."""

    source: FitSource = "scoring-frames"
    refit: int = 0
    seed: int = 0
    own_play_frames: int = 256
    own_play_stride: int = 8
    max_rows: int | None = 100_000

    def __post_init__(self) -> None:
        if self.source not in FIT_SOURCES:
            raise InterpbenchError(f"NMF fit source must be one of {FIT_SOURCES}, got {self.source!r}")
        if self.refit < 0 or self.own_play_frames < 1 or self.own_play_stride < 1:
            raise InterpbenchError(f"invalid NMF fit settings {self}")

    def resample(self, n_frames: int) -> np.ndarray | None:
        """Frame indices of this refit's bootstrap resample of ``n_frames`` fit frames (None for
        refit 0): drawn with replacement, seeded by (seed, refit)."""
        if self.refit == 0:
            return None
        return np.random.default_rng(np.random.SeedSequence([self.seed, 11, self.refit])).integers(0, n_frames, n_frames)

    def row_seed(self) -> int:
        """Seed of the NMF's row subsample: one per (seed, refit)."""
        return int(np.random.SeedSequence([self.seed, 13, self.refit]).generate_state(1)[0])

    def key(self, player: Checkpoint | None) -> dict[str, Any]:
        """The settings that decide the basis, with the own-play frames' identity (the player's
        weights, levels and mode) for the attribution cache key."""
        out: dict[str, Any] = asdict(self)
        if self.source == "own-play":
            if player is None:
                raise InterpbenchError("an own-play fit needs the model that plays")
            levels, mode = fit_levels(player)
            out |= {"player": player.weights_hash(), "levels": levels.as_dict(), "distribution_mode": mode,
                    "own_play_version": OWN_PLAY_VERSION}
        else:
            for name in ("own_play_frames", "own_play_stride"):
                out.pop(name)
        return out


def fit_levels(checkpoint: Checkpoint) -> tuple[LevelRange, str]:
    """The training levels and distribution mode a checkpoint learned on, from its JSON:
    ``num_levels`` and the gather config's (distillation) or the run config's (PPO) mode."""
    meta = checkpoint.meta
    num_levels = meta.get("num_levels")
    if isinstance(num_levels, bool) or not isinstance(num_levels, int):
        raise InterpbenchError(f"{checkpoint.name}: an own-play NMF fit needs the checkpoint's num_levels, "
                               f"got {num_levels!r}")
    config = meta.get("config") or {}
    mode = (config.get("gather") or {}).get("distribution_mode", config.get("distribution_mode",
                                                                            meta.get("distribution_mode")))
    if mode not in ("easy", "hard"):
        raise InterpbenchError(f"{checkpoint.name}: no training distribution mode in its JSON (got {mode!r})")
    return training_levels(num_levels), mode


def own_play_frames(player: Checkpoint, fit: BasisFit, cache: bool = True) -> OwnPlay:
    """The player's own play for ``fit`` (its frames and seed), from the cache when present."""
    levels, mode = fit_levels(player)
    key = {"player": player.weights_hash(), "levels": levels.as_dict(), "distribution_mode": mode,
           "frames": fit.own_play_frames, "stride": fit.own_play_stride, "seed": fit.seed,
           "version": OWN_PLAY_VERSION}
    path = entry_path("own-play", key).with_suffix(".npz")
    if cache and path.exists():
        try:
            with np.load(path, allow_pickle=False) as z:
                played = OwnPlay(z["obs"], z["level_seeds"])
            planes = 3 + len(input_masks(player.model))  # the frame and the mask planes it reads
            if played.obs.shape == (fit.own_play_frames, 64, 64, planes) and played.obs.dtype == np.uint8:
                return played
        except Exception:  # any damage to our own cache entry (numpy raises many kinds): replay
            pass
    played = play_frames(player.model, levels, fit.own_play_frames, seed=fit.seed,
                         distribution_mode=mode, stride=fit.own_play_stride)  # type: ignore[arg-type]
    if cache:
        with atomic.atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, obs=played.obs, level_seeds=played.level_seeds)
    return played
