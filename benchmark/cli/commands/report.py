"""``interpbench report``: regenerate the leaderboard (md, html, csv, figures) from the zoo and labels.

With no arguments it runs end to end from the shipped checkpoints and judgments; every stage is
cached, so a rerun only redraws the report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from interpbench.cli.commands.score import metric_names
from interpbench.cli.commands.validate import (
    add_validation_arguments,
    validation_from_args,
)
from interpbench.infra.provenance import REPO_ROOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_validation_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, default=REPO_ROOT / "reports", help="folder (default: reports/)")


def run(args: argparse.Namespace) -> int:
    from interpbench.infra.provenance import code_version
    from interpbench.reporting.report import ReportContext, write_report
    from interpbench.scoring.scorer import default_frames_path

    table, labels, validation = validation_from_args(args, metric_names(args))
    ctx = ReportContext(
        zoo=_shown(args.zoo),
        frames=_shown(args.frames or default_frames_path()),
        citation=labels.source.get("citation", "?"),
        code_version=code_version(),
    )
    for path in write_report(args.output, ctx, validation, table):
        print(f"wrote {path}")
    return 0


def _shown(path: Path) -> str:
    """A path relative to the repository where it lies inside it; elsewhere (the cache) only its
    name, so committed reports never carry one machine's home directory."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else f"(cache) {path.name}"
