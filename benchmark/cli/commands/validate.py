"""``interpbench validate``: rank-correlate every metric's model score with the human judgments.

``--json`` prints the leaderboard document (rows and provenance, ``schemas/leaderboard.schema.json``,
the same as the report's ``leaderboard.json``) on stdout and nothing else.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interpbench.cli.options import (
    add_json_argument,
    add_validation_arguments,
    evaluation_from_args,
    metric_specs,
    print_json,
    report_context,
    report_failed,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_validation_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, default=None, help="also write the table as CSV")
    add_json_argument(parser, "leaderboard.schema.json")


def run(args: argparse.Namespace) -> int:
    from interpbench.infra import atomic

    evaluation = evaluation_from_args(args, metric_specs(args))
    board = evaluation.validation.leaderboard
    if args.json:
        from interpbench.reporting.report import leaderboard_json

        print_json(leaderboard_json(report_context(args, evaluation), evaluation.validation, evaluation.table))
    else:
        print(board.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
    if args.output:
        atomic.write_text(args.output, board.to_csv(index=False))
        print(f"wrote {args.output}", file=sys.stderr if args.json else sys.stdout)
    return report_failed("validate", evaluation.table)
