"""A synthetic zoo whose true ranking is known by construction, for the validation tests.

* Checkpoints: tiny-cost clear CNNs with random weights, named like the real zoo
  (``synthetic-L<levels>-r<run>``), each with a planted ``quality`` in its JSON.
* Attribution: :func:`synthetic_attribute` mixes the object mask and noise in proportion to the
  checkpoint's quality, one set per NMF basis; randomized twins and cascade steps get pure noise.
* Judgments: :func:`write_labels` writes aggregate files in the published schema whose human
  fraction increases with quality. They are test fixtures, not human data.

So a metric that measures attribution mass on objects must recover Spearman 1 with the judgments.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from interpbench.agents.models import Checkpoint, ClearCNN, save_checkpoint
from interpbench.attribution.fit_set import BasisFit
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.data.layers import LayerGeometry
from interpbench.metrics import registry
from interpbench.validation.oracle import ORACLE_METHOD

LEVELS = (100, 1000, 10000, 100000)
RUNS = (1, 2)
CLASSES = ("background", "agent", "coin")
PLUGIN = Path(__file__).with_name("synthetic_metrics.py")
METRICS = ("synthetic-overlap", "synthetic-distance", "synthetic-noise")


def quality(num_levels: int, run: int) -> float:
    """Planted quality: increases with level count; run 2 is a little better than run 1."""
    return 0.1 + 0.18 * LEVELS.index(num_levels) + 0.05 * (run - 1)


def isolated_cache(tmp_path_factory):
    """Generator for a module-scoped fixture: caches go to a fresh folder, not the user's."""
    import pytest

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERPBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
        yield


def load_metrics() -> None:
    """Register the synthetic metrics once per session (the registry is process-wide)."""
    if "synthetic-overlap" not in registry.available():
        registry.load_plugin_file(PLUGIN)


