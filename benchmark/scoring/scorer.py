"""Scoring stage: every metric on every checkpoint of a zoo, per feature, with what validation needs.

For each checkpoint and metric the table holds (all per feature, from ``interpbench.metrics.scoring.score_all``):

* ``trained``: the score on the whole FrameSet, the number the leaderboard ranks;
* ``boot``: the score on each of B frame resamples. The resample indices are drawn once from
  the seed and shared by all checkpoints, so replicate ``b`` compares every checkpoint on the
  same frames, as the full-sample correlation does;
* ``randomized``: the score of a weight-randomized twin of the model (Adebayo et al. 2018);
* ``shuffled``: the score with each frame's masks swapped for another frame's;
* ``area_bins``: the mean score on K bins of frames sorted by object area, to see whether a
  metric merely tracks how much of the frame objects cover.

Scoring is the expensive stage (an attribution per model, then 1 + 1 + K + B metric calls), so
each (checkpoint, metric) result is cached on disk, keyed by the checkpoint file's hash, the
FrameSet's hash, the metric (name and the hash of its source folder's Python files, so
editing a metric re-scores it), the attribution function and the scoring settings. A metric set is the union of
its entries: adding a metric scores only that one.
"""

from __future__ import annotations

import hashlib
import inspect
import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from interpbench.agents.policies import file_sha256
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.infra import atomic
from interpbench.infra.cache import cache_root, entry_path
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.provenance import REPO_ROOT
from tqdm import tqdm

if TYPE_CHECKING:
    from interpbench.agents.models import Checkpoint

#: Bump when anything below changes what a cached entry contains.
SCORING_VERSION = 1
#: Frame resamples per checkpoint: each costs one call of every metric (all 14 built-ins on 512
#: frames x 8 features: 0.39-0.48 s on 2 cores in tests/benchmarks/test_bench_metrics.py, so 50
#: cost about 20-25 s per checkpoint).
DEFAULT_BOOTSTRAP = 50
DEFAULT_ZOO = REPO_ROOT / "baselines" / "zoo"

#: ``attribute(checkpoint, frames, head=..., n_features=..., progress=...) -> AttributionSet``; its NMF
#: features are fitted once on all frames, and bootstrap replicates resample frames of that set.
Attribute = Callable[..., AttributionSet]


@dataclass(frozen=True)
class ScoringConfig:
    """Everything besides checkpoint, frames and metric that decides a score."""

    n_bootstrap: int = DEFAULT_BOOTSTRAP
    seed: int = 0
    head: str = "value"
    n_features: int = 8
    area_bins: int = 8

    def __post_init__(self) -> None:
        if self.n_bootstrap < 0 or self.area_bins < 2 or self.n_features < 1:
            raise InterpbenchError(f"invalid scoring settings {self}")


@dataclass
class MetricScores:
    """One metric on one checkpoint: trained (F,), boot (B, F), randomized (F,), shuffled (F,), area_bins (K,)."""

    trained: np.ndarray
    boot: np.ndarray
    randomized: np.ndarray
    shuffled: np.ndarray
    area_bins: np.ndarray

    def save(self, path: Path) -> None:
        with atomic.atomic_path(path, suffix=".npz") as tmp:
            np.savez(tmp, **asdict(self))

    @classmethod
    def load(cls, path: Path) -> MetricScores:
        with np.load(path) as z:
            return cls(**{k: z[k] for k in z.files})


