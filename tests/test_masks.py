"""Recoloured-render masks against the hide-and-diff ground truth, on real procgen states."""

from __future__ import annotations

import numpy as np
import pytest

from interpbench.data.frameset import MASK_CLASSES
from interpbench.game.env import heldout_levels
from interpbench.game.mask_truth import (
    TruthRenderer,
    collect_states,
    overlap_agreement,
    score_masks,
)
from interpbench.game.masks import MaskRenderer, masks_for_states
from interpbench.game.procgen_state import parse
from interpbench.infra.errors import CorruptFileError, InterpbenchError

VEL = MASK_CLASSES.index("vel_info")


@pytest.fixture(scope="module")
def sample() -> tuple[list[bytes], np.ndarray]:
    """40 states: easy and hard, with and without velocity painting, 5 levels each, 2 times."""
    states, obs = [], []
    for k, (mode, vel) in enumerate([(m, v) for m in ("easy", "hard") for v in (False, True)]):
        s, o = collect_states(heldout_levels(), distribution_mode=mode, paint_vel_info=vel, num_envs=5,
                              snapshots=(8, 45), seed=100 + k)
        states += s
        obs.append(o)
    return states, np.concatenate(obs)


@pytest.fixture(scope="module")
def renderer() -> MaskRenderer:
    return MaskRenderer(batch=16)


@pytest.fixture(scope="module")
def masks(renderer, sample) -> np.ndarray:
    return renderer.masks(sample[0])


def test_masks_are_one_hot(masks, sample) -> None:
    assert masks.dtype == np.bool_ and masks.shape == (len(sample[0]), len(MASK_CLASSES), 64, 64)
    assert (masks.sum(1) == 1).all()


def test_masks_match_ground_truth(masks, sample) -> None:
    states, obs = sample
    truth_renderer = TruthRenderer(batch=16)
    # the state re-renders to its observation, so masks of the state are masks of the frame
    assert (truth_renderer.render([parse(s).without_rng() for s in states]) == obs).all()
    truth = truth_renderer.truth(states)
    scores = {s.name: s for s in score_masks(masks, truth)}
    assert {n for n, s in scores.items() if s.frames} >= {"background", "agent", "wall", "vel_info", "crate"}
    for s in scores.values():
        if s.frames:
            assert s.iou_unambiguous >= 0.999, s
            assert s.false_positives == 0, s
    ambiguous, agreeing = overlap_agreement(masks, truth)
    assert ambiguous == agreeing


def test_vel_info_is_the_two_boxes_when_painted(masks, sample) -> None:
    painted = np.array([parse(s).paints_vel_info for s in sample[0]])
    assert painted.any() and not painted.all()
    boxes = np.zeros((64, 64), bool)
    boxes[:13, :26] = True  # two 12.8 px squares at the top left: rows 0-12, columns 0-25
    assert (masks[painted, VEL] == boxes).all()
    assert not masks[~painted, VEL].any()


def test_masks_do_not_depend_on_batch_size_or_order(masks, sample) -> None:
    order = np.random.default_rng(0).permutation(len(sample[0]))
    shuffled = MaskRenderer(batch=7).masks([sample[0][i] for i in order])
    assert (shuffled == masks[order]).all()
    assert (masks_for_states(sample[0][:3]) == masks[:3]).all()


def test_class_subset_gives_the_rest_to_background(masks, sample) -> None:
    sub = MaskRenderer(classes=("agent", "background"), batch=16).masks(sample[0])
    agent = MASK_CLASSES.index("agent")
    assert (sub[:, 0] == masks[:, agent]).all() and (sub[:, 1] == ~masks[:, agent]).all()


def test_bad_classes_and_states_are_refused(renderer, sample) -> None:
    with pytest.raises(InterpbenchError, match="unknown: \\['ghost'\\]") as err:
        MaskRenderer(classes=("background", "ghost"))
    assert "vel_info" in str(err.value), "the message lists the valid names"
    with pytest.raises(InterpbenchError, match="including 'background'"):
        MaskRenderer(classes=("agent", "wall"))
    with pytest.raises(CorruptFileError, match="truncated"):
        renderer.masks([sample[0][0][:500]])
    mono = parse(sample[0][0]).with_options(use_monochrome_assets=True).data
    with pytest.raises(InterpbenchError, match="monochrome"):
        renderer.masks([mono])
