"""Four built-in metrics with walls left out of the objects of interest: a plugin file.

Walls are 96% of the object area on the leaderboard's frames (docs/validation.md), so every
union-of-objects score mostly measures attention to walls. These variants ask whether the
overlap metrics agree better with the human judgments when only the agent and the small
objects it interacts with count. They also show the `classes` parameter of the built-ins used
from a plugin, with no edit to the repository:

    interpbench validate --plugin examples/no_walls.py --metrics raw-overlap-no-walls,...
"""

from __future__ import annotations

from interpbench.metrics.attribution_mass import AttributionMass
from interpbench.metrics.chance_corrected import (
    ChanceCorrectedMass,
    ChanceCorrectedOverlap,
)
from interpbench.metrics.raw_overlap import RawOverlap
from interpbench.metrics.registry import register

#: Every CoinRun mask class but background, walls and the velocity panel.
SMALL_OBJECTS = ("agent", "coin", "enemy", "saw", "lava", "crate")


def without_walls(base: type) -> type:
    """Register ``<base name>-no-walls``: ``base`` scored on SMALL_OBJECTS only."""

    class NoWalls(base):
        def __init__(self) -> None:
            super().__init__(classes=SMALL_OBJECTS)

    NoWalls.__doc__ = f"{base.name} with only {', '.join(SMALL_OBJECTS)} as objects (walls left out)."
    NoWalls.__name__ = NoWalls.__qualname__ = f"{base.__name__}NoWalls"
    return register(f"{base.name}-no-walls")(NoWalls)


for _base in (RawOverlap, AttributionMass, ChanceCorrectedOverlap, ChanceCorrectedMass):
    without_walls(_base)
