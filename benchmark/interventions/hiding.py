"""Frames re-rendered from their own game states with one object class hidden.

Why re-render instead of painting pixels over: what lies behind a hidden object (background,
a wall, another sprite) is drawn by procgen's renderer itself, so the network sees a frame the
game could have produced. The state patching is ``CoinRunState.hiding`` (the same one the mask
ground truth in ``interpbench.game.mask_truth`` uses); each state is first re-rendered as it is
and must reproduce the FrameSet's observation bit for bit, so a state that does not stand for its
frame is refused instead of silently measuring something else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from interpbench.data.frameset import FrameSet
from interpbench.game.mask_truth import TruthRenderer
from interpbench.game.procgen_state import WALL_PARTS, CoinRunState, parse
from interpbench.infra.errors import CorruptFileError, InterpbenchError

#: Parts of a FrameSet class that hiding can take away one at a time. They are measured beside
#: their class (not instead of it: the masks, and so every metric, know only the whole class).
CLASS_PARTS: dict[str, tuple[str, ...]] = {"wall": tuple(WALL_PARTS)}


def parts_of(classes: Sequence[str]) -> tuple[str, ...]:
    """The hideable parts of ``classes``, in order (e.g. ``wall`` -> ``wall_top``, ``wall_mid``)."""
    return tuple(part for c in classes for part in CLASS_PARTS.get(c, ()))


class UnpatchableStateError(InterpbenchError):
    """A FrameSet state that cannot be parsed, patched or re-rendered into its own frame."""


@dataclass(frozen=True)
class HiddenFrames:
    """One class hidden from every frame: the re-rendered observations and which ones changed."""

    name: str
    obs: np.ndarray  # uint8 (N, 64, 64, 3)
    changed: np.ndarray  # bool (N,): the render differs from the original frame


def check_classes(frames: FrameSet, classes: Sequence[str]) -> tuple[str, ...]:
    """``classes`` as a tuple, refusing names the FrameSet has no mask channel for."""
    unknown = [c for c in classes if c not in frames.classes]
    if unknown or len(set(classes)) != len(classes):
        raise InterpbenchError(
            f"cannot hide {list(classes)}: classes must be distinct names of the FrameSet's {list(frames.classes)}"
            + (f" (unknown: {unknown})" if unknown else "")
        )
    return tuple(classes)


def parse_states(frames: FrameSet) -> list[CoinRunState]:
    """The FrameSet's states, parsed and stripped of their generators (rendering never reads them)."""
    parsed = []
    for i, data in enumerate(frames.states):
        try:
            parsed.append(parse(data).without_rng())
        except CorruptFileError as exc:
            raise UnpatchableStateError(f"state of frame {i} cannot be patched: {exc}") from exc
    return parsed


class Hider:
    """Re-renders a FrameSet with classes hidden; checks first that its states reproduce its frames."""

    def __init__(self, frames: FrameSet, renderer: TruthRenderer | None = None) -> None:
        self.frames = frames
        self.states = parse_states(frames)
        self.renderer = renderer if renderer is not None else TruthRenderer()
        same = (self.renderer.render(self.states) == frames.obs).all(axis=(1, 2, 3))
        if not same.all():
            bad = np.flatnonzero(~same)
            raise UnpatchableStateError(
                f"{len(bad)} of {len(same)} states do not re-render into their own frame (first: frame {bad[0]}); "
                "hiding objects in them would measure other frames"
            )

    def hide(self, name: str) -> HiddenFrames:
        """Every frame re-rendered with class ``name`` (or a part of one, ``CLASS_PARTS``) hidden."""
        check_classes(self.frames, [next((c for c, parts in CLASS_PARTS.items() if name in parts), name)])
        obs = self.renderer.render([s.hiding(name) for s in self.states])
        return HiddenFrames(name, obs, (obs != self.frames.obs).any(axis=(1, 2, 3)))
