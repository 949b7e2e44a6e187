"""``interpbench evaluate``: completion rate of a checkpoint (or the reference agent) on a split."""

from __future__ import annotations

import argparse
import json

from benchmark import atomic


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """--split/--levels/--distribution-mode, shared with ``interpbench frames``."""
    parser.add_argument("--split", choices=("heldout", "train"), default="heldout")
    parser.add_argument(
        "--levels",
        type=int,
        default=None,
        help="train split: the model's level count (seeds [0, L)); held-out split: restrict to "
        "the first L held-out seeds (default: the whole held-out range)",
    )
    parser.add_argument("--distribution-mode", choices=("hard", "easy"), default="hard")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="'reference', 'random', or a checkpoint path (.safetensors or .jd)")
    add_split_arguments(parser)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    parser.add_argument("--json", metavar="OUT", default=None, help="also write the result as JSON")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from benchmark.env import level_range
    from benchmark.policies import policy_from_spec
    from benchmark.rollout import evaluate_completion

    levels = level_range(args.split, args.levels)
    policy = policy_from_spec(args.checkpoint, args.seed, greedy=args.greedy)
    result = evaluate_completion(
        policy,
        levels,
        args.episodes,
        seed=args.seed,
        distribution_mode=args.distribution_mode,
        num_envs=args.num_envs,
        progress=not args.no_progress,
    )
    result["split"] = args.split
    low, high = result["ci95"]
    print(
        f"{args.checkpoint} on {args.split} ({args.distribution_mode}): completed "
        f"{result['completed']}/{result['episodes']} = {result['completion_rate']:.3f} "
        f"(95% CI {low:.3f}-{high:.3f}), {result['distinct_levels']} distinct levels, "
        f"mean episode length {result['mean_episode_length']:.1f}"
    )
    if args.json:
        atomic.write_json(args.json, result)
    return 0
