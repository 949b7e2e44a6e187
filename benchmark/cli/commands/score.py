"""``interpbench score``: every metric on every checkpoint of a zoo, per feature (cached)."""

from __future__ import annotations

import argparse
from pathlib import Path

from interpbench.cli.options import add_scoring_arguments, metric_specs, report_failed, score_options, warn_failures


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scoring_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="write per-feature scores as CSV (checkpoint, metric, feature, score, ...)")


def run(args: argparse.Namespace) -> int:
    from interpbench import api
    from interpbench.infra import atomic

    table = api.score(metric_specs(args), **score_options(args))
    warn_failures(table)
    print(table.per_model().to_string(float_format=lambda v: f"{v:.4f}"))
    if args.output:
        atomic.write_text(args.output, table.long().to_csv(index=False))
        print(f"wrote {args.output}")
    return report_failed("score", table)
