"""Completion against optimisation budget for one distilled student, to size a preset before a sweep.

A sweep of 14 students is hours of CPU; whether a budget makes students that show the diversity
effects (docs/training.md) is cheaper to learn from one or two students first. This trains (or
resumes) a student with a preset's settings on one finished dataset and, after every
``--every`` samples, measures completion on the dataset's training levels and on held-out
levels; one JSON line per point goes to stdout and to ``<run-dir>/curve.jsonl``. ``train_student``
resumes from its saved state and draws minibatches as a function of the step, so the points lie
on one continuous run, and a re-run skips the recorded points and continues where it stopped.

    python scripts/distill_curve.py runs/medium/data/L100 --run-dir runs/curves/L100 --points 8
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import torch

from interpbench.agents.policies import ModelPolicy
from interpbench.agents.rollout import evaluate_completion
from interpbench.baselines.distill import PRESETS, train_student
from interpbench.baselines.gather import load_dataset
from interpbench.game.env import heldout_levels, training_levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="a finished dataset directory (runs/<preset>/data/L<levels>)")
    parser.add_argument("--run-dir", type=Path, required=True, help="where the student's state lives")
    parser.add_argument("--preset", default="medium", help="batch size, bf16 and value weight come from it")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--every", type=int, default=153_600, help="samples between points")
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--episodes", type=int, default=192, help="per split and point")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(1)
    data = load_dataset(args.data)
    levels = {"train": training_levels(data.summary["num_levels"]), "test": heldout_levels()}
    # At a constant rate, so that every point lies on one run (an anneal would end each budget apart).
    base = dataclasses.replace(PRESETS[args.preset], lr=args.lr, anneal_samples=0)
    log = args.run_dir / "curve.jsonl"
    done = len(log.read_text().splitlines()) if log.exists() else 0
    for point in range(done + 1, args.points + 1):
        config = dataclasses.replace(base, train_samples=point * args.every)
        student, info = train_student(data, args.run_dir, config, seed=args.seed, device=torch.device("cpu"),
                                      progress=False)
        row = {"samples": info["samples"], "train_seconds": info["train_seconds"]}
        for split, split_levels in levels.items():
            result = evaluate_completion(ModelPolicy(student, seed=point), split_levels, args.episodes,
                                         seed=point, progress=False)
            row[split] = {k: result[k] for k in ("completion_rate", "ci95", "mean_episode_length")}
        print(json.dumps(row), flush=True)
        with open(log, "a") as out:
            out.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
