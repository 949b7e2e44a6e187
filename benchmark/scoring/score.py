"""Scoring stage: every metric on every checkpoint of a zoo, with what validation needs.

Per checkpoint: one attribution of the model and one of its randomized twin (cached by
weights, computed for all checkpoints in parallel over the cores), then per metric three calls:
the model's maps on the full set reweighted as the plan says (the set itself, its bootstrap
replicates, its area bins: one call for a frame-additive metric), the twin's maps, and the maps
against shuffled masks. Each (checkpoint, metric) result is cached on disk, keyed by the
checkpoint's weights, the FrameSet's hash, the metric's identity (``scoring.identity``), the
attribution function and the scoring settings: adding or editing a metric scores only that one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np

from interpbench.agents.models import Checkpoint, load_checkpoint
from interpbench.attribution.attribute import attribute_checkpoint
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.data.zoo import read_zoo
from interpbench.infra.cache import entry_path
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar
from interpbench.metrics import registry
from interpbench.metrics.base import Metric, model_score
from interpbench.metrics.scoring import weighted_all
from interpbench.scoring.controls import randomized_twin
from interpbench.scoring.identity import metric_identity
from interpbench.scoring.plan import Plan
from interpbench.scoring.table import MetricScores, ScoreTable, ScoringConfig

#: Bump when anything below changes what a cached entry contains.
SCORING_VERSION = 2

#: ``attribute(checkpoint, frames, head=..., n_features=..., progress=...) -> AttributionSet``; its NMF
#: features are fitted once on all frames, and bootstrap replicates reweight frames of that set.
Attribute = Callable[..., AttributionSet]


def default_attribute() -> Attribute:
    return attribute_checkpoint


def _cache_path(weights_hash: str, frames_hash: str, identity: str, config: ScoringConfig, attribute: Attribute) -> Path:
    return entry_path("scores", {"version": SCORING_VERSION, "weights": weights_hash, "frames": frames_hash,
                                 "metric": identity, "config": asdict(config),
                                 "attribute": f"{attribute.__module__}.{attribute.__qualname__}"})


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _workers(n_jobs: int | None, n_tasks: int) -> int:
    return max(1, min(n_tasks, _cores() if n_jobs is None else n_jobs))


def _attribute_one(path: str, frames: FrameSet, config: ScoringConfig, twin: bool, threads: int) -> None:
    """Worker: attribute one checkpoint (or its randomized twin) into the cache, on ``threads``
    torch threads (the cores divided among the workers)."""
    import torch

    torch.set_num_threads(threads)
    checkpoint = load_checkpoint(path)
    model = randomized_twin(checkpoint, config.seed) if twin else checkpoint
    attribute_checkpoint(model, frames, head=config.head, n_features=config.n_features)


def prefetch_attributions(paths: Sequence[str], frames: FrameSet, config: ScoringConfig,
                          n_jobs: int | None = None, progress: bool = True) -> None:
    """Attribute ``paths`` and the randomized twin into the cache, one process per core.

    Attribution is most of a cold run's cost and each checkpoint is independent, so they are
    spread over processes (the twin, shared by all checkpoints, is one task); metrics then score
    in this process, where plugins, notebook metrics and their errors live."""
    if not paths:
        return
    tasks = [(paths[0], True)] + [(path, False) for path in paths]
    workers = _workers(n_jobs, len(tasks))
    threads = max(1, _cores() // workers)
    if workers == 1:
        for path, twin in progress_bar(tasks, desc="attribution", unit="model", enabled=progress):
            _attribute_one(path, frames, config, twin, threads)
        return
    from joblib import Parallel, delayed

    calls = (delayed(_attribute_one)(path, frames, config, twin, threads) for path, twin in tasks)
    with progress_bar(total=len(tasks), desc=f"attribution ({workers} processes)", unit="model",
                      enabled=progress) as bar:
        for _ in Parallel(n_jobs=workers, return_as="generator_unordered")(calls):
            bar.update()


def _score_checkpoint(checkpoint: Checkpoint, frames: FrameSet, metrics: dict[str, Metric], config: ScoringConfig,
                      attribute: Attribute, plan: Plan, time_limit_s: float | None = None,
                      twins: dict[int, AttributionSet] | None = None) -> tuple[dict[str, MetricScores], dict[str, str]]:
    """Attribute the model and its randomized twin, then the three metric calls per metric.

    ``twins`` keeps the twin's attribution by number of actions (the twin depends on nothing
    else), so a zoo loads it once rather than once per checkpoint."""
    kwargs = {"head": config.head, "n_features": config.n_features, "progress": False}
    attr = attribute(checkpoint, frames, **kwargs)
    twins = {} if twins is None else twins
    actions = checkpoint.model.num_actions
    if actions not in twins:
        twins[actions] = attribute(randomized_twin(checkpoint, config.seed), frames, **kwargs)
    random_attr = twins[actions]
    planned, errors = weighted_all(metrics, attr, frames, plan.weights, time_limit_s)
    ones = np.ones((1, len(frames)))
    live = {spec: m for spec, m in metrics.items() if spec not in errors}
    randomized, failed = weighted_all(live, random_attr, frames, ones, time_limit_s)
    errors |= failed
    live = {spec: m for spec, m in live.items() if spec not in errors}
    shuffled, failed = weighted_all(live, attr, plan.shuffled, ones, time_limit_s)
    errors |= failed
    out = {}
    for spec, metric in metrics.items():
        if spec in errors:
            continue
        trained, boot, bins = plan.split(planned[spec])
        out[spec] = MetricScores(trained=trained, boot=boot, randomized=randomized[spec][0],
                                 shuffled=shuffled[spec][0],
                                 area_bins=np.array([model_score(metric, row) for row in bins]))
    return out, errors


def resolve_metrics(specs: Sequence[str] | None) -> dict[str, Metric]:
    """Metric instances by canonical spec (default: every registered metric)."""
    specs = list(registry.available()) if specs is None else list(specs)
    metrics = {}
    for spec in specs:
        metric = registry.get(spec)
        metrics[metric.spec] = metric  # type: ignore[attr-defined]
    return metrics


def score_zoo(
    zoo_dir: str | Path,
    frames: FrameSet,
    names: Sequence[str] | None = None,
    *,
    config: ScoringConfig = ScoringConfig(),
    attribute: Attribute | None = None,
    progress: bool = True,
    n_jobs: int | None = None,
    time_limit_s: float | None = None,
) -> ScoreTable:
    """Score the metric specs ``names`` (default: every registered metric) on every checkpoint in
    ``zoo_dir``.

    ``attribute`` defaults to ``interpbench.attribution.attribute.attribute_checkpoint`` (then
    attributions are computed in ``n_jobs`` processes, default one per core); tests pass a
    synthetic one. A metric that fails on any checkpoint (or runs past ``time_limit_s`` in one
    call) is dropped, with its message in ``errors``, so that one broken plugin does not hide the
    others.
    """
    metrics = resolve_metrics(names)
    if len(frames) < config.area_bins:
        raise InterpbenchError(f"{len(frames)} frames cannot fill {config.area_bins} area bins")
    attribute = attribute or default_attribute()
    parallel = attribute is attribute_checkpoint  # synthetic attributions (tests) run in-process
    zoo = read_zoo(zoo_dir)
    plan = Plan.make(frames, config.n_bootstrap, config.area_bins, config.seed)
    frames_hash = frames.content_hash()
    identities = {spec: metric_identity(m) for spec, m in metrics.items()}
    checkpoints = {name: load_checkpoint(row["path"]) for name, row in zoo.iterrows()}
    paths = {name: {spec: _cache_path(ck.weights_hash(), frames_hash, identities[spec], config, attribute)
                    for spec in metrics} for name, ck in checkpoints.items()}
    cached = {name: {spec: MetricScores.load(p) if p.exists() else None for spec, p in per.items()}
              for name, per in paths.items()}
    todo = [name for name in zoo.index if any(v is None for v in cached[name].values())]
    if parallel:
        prefetch_attributions([str(zoo.at[name, "path"]) for name in todo], frames, config, n_jobs, progress)
    scores: dict[str, dict[str, MetricScores]] = {spec: {} for spec in metrics}
    errors: dict[str, str] = {}
    twins: dict[int, AttributionSet] = {}
    for name in progress_bar(zoo.index, desc="scoring", unit="ckpt", enabled=progress):
        for spec, entry in cached[name].items():
            if entry is not None:
                scores[spec][name] = entry
        missing = {spec: metrics[spec] for spec, entry in cached[name].items() if entry is None and spec not in errors}
        if missing:
            computed, failed = _score_checkpoint(checkpoints[name], frames, missing, config, attribute, plan,
                                                 time_limit_s, twins)
            errors |= {spec: f"{name}: {msg}" for spec, msg in failed.items()}
            for spec, result in computed.items():
                result.save(paths[name][spec])
                scores[spec][name] = result
    return ScoreTable(
        checkpoints=zoo,
        scores={spec: per for spec, per in scores.items() if spec not in errors},
        metric_objects={spec: m for spec, m in metrics.items() if spec not in errors},
        errors=errors,
        bin_area=plan.bin_area,
        frames_hash=frames_hash,
        n_frames=len(frames),
        config=config,
    )
