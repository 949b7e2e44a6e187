"""Read and patch procgen CoinRun serialized states (the bytes of ``env.callmethod("get_state")``).

Why this exists: object masks are made by re-rendering a frame's own state (``interpbench.game.masks``)
and checked by re-rendering it with one class hidden (``interpbench.game.mask_truth``). Both need to
change a few fields of a state before ``set_state``, and ``set_state`` restores the options from
the bytes, so the bytes are the only place to change them. The native ``set_state`` aborts the
whole process (``fassert``) on a malformed state, so every state is validated here first and a
bad one raises ``CorruptFileError`` instead.

Layout (procgen 0.10.7, ``Game::serialize`` then ``BasicAbstractGame::serialize`` then
``CoinRun::serialize``, then the end marker): little-endian int32/float32; strings and vectors
are an int32 length then the items. Only the offsets of the fields this module reads or writes
are kept; the rest is skipped by count.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from interpbench.infra.errors import CorruptFileError, InterpbenchError

GAME_NAME = "coinrun"
SERIALIZE_VERSION = 0
END_MARKER = 0xCAFECAFE

#: ``Game::serialize`` writes these options as int32, in this order, right after the game name.
OPTION_NAMES: tuple[str, ...] = (
    "paint_vel_info",
    "use_generated_assets",
    "use_monochrome_assets",
    "restrict_themes",
    "use_backgrounds",
    "center_agent",
    "debug_mode",
    "distribution_mode",
    "use_sequential_levels",
    "use_easy_jump",
    "plain_assets",
    "physics_mode",
)
DISTRIBUTION_MODES = {0: "easy", 1: "hard", 2: "extreme", 10: "memory"}

#: ``Entity::serialize``: 31 int32/float32 fields, 124 bytes per entity.
ENTITY_DTYPE = np.dtype(
    [(name, "<f4") for name in ("x", "y", "vx", "vy", "rx", "ry")]
    + [(name, "<i4") for name in ("type", "image_type", "image_theme", "render_z", "will_erase",
                                  "collides_with_entities")]
    + [(name, "<f4") for name in ("collision_margin", "rotation", "vrot")]
    + [(name, "<i4") for name in ("is_reflected", "fire_time", "spawn_time", "life_time",
                                  "expire_time", "use_abs_coords")]
    + [("friction", "<f4")]
    + [(name, "<i4") for name in ("smart_step", "avoids_collisions", "auto_erase")]
    + [(name, "<f4") for name in ("alpha", "health", "theta", "grow_rate", "alpha_decay",
                                  "climber_spawn_x")]
)
assert ENTITY_DTYPE.itemsize == 124

# Object ids (procgen's object-ids.h and games/coinrun.cpp).
PLAYER = 0
SPACE = 100  # an empty grid cell: the renderer draws nothing there
#: CoinRun's ENEMY_BARRIER: ``image_for_type`` maps it to -1, which ``draw_image`` skips, so an
#: entity given this image type is not drawn at all (and nothing else about it changes).
HIDDEN_IMAGE_TYPE = 19

#: Mask classes drawn from grid tiles, and the tile ids of each.
TILE_CLASSES: dict[str, tuple[int, ...]] = {"coin": (1,), "wall": (15, 16), "lava": (17, 18)}
#: Mask classes drawn as entities, and the entity ``type`` of each (enemy trails, type 59, are
#: translucent puffs that belong to whatever is under them).
ENTITY_CLASSES: dict[str, tuple[int, ...]] = {"agent": (PLAYER,), "saw": (2,), "enemy": (5,), "crate": (20,)}
#: CoinRun's background images: 49 platform backgrounds, then 13 space backgrounds appended by
#: procgen's ``images_load``. The renderer aborts on an index past the end.
NUM_BACKGROUNDS = 62
#: CoinRun draws every cell outside the grid as this tile (a wall), so hiding walls hides it too.
WALL_MID = 15
#: The two parts of the ``wall`` class, hideable apart (coinrun.cpp's WALL_TOP = 16 is the walkable
#: top surface of a wall; WALL_MID = 15 its filled interior, and the out-of-bounds wall).
WALL_PARTS: dict[str, tuple[int, ...]] = {"wall_top": (16,), "wall_mid": (WALL_MID,)}

# Fixed-size runs between the variable-length parts, counted in int32 words.
_GAME_SCALARS_BEFORE_RNG = len(OPTION_NAMES) + 5  # options, grid_step, seeds, game_type, game_n
_GAME_SCALARS_AFTER_RNG = 15  # reward ... cur_time, is_waiting_for_step
_CUR_TIME_WORD = 13  # index of cur_time within those 15
_LEVEL_SEED_WORD = 5  # current_level_seed
_BASIC_SCALARS = 19  # use_procgen_background ... step_rand_int
_BACKGROUND_INDEX_WORD = 1
_HAS_VEL_INFO_WORD = 17
_VIEW_SCALARS = 9  # main_width, main_height, out_of_bounds_object, unit ... min_visibility
_COINRUN_TAIL_WORDS = 7  # last_agent_y, wall_theme, 3 bools, gravity, air_control


@dataclass(frozen=True)
class CoinRunState:
    """A validated CoinRun state: its bytes plus the offsets of the fields that matter here.

    Patching methods return a new ``CoinRunState``; ``data`` is what ``set_state`` takes.
    """

    data: bytes
    options_at: int
    rng_spans: tuple[tuple[int, int], ...]  # (start, end) of each RNG's text, length prefix included
    time_at: int
    entities_at: int
    num_entities: int
    basic_at: int
    view_at: int
    grid_at: int
    grid_shape: tuple[int, int]  # (height, width)

    # -- reading -----------------------------------------------------------------------------

    def _int(self, offset: int) -> int:
        return struct.unpack_from("<i", self.data, offset)[0]

    def option(self, name: str) -> int:
        """One option's raw int32 value (cheaper than ``options`` on hot paths)."""
        return self._int(self.options_at + 4 * OPTION_NAMES.index(name))

    @property
    def options(self) -> dict[str, Any]:
        """The options the state carries (``set_state`` restores them); distribution_mode by name."""
        values = dict(zip(OPTION_NAMES, struct.unpack_from(f"<{len(OPTION_NAMES)}i", self.data, self.options_at)))
        values["distribution_mode"] = DISTRIBUTION_MODES.get(values["distribution_mode"], values["distribution_mode"])
        return values

    @property
    def cur_time(self) -> int:
        return self._int(self.time_at + 4 * _CUR_TIME_WORD)

    @property
    def level_seed(self) -> int:
        return self._int(self.time_at + 4 * _LEVEL_SEED_WORD)

    @property
    def background_index(self) -> int:
        return self._int(self.basic_at + 4 * _BACKGROUND_INDEX_WORD)

    @property
    def has_useful_vel_info(self) -> bool:
        return bool(self._int(self.basic_at + 4 * _HAS_VEL_INFO_WORD))

    @property
    def paints_vel_info(self) -> bool:
        """Whether the renderer draws the velocity boxes for this state."""
        return self.has_useful_vel_info and bool(self.option("paint_vel_info"))

    @property
    def out_of_bounds_object(self) -> int:
        return self._int(self.view_at + 8)

    @property
    def entities(self) -> np.ndarray:
        """Structured array (``ENTITY_DTYPE``) of the entities in draw order; read-only."""
        return np.frombuffer(self.data, ENTITY_DTYPE, self.num_entities, self.entities_at)

    @property
    def grid(self) -> np.ndarray:
        """int32 (height, width) tile ids; row 0 is the bottom of the level. Read-only."""
        h, w = self.grid_shape
        return np.frombuffer(self.data, "<i4", h * w, self.grid_at + 12).reshape(h, w)

    def classes_present(self) -> set[str]:
        """Object classes that occur anywhere in the level (visible in this frame or not)."""
        tiles = np.unique(self.grid)
        types = np.unique(self.entities["type"])
        present = {name for name, ids in TILE_CLASSES.items() if np.isin(ids, tiles).any()}
        present |= {name for name, ids in ENTITY_CLASSES.items() if np.isin(ids, types).any()}
        if self.out_of_bounds_object == WALL_MID:
            present.add("wall")
        if self.paints_vel_info:
            present.add("vel_info")
        return present

    # -- patching ----------------------------------------------------------------------------

    def with_options(self, **values: int | bool) -> CoinRunState:
        """A copy with some options changed, e.g. ``with_options(paint_vel_info=False)``."""
        unknown = set(values) - set(OPTION_NAMES)
        if unknown:
            raise InterpbenchError(f"unknown procgen option(s) {sorted(unknown)}; known: {list(OPTION_NAMES)}")
        buf = bytearray(self.data)
        for name, value in values.items():
            struct.pack_into("<i", buf, self.options_at + 4 * OPTION_NAMES.index(name), int(value))
        return replace(self, data=bytes(buf))

    def with_background(self, index: int) -> CoinRunState:
        """A copy drawn over background image ``index`` of CoinRun's list."""
        if not 0 <= index < NUM_BACKGROUNDS:
            raise InterpbenchError(f"background index must be in [0, {NUM_BACKGROUNDS}), got {index}")
        buf = bytearray(self.data)
        struct.pack_into("<i", buf, self.basic_at + 4 * _BACKGROUND_INDEX_WORD, index)
        return replace(self, data=bytes(buf))

    def hiding(self, name: str) -> CoinRunState:
        """A copy in which the renderer draws nothing of class ``name``; everything else (camera,
        animation, other objects) is untouched, so re-rendering shows what that class covered.

        Tiles become empty cells, entities get an image type the renderer skips, ``vel_info``
        turns velocity painting off and ``background`` turns the background image off (black).
        ``wall_top`` and ``wall_mid`` (``WALL_PARTS``) hide one part of the walls.
        """
        if name == "vel_info":
            return self.with_options(paint_vel_info=False)
        if name == "background":
            return self.with_options(use_backgrounds=False)
        buf = bytearray(self.data)
        tiles = TILE_CLASSES.get(name, WALL_PARTS.get(name))
        if tiles is not None:
            h, w = self.grid_shape
            grid = np.frombuffer(buf, "<i4", h * w, self.grid_at + 12)
            grid[np.isin(grid, tiles)] = SPACE
            if WALL_MID in tiles and self.out_of_bounds_object == WALL_MID:
                struct.pack_into("<i", buf, self.view_at + 8, SPACE)
        elif name in ENTITY_CLASSES:
            ents = np.frombuffer(buf, ENTITY_DTYPE, self.num_entities, self.entities_at)
            ents["image_type"][np.isin(ents["type"], ENTITY_CLASSES[name])] = HIDDEN_IMAGE_TYPE
        else:
            known = ["background", *TILE_CLASSES, *ENTITY_CLASSES, "vel_info", *WALL_PARTS]
            raise InterpbenchError(f"unknown mask class {name!r}; known: {known}")
        return replace(self, data=bytes(buf))

    def without_rng(self) -> CoinRunState:
        """A copy whose three random-generator texts (~6.7 KB each) are empty.

        Rendering never reads them, and parsing them dominates ``set_state`` (about 3x faster
        without). An empty text leaves the receiving env's generator as it was, so a state
        stripped this way must only be rendered, never stepped.
        """
        parts, spans, last, removed = [], [], 0, 0
        for start, end in self.rng_spans:
            parts += [self.data[last:start], b"\0\0\0\0"]
            spans.append((start - removed, start - removed + 4))
            removed += end - start - 4
            last = end
        parts.append(self.data[last:])

        def moved(offset: int) -> int:
            return offset - sum(end - start - 4 for start, end in self.rng_spans if end <= offset)

        return replace(
            self,
            data=b"".join(parts),
            rng_spans=tuple(spans),
            **{name: moved(getattr(self, name)) for name in ("time_at", "entities_at", "basic_at", "view_at", "grid_at")},  # type: ignore[arg-type]
        )


