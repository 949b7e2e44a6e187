"""How a CoinRun episode ended: completed, or killed by a saw, an enemy or lava, or timed out.

procgen resets a finished episode inside the same step, so the observation after the end already
shows the next level, and its info says only ``prev_level_complete``. The cause is therefore
recovered from the state *before* the last step: that state (random generators included) is
replayed with the same action in a probe env, once with each hazard class the only lethal one
(the others made inert: saws and enemies given a non-lethal entity type, lava tiles emptied). A
hazard whose replay still ends the episode was sufficient to end it. CoinRun (procgen
``games/coinrun.cpp``) ends an episode only by reaching the coin, touching a saw (entity type 2)
or an enemy (type 5), touching lava (tiles 17, 18), or at the time limit; its level has a solid
floor (``init_floor_and_walls``), so no episode can end by falling, and any end that none of
these explains is counted as ``unexplained`` rather than guessed.
"""

from __future__ import annotations

import struct

import numpy as np

from interpbench.game.masks import open_render_env
from interpbench.game.procgen_state import ENTITY_DTYPE, SPACE, TILE_CLASSES, CoinRunState, parse

HAZARDS: tuple[str, ...] = ("saw", "enemy", "lava")
#: Every outcome counted; they partition the episodes.
OUTCOMES: tuple[str, ...] = ("completed", *HAZARDS, "multiple", "timeout", "unexplained")
#: Entity types made inert for a hazard (procgen's SAW -> SAW2 and ENEMY -> ENEMY1 are image-only
#: ids that no collision rule tests).
_INERT_TYPE = {"saw": (2, 3), "enemy": (5, 6)}
_TIMEOUT_WORD = 4  # within the step data that CoinRunState.time_at points at


def _only(state: CoinRunState, keep: str) -> bytes:
    """The state with every hazard but ``keep`` made harmless (random generators kept: it is stepped)."""
    buf = bytearray(state.data)
    ents = np.frombuffer(buf, ENTITY_DTYPE, state.num_entities, state.entities_at)
    for name, (lethal, inert) in _INERT_TYPE.items():
        if name != keep:
            ents["type"][ents["type"] == lethal] = inert
    if keep != "lava":
        h, w = state.grid_shape
        grid = np.frombuffer(buf, "<i4", h * w, state.grid_at + 12)
        grid[np.isin(grid, TILE_CLASSES["lava"])] = SPACE
    return bytes(buf)


def times_out(state: CoinRunState) -> bool:
    """Whether the next step reaches the episode's time limit."""
    (timeout,) = struct.unpack_from("<i", state.data, state.time_at + 4 * _TIMEOUT_WORD)
    return state.cur_time + 1 >= timeout


class CauseProbe:
    """Replays the last step of ended episodes to name their cause; one single-env probe."""

    def __init__(self) -> None:
        self._env = open_render_env(1)

    def _ends(self, data: bytes, action: int) -> bool:
        self._env.call_c_func("set_state", 0, data, len(data))
        self._env.act(np.array([action], np.int32))
        return bool(self._env.observe()[2][0])

    def cause(self, before: bytes, action: int, completed: bool) -> str:
        """The outcome (one of ``OUTCOMES``) of an episode whose last step was ``action`` from ``before``."""
        if completed:
            return "completed"
        state = parse(before)
        if times_out(state):  # the step ends the episode whatever it touches
            return "timeout"
        sufficient = [h for h in HAZARDS if self._ends(_only(state, h), action)]
        if len(sufficient) == 1:
            return sufficient[0]
        return "multiple" if sufficient else "unexplained"
