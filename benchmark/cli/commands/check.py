"""``interpbench check``: the CI gate for a metric's agreement with human judgments.

Prints the metric's Spearman with the human fraction over the zoo and exits 0 at or above
``--min-spearman``, 1 below it, 2 on bad input (unknown metric, missing zoo, a bar outside
[-1, 1], a metric that fails to score).
"""

from __future__ import annotations

import argparse
import math

from interpbench.cli.options import add_validation_arguments, evaluation_from_args
from interpbench.infra.errors import InterpbenchError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", required=True, help="registered metric spec (see `interpbench metrics list`)")
    parser.add_argument("--min-spearman", type=float, required=True, help="the bar, in [-1, 1]")
    add_validation_arguments(parser, metrics_option=False)


def run(args: argparse.Namespace) -> int:
    from interpbench import api

    if not -1.0 <= args.min_spearman <= 1.0:
        raise InterpbenchError(f"--min-spearman must be in [-1, 1], got {args.min_spearman}")
    evaluation = evaluation_from_args(args, [args.metric])
    if evaluation.table.errors:
        raise InterpbenchError(f"metric {args.metric} could not be scored: {next(iter(evaluation.table.errors.values()))}")
    row = api.leaderboard_row(evaluation, args.metric)
    passed = bool(row["spearman"] >= args.min_spearman)  # NaN (undefined) never passes
    interval = "" if math.isnan(row["spearman_lo"]) else f" [{row['spearman_lo']:.3f}, {row['spearman_hi']:.3f}]"
    print(f"{args.metric}: Spearman {row['spearman']:.3f}{interval} "
          f"with human judgments over {row['n_checkpoints']} checkpoints; bar {args.min_spearman:.3f}: "
          f"{'PASS' if passed else 'FAIL'}")
    return 0 if passed else 1
