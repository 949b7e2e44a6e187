"""Independent ground truth for object masks, and the states and scores used to check them.

Why a second method: ``interpbench.game.masks`` recolours sprites, so a mistake in which sprites belong
to which class would go unnoticed if it were checked against itself. Here each class is instead
*removed* from the state (tiles emptied, entities given an image type the renderer skips,
velocity painting turned off) and the frame is re-rendered with the real assets: the pixels that
change are the pixels that class covers. A pixel whose colour happens to equal what is behind it
would be missed, so every frame is drawn over three backdrops (its own background, black, and a
colourful background: some frames' own backgrounds are partly black) and the changes are united.
Translucent overlaps (the agent's helmet over a crate) count for both classes here, while masks
give each pixel to the top class only, so ``score_masks`` also reports IoU on the pixels where
the truth is unambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from interpbench.data.frameset import MASK_CLASSES
from interpbench.game.env import NUM_ACTIONS, DistributionMode, LevelRange, make_env
from interpbench.game.masks import open_render_env, render_states
from interpbench.game.procgen_state import CoinRunState, parse

#: Backgrounds (indices into CoinRun's list) used as a third backdrop: colourful images with no
#: dark pixels, so a sprite or velocity-box pixel that matches the frame's own (possibly dark)
#: background and black is still seen to change over one of these. The second is used when
#: the frame's own background is the first.
ALT_BACKGROUNDS = (18, 19)  # colored_desert, colored_grass

#: Actions that move right (procgen's combos 6, 7, 8): half of the random actions are drawn from
#: these so that short rollouts reach the saws, enemies, lava and coin further into the level.
RIGHTWARD_ACTIONS = np.array([6, 7, 8])


class TruthRenderer:
    """Renders real-asset frames with classes hidden; one native env of ``batch`` slots."""

    def __init__(self, batch: int = 64) -> None:
        self.batch = batch
        self._env = open_render_env(batch)

    def render(self, states: Sequence[CoinRunState]) -> np.ndarray:
        """uint8 (N, 64, 64, 3) real-asset renders of the states, as they are."""
        return np.concatenate(
            [render_states(self._env, states[i : i + self.batch]) for i in range(0, len(states), self.batch)]
        )

    @staticmethod
    def backdrops(states: Sequence[CoinRunState]) -> list[list[CoinRunState]]:
        """The states over their own background, over black, and over another background."""
        return [
            list(states),
            [s.with_options(use_backgrounds=False) for s in states],
            [s.with_options(use_backgrounds=True).with_background(
                ALT_BACKGROUNDS[s.background_index == ALT_BACKGROUNDS[0]]) for s in states],
        ]

    def truth(self, states: Sequence[bytes], classes: tuple[str, ...] = MASK_CLASSES) -> np.ndarray:
        """bool (N, C, 64, 64): for each class, the pixels that change when it is hidden over
        any of the ``backdrops``. Not one-hot: translucent overlaps belong to every
        class involved. ``background`` is whatever no other class changes."""
        parsed = [parse(s).without_rng() for s in states]
        present = set().union(*(s.classes_present() for s in parsed))
        out = np.zeros((len(parsed), len(classes), 64, 64), bool)
        for backdrop in self.backdrops(parsed):
            base = self.render(backdrop)
            for c, name in enumerate(classes):
                if name != "background" and name in present:
                    out[:, c] |= (self.render([s.hiding(name) for s in backdrop]) != base).any(-1)
        if "background" in classes:
            others = [c for c, name in enumerate(classes) if name != "background"]
            out[:, classes.index("background")] = ~out[:, others].any(1)
        return out


@dataclass(frozen=True)
class ClassScore:
    """Agreement of one-hot masks with the (multi-label) ground truth for one class, pooled over
    all pixels. ``iou`` counts every pixel; ``iou_unambiguous`` leaves out the pixels where the
    truth has several classes (translucent overlaps), where a one-hot mask must drop all but one.
    """

    name: str
    iou: float | None  # None where the class appears in neither
    iou_unambiguous: float | None
    true_positives: int
    false_positives: int  # mask says this class, but hiding the class leaves the pixel unchanged
    false_negatives: int  # hiding the class changes the pixel, but the mask says another class
    frames: int  # frames in which the truth has the class

    def as_dict(self) -> dict[str, object]:
        return dict(self.__dict__)


def _iou(masks: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[float | None]]:
    axes = (0, 2, 3)
    tp, fp, fn = ((masks & truth).sum(axes), (masks & ~truth).sum(axes), (~masks & truth).sum(axes))
    union = tp + fp + fn
    return tp, fp, fn, [float(t / u) if u else None for t, u in zip(tp, union)]


def score_masks(masks: np.ndarray, truth: np.ndarray, classes: tuple[str, ...] = MASK_CLASSES) -> list[ClassScore]:
    """Per-class IoU and error counts of ``masks`` against ``truth`` (both bool (N, C, 64, 64))."""
    if masks.shape != truth.shape or masks.shape[1] != len(classes):
        raise ValueError(f"masks {masks.shape}, truth {truth.shape} and {len(classes)} classes do not match")
    tp, fp, fn, iou = _iou(masks, truth)
    clear = (truth.sum(1) == 1)[:, None]
    *_, iou_clear = _iou(masks & clear, truth & clear)
    frames = truth.any((2, 3)).sum(0)
    return [
        ClassScore(name, iou[c], iou_clear[c], int(tp[c]), int(fp[c]), int(fn[c]), int(frames[c]))
        for c, name in enumerate(classes)
    ]


def overlap_agreement(masks: np.ndarray, truth: np.ndarray) -> tuple[int, int]:
    """(pixels where the truth has several classes, how many of them the mask gives to one of
    those classes). The two are equal when masks never invent a class on translucent overlaps."""
    ambiguous = truth.sum(1) > 1
    return int(ambiguous.sum()), int(((masks & truth).any(1) & ambiguous).sum())


def collect_states(
    levels: LevelRange,
    *,
    distribution_mode: DistributionMode,
    paint_vel_info: bool,
    num_envs: int,
    snapshots: Iterable[int],
    seed: int,
) -> tuple[list[bytes], np.ndarray]:
    """States and their observations from ``num_envs`` envs stepped with random actions (half
    of them rightward), taken after each step count in ``snapshots``. Deterministic in ``seed``."""
    env = make_env(
        num_envs, levels, seed=seed, distribution_mode=distribution_mode, paint_vel_info=paint_vel_info, num_threads=1
    )
    rng = np.random.default_rng(seed)
    states, obs, step = [], [], 0
    for target in sorted(snapshots):
        for _ in range(target - step):
            uniform = rng.integers(0, NUM_ACTIONS, num_envs)
            env.act(np.where(rng.random(num_envs) < 0.5, rng.choice(RIGHTWARD_ACTIONS, num_envs), uniform))
        step = target
        states += env.callmethod("get_state")
        obs.append(env.observe()[1]["rgb"])
    env.close()
    return states, np.concatenate(obs)
