"""``interpbench validate``: rank-correlate every metric's model score with the human judgments."""

from __future__ import annotations

import argparse
from pathlib import Path

from interpbench.cli.commands.score import (
    add_scoring_arguments,
    metric_names,
    score_from_args,
)
from interpbench.validation.labels import DISTILL2020_DIR, PER_FEATURE_DIR


def add_validation_arguments(parser: argparse.ArgumentParser, *, metrics_option: bool = True) -> None:
    add_scoring_arguments(parser, metrics_option=metrics_option)
    parser.add_argument("--labels", type=Path, default=DISTILL2020_DIR,
                        help="aggregate judgments folder (default: human_labels/distill2020)")
    parser.add_argument("--feature-labels", type=Path, default=PER_FEATURE_DIR,
                        help="folder of per-feature judgment CSVs (default: human_labels/per_feature)")
    parser.add_argument("--method", default=None, help="training method to validate when the zoo holds several")


def validation_from_args(args: argparse.Namespace, names: list[str] | None):
    """(ScoreTable, AggregateJudgments, Validation) for the arguments of validate/report/check."""
    from interpbench.validation.labels import (
        feature_judgment_files,
        human_only,
        load_aggregate,
        load_feature_judgments,
    )
    from interpbench.validation.validate import validate

    labels = load_aggregate(args.labels)
    table = score_from_args(args, names)
    known = {name: table.config.n_features for name in table.checkpoints.index}
    judgments = human_only(load_feature_judgments(feature_judgment_files(args.feature_labels), known))
    return table, labels, validate(table, labels, judgments=judgments, method=args.method, seed=args.seed)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_validation_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, default=None, help="also write the table as CSV")


def run(args: argparse.Namespace) -> int:
    from interpbench.infra import atomic

    _, _, validation = validation_from_args(args, metric_names(args))
    print(validation.leaderboard.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep=""))
    if args.output:
        atomic.write_text(args.output, validation.leaderboard.to_csv(index=False))
        print(f"wrote {args.output}")
    return 0
