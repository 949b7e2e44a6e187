"""The object-dependence table for a list of checkpoints: what ``interpbench intervene hide`` runs.

Each checkpoint's basis is the one of its ordinary attribution on the full scoring FrameSet
(``attribute_checkpoint``, cached), so the features measured here are the features the metrics
score; the hiding runs on an evenly spaced subset of those frames to bound the cost (stride
``len(frames) // n_frames``: with two frames per episode, stride 2 keeps one frame per episode).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interpbench.agents.models import Checkpoint, load_checkpoint
from interpbench.attribution.attribute import DEFAULT_METHOD, attribute_checkpoint
from interpbench.attribution.features import FeatureBasis
from interpbench.attribution.fit_set import BasisFit
from interpbench.data.frameset import FrameSet
from interpbench.data.layers import ANALYSED_LAYER
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.resources import available_cores
from interpbench.interventions.dependence import ObjectDependence, object_dependence
from interpbench.interventions.hiding import Hider, check_classes
from interpbench.interventions.selectivity import held_out_top_vs_other, selectivity_rows

#: Frames hidden per checkpoint by default: half the 512 scoring frames (one per episode).
DEFAULT_HIDE_FRAMES = 256


@dataclass(frozen=True)
class Subject:
    """A checkpoint to intervene on, with the level count it was trained on (NaN if unknown)."""

    name: str
    path: Path
    num_levels: float


def zoo_subjects(zoo_dir: str | Path) -> list[Subject]:
    """Every checkpoint of a zoo folder, in the zoo reader's order."""
    from interpbench.data.zoo import read_zoo

    zoo = read_zoo(zoo_dir)
    return [Subject(str(name), Path(row.path), float(row.num_levels)) for name, row in zoo.iterrows()]


def reference_subject() -> Subject:
    """The published agent (its training level count is not part of the checkpoint: NaN)."""
    from interpbench.agents.reference import require_reference_path

    return Subject("reference", require_reference_path(), float("nan"))


def checkpoint_basis(checkpoint: Checkpoint, frames: FrameSet, fit: BasisFit | None = None) -> FeatureBasis:
    """The checkpoint's own NMF basis, from its ordinary (cached) attribution on ``frames`` with
    the basis fitted as ``fit`` says (the scoring's choice is the caller's: pass its main fit so
    that the features measured are the features scored)."""
    return FeatureBasis(np.asarray(attribute_checkpoint(checkpoint, frames, fit=fit or BasisFit()).components))


def spaced_subset(frames: FrameSet, n_frames: int) -> FrameSet:
    """``n_frames`` evenly spaced frames of ``frames`` (all of them if it has no more)."""
    if n_frames < 1:
        raise InterpbenchError(f"n_frames must be at least 1, got {n_frames}")
    if n_frames >= len(frames):
        return frames
    return frames.subset(np.arange(n_frames) * (len(frames) // n_frames))


@dataclass(frozen=True)
class _Measured:
    name: str
    rows: pd.DataFrame
    checks: pd.DataFrame
    seconds: float
    weights: str


def _measure(subject: Subject, frames: FrameSet, hidden_frames: FrameSet, classes: tuple[str, ...],
             fit: BasisFit | None, hider: Hider, progress: bool = False) -> _Measured:
    """One checkpoint's rows and held-out check, timed."""
    start = time.perf_counter()
    checkpoint = load_checkpoint(subject.path)
    dep: ObjectDependence = object_dependence(
        checkpoint.model, hidden_frames, checkpoint_basis(checkpoint, frames, fit), classes, hider=hider,
        progress=progress)
    return _Measured(subject.name, selectivity_rows(dep, subject.name).assign(num_levels=subject.num_levels),
                     held_out_top_vs_other(dep).assign(checkpoint=subject.name),
                     round(time.perf_counter() - start, 1), checkpoint.weights_hash())


def _measure_in_worker(subject: Subject, frames: FrameSet, hidden_frames: FrameSet, classes: tuple[str, ...],
                       fit: BasisFit | None, threads: int) -> _Measured:
    """``_measure`` in a worker process, on ``threads`` torch threads, with its own renderer (a
    procgen env cannot cross processes)."""
    import torch

    torch.set_num_threads(threads)
    return _measure(subject, frames, hidden_frames, classes, fit, Hider(hidden_frames))


def object_dependence_table(
    subjects: Sequence[Subject],
    frames: FrameSet,
    *,
    n_frames: int = DEFAULT_HIDE_FRAMES,
    classes: Sequence[str] | None = None,
    fit: BasisFit | None = None,
    progress: bool = False,
    n_jobs: int | None = 1,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """(per-feature rows, held-out top-vs-other rows, provenance) for every subject; ``n_jobs``
    processes share the checkpoints (None: one per core), each on its share of the cores.

    Classes are checked and the states re-rendered before any checkpoint is attributed, so bad
    input fails before the expensive part."""
    names = check_classes(frames, tuple(frames.classes) if classes is None else tuple(classes))
    hidden_frames = spaced_subset(frames, n_frames)
    hider = Hider(hidden_frames)
    workers = max(1, min(len(subjects), available_cores() if n_jobs is None else n_jobs))
    if workers == 1:
        measured = [_measure(s, frames, hidden_frames, names, fit, hider, progress) for s in subjects]
    else:
        from joblib import Parallel, delayed

        threads = max(1, available_cores() // workers)
        measured = Parallel(n_jobs=workers)(delayed(_measure_in_worker)(s, frames, hidden_frames, names, fit, threads)
                                            for s in subjects)
    rows = [m.rows for m in measured]
    checks = [m.checks for m in measured]
    seconds = {m.name: m.seconds for m in measured}
    weights = {m.name: m.weights for m in measured}
    table = pd.concat(rows, ignore_index=True)
    table.insert(1, "num_levels", table.pop("num_levels"))
    provenance = {
        "frames": {"sha256": frames.content_hash(), "n": len(frames), "hidden_frames": len(hidden_frames),
                   "stride": len(frames) // len(hidden_frames), "provenance": frames.provenance.get("policy")},
        "classes": list(names),
        "basis": {"from": "each checkpoint's ordinary attribution on the full FrameSet (attribute_checkpoint)",
                  "fit": dataclasses.asdict(fit or BasisFit())},
        "attribution": {"method": DEFAULT_METHOD, "layer": ANALYSED_LAYER},
        "checkpoint_sha256": weights,
        "seconds_per_checkpoint": seconds,
        "processes": workers,
    }
    return table, pd.concat(checks, ignore_index=True), provenance
