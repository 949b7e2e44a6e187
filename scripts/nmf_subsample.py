"""How much fitting NMF on a sample of attribution rows changes the features and the scores.

For each checkpoint given (default: three of the shipped zoo's level counts), on the default
512 scoring frames: the integrated gradients at 2b once, then the basis fitted on every
non-zero row (the old fit) and on seeded samples of ``--rows`` rows (several seeds). Printed,
per sample size: fit seconds, the cosine similarity of matched components (Hungarian matching
on cosine; min and mean over components, seeds and checkpoints), and per built-in metric the
largest |model score(sample fit) - model score(full fit)| over checkpoints and seeds, beside the
spread of the full-fit model scores over the checkpoints (what a ranking has to resolve).
Figures quoted in docs/attribution.md; run with ``nice`` (it fits 3 x (1 + seeds x sizes) NMFs).

    python scripts/nmf_subsample.py [--rows 10000 30000 100000] [--seeds 3] [CHECKPOINT ...]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from interpbench.agents.models import load_checkpoint
from interpbench.attribution.attribute import compute_attribution_set, layer_attributions
from interpbench.attribution.features import fit_feature_basis
from interpbench.data.zoo import default_zoo
from interpbench.frames.default import load_or_build_frames
from interpbench.metrics.base import model_score
from interpbench.metrics.scoring import weighted_all
from interpbench.scoring.score import resolve_metrics


def matched_cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cosine similarity of each component of ``a`` with its Hungarian-matched one in ``b``."""
    na = a / np.linalg.norm(a, axis=1, keepdims=True)
    nb = b / np.linalg.norm(b, axis=1, keepdims=True)
    cos = na @ nb.T
    rows, cols = linear_sum_assignment(-cos)
    return cos[rows, cols]


def model_scores(metrics: dict, attr, frames) -> dict[str, float]:
    scored, errors = weighted_all(metrics, attr, frames, np.ones((1, len(frames))))
    return {spec: model_score(metrics[spec], values[0]) for spec, values in scored.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoints", nargs="*", default=["distill-L100-r1", "distill-L3000-r1", "distill-L100000-r1"])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    frames = load_or_build_frames(progress=False)
    metrics = resolve_metrics(None)
    full_scores: dict[str, dict[str, float]] = {}
    cosines: dict[int, list[float]] = {n: [] for n in args.rows}
    diffs: dict[int, dict[str, float]] = {n: {} for n in args.rows}
    seconds: dict[str, list[float]] = {"full": [], **{str(n): [] for n in args.rows}}
    for name in args.checkpoints:
        ck = load_checkpoint(default_zoo() / name)
        raw = layer_attributions(ck.model, frames.obs)
        t = time.perf_counter()
        full = fit_feature_basis(raw, 8)
        seconds["full"].append(time.perf_counter() - t)
        attr = compute_attribution_set(ck.model, frames.obs, basis=full, raw=(raw, None))
        full_scores[name] = model_scores(metrics, attr, frames)
        for n in args.rows:
            for seed in range(args.seeds):
                t = time.perf_counter()
                sub = fit_feature_basis(raw, 8, max_rows=n, seed=seed)
                seconds[str(n)].append(time.perf_counter() - t)
                cosines[n].extend(matched_cosines(full.components, sub.components).tolist())
                scores = model_scores(metrics, compute_attribution_set(ck.model, frames.obs, basis=sub,
                                                                       raw=(raw, None)), frames)
                for spec, value in scores.items():
                    diffs[n][spec] = max(diffs[n].get(spec, 0.0), abs(value - full_scores[name][spec]))
        print(f"{name}: done", flush=True)
    spread = {spec: float(np.ptp([full_scores[c][spec] for c in args.checkpoints])) for spec in metrics}
    out = {
        "checkpoints": args.checkpoints,
        "fit_seconds_mean": {k: float(np.mean(v)) for k, v in seconds.items()},
        "component_cosine": {n: {"min": float(np.min(c)), "mean": float(np.mean(c))} for n, c in cosines.items()},
        "max_abs_model_score_diff": diffs,
        "full_fit_model_score_range_over_checkpoints": spread,
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