@dataclass
class ScoreTable:
    """Scores of a zoo. ``checkpoints`` is indexed by name (columns method, num_levels, run,
    preset, test_completion, path); ``scores[metric][checkpoint]``; ``errors[metric]`` says why a metric
    is missing; ``bin_area`` (K,) is the mean object area of each area bin."""

    checkpoints: pd.DataFrame
    scores: dict[str, dict[str, MetricScores]]
    higher_is_better: dict[str, bool]
    errors: dict[str, str]
    bin_area: np.ndarray
    frames_hash: str
    n_frames: int
    config: ScoringConfig

    @property
    def metrics(self) -> list[str]:
        return list(self.scores)

    def stacked(self, metric: str, field: str) -> np.ndarray:
        """``field`` of ``metric`` for every checkpoint in table order, stacked on axis 0."""
        per = self.scores[metric]
        return np.stack([getattr(per[name], field) for name in self.checkpoints.index])

    def long(self) -> pd.DataFrame:
        """One row per (checkpoint, metric, feature): the per-feature scores, for scores.csv."""
        rows = []
        for metric, per in self.scores.items():
            for name, s in per.items():
                ckpt = self.checkpoints.loc[name]
                for f in range(len(s.trained)):
                    rows.append({"checkpoint": name, "method": ckpt["method"], "num_levels": ckpt["num_levels"],
                                 "run": ckpt["run"], "metric": metric, "feature": f, "score": s.trained[f],
                                 "randomized": s.randomized[f], "shuffled_masks": s.shuffled[f]})
        return pd.DataFrame(rows)


# -- the zoo ---------------------------------------------------------------------------------------


def _completion_rate(meta: dict[str, Any], split: str, path: Path) -> float:
    result = meta.get(f"{split}_completion") or {}
    rate = result.get("completion_rate", result.get("rate"))
    if rate is None:
        raise InterpbenchError(f"{path}: no {split}_completion rate")
    return float(rate)


def read_zoo(zoo_dir: str | Path) -> pd.DataFrame:
    """The zoo's checkpoints (``*.json`` beside a ``.safetensors``), indexed by name, sorted."""
    zoo_dir = Path(zoo_dir)
    rows = []
    for meta_path in sorted(zoo_dir.glob("*.json")):
        weights = meta_path.with_suffix(".safetensors")
        if not weights.exists():
            continue
        try:
            meta = json.loads(meta_path.read_text())
            rows.append({"name": meta_path.stem, "method": meta["method"], "num_levels": int(meta["num_levels"]),
                         "run": int(meta["run"]), "preset": meta.get("preset", ""),
                         "test_completion": _completion_rate(meta, "test", meta_path),
                         "path": str(weights)})
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise InterpbenchError(f"{meta_path}: not a zoo checkpoint description: {exc!r}") from exc
    if not rows:
        raise InterpbenchError(f"no checkpoints (*.json + *.safetensors) in {zoo_dir}")
    return pd.DataFrame(rows).set_index("name").sort_values(["method", "num_levels", "run"])


def frames_cache_path(n: int = 512, seed: int = 0) -> Path:
    """Where the held-out evaluation set of ``n`` frames and ``seed`` is cached, keyed by
    ``FRAMES_VERSION`` so that a change to frame sampling never reuses an old set."""
    from interpbench.frames.build import FRAMES_VERSION

    return cache_root() / "frames" / f"v{FRAMES_VERSION}" / f"heldout-{n}-seed{seed}.npz"


def default_frames_path() -> Path:
    """The default evaluation set: 512 held-out frames, seed 0."""
    return frames_cache_path()


def load_or_build_frames(path: str | Path | None = None, n: int = 512, seed: int = 0,
                         progress: bool = True) -> FrameSet:
    """The FrameSet at ``path`` (default: :func:`default_frames_path`); if absent, the default
    evaluation set is built from the published agent on held-out levels and saved there."""
    path = Path(path) if path is not None else default_frames_path()
    if path.with_suffix(".npz").exists():
        return FrameSet.load(path)
    from interpbench.frames.build import build_frameset

    frames = build_frameset(n, split="heldout", policy="reference", seed=seed, progress=progress)
    frames.save(path)
    return frames


# -- resampling ------------------------------------------------------------------------------------