class _Reader:
    """Walks the state, raising ``CorruptFileError`` instead of reading past its end."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def need(self, nbytes: int, what: str) -> int:
        start = self.at
        if nbytes < 0 or start + nbytes > len(self.data):
            raise CorruptFileError(
                f"procgen state is truncated or corrupt: {what} needs {nbytes} bytes at offset {start}, "
                f"but the state has {len(self.data)} bytes"
            )
        self.at += nbytes
        return start

    def i32(self, what: str) -> int:
        return struct.unpack_from("<i", self.data, self.need(4, what))[0]

    def skip_words(self, count: int, what: str) -> int:
        return self.need(4 * count, what)

    def string(self, what: str) -> bytes:
        length = self.i32(what)
        start = self.need(length, what)
        return self.data[start : start + length]

    def rng(self, what: str) -> tuple[int, int]:
        """Skip a random generator (a flag, then its text); return the span of the text."""
        self.i32(what)
        start = self.at
        self.string(what)
        return start, self.at


def parse(data: bytes) -> CoinRunState:
    """Validate a serialized CoinRun state and locate its fields.

    Raises ``CorruptFileError`` for a truncated state, another game's state, a wrong version or
    end marker, or contents ``set_state`` would abort on (no agent, generated assets).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise InterpbenchError(f"a procgen state must be bytes, got {type(data).__name__}")
    data = bytes(data)
    r = _Reader(data)
    version = r.i32("version")
    if version != SERIALIZE_VERSION:
        raise CorruptFileError(f"procgen state has serialization version {version}, expected {SERIALIZE_VERSION}")
    name = r.string("game name")
    if name != GAME_NAME.encode():
        shown = name.decode("utf-8", "replace")
        raise CorruptFileError(f"procgen state is from game {shown!r}, expected {GAME_NAME!r}")
    options_at = r.skip_words(_GAME_SCALARS_BEFORE_RNG, "options")
    rng_spans = [r.rng("level seed generator"), r.rng("game generator")]
    time_at = r.skip_words(_GAME_SCALARS_AFTER_RNG, "step data")
    r.i32("grid size")
    num_entities = r.i32("entity count")
    entities_at = r.need(num_entities * ENTITY_DTYPE.itemsize, "entities")
    basic_at = r.skip_words(_BASIC_SCALARS, "game fields")
    rng_spans.append(r.rng("asset generator"))
    view_at = r.skip_words(_VIEW_SCALARS, "view fields")
    grid_at = r.at
    width, height, cells = r.i32("grid width"), r.i32("grid height"), r.i32("grid cell count")
    if width <= 0 or height <= 0 or cells != width * height:
        raise CorruptFileError(f"procgen state has a {width}x{height} grid with {cells} cells")
    r.need(4 * cells, "grid cells")
    r.skip_words(_COINRUN_TAIL_WORDS, "coinrun fields")
    marker = r.i32("end marker") & 0xFFFFFFFF
    if marker != END_MARKER:
        raise CorruptFileError(f"procgen state ends with 0x{marker:08X}, expected end marker 0x{END_MARKER:08X}")
    if r.at != len(data):
        raise CorruptFileError(f"procgen state has {len(data) - r.at} unexpected bytes after its end marker")
    state = CoinRunState(
        data=data,
        options_at=options_at,
        rng_spans=tuple(rng_spans),
        time_at=time_at,
        entities_at=entities_at,
        num_entities=num_entities,
        basic_at=basic_at,
        view_at=view_at,
        grid_at=grid_at,
        grid_shape=(height, width),
    )
    if state.option("use_generated_assets"):
        raise CorruptFileError("procgen state uses generated assets, which procgen cannot restore")
    if not 0 <= state.background_index < NUM_BACKGROUNDS:
        raise CorruptFileError(f"procgen state has background index {state.background_index}, not in [0, {NUM_BACKGROUNDS})")
    if not (state.entities["type"] == PLAYER).any():
        raise CorruptFileError("procgen state has no agent entity")
    return state