def make_frames(n: int = 32, seed: int = 0) -> FrameSet:
    """Random observations with an agent square and a coin square of varying size per frame."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, 64, 64), dtype=np.int64)
    for i in range(n):
        for cls in (1, 2):
            size = int(rng.integers(4, 24))
            y, x = rng.integers(0, 64 - size, size=2)
            labels[i, y : y + size, x : x + size] = cls
    masks = labels[:, None] == np.arange(len(CLASSES))[None, :, None, None]
    return FrameSet(obs=rng.integers(0, 256, (n, 64, 64, 3), dtype=np.uint8), masks=masks, classes=CLASSES,
                    level_seeds=np.arange(n, dtype=np.int64), states=[b""] * n, provenance={"synthetic": True})


def make_zoo(directory: Path, levels: tuple[int, ...] = LEVELS, runs: tuple[int, ...] = RUNS) -> Path:
    """Write one checkpoint per (level count, run); returns ``directory``."""
    for num_levels in levels:
        for run in runs:
            torch.manual_seed(num_levels * 10 + run)
            q = quality(num_levels, run)
            meta = {"method": "synthetic", "num_levels": num_levels, "run": run, "quality": q,
                    "test_completion": {"completion_rate": 0.5 + 0.4 * q}}
            save_checkpoint(ClearCNN(), directory / f"synthetic-L{num_levels}-r{run}", meta)
    return directory


KNOWN_KS = (0, 2, 4, 6, 8)


def make_known_zoo(directory: Path, frames: FrameSet, ks: tuple[int, ...] = KNOWN_KS, seeds: tuple[int, ...] = RUNS) -> Path:
    """A known-answer zoo for the report and gate's plumbing: the planted k in each JSON, the
    synthetic quality rising with k (so the synthetic maps are the more object-bound the larger k),
    held-out completion falling with k (so the track's completion row is told apart from the
    metrics' rows; in the shipped zoo it rises), and the oracle recorded for ``frames`` as ``oracle_shares(record=True)`` writes it (k / 8: these
    are clear CNNs, not glass boxes, so the oracle is stated, not measured)."""
    for k in ks:
        for seed in seeds:
            torch.manual_seed(100 + 10 * k + seed)
            meta = {"method": f"glass-box-k{k}", "num_levels": 100_000, "run": seed, "quality": 0.1 + 0.09 * k,
                    "test_completion": {"completion_rate": 0.6 - 0.01 * k - 0.001 * seed}, "planted": {"k": k, "seed": seed},
                    "oracle": {"planted_share": k / 8, "frames_sha256": frames.content_hash(), "method": ORACLE_METHOD}}
            save_checkpoint(ClearCNN(), directory / f"glass-box-k{k}-L100000-r{seed}", meta)
    return directory


def synthetic_attribution(checkpoint: Checkpoint, frames: FrameSet, head: str = "value", n_features: int = 8,
                          refit: int = 0) -> AttributionSet:
    """Maps = quality * object mask + (1 - quality) * noise, per feature, the noise drawn per
    (checkpoint, refit). A network made in memory (a randomized twin or a cascade step: no file
    behind it) has no quality and gets pure noise."""
    q = 0.0 if checkpoint.path is None else float(checkpoint.meta.get("quality", 0.0))
    rng = np.random.default_rng([*checkpoint.name.encode(), refit])
    objects = frames.object_mask().astype(np.float32)[:, None]
    noise = rng.random((len(frames), n_features, 64, 64), dtype=np.float32)
    maps = (q * objects + (1 - q) * noise).astype(np.float32)
    hidden = maps.reshape(len(frames), n_features, 8, 8, 8, 8).mean(axis=(3, 5))
    return AttributionSet(maps=maps, hidden=hidden, layer="2b", head=head, method={"name": "synthetic", "refit": refit},
                          components=np.eye(n_features, dtype=np.float32),
                          geometry=LayerGeometry(size=8, stride=8, offset=3.5), meta={"checkpoint": checkpoint.name})


def synthetic_attribute(checkpoint: Checkpoint, frames: FrameSet, fits: Sequence[BasisFit], head: str = "value",
                        n_features: int = 8, **_: object) -> list[AttributionSet]:
    """The scoring stage's ``attribute``: one :func:`synthetic_attribution` per basis fit."""
    return [synthetic_attribution(checkpoint, frames, head, n_features, fit.refit) for fit in fits]


def write_labels(directory: Path, levels: tuple[int, ...] = LEVELS, runs: tuple[int, ...] = RUNS) -> Path:
    """Aggregate judgment files in the published schema, ordered like the planted quality.

    Researcher 2 is researcher 1 plus a constant, so both (and their mean) rank models alike.
    """
    directory.mkdir(parents=True, exist_ok=True)
    lines = ["num_levels,run,researcher,interpretable_percent"]
    lines += [f"{n},{r},{who},{100 * quality(n, r) * 0.8 + 10 * (who - 1):g}"
              for n in levels for r in runs for who in (1, 2)]
    (directory / "interpretable.csv").write_text("\n".join(lines) + "\n")
    lines = ["num_levels,run,train_completed_percent,test_completed_percent"]
    lines += [f"{n},{r},99,{50 + 40 * quality(n, r):g}" for n in levels for r in runs]
    (directory / "completion.csv").write_text("\n".join(lines) + "\n")
    source = {"citation": "synthetic test fixture", "made_by": "human", "protocol": ["not data"]}
    (directory / "source.json").write_text(json.dumps(source))
    return directory


def synthetic_args(root: Path) -> list[str]:
    """CLI arguments that point every input at a synthetic zoo under ``root`` (built here)."""
    load_metrics()
    if not (root / "zoo").exists():
        make_zoo(root / "zoo")
        make_frames(32).save(root / "frames.npz")
        write_labels(root / "labels")
    return ["--zoo", str(root / "zoo"), "--frames", str(root / "frames.npz"), "--labels", str(root / "labels"),
            "--bootstrap", "12", "--no-progress"]
