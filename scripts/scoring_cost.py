"""What one checkpoint costs to score under the default settings, part by part, on one thread.

A cold ``make report`` runs two such workers on the project's 2 cores, so the per-checkpoint
figures times the zoo, plus the twins once, divided by two, estimate the attribution phase; the
metric scoring runs in the main process afterwards. Printed as JSON (CPU seconds of the process):
rollout (own play), IG (own-play and scoring frames), NMF fits, transform + projection, one
cascade step end to end, and every built-in metric on one attribution set (full set only).
Figures quoted in docs/attribution.md; run with ``nice``.

    python scripts/scoring_cost.py [CHECKPOINT] [--own-play-frames 256]
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch

from interpbench.agents.models import load_checkpoint
from interpbench.attribution.attribute import compute_attribution_set, fit_basis, layer_attributions
from interpbench.attribution.fit_set import own_play_frames
from interpbench.data.zoo import default_zoo
from interpbench.frames.default import load_or_build_frames
from interpbench.metrics.scoring import weighted_all
from interpbench.scoring.controls import cascade
from interpbench.scoring.score import basis_fits, resolve_metrics
from interpbench.scoring.table import ScoringConfig


def timed(fn):  # type: ignore[no-untyped-def]
    """(result, CPU seconds of this process): CPU time, unlike wall time, does not grow when
    other jobs share the cores."""
    start = time.process_time()
    out = fn()
    return out, round(time.process_time() - start, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkpoint", nargs="?", default="distill-L1000-r1")
    parser.add_argument("--own-play-frames", type=int, default=ScoringConfig().own_play_frames)
    args = parser.parse_args()
    torch.set_num_threads(1)
    frames = load_or_build_frames(progress=False)
    ck = load_checkpoint(default_zoo() / args.checkpoint)
    config = ScoringConfig(own_play_frames=args.own_play_frames)
    fits = basis_fits(config)
    t: dict[str, float] = {}
    played, t["rollout"] = timed(lambda: own_play_frames(ck, fits[0], cache=False))
    fit_raw, t["ig_own_play"] = timed(lambda: layer_attributions(ck.model, played.obs))
    scoring, t["ig_scoring"] = timed(lambda: (layer_attributions(ck.model, frames.obs), None))
    cache = {"own-play": fit_raw}
    kwargs = {"head": "value", "n_features": 8, "action": None, "n_steps": 10}
    bases = []
    for fit in fits:
        basis, t[f"fit_refit{fit.refit}"] = timed(lambda fit=fit: fit_basis(ck.model, fit, scoring, played.obs, cache, **kwargs))
        bases.append(basis)
    sets = []
    for i, basis in enumerate(bases):
        attr, t[f"transform_project_{i}"] = timed(lambda basis=basis: compute_attribution_set(ck.model, frames.obs, basis=basis,
                                                                                  raw=scoring))
        sets.append(attr)
    _, damaged = cascade(ck, 0, 1)[0]

    def cascade_step() -> None:
        raw = (layer_attributions(damaged.model, frames.obs), None)
        basis = fit_basis(damaged.model, fits[0], raw, played.obs, {}, **kwargs)
        compute_attribution_set(damaged.model, frames.obs, basis=basis, raw=raw)

    _, t["cascade_step"] = timed(cascade_step)
    metrics = resolve_metrics(None)
    _, t["metrics_one_set"] = timed(lambda: weighted_all(metrics, sets[0], frames, np.ones((1, len(frames)))))
    print(json.dumps({"checkpoint": args.checkpoint, "own_play_frames": args.own_play_frames, "threads": 1,
                      "seconds": t}, indent=1))


if __name__ == "__main__":
    main()
