"""``interpbench validate``: rank-correlate every metric's model score with the human judgments."""

from __future__ import annotations

import argparse
from pathlib import Path

from interpbench.cli.options import add_validation_arguments, evaluation_from_args, metric_specs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_validation_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, default=None, help="also write the table as CSV")


def run(args: argparse.Namespace) -> int:
    from interpbench.infra import atomic

    evaluation = evaluation_from_args(args, metric_specs(args))
    board = evaluation.validation.leaderboard
    print(board.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
    if args.output:
        atomic.write_text(args.output, board.to_csv(index=False))
        print(f"wrote {args.output}")
    return 1 if evaluation.table.errors else 0
