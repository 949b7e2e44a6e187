"""Which trials each rater sees, and in which order: a pure function of the study and the rater.

Why pure and seeded: a rater who closes the browser (or whose server is killed) resumes from the
judgment file alone, so trial ``k`` of a rater must be the same trial every time it is planned;
the order is shuffled per rater (features of all checkpoints interleaved, catch trials mixed in)
so that no position in the sequence tells a checkpoint apart, while the *set* of features is drawn
once per study, so that every rater judges the same features and agreement is defined.

Trials in sequence order: ``demo_trials`` practice trials (obvious synthetic features, never
counted), then ``main_trials`` checkpoint features and ``catch_trials`` catch trials, shuffled
together. The sequence length is the stopping rule.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from interpbench.labelling.study import Study, StudyError


@dataclass(frozen=True)
class FeatureItem:
    """One checkpoint feature asked in one task type."""

    checkpoint: str
    feature: int
    trial_type: str


@dataclass(frozen=True)
class CatchItem:
    """A synthetic feature with a known answer: ``mask`` (exactly one object class's mask, an
    obvious positive) or ``noise`` (uniform noise, an obvious negative). ``index`` tells catch
    items apart (each shows its own frames); demo items use the same kinds."""

    kind: str  # "mask" | "noise"
    cls: str  # the mask class ("" for noise)
    trial_type: str
    expect: str  # "positive" | "negative"
    index: int

    @property
    def label(self) -> str:
        """The value of the ``checkpoint`` column for this synthetic feature (``mask-coin``, ``noise``)."""
        return f"mask-{self.cls}" if self.kind == "mask" else "noise"


Item = FeatureItem | CatchItem


@dataclass(frozen=True)
class Trial:
    """Trial ``position`` of a rater's sequence."""

    position: int
    phase: str  # "demo" | "main"
    item: Item

    @property
    def catch(self) -> bool:
        return self.phase == "main" and isinstance(self.item, CatchItem)


def stable_seed(*parts: object) -> int:
    """A 63-bit seed from the parts' text: the same across runs and machines (``hash()`` is not)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def feature_items(study: Study, n_features: Mapping[str, int]) -> list[FeatureItem]:
    """The study's checkpoint features: every (checkpoint, feature, task type), shuffled with the
    study's seed, first ``main_trials`` of them. Refused when the zoo has fewer."""
    every = [FeatureItem(name, f, t) for name in sorted(n_features) for f in range(n_features[name])
             for t in study.task_types]
    if study.main_trials > len(every):
        raise StudyError(f"study {study.name}: main_trials is {study.main_trials}, but {len(n_features)} checkpoint(s) x "
                         f"features x {len(study.task_types)} task type(s) give only {len(every)} trials")
    order = np.random.default_rng(stable_seed(study.seed, "features")).permutation(len(every))
    return [every[i] for i in order[: study.main_trials]]


def synthetic_items(study: Study, count: int, first_index: int) -> list[CatchItem]:
    """``count`` catch (or demo) items cycling through the task types; 2AFC ones are class masks
    (a noise feature has no stronger query frame), rating ones alternate mask and noise."""
    items = []
    ratings = 0
    for i in range(count):
        trial_type = study.task_types[i % len(study.task_types)]
        cls = study.catch_classes[(i // len(study.task_types)) % len(study.catch_classes)]
        noise = trial_type == "rating" and ratings % 2 == 1
        ratings += trial_type == "rating"
        items.append(CatchItem("noise" if noise else "mask", "" if noise else cls, trial_type,
                               "negative" if noise else "positive", first_index + i))
    return items


def catch_items(study: Study) -> list[CatchItem]:
    return synthetic_items(study, study.catch_trials, 0)


def demo_items(study: Study) -> list[CatchItem]:
    return synthetic_items(study, study.demo_trials, study.catch_trials)


def rater_sequence(study: Study, n_features: Mapping[str, int], rater: str) -> list[Trial]:
    """Rater ``rater``'s trials in order: demo first, then main and catch trials shuffled with a
    seed from the study's seed and the rater id."""
    demo = demo_items(study)
    mixed: list[Item] = [*feature_items(study, n_features), *catch_items(study)]
    order = np.random.default_rng(stable_seed(study.seed, "rater", rater)).permutation(len(mixed))
    trials = [Trial(i, "demo", item) for i, item in enumerate(demo)]
    trials += [Trial(len(demo) + k, "main", mixed[i]) for k, i in enumerate(order)]
    return trials


def every_item(study: Study, n_features: Mapping[str, int]) -> list[Item]:
    """Every item any rater of the study sees (the trials to prepare when the study starts)."""
    return [*demo_items(study), *feature_items(study, n_features), *catch_items(study)]
