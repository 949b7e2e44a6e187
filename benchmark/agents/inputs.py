"""What a network is given: the RGB frame, plus the object-mask planes its architecture reads.

Most networks see the frame alone. A glass-box network (``agents.glass_box``) also reads the
game's own object masks, named by its ``Architecture.input_masks``; its observations are uint8
(N, 64, 64, 3 + M): the frame, then one plane per named class (0 or 255, so that
``models.preprocess`` maps them to 0 and 1 with the frame). Everything downstream (policies,
integrated gradients, NMF, metrics) handles these arrays as it handles frames.

Two places build such observations, both through :func:`with_mask_planes`: play, from the live
game state (:func:`live_observations`: ``get_state`` then ``game.masks``), and attribution, from a
FrameSet's own masks (:func:`frame_observations`), which are the same pixel-exact masks.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from interpbench.agents.architectures import get_architecture
from interpbench.data.frameset import MASK_CLASSES, FrameSet
from interpbench.infra.errors import InterpbenchError


def input_masks(model: nn.Module) -> tuple[str, ...]:
    """The mask classes ``model`` reads beside the frame (none for a network without a
    registered architecture, which reads the frame alone)."""
    name = getattr(model, "architecture", None)
    return get_architecture(name).input_masks if name is not None else ()


def with_mask_planes(rgb: np.ndarray, masks: np.ndarray, classes: Sequence[str], wanted: Sequence[str]) -> np.ndarray:
    """uint8 (N, 64, 64, 3 + len(wanted)): the frames ``rgb`` and, as planes, the ``wanted`` channels
    of the one-hot ``masks`` (bool (N, C, 64, 64) over ``classes``); ``rgb`` itself when none is wanted."""
    if not wanted:
        return rgb
    lacking = [c for c in wanted if c not in classes]
    if lacking:
        raise InterpbenchError(f"the network reads mask classes {lacking}, which these frames' masks lack "
                               f"(they have {list(classes)})")
    index = [list(classes).index(c) for c in wanted]
    planes = np.moveaxis(masks[:, index], 1, -1).astype(np.uint8) * np.uint8(255)
    return np.concatenate([rgb, planes], axis=-1)


def frame_observations(model: nn.Module, frames: FrameSet) -> np.ndarray:
    """What ``model`` is given for the frames of a FrameSet (their own masks as planes)."""
    return with_mask_planes(frames.obs, frames.masks, frames.classes, input_masks(model))


def live_observations(env: Any, rgb: np.ndarray, wanted: Sequence[str]) -> np.ndarray:
    """What a network reading ``wanted`` masks is given for the env's current observations ``rgb``:
    masks rendered from each env's current state (the state matches the observation, also right
    after an episode ends). Without ``wanted`` classes, ``rgb`` and no state is read."""
    if not wanted:
        return rgb
    from interpbench.game.masks import masks_for_states

    return with_mask_planes(rgb, masks_for_states(env.callmethod("get_state")), MASK_CLASSES, wanted)