def resample_indices(n_frames: int, n_replicates: int, seed: int) -> np.ndarray:
    """int (B, N): frame indices of each bootstrap replicate, drawn with replacement."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0]))
    return rng.integers(0, n_frames, size=(n_replicates, n_frames))


def take_frames(frames: FrameSet, index: np.ndarray) -> FrameSet:
    """The frames at ``index`` (repeats allowed); unlike ``FrameSet.subset`` it skips hashing,
    which would dominate the cost of a bootstrap replicate."""
    return FrameSet(obs=frames.obs[index], masks=frames.masks[index], classes=frames.classes,
                    level_seeds=frames.level_seeds[index], states=[frames.states[i] for i in index],
                    provenance=frames.provenance)


def take_attr(attr: AttributionSet, index: np.ndarray) -> AttributionSet:
    return AttributionSet(maps=attr.maps[index], hidden=attr.hidden[index], layer=attr.layer, head=attr.head,
                          method=attr.method, components=attr.components, geometry=attr.geometry, meta=attr.meta)


def shuffled_masks(frames: FrameSet, seed: int) -> FrameSet:
    """The frames with every frame's masks moved to another frame: a random permutation that is
    a single cycle, so no frame keeps its own masks."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 3]))
    order = rng.permutation(len(frames))
    source = np.empty_like(order)
    source[order] = np.roll(order, 1)  # frame order[i] gets the masks of frame order[i-1]
    return FrameSet(obs=frames.obs, masks=frames.masks[source], classes=frames.classes,
                    level_seeds=frames.level_seeds, states=frames.states, provenance=frames.provenance)


def area_bins(frames: FrameSet, k: int) -> tuple[list[np.ndarray], np.ndarray]:
    """K bins of frames by object area (non-background share), and each bin's mean area."""
    area = frames.object_mask().mean(axis=(1, 2))
    bins = np.array_split(np.argsort(area, kind="stable"), k)
    return bins, np.array([area[b].mean() for b in bins])


# -- metrics, models, cache ------------------------------------------------------------------------


