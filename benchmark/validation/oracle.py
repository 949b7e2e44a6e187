"""The known-answer track's oracle and each metric's agreement with the planted degree k.

The oracle is independent of every registered metric: the share of a glass-box network's value
attribution (integrated gradients at layer 2b, exactly as the leaderboard attributes:
``attribution.attribute.layer_attributions``) that lies on its planted object channels
(``agents.glass_box``), summed as absolute values over frames, positions and channels. It is 0
at k = 0 and 1 at k = 8 by construction; in between it says how much the trained upper layers
use what was planted. If it did not rise with k, the upper layers would ignore the object
channels and the zoo would plant nothing (docs/known-answer.md).

:func:`known_answer_rows` ranks a zoo's checkpoints by each metric's model score against k,
with the leaderboard's interval machinery, with k values as the clusters (as level counts are in
the main design: two seeds per k are not independent evidence about k).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interpbench.agents.glass_box import object_channel_mask
from interpbench.agents.inputs import frame_observations
from interpbench.agents.models import Checkpoint, load_checkpoint
from interpbench.attribution.attribute import DEFAULT_STEPS, layer_attributions
from interpbench.data.frameset import FrameSet
from interpbench.data.zoo import read_zoo_metadata
from interpbench.infra import atomic
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.provenance import code_version
from interpbench.scoring.table import ScoreTable
from interpbench.validation.design import Design, cluster_bootstrap_counts
from interpbench.validation.inference import (
    DEFAULT_REPLICATES,
    bootstrap_spearman,
    permutation_null,
    permutation_pvalue,
    replicate_scores,
    spearman_interval,
)
from interpbench.validation.ranks import spearman

ORACLE_METHOD = {"name": "integrated-gradients", "baseline": "zero-activations", "path": "riemann_right",
                 "n_steps": DEFAULT_STEPS, "layer": "2b", "target": "value", "share": "sum |attribution|"}

#: The oracle's row in the known-answer rows (not a registered metric: it reads what was planted).
ORACLE_ROW = "oracle:planted-share"

#: Held-out completion ranked against k, the main leaderboard's baseline of the same name: play
#: improves with k in this zoo (docs/known-answer.md), so a metric that only tracked how well an
#: agent plays would also rank it by k, and its row must be read beside this one.
COMPLETION_ROW = "baseline: test completion"

#: Rows of the track that are not registered metrics (never flagged, never in the leaderboard).
REFERENCE_ROWS = (ORACLE_ROW, COMPLETION_ROW)


def planted_share(checkpoint: Checkpoint, frames: FrameSet) -> float:
    """Share of the value attribution at 2b on ``frames`` carried by the planted object channels."""
    model = checkpoint.model
    attr = layer_attributions(model, frame_observations(model, frames), layer="2b", head="value")
    mass = np.abs(attr).sum(axis=(0, 2, 3), dtype=np.float64)
    return float(mass[object_channel_mask(model)].sum() / mass.sum())


def oracle_shares(zoo_dir: Path, frames: FrameSet, *, record: bool = False, progress: bool = True) -> dict[str, float]:
    """name -> planted share of every checkpoint in ``zoo_dir`` on ``frames``: read from the
    checkpoint's JSON (``oracle``) where it was recorded for these frames and this method, else
    measured; ``record`` writes what was measured into the JSON (share, frames, method, code)."""
    frames_hash, shares = frames.content_hash(), {}
    for meta in read_zoo_metadata(zoo_dir):
        path = Path(meta["path"]).with_suffix(".json")
        raw = json.loads(path.read_text(encoding="utf-8"))
        known = raw.get("oracle") or {}
        if known.get("frames_sha256") != frames_hash or known.get("method") != ORACLE_METHOD:
            share = planted_share(load_checkpoint(meta["path"]), frames)
            known = {"planted_share": share, "frames_sha256": frames_hash, "n_frames": len(frames),
                     "method": ORACLE_METHOD, "code_version": code_version()}
            if record:
                atomic.write_json(path, {**raw, "oracle": known})
            if progress:
                print(f"oracle {meta['name']}: {share:.4f}", flush=True)
        shares[meta["name"]] = float(known["planted_share"])
    return shares


def planted_k(zoo_dir: Path) -> pd.Series:
    """k per checkpoint name, from each JSON's ``planted`` record (bad input where one lacks it)."""
    out = {}
    for meta in read_zoo_metadata(zoo_dir):
        k = (meta.get("planted") or {}).get("k")
        if isinstance(k, bool) or not isinstance(k, int):
            raise InterpbenchError(f"{meta['name']}: not a known-answer checkpoint (no planted k in its JSON)")
        out[meta["name"]] = k
    return pd.Series(out, name="k")


def agreement_with_k(scores: np.ndarray, k: np.ndarray, *, boot: np.ndarray | None = None,
                     refits: np.ndarray | None = None, n_replicates: int = DEFAULT_REPLICATES,
                     seed: int = 0) -> dict[str, Any]:
    """Spearman of oriented model ``scores`` (n,) with ``k`` (n,), its interval (k values resampled
    as clusters; frame resamples ``boot`` (n, B) and refits (n, R) as in the leaderboard) and the
    one-sided permutation p over k values."""
    n = len(scores)
    boot = np.zeros((n, 0)) if boot is None else boot
    refits = np.zeros((n, 0)) if refits is None else refits
    design = Design.from_levels(k)
    design.require_estimable()
    point = spearman(scores, k.astype(np.float64))
    counts = cluster_bootstrap_counts(design, n_replicates, seed)
    replicates = bootstrap_spearman(replicate_scores(scores, boot, refits, n_replicates, seed), k.astype(np.float64),
                                    counts)
    low, high, how = spearman_interval(point, replicates, design.n_clusters)
    p = permutation_pvalue(permutation_null(scores, design.labels.astype(np.float64), design, seed), point)
    return {"spearman_k": point, "ci_low": low, "ci_high": high, "ci_method": how, "p_value": p,
            "n_checkpoints": n, "n_k": design.n_clusters}


def known_answer_rows(table: ScoreTable, zoo_dir: Path, *, oracle: Mapping[str, float] | None = None,
                      n_replicates: int = DEFAULT_REPLICATES, seed: int = 0) -> pd.DataFrame:
    """One row per metric of ``table`` (scored on the known-answer zoo ``zoo_dir``): its model
    scores' Spearman with the planted k, interval and p (:func:`agreement_with_k`), after the
    held-out completion's row (COMPLETION_ROW); ``oracle`` (name -> planted share,
    :func:`oracle_shares`) adds the oracle's own row first."""
    k = planted_k(zoo_dir)
    names = table.checkpoints.index
    missing = sorted(set(names) - set(k.index))
    if missing:
        raise InterpbenchError(f"checkpoints of the score table not in {zoo_dir}: {missing}")
    ks = k.loc[names].to_numpy()
    rows = []
    if oracle is not None:
        rows.append({"metric": ORACLE_ROW, **agreement_with_k(
            np.array([oracle[name] for name in names]), ks, n_replicates=n_replicates, seed=seed)})
    rows.append({"metric": COMPLETION_ROW, **agreement_with_k(
        table.checkpoints.loc[names, "test_completion"].to_numpy(dtype=np.float64), ks, n_replicates=n_replicates,
        seed=seed)})
    for metric in table.metrics:
        rows.append({"metric": metric, **agreement_with_k(
            table.model_scores(metric, "trained", names), ks, boot=table.model_scores(metric, "boot", names),
            refits=table.model_scores(metric, "refits", names), n_replicates=n_replicates, seed=seed)})
    return pd.DataFrame(rows).set_index("metric")
