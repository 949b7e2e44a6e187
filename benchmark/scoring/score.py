"""Scoring stage: every metric on every checkpoint of a zoo, with what validation needs.

Per checkpoint: the attributions of the model with its main NMF basis and R refitted ones
(fitted on its own play by default, ``attribution.fit_set``), of S steps of the cascading
randomization of its weights, and of T randomized twins shared by the zoo (``controls``); all
cached by weights and computed for all checkpoints in parallel over the cores. Then per metric:
the main basis' maps on the full set reweighted as the plan says (the set itself, its bootstrap
replicates, its area bins: one call for a frame-additive metric), each refit's, cascade step's
and twin's maps on the full set, and the main maps against shuffled masks. Each (checkpoint,
metric) result is cached on disk, keyed by the checkpoint's weights, the FrameSet's hash, the
metric's identity (``scoring.identity``), the attribution function and the scoring settings:
adding or editing a metric scores only that one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from interpbench.agents.architectures import architecture_of
from interpbench.agents.models import Checkpoint, load_checkpoint
from interpbench.attribution.attribute import attribute_bases
from interpbench.attribution.fit_set import BasisFit
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.data.zoo import read_zoo
from interpbench.infra.cache import entry_path
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar
from interpbench.infra.resources import available_cores
from interpbench.metrics import registry
from interpbench.metrics.base import Metric, model_score
from interpbench.metrics.scoring import weighted_all
from interpbench.scoring.controls import cascade, randomized_twin, twin_seeds
from interpbench.scoring.identity import metric_identity
from interpbench.scoring.plan import Plan
from interpbench.scoring.table import MetricScores, ScoreTable, ScoringConfig

#: Bump when anything below changes what a cached entry contains.
SCORING_VERSION = 3

#: ``attribute(checkpoint, frames, fits, *, head, n_features, player, progress) -> [AttributionSet]``:
#: one attribution set of ``frames`` per basis fit (``attribution.attribute.attribute_bases``);
#: bootstrap replicates reweight frames of the main set.
Attribute = Callable[..., list[AttributionSet]]


def default_attribute() -> Attribute:
    return attribute_bases


def basis_fits(config: ScoringConfig) -> list[BasisFit]:
    """The main basis (refit 0) and the ``n_refits`` refits the settings ask for."""
    return [BasisFit(source=config.nmf_fit, refit=r, seed=config.own_play_seed,  # type: ignore[arg-type]
                     own_play_frames=config.own_play_frames, max_rows=config.nmf_max_rows)
            for r in range(config.n_refits + 1)]


def _config_key(config: ScoringConfig) -> dict:
    """The settings in the score cache key. The attribution method (with its parameters) and the
    layer appear only when not the defaults: entries scored before they were settings are
    integrated gradients at the default layer, and stay valid."""
    from interpbench.attribution.methods import get_method

    key = asdict(config)
    method = get_method(key.pop("attribution"))
    if method.name != ScoringConfig.attribution:
        key["attribution"] = method.identity()
    if key["layer"] is None:
        del key["layer"]
    return key


def _attribution_options(config: ScoringConfig) -> dict:
    """``layer``/``method`` for the attribute function, only when not the defaults (so a synthetic
    attribute function of the tests need not take them)."""
    options: dict = {} if config.layer is None else {"layer": config.layer}
    return options | ({} if config.attribution == ScoringConfig.attribution else {"method": config.attribution})


def _cache_path(weights_hash: str, frames_hash: str, identity: str, config: ScoringConfig, attribute: Attribute) -> Path:
    return entry_path("scores", {"version": SCORING_VERSION, "weights": weights_hash, "frames": frames_hash,
                                 "metric": identity, "config": _config_key(config),
                                 "attribute": f"{attribute.__module__}.{attribute.__qualname__}"})


def _workers(n_jobs: int | None, n_tasks: int) -> int:
    return max(1, min(n_tasks, available_cores() if n_jobs is None else n_jobs))


def _attribute_sets(attribute: Attribute, checkpoint: Checkpoint, frames: FrameSet, config: ScoringConfig,
                    kind: str, index: int = 0) -> list[AttributionSet]:
    """The attribution sets of one unit of work: ``"model"`` (main basis and refits),
    ``"cascade"`` (step ``index``, its bases fitted on the intact checkpoint's play) or
    ``"twin"`` (twin ``index`` of ``checkpoint``'s action count)."""
    fits = basis_fits(config)
    kwargs = {"head": config.head, "n_features": config.n_features, "progress": False, **_attribution_options(config)}
    if kind == "model":
        return attribute(checkpoint, frames, fits, **kwargs)
    if kind == "cascade":
        _, damaged = cascade(checkpoint, config.seed, index + 1, layer=config.layer)[index]
        return attribute(damaged, frames, fits[:1], player=checkpoint, **kwargs)
    twin = randomized_twin(checkpoint.model.num_actions, twin_seeds(config.seed, config.n_twins)[index],
                           architecture_of(checkpoint).name)
    return attribute(twin, frames, fits[:1], **kwargs)


def _attribute_one(path: str, frames: FrameSet, config: ScoringConfig, kind: str, index: int, threads: int) -> None:
    """Worker: one unit of attribution work into the cache, on ``threads`` torch threads (the
    cores divided among the workers)."""
    import torch

    torch.set_num_threads(threads)
    _attribute_sets(attribute_bases, load_checkpoint(path), frames, config, kind, index)


def prefetch_attributions(paths: Sequence[str], frames: FrameSet, config: ScoringConfig,
                          n_jobs: int | None = None, progress: bool = True) -> None:
    """Attribute ``paths`` (main basis and refits; each cascade step) and the randomized twins
    into the cache, one process per core.

    Attribution is most of a cold run's cost and each checkpoint is independent, so the work is
    spread over processes; the twins (shared by all checkpoints; made for the first path's
    action count, which the zoo shares) are one task each, and the cascade steps come after
    every checkpoint's own task, whose own-play frames they reuse from the cache. Metrics then
    score in this process, where plugins, notebook metrics and their errors live."""
    if not paths:
        return
    tasks = [(path, "model", 0) for path in paths]
    tasks += [(paths[0], "twin", t) for t in range(config.n_twins)]
    tasks += [(path, "cascade", k) for path in paths for k in range(config.cascade_depth)]
    workers = _workers(n_jobs, len(tasks))
    threads = max(1, available_cores() // workers)
    if workers == 1:
        for path, kind, index in progress_bar(tasks, desc="attribution", unit="task", enabled=progress):
            _attribute_one(path, frames, config, kind, index, threads)
        return
    from joblib import Parallel, delayed

    calls = (delayed(_attribute_one)(path, frames, config, kind, index, threads) for path, kind, index in tasks)
    with progress_bar(total=len(tasks), desc=f"attribution ({workers} processes)", unit="task",
                      enabled=progress) as bar:
        for _ in Parallel(n_jobs=workers, return_as="generator_unordered")(calls):
            bar.update()


@dataclass
class TwinScores:
    """The randomized twins' scores per (action count, metric), (T, F): a twin depends on
    nothing else, so a zoo attributes and scores each twin once, not once per checkpoint."""

    attributions: dict[int, list[AttributionSet]] = field(default_factory=dict)
    scores: dict[tuple[int, str], np.ndarray] = field(default_factory=dict)


def _full_set_scores(metrics: Mapping[str, Metric], sets: Sequence[AttributionSet], frames: FrameSet,
                     time_limit_s: float | None, errors: dict[str, str]) -> dict[str, np.ndarray]:
    """(len(sets), F) scores on the whole frame set per metric that has not failed; failures
    are added to ``errors``."""
    ones = np.ones((1, len(frames)))
    rows: dict[str, list[np.ndarray]] = {spec: [] for spec in metrics}
    for attr in sets:
        live = {spec: m for spec, m in metrics.items() if spec not in errors}
        scored, failed = weighted_all(live, attr, frames, ones, time_limit_s)
        errors |= failed
        for spec, values in scored.items():
            rows[spec].append(values[0])
    return {spec: np.stack(r) if r else np.zeros((0, 0)) for spec, r in rows.items() if spec not in errors}


def _twin_scores(checkpoint: Checkpoint, frames: FrameSet, metrics: Mapping[str, Metric], config: ScoringConfig,
                 attribute: Attribute, twins: TwinScores, time_limit_s: float | None,
                 errors: dict[str, str]) -> dict[str, np.ndarray]:
    actions = checkpoint.model.num_actions
    if actions not in twins.attributions:
        twins.attributions[actions] = [_attribute_sets(attribute, checkpoint, frames, config, "twin", t)[0]
                                       for t in range(config.n_twins)]
    todo = {spec: m for spec, m in metrics.items() if (actions, spec) not in twins.scores}
    for spec, values in _full_set_scores(todo, twins.attributions[actions], frames, time_limit_s, errors).items():
        twins.scores[actions, spec] = values
    return {spec: twins.scores[actions, spec] for spec in metrics if spec not in errors}


def _score_checkpoint(checkpoint: Checkpoint, frames: FrameSet, metrics: dict[str, Metric], config: ScoringConfig,
                      attribute: Attribute, plan: Plan, time_limit_s: float | None = None,
                      twins: TwinScores | None = None) -> tuple[dict[str, MetricScores], dict[str, str]]:
    """Attribute the model (main basis, refits, cascade steps) and the twins, then score them."""
    main, *refits = _attribute_sets(attribute, checkpoint, frames, config, "model")
    steps = [_attribute_sets(attribute, checkpoint, frames, config, "cascade", k)[0]
             for k in range(config.cascade_depth)]
    planned, errors = weighted_all(metrics, main, frames, plan.weights, time_limit_s)
    refit_scores = _full_set_scores(metrics, refits, frames, time_limit_s, errors)
    cascade_scores = _full_set_scores(metrics, steps, frames, time_limit_s, errors)
    random_scores = _twin_scores(checkpoint, frames, metrics, config, attribute, twins or TwinScores(),
                                 time_limit_s, errors)
    live = {spec: m for spec, m in metrics.items() if spec not in errors}
    shuffled, failed = weighted_all(live, main, plan.shuffled, np.ones((1, len(frames))), time_limit_s)
    errors |= failed
    out = {}
    for spec, metric in metrics.items():
        if spec in errors:
            continue
        trained, boot, bins = plan.split(planned[spec])
        n_features = len(trained)
        out[spec] = MetricScores(trained=trained, boot=boot, refits=refit_scores[spec].reshape(-1, n_features),
                                 randomized=random_scores[spec], cascade=cascade_scores[spec].reshape(-1, n_features),
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

    ``attribute`` defaults to ``interpbench.attribution.attribute.attribute_bases`` (then
    attributions are computed in ``n_jobs`` processes, default one per core); tests pass a
    synthetic one. A metric that fails on any checkpoint (or runs past ``time_limit_s`` in one
    call) is dropped, with its message in ``errors``, so that one broken plugin does not hide the
    others.
    """
    metrics = resolve_metrics(names)
    if len(frames) < config.area_bins:
        raise InterpbenchError(f"{len(frames)} frames cannot fill {config.area_bins} area bins")
    attribute = attribute or default_attribute()
    parallel = attribute is attribute_bases  # synthetic attributions (tests) run in-process
    zoo = read_zoo(zoo_dir)
    plan = Plan.make(frames, config.n_bootstrap, config.area_bins, config.seed)
    frames_hash = frames.content_hash()
    identities = {spec: metric_identity(m) for spec, m in metrics.items()}
    checkpoints = {name: load_checkpoint(row["path"]) for name, row in zoo.iterrows()}
    architectures = {architecture_of(ck).name for ck in checkpoints.values()}
    if len(architectures) > 1:  # the twins, the cascade steps and the layer are per architecture
        raise InterpbenchError(f"{zoo_dir}: a zoo is scored for one architecture, this one mixes {sorted(architectures)}")
    steps = [step for step, _ in architecture_of(next(iter(checkpoints.values()))).cascade_for(config.layer)] \
        if checkpoints else []
    # A layer has as many cascade steps as groups above it (the clear CNN's 2b: 5); score those.
    config = replace(config, cascade_depth=min(config.cascade_depth, len(steps))) if checkpoints else config
    paths = {name: {spec: _cache_path(ck.weights_hash(), frames_hash, identities[spec], config, attribute)
                    for spec in metrics} for name, ck in checkpoints.items()}
    cached = {name: {spec: MetricScores.load(p) if p.exists() else None for spec, p in per.items()}
              for name, per in paths.items()}
    todo = [name for name in zoo.index if any(v is None for v in cached[name].values())]
    if parallel:
        prefetch_attributions([str(zoo.at[name, "path"]) for name in todo], frames, config, n_jobs, progress)
    scores: dict[str, dict[str, MetricScores]] = {spec: {} for spec in metrics}
    errors: dict[str, str] = {}
    twins = TwinScores()
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
        cascade_steps=tuple(steps[: config.cascade_depth]),
    )
