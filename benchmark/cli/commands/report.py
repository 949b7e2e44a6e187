"""``interpbench report``: regenerate the leaderboard (md, html, csv, figures) from the zoo and labels.

With no arguments it runs end to end from the shipped checkpoints and judgments; every stage is
cached, so a rerun only redraws the report.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from interpbench.cli.options import add_validation_arguments, evaluation_from_args, metric_specs
from interpbench.infra.provenance import REPO_ROOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_validation_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="folder (default: reports/ of a checkout, else ./reports)")


def run(args: argparse.Namespace) -> int:
    from interpbench.data.zoo import default_zoo
    from interpbench.frames.default import default_frames_path
    from interpbench.infra.provenance import code_version
    from interpbench.reporting.report import ReportContext, write_report

    evaluation = evaluation_from_args(args, metric_specs(args))
    ctx = ReportContext(
        zoo=_shown(args.zoo or default_zoo()),
        frames=_shown(args.frames or default_frames_path()),
        citation=evaluation.labels.source.get("citation", "?"),
        code_version=code_version(),
    )
    output = args.output or (REPO_ROOT / "reports" if (REPO_ROOT / ".git").exists() else Path("reports"))
    for path in write_report(output, ctx, evaluation.validation, evaluation.table):
        print(f"wrote {path}")
    return 1 if evaluation.table.errors else 0


def _shown(path: Path) -> str:
    """A path relative to the repository where it lies inside it; elsewhere (the cache) only its
    name, so committed reports never carry one machine's home directory."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else f"(cache) {path.name}"
