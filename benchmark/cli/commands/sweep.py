"""``interpbench sweep``: train the zoo (7 level counts x 2 runs), locally or on Ray.

Re-running the same command continues an interrupted sweep: finished checkpoints are skipped and
unfinished ones resume from their last saved state.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(","))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from interpbench.game.env import LEVEL_COUNTS

    parser.add_argument("--method", choices=("ppo", "distill"), default="distill")
    parser.add_argument("--preset", default=None, help="budget preset (default: large for distill, the shipped zoo; reference for ppo)")
    parser.add_argument("--levels", type=_ints, default=LEVEL_COUNTS,
                        help="comma-separated level counts (default: the study's seven)")
    parser.add_argument("--runs", type=_ints, default=(1, 2), help="comma-separated run numbers (default 1,2)")
    parser.add_argument("--parallel", type=int, default=2, help="local jobs at a time (one thread each)")
    parser.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                        help="run on Ray: no value starts a local instance, else a cluster address (auto, ray://...)")
    parser.add_argument("--ray-cpus", type=int, default=None, help="CPUs of a local Ray instance (default: all)")
    parser.add_argument("--gpus-per-job", type=float, default=0.0, help="GPUs each Ray task reserves")
    parser.add_argument("--zoo", type=Path, default=None, help="where checkpoints go (default baselines/zoo)")
    parser.add_argument("--runs-dir", type=Path, default=None, help="working files (default runs/)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--readme-only", action="store_true",
                        help="only regenerate <zoo>/README.md from the shipped checkpoints' JSON")


def run(args: argparse.Namespace) -> int:
    import sys

    from interpbench.baselines import sweep, zoo
    from interpbench.baselines.report import write_readme

    zoo_dir, runs_dir = args.zoo or zoo.ZOO_DIR, args.runs_dir or zoo.RUNS_DIR
    if args.readme_only:
        print(write_readme(zoo_dir))
        return 0
    jobs = sweep.plan(args.method, args.preset or zoo.DEFAULT_PRESET[args.method], args.levels, args.runs)
    if args.ray:
        failed = sweep.run_ray(
            jobs, zoo_dir=zoo_dir, runs_dir=runs_dir, address=None if args.ray == "local" else args.ray,
            device=args.device, gpus_per_job=args.gpus_per_job, num_cpus=args.ray_cpus,
        )
    else:
        failed = sweep.run_local(jobs, zoo_dir=zoo_dir, runs_dir=runs_dir, parallel=args.parallel, device=args.device)
    for line in failed:
        print(f"failed: {line}", file=sys.stderr)
    write_readme(zoo_dir)
    print(f"{len(jobs) - len(failed)}/{len(jobs)} checkpoints in {zoo_dir}")
    return 1 if failed else 0
