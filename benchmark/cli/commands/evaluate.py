"""``interpbench evaluate``: completion rate of a checkpoint (or the reference agent) on a split."""

from __future__ import annotations

import argparse

from interpbench.cli.options import add_runtime_arguments, add_split_arguments, set_threads
from interpbench.infra import atomic


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="'reference', 'random', or a checkpoint path (.safetensors or .jd)")
    add_split_arguments(parser)
    parser.add_argument("--episodes", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    parser.add_argument("--json", metavar="OUT", default=None, help="also write the result as JSON")
    add_runtime_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from interpbench.agents.policies import policy_from_spec
    from interpbench.agents.rollout import evaluate_completion
    from interpbench.game.env import level_range

    if args.json is not None:
        atomic.check_target(args.json)  # a bad --json fails now, not after the rollouts
    set_threads(args.threads)
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
    if args.json is not None:
        atomic.write_json(args.json, result)
    return 0
