"""Feature ablation: remove one NMF feature from layer 2b during play and count how episodes end.

A feature is a non-negative mixture of 2b channels (a row of its basis); ablating it projects
that direction out of the 2b activations at every position, ``a - (a . u) u`` with ``u`` the
unit row, between ``ClearCNN.forward_to`` and ``forward_from``, and leaves everything else
alone. The agent then plays held-out levels with its ordinary (sampled) policy and each episode's
outcome is named by ``interpbench.interventions.causes``.

Episodes are played in chunks of fixed env seeds, the same for the unablated run and every
feature, so each env meets the same sequence of levels in every run (procgen draws an env's
levels from its own seeded generator, whatever the episodes' lengths): comparisons are paired by
level. Finished chunks are saved (atomically) after each one, so a killed run resumes where it
stopped; a progress file written under other settings is refused.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from interpbench.agents.models import ClearCNN, load_checkpoint
from interpbench.agents.policies import ModelPolicy, Policy
from interpbench.agents.rollout import episode_quotas
from interpbench.attribution.features import FeatureBasis
from interpbench.attribution.fit_set import BasisFit
from interpbench.data.frameset import FrameSet
from interpbench.game.env import IDLE_ACTION, DistributionMode, level_range, make_env
from interpbench.infra import atomic
from interpbench.infra.errors import CorruptFileError, InterpbenchError
from interpbench.infra.progress import progress_bar
from interpbench.interventions.causes import OUTCOMES, CauseProbe
from interpbench.interventions.measure import Subject, checkpoint_basis

#: The unablated run's feature index in the table.
NO_ABLATION = -1


class FeatureAblated(nn.Module):
    """``model`` with one feature's direction projected out of its layer-2b activations."""

    def __init__(self, model: ClearCNN, basis: FeatureBasis, feature: int) -> None:
        super().__init__()
        if not 0 <= feature < basis.n_features:
            raise InterpbenchError(f"feature index {feature} out of range: the basis has {basis.n_features} features")
        row = torch.tensor(np.array(basis.components[feature], np.float32))
        if not row.norm() > 0:
            raise InterpbenchError(f"feature {feature} has an all-zero component; there is no direction to remove")
        self.model = model
        self.register_buffer("direction", (row / row.norm()).view(1, -1, 1, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        acts = self.model.forward_to("2b", x)
        acts = acts - (acts * self.direction).sum(1, keepdim=True) * self.direction
        return self.model.forward_from("2b", acts)


def play_outcomes(policy: Policy, n_episodes: int, *, seed: int, probe: CauseProbe, num_envs: int = 64,
                  distribution_mode: DistributionMode = "hard") -> dict[str, int]:
    """Counts of ``OUTCOMES`` over the first ``n_episodes`` episodes (fixed per-env quotas, as in
    ``interpbench.agents.rollout``) on held-out levels of env seed ``seed``."""
    num_envs = min(num_envs, n_episodes)
    quotas = episode_quotas(n_episodes, num_envs)
    env = make_env(num_envs, level_range("heldout"), seed=seed, distribution_mode=distribution_mode)
    counted = np.zeros(num_envs, np.int64)
    counts = dict.fromkeys(OUTCOMES, 0)
    _, obs, _ = env.observe()
    while (playing := counted < quotas).any():
        actions = np.full(num_envs, IDLE_ACTION, np.int32)
        actions[playing] = policy.act(obs["rgb"][playing])
        before = env.callmethod("get_state")
        env.act(actions)
        _, obs, first = env.observe()
        ended = np.flatnonzero(first & playing)
        if len(ended):
            info = env.get_info()
            for i in ended:
                counts[probe.cause(before[i], int(actions[i]), bool(info[i]["prev_level_complete"]))] += 1
                counted[i] += 1
    env.close()
    return counts


def chunk_key(checkpoint: str, feature: int, k: int, size: int) -> str:
    """Progress-file key of chunk ``k`` (env seed ``seed + k``, ``size`` episodes) of one run."""
    return f"{checkpoint}|{feature}|{k}|{size}"


def _load_progress(path: Path, settings: dict[str, Any]) -> dict[str, dict[str, int]]:
    if not path.exists():
        return {}
    try:
        saved = json.loads(path.read_text())
        chunks = saved["chunks"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptFileError(f"ablation progress file {path} is unreadable ({exc}); remove it to start over") from exc
    if saved.get("settings") != settings:
        raise InterpbenchError(f"ablation progress file {path} was written under other settings "
                               f"({saved.get('settings')}); use another --progress-file or remove it")
    return chunks


def run_ablation(
    subjects: Sequence[Subject],
    frames: FrameSet,
    *,
    n_episodes: int,
    chunk: int = 256,
    seed: int = 0,
    features: Sequence[int] | None = None,
    progress_file: Path,
    fit: BasisFit | None = None,
    play: bool = True,
    progress: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """(one row per subject and feature, the unablated run as feature -1; provenance).

    ``features`` default to all of each subject's basis; the basis is its ordinary attribution's
    on ``frames`` (``checkpoint_basis``). Chunks already in ``progress_file`` are not replayed.
    With ``play=False`` nothing is played: the rows count the leading chunks that every run has
    finished (a table of a run still going on, with its true episode count)."""
    if n_episodes < 1 or chunk < 1:
        raise InterpbenchError(f"n_episodes and chunk must be at least 1, got {n_episodes} and {chunk}")
    n_chunks = -(-n_episodes // chunk)
    sizes = [min(chunk, n_episodes - k * chunk) for k in range(n_chunks)]
    # the total is not a setting: chunk k is the same episodes whatever the total, so a longer
    # run continues a shorter one
    settings = {"frames": frames.content_hash(), "chunk": chunk, "seed": seed,
                "basis_fit": dataclasses.asdict(fit or BasisFit())}
    done = _load_progress(progress_file, settings)
    progress_file.parent.mkdir(parents=True, exist_ok=True)
    plans = []
    for subject in subjects:
        checkpoint = load_checkpoint(subject.path)
        basis = checkpoint_basis(checkpoint, frames, fit)
        chosen = list(range(basis.n_features)) if features is None else list(features)
        for f in chosen:  # out-of-range indices fail here, before anything is played
            FeatureAblated(checkpoint.model, basis, f)
        plans.append((subject, checkpoint, basis, [NO_ABLATION, *chosen]))
    probe = CauseProbe() if play else None
    total = sum(len(fs) for *_, fs in plans) * n_chunks
    seconds: dict[str, float] = {}
    if not play:
        finished = [all(chunk_key(sub.name, f, k, size) in done for sub, *_, fs in plans for f in fs)
                    for k, size in enumerate(sizes)]
        sizes = sizes[: finished.index(False) if False in finished else len(sizes)]
        if not sizes:
            raise InterpbenchError(f"no chunk is finished for every run yet in {progress_file}")
        n_episodes, n_chunks = sum(sizes), len(sizes)
    with progress_bar(total=total if play else 0, desc="ablation chunks", unit="chunk", enabled=progress) as bar:
        # chunks outermost: an interrupted run has about as many episodes for every feature
        for k, size in enumerate(sizes if play else []):
            for subject, checkpoint, basis, chosen in plans:
                for f in chosen:
                    key = chunk_key(subject.name, f, k, size)
                    if key not in done:
                        model = checkpoint.model if f == NO_ABLATION else FeatureAblated(checkpoint.model, basis, f)
                        start = time.perf_counter()
                        policy = ModelPolicy(model, seed + k, spec=f"{subject.name} without feature {f}")
                        done[key] = play_outcomes(policy, size, seed=seed + k, probe=probe)  # type: ignore[arg-type]
                        seconds[key] = round(time.perf_counter() - start, 1)
                        atomic.write_json(progress_file, {"settings": settings, "chunks": done,
                                                          "seconds": {**_saved_seconds(progress_file), **seconds}})
                    bar.update()
    rows = []
    for subject, _, _, chosen in plans:
        for f in chosen:
            counts = [done[chunk_key(subject.name, f, k, size)] for k, size in enumerate(sizes)]
            rows.append({"checkpoint": subject.name, "num_levels": subject.num_levels, "feature": f,
                         "episodes": n_episodes, **{o: sum(c[o] for c in counts) for o in OUTCOMES}})
    provenance = {"episodes": {"per_feature": n_episodes, "chunk": chunk, "env_seeds": [seed, seed + n_chunks - 1],
                               "levels": "heldout", "distribution_mode": "hard", "policy": "sampled"},
                  "frames": {"sha256": frames.content_hash(), "n": len(frames), "used_for": "each basis"},
                  "basis_fit": settings["basis_fit"],
                  "ablation": "feature direction projected out of layer-2b activations",
                  "seconds_per_chunk": _saved_seconds(progress_file)}
    return pd.DataFrame(rows), provenance


def _saved_seconds(path: Path) -> dict[str, float]:
    try:
        return dict(json.loads(path.read_text()).get("seconds", {}))
    except (OSError, ValueError):
        return {}
