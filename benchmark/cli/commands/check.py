"""``interpbench check``: the CI gate for a metric's agreement with human judgments.

Prints the metric's Spearman with the human fraction over the zoo and exits 0 at or above
``--min-spearman``, 1 below it, 2 on bad input (unknown metric, missing zoo, a bar outside
[-1, 1], a metric that fails to score). ``--quick`` scores the gate's small frame set (64 frames,
no resamples; benchmark/gate/gate_thresholds.toml) and says how far quick figures were measured to
be from the leaderboard's. ``--json`` prints one document (schemas/check.schema.json) on stdout.
"""

from __future__ import annotations

import argparse
import math

from interpbench.cli.options import add_json_argument, add_validation_arguments, evaluation_from_args, print_json
from interpbench.infra.errors import InterpbenchError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", required=True, help="registered metric spec (see `interpbench metrics list`)")
    parser.add_argument("--min-spearman", type=float, required=True, help="the bar, in [-1, 1]")
    parser.add_argument("--quick", action="store_true",
                        help="the author loop: the gate's 64 frames, no resamples (cached); figures differ from "
                             "the leaderboard's, and the output says by how much they were measured to")
    add_validation_arguments(parser, metrics_option=False)
    add_json_argument(parser, "check.schema.json")


def _number(value: object) -> float | None:
    value = float(value)  # type: ignore[arg-type]
    return None if math.isnan(value) else value


def run(args: argparse.Namespace) -> int:
    from interpbench import api

    if not -1.0 <= args.min_spearman <= 1.0:
        raise InterpbenchError(f"--min-spearman must be in [-1, 1], got {args.min_spearman}")
    note = ""
    if args.quick:
        if args.frames is not None:
            raise InterpbenchError("--quick chooses the frames (the gate's set); leave out --frames")
        settings = api.quick_settings()
        args.frames = api.quick_frames_path(progress=not args.no_progress)
        args.bootstrap, args.seed = settings["bootstrap"], settings["seed"]
        note = api.quick_note(args.metric)
    evaluation = evaluation_from_args(args, [args.metric])
    if evaluation.table.errors:
        raise InterpbenchError(f"metric {args.metric} could not be scored: {next(iter(evaluation.table.errors.values()))}")
    row = api.leaderboard_row(evaluation, args.metric)
    passed = bool(row["spearman"] >= args.min_spearman)  # NaN (undefined) never passes
    table = evaluation.table
    if args.json:
        print_json({
            "metric": args.metric, "spec": str(row.name), "spearman": _number(row["spearman"]),
            "spearman_lo": _number(row["spearman_lo"]), "spearman_hi": _number(row["spearman_hi"]),
            "n_checkpoints": int(row["n_checkpoints"]), "min_spearman": args.min_spearman, "passed": passed,
            "quick": bool(args.quick), "note": note or None,
            "settings": {"n_frames": int(table.n_frames), "frames_hash": table.frames_hash,
                         "bootstrap": table.config.n_bootstrap, "seed": table.config.seed},
        })
        return 0 if passed else 1
    interval = "" if math.isnan(row["spearman_lo"]) else f" [{row['spearman_lo']:.3f}, {row['spearman_hi']:.3f}]"
    print(f"{args.metric}: Spearman {row['spearman']:.3f}{interval} "
          f"with human judgments over {row['n_checkpoints']} checkpoints; bar {args.min_spearman:.3f}: "
          f"{'PASS' if passed else 'FAIL'}")
    if note:
        print(note)
    return 0 if passed else 1