def metric_identity(name: str) -> str:
    """Name plus a hash of the Python files beside the one defining the metric (its module and the
    helpers it most likely imports, e.g. ``metrics/maps.py``): editing them invalidates its cache."""
    from interpbench.metrics import registry

    source = inspect.getsourcefile(registry.available()[name].factory)
    if source is None:
        return f"{name}@unknown-source"
    h = hashlib.sha256()
    for path in sorted(Path(source).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return f"{name}@{h.hexdigest()}"


def randomized_twin(checkpoint: Checkpoint, seed: int) -> Checkpoint:
    """A freshly initialised network of the same shape: the model with all its weights randomized.

    Full re-initialisation does not depend on the trained weights, so every checkpoint gets the
    same random network for a given seed: one attribution (cached by weights) serves the zoo.
    """
    import torch
    from interpbench.agents.models import Checkpoint, ClearCNN

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = ClearCNN(num_actions=checkpoint.model.num_actions)
    # The twin carries none of the trained model's measurements.
    return Checkpoint(model.eval(), {"name": f"randomized-seed{seed}"}, None)


def _cache_path(weights_hash: str, frames_hash: str, metric: str, config: ScoringConfig, attribute: Attribute) -> Path:
    return entry_path("scores", {"version": SCORING_VERSION, "weights": weights_hash, "frames": frames_hash,
                                 "metric": metric, "config": asdict(config),
                                 "attribute": f"{attribute.__module__}.{attribute.__qualname__}"})


def default_attribute() -> Attribute:
    from interpbench.attribution.attribute import attribute_checkpoint

    return attribute_checkpoint


class _Scorer:
    """Calls ``score_all`` on many (attr, frames) pairs and keeps the first error of each metric."""

    def __init__(self, names: Sequence[str]) -> None:
        from interpbench.metrics.scoring import score_all

        self._score_all = score_all
        self.names = list(names)
        self.errors: dict[str, str] = {}

    def __call__(self, attr: AttributionSet, frames: FrameSet) -> dict[str, np.ndarray]:
        scores, errors = self._score_all(attr, frames, names=[n for n in self.names if n not in self.errors])
        for name, message in errors.items():
            self.errors.setdefault(name, message)
        return scores


@dataclass
class _Plan:
    """What every checkpoint is scored on: shared resamples, area bins, the mask-shuffled frames."""

    resamples: np.ndarray
    bins: list[np.ndarray]
    bin_area: np.ndarray
    shuffled: FrameSet

    @classmethod
    def make(cls, frames: FrameSet, config: ScoringConfig) -> _Plan:
        bins, bin_area = area_bins(frames, config.area_bins)
        return cls(resample_indices(len(frames), config.n_bootstrap, config.seed), bins, bin_area,
                   shuffled_masks(frames, config.seed))


def _score_checkpoint(checkpoint: Checkpoint, frames: FrameSet, names: Sequence[str], config: ScoringConfig,
                      attribute: Attribute, plan: _Plan, progress: bool) -> tuple[dict[str, MetricScores], dict[str, str]]:
    """Attribute the model and its randomized twin, then run every metric call the table needs."""
    kwargs = {"head": config.head, "n_features": config.n_features, "progress": progress}
    attr = attribute(checkpoint, frames, **kwargs)
    random_attr = attribute(randomized_twin(checkpoint, config.seed), frames, **kwargs)
    score = _Scorer(names)
    trained = score(attr, frames)
    randomized = score(random_attr, frames)
    shuffled = score(attr, plan.shuffled)
    bins = [score(take_attr(attr, b), take_frames(frames, b)) for b in plan.bins]
    boot = [score(take_attr(attr, r), take_frames(frames, r))
            for r in tqdm(plan.resamples, desc=f"bootstrap {checkpoint.name}", unit="rep", leave=False,
                          disable=not progress)]
    out = {
        name: MetricScores(
            trained=trained[name],
            boot=np.stack([b[name] for b in boot]) if boot else np.empty((0, len(trained[name]))),
            randomized=randomized[name],
            shuffled=shuffled[name],
            area_bins=np.array([b[name].mean() for b in bins]),
        )
        for name in names
        if name not in score.errors
    }
    return out, score.errors


def score_zoo(
    zoo_dir: str | Path,
    frames: FrameSet,
    names: Sequence[str] | None = None,
    *,
    config: ScoringConfig = ScoringConfig(),
    attribute: Attribute | None = None,
    progress: bool = True,
) -> ScoreTable:
    """Score ``names`` (default: every registered metric) on every checkpoint in ``zoo_dir``.

    ``attribute`` defaults to ``interpbench.attribution.attribute.attribute_checkpoint``; tests pass a
    synthetic one. A metric that fails on any checkpoint is dropped, with its message in
    ``errors``, so that one broken plugin does not hide the others.
    """
    from interpbench.agents.models import load_checkpoint
    from interpbench.metrics import registry

    available = registry.available()
    names = list(available) if names is None else list(names)
    unknown = [n for n in names if n not in available]
    if unknown:
        raise InterpbenchError(f"unknown metric(s) {unknown}; registered: {', '.join(available) or 'none'}")
    if len(frames) < config.area_bins:
        raise InterpbenchError(f"{len(frames)} frames cannot fill {config.area_bins} area bins")
    attribute = attribute or default_attribute()
    zoo = read_zoo(zoo_dir)
    plan = _Plan.make(frames, config)
    frames_hash = frames.content_hash()
    identities = {n: metric_identity(n) for n in names}
    scores: dict[str, dict[str, MetricScores]] = {n: {} for n in names}
    errors: dict[str, str] = {}
    for name, row in tqdm(zoo.iterrows(), total=len(zoo), desc="scoring", unit="ckpt", disable=not progress):
        weights_hash = file_sha256(Path(row["path"]))
        paths = {n: _cache_path(weights_hash, frames_hash, identities[n], config, attribute)
                 for n in names if n not in errors}
        missing = [n for n, p in paths.items() if not p.exists()]
        for n in set(paths) - set(missing):
            scores[n][name] = MetricScores.load(paths[n])
        if missing:
            computed, failed = _score_checkpoint(load_checkpoint(row["path"]), frames, missing, config, attribute,
                                                 plan, progress)
            errors |= {n: f"{name}: {msg}" for n, msg in failed.items()}
            for n, result in computed.items():
                result.save(paths[n])
                scores[n][name] = result
    return ScoreTable(
        checkpoints=zoo,
        scores={n: per for n, per in scores.items() if n not in errors},
        higher_is_better={n: available[n].higher_is_better for n in names if n not in errors},
        errors=errors,
        bin_area=plan.bin_area,
        frames_hash=frames_hash,
        n_frames=len(frames),
        config=config,
    )
