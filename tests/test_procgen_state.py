"""Parsing and patching of real procgen CoinRun states, and every way a bad state is refused."""

from __future__ import annotations

import struct

import numpy as np
import pytest

from interpbench.game.env import deadlock_free_env, heldout_levels, make_env
from interpbench.game.masks import open_render_env, render_states
from interpbench.game.procgen_state import ENTITY_CLASSES, SPACE, TILE_CLASSES, parse
from interpbench.infra.errors import CorruptFileError, InterpbenchError


@pytest.fixture(scope="module")
def states() -> list[bytes]:
    env = make_env(4, heldout_levels(), seed=3, distribution_mode="hard", paint_vel_info=True, num_threads=1)
    rng = np.random.default_rng(0)
    for _ in range(15):
        env.act(rng.integers(0, 15, 4))
    return env.callmethod("get_state")


@pytest.fixture(scope="module")
def render_env():
    return open_render_env(4)


def test_parse_reads_options_entities_and_grid(states) -> None:
    state = parse(states[0])
    assert state.options["paint_vel_info"] == 1 and state.options["distribution_mode"] == "hard"
    assert state.options["use_monochrome_assets"] == 0 and state.paints_vel_info
    assert state.cur_time == 15
    assert state.level_seed in heldout_levels()
    assert state.grid_shape == (64, 64)
    assert np.isin(state.grid[0], TILE_CLASSES["wall"]).all(), "row 0 is the bottom: the floor"
    assert (state.grid[-1] == 15).all() and (state.grid[:, 0] == 15).all(), "ceiling and left wall"
    assert (state.grid == TILE_CLASSES["coin"][0]).sum() == 1
    ents = state.entities
    assert (ents["type"] == 0).sum() == 1
    assert ((ents["x"] > 0) & (ents["x"] < 64) & (ents["y"] > 0) & (ents["y"] < 64)).all()
    assert {"agent", "wall", "vel_info"} <= state.classes_present()


def test_without_rng_is_smaller_consistent_and_renders_the_same(states, render_env) -> None:
    parsed = [parse(s) for s in states]
    stripped = [p.without_rng() for p in parsed]
    for p, s in zip(parsed, stripped):
        assert len(s.data) < len(p.data) - 15_000
        assert parse(s.data) == s, "shifted offsets must equal a fresh parse"
        assert (s.grid == p.grid).all() and (s.entities == p.entities).all() and s.options == p.options
    assert (render_states(render_env, parsed) == render_states(render_env, stripped)).all()


def test_hiding_a_class_changes_only_that_class(states, render_env) -> None:
    state = parse(states[0]).without_rng()
    walls = state.hiding("wall")
    assert not np.isin(walls.grid, TILE_CLASSES["wall"]).any() and walls.out_of_bounds_object == SPACE
    agentless = state.hiding("agent")
    agent_row = state.entities["type"] == ENTITY_CLASSES["agent"][0]
    assert (agentless.entities["image_type"][agent_row] == 19).all()
    assert (agentless.entities[~agent_row] == state.entities[~agent_row]).all()
    assert agentless.hiding("agent") == agentless
    base, without_agent = render_states(render_env, [state, agentless])
    changed = (base != without_agent).any(-1)
    assert 5 < changed.sum() < 200, "the agent covers a small, non-empty part of the frame"
    assert not parse(state.hiding("vel_info").data).paints_vel_info
    with pytest.raises(InterpbenchError, match="unknown mask class 'ghost'.*agent"):
        state.hiding("ghost")


def test_with_options_flips_bytes(states) -> None:
    state = parse(states[0])
    flipped = state.with_options(paint_vel_info=False, distribution_mode=0)
    assert flipped.options["paint_vel_info"] == 0 and flipped.options["distribution_mode"] == "easy"
    assert flipped.with_background(7).background_index == 7
    with pytest.raises(InterpbenchError, match="background index"):
        state.with_background(62)
    with pytest.raises(InterpbenchError, match="unknown procgen option"):
        state.with_options(paint_velocity=True)


@pytest.mark.parametrize("cut", [0, 3, 10, 100, 20_000, -40, -4, -1])
def test_truncated_state_is_refused(states, cut) -> None:
    with pytest.raises(CorruptFileError, match="truncated|end marker|grid"):
        parse(states[0][:cut])


def test_other_game_is_refused() -> None:
    from procgen import ProcgenGym3Env

    env = deadlock_free_env(lambda: ProcgenGym3Env(num=1, env_name="bigfish", num_threads=0))
    bigfish = env.callmethod("get_state")[0]
    with pytest.raises(CorruptFileError, match="from game 'bigfish', expected 'coinrun'"):
        parse(bigfish)


def test_bad_end_marker_trailing_bytes_and_wrong_types_are_refused(states) -> None:
    with pytest.raises(CorruptFileError, match="ends with 0x00000000, expected end marker 0xCAFECAFE"):
        parse(states[0][:-4] + b"\0\0\0\0")
    with pytest.raises(CorruptFileError, match="unexpected bytes after its end marker"):
        parse(states[0] + b"\0")
    with pytest.raises(CorruptFileError, match="serialization version 7"):
        parse(struct.pack("<i", 7) + states[0][4:])
    state = parse(states[0])
    bad_background = bytearray(states[0])
    struct.pack_into("<i", bad_background, state.basic_at + 4, 999)  # 2nd basic-game word
    with pytest.raises(CorruptFileError, match="background index 999"):
        parse(bytes(bad_background))
    with pytest.raises(InterpbenchError, match="must be bytes"):
        parse("coinrun")  # type: ignore[arg-type]
