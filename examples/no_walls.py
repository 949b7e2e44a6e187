"""Four built-in metrics with walls left out of the objects of interest: a plugin file.

Walls are most of the object area on the leaderboard's frames (``python scripts/class_enrichment.py``
prints each class's screen share), so every union-of-objects score mostly measures attention to
walls. These variants ask whether the overlap metrics agree better with the human judgments when
only the agent and the small objects it interacts with count. They are registered variants of the
built-ins (no subclass), the same as naming a spec on the command line, e.g.
``--metrics "raw-overlap[classes=agent+coin+enemy+saw+lava+crate]"``:

    interpbench validate --plugin examples/no_walls.py --metrics raw-overlap-no-walls,...
"""

from __future__ import annotations

from interpbench import register_variant

#: Every CoinRun mask class but background, walls and the velocity panel.
SMALL_OBJECTS = ("agent", "coin", "enemy", "saw", "lava", "crate")

for _base in ("raw-overlap", "attribution-mass", "chance-corrected-overlap", "chance-corrected-mass"):
    register_variant(f"{_base}-no-walls", _base, description=f"{_base} with only {', '.join(SMALL_OBJECTS)} as "
                     "objects (walls left out).", classes=SMALL_OBJECTS)
