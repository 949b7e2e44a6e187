"""Frame-set building: reproducible to the byte, spread over levels, honest provenance; the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from interpbench.cli.main import main
from interpbench.data.frameset import MASK_CLASSES, FrameSet
from interpbench.frames.build import build_frameset
from interpbench.game.env import level_range

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def small_set(reference_jd) -> FrameSet:
    return build_frameset(48, seed=4, progress=False)


def test_same_arguments_same_bytes(small_set: FrameSet) -> None:
    again = build_frameset(48, seed=4, progress=False)
    assert np.array_equal(again.obs, small_set.obs)
    assert np.array_equal(again.masks, small_set.masks)
    assert np.array_equal(again.level_seeds, small_set.level_seeds)
    assert again.states == small_set.states
    assert again.content_hash() == small_set.content_hash()


def test_another_seed_gives_other_frames(small_set: FrameSet) -> None:
    other = build_frameset(48, seed=5, progress=False)
    assert not set(other.level_seeds) & set(small_set.level_seeds)


def test_frames_come_from_many_heldout_levels(small_set: FrameSet) -> None:
    assert len(small_set) == 48 and small_set.classes == MASK_CLASSES
    assert all(int(s) in level_range("heldout") for s in small_set.level_seeds)
    _, per_level = np.unique(small_set.level_seeds, return_counts=True)
    assert per_level.max() <= 2, "at most per_episode (2) frames from one level"
    assert small_set.provenance["distinct_levels"] == len(per_level) >= 24
    assert small_set.masks.sum(axis=1).min() == small_set.masks.sum(axis=1).max() == 1, "masks are one-hot"
    assert small_set.masks[:, small_set.class_index("agent")].any(axis=(1, 2)).all(), "the agent is always seen"


def test_provenance_says_how_it_was_made(small_set: FrameSet) -> None:
    prov = small_set.provenance
    assert prov["procgen_version"] and prov["code_version"]
    assert prov["distribution_mode"] == "hard" and prov["split"] == "heldout" and prov["seed"] == 4
    assert prov["policy"]["spec"] == "reference" and len(prov["policy"]["checkpoint_sha256"]) == 64
    assert prov["level_range"] == level_range("heldout").as_dict()
    json.dumps(prov)


def test_states_reproduce_the_observations(small_set: FrameSet) -> None:
    """Each stored state, loaded into a fresh env, shows exactly the stored frame."""
    from interpbench.game.env import make_env

    env = make_env(4, level_range("heldout"), seed=0)
    env.callmethod("set_state", small_set.states[:4])
    assert np.array_equal(env.observe()[1]["rgb"], small_set.obs[:4])


def test_frames_cli_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out, picture = tmp_path / "train10.npz", tmp_path / "train10.png"
    argv = ["frames", "--n", "12", "--split", "train", "--levels", "10", "--policy", "random", "--seed", "1"]
    assert main([*argv, "-o", str(out), "--picture", str(picture), "--no-progress"]) == 0
    frames = FrameSet.load(out)
    assert len(frames) == 12 and set(frames.level_seeds.tolist()) <= set(range(10))
    assert frames.provenance["policy"]["spec"] == "random"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad",
    [
        ["--n", "0"],
        ["--split", "train"],
        ["--split", "train", "--levels", "0"],
        ["--policy", "no-such-checkpoint"],
    ],
)
def test_frames_cli_bad_input_exits_2(bad: list[str], tmp_path: Path) -> None:
    assert main(["frames", *bad, "-o", str(tmp_path / "x.npz"), "--no-progress"]) == 2
    assert list(tmp_path.iterdir()) == []
