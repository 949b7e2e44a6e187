"""``interpbench train``: one zoo checkpoint, resumable (re-run the same command to continue)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--method", choices=("ppo", "distill"), default="distill",
                        help="ppo: from scratch (GPU scale); distill: student of the published agent (CPU scale)")
    parser.add_argument("--levels", type=int, required=True, help="number of training levels L (seeds [0, L))")
    parser.add_argument("--run", type=int, default=1, help="run number; also the seed")
    parser.add_argument("--preset", default=None,
                        help="budget: distill tiny|mini|medium|large|impala (default large, the shipped zoo), ppo "
                             "tiny|reference (default reference); see docs/training.md")
    # Literal names, not the model registry: listing them must not import torch (``interpbench --help``).
    parser.add_argument("--architecture", choices=("clear-cnn", "impala-cnn"), default="clear-cnn",
                        help="the student's network (distill; ppo trains the clear CNN); impala-cnn: CleanRL's "
                             "IMPALA CNN, shipped with --preset impala (docs/models.md)")
    parser.add_argument("--zoo", type=Path, default=None,
                        help="where the checkpoint goes (default baselines/zoo, baselines/zoo-impala for impala-cnn)")
    parser.add_argument("--runs-dir", type=Path, default=None, help="working files (default runs/)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, ...")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads (sweeps run 1 per job)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars (for logs)")


def run(args: argparse.Namespace) -> int:
    import torch

    from interpbench.baselines import zoo

    torch.set_num_threads(args.threads)
    job = zoo.Job(args.method, args.levels, args.run, args.preset or zoo.DEFAULT_PRESET[args.method], args.architecture)
    meta = zoo.run_job(
        job,
        zoo_dir=args.zoo,
        runs_dir=args.runs_dir or zoo.RUNS_DIR,
        device=args.device,
        progress=not args.no_progress,
    )
    print(json.dumps({k: meta[k] for k in ("name", "distinct_levels_seen", "wall_time_s")} | {
        split: meta[f"{split}_completion"]["completion_rate"] for split in ("train", "test")
    }))
    return 0
