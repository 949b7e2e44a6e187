"""``interpbench report``: regenerate the leaderboard (md, html, csv, json, figures) from the zoo and labels.

With no arguments it runs end to end from the shipped checkpoints and judgments; every stage is
cached, so a rerun only redraws the report. ``--attribution ig,grad-x-act`` validates once per
method: the first method's leaderboard is the report's, and a section, ``methods.csv`` and a
figure compare every metric's agreement across the methods. The known-answer track (each metric
against the planted k of ``baselines/zoo-known``, under the first method) is part of the report
on the shipped zoo; ``--known-zoo`` names another known-answer zoo, or 'none'. Written into a checkout's reports/, it also rewrites
the status block of the checkout's README.md (between its ``<!-- status: ... -->`` markers).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interpbench.cli.options import (
    add_known_answer_argument,
    add_validation_arguments,
    attribution_methods,
    evaluation_from_args,
    known_zoo_from_args,
    metric_specs,
    report_context,
    report_failed,
)
from interpbench.infra.provenance import REPO_ROOT


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_validation_arguments(parser)
    add_known_answer_argument(parser)
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="folder (default: reports/ of a checkout, else ./reports)")
    parser.add_argument("--readme", type=Path, default=None,
                        help="rewrite the status block of this README (default: the checkout's README.md when "
                             "writing to the checkout's reports/)")


def run(args: argparse.Namespace) -> int:
    from interpbench.infra import atomic
    from interpbench.reporting.report import render_status, replace_status_block, write_report

    specs = metric_specs(args)
    methods = attribution_methods(args)
    known_zoo = known_zoo_from_args(args)  # the known-answer track is scored under the first method only
    evaluations = {method: evaluation_from_args(args, specs, method, known_zoo=known_zoo if method == methods[0] else None)
                   for method in methods}
    evaluation = next(iter(evaluations.values()))  # the first method's leaderboard is the report's
    in_checkout = (REPO_ROOT / ".git").exists()
    output = args.output or (REPO_ROOT / "reports" if in_checkout else Path("reports"))
    by_method = {method: e.validation for method, e in evaluations.items()} if len(evaluations) > 1 else None
    for path in write_report(output, report_context(args, evaluation), evaluation.validation, evaluation.table,
                             by_method=by_method):
        print(f"wrote {path}")
    readme = args.readme or (REPO_ROOT / "README.md" if in_checkout and Path(output).resolve() ==
                             (REPO_ROOT / "reports").resolve() else None)
    if readme is not None:
        text = replace_status_block(readme.read_text(), render_status(evaluation.validation.leaderboard,
                                                                  evaluation.validation.ceilings))
        if text is None:
            print(f"warning: {readme} has no status block to rewrite", file=sys.stderr)
        else:
            atomic.write_text(readme, text)
            print(f"updated the status table in {readme}")
    return max(report_failed("report", e.table) for e in evaluations.values())
