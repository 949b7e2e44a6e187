"""``interpbench check``: the CI gate for a metric's agreement with human judgments.

Prints the metric's Spearman with the per-level-count human fraction over the zoo, its interval
and its paired difference with the log-level-count baseline, and exits 0 when every criterion
asked for holds, 1 when one fails, 2 on bad input (unknown metric, missing zoo, a bar outside
[-1, 1], no criterion, a metric that fails to score). Criteria, any combination, at least one:
``--min-spearman X`` (the point Spearman), ``--min-lower-bound X`` (the 95% interval's lower end:
evidence, not a point), ``--beat-baseline`` (the paired interval of the difference with the
log-level-count baseline lies above 0). ``--quick`` scores the gate's small frame set (64 frames,
no resamples; benchmark/gate/gate_thresholds.toml) and says how far quick figures were measured to
be from the leaderboard's. ``--json`` prints one document (schemas/check.schema.json) on stdout.

``--target planted`` gates on the known-answer track instead (``validation.known_answer``): the
metric's Spearman with the planted k over a zoo of glass-box agents (``--zoo``, default the
shipped ``baselines/zoo-known``), k values resampled for the interval. Measured by construction,
not human; ``--beat-baseline`` has no meaning there and is refused.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping

from interpbench.cli.options import (
    add_json_argument,
    add_validation_arguments,
    evaluation_from_args,
    print_json,
    score_options,
)
from interpbench.infra.errors import InterpbenchError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metric", required=True, help="registered metric spec (see `interpbench metrics list`)")
    parser.add_argument("--min-spearman", type=float, default=None, help="bar for the point Spearman, in [-1, 1]")
    parser.add_argument("--min-lower-bound", type=float, default=None,
                        help="bar for the lower end of the Spearman's 95%% interval (level counts resampled), in [-1, 1]")
    parser.add_argument("--beat-baseline", action="store_true",
                        help="require the paired 95%% interval of (Spearman - log-level-count baseline's) above 0")
    parser.add_argument("--quick", action="store_true",
                        help="the author loop: the gate's 64 frames, no resamples (cached); figures differ from "
                             "the leaderboard's, and the output says by how much they were measured to")
    parser.add_argument("--target", choices=("human", "planted"), default="human",
                        help="human: the per-level-count human fraction over the zoo (default); planted: the "
                             "planted k over a known-answer zoo (--zoo, default baselines/zoo-known)")
    add_validation_arguments(parser, metrics_option=False)
    add_json_argument(parser, "check.schema.json")


def _number(value: object) -> float | None:
    value = float(value)  # type: ignore[arg-type]
    return None if math.isnan(value) else value


def run(args: argparse.Namespace) -> int:
    from interpbench import api

    for option, bar in (("--min-spearman", args.min_spearman), ("--min-lower-bound", args.min_lower_bound)):
        if bar is not None and not -1.0 <= bar <= 1.0:
            raise InterpbenchError(f"{option} must be in [-1, 1], got {bar}")
    if args.min_spearman is None and args.min_lower_bound is None and not args.beat_baseline:
        raise InterpbenchError("give at least one criterion: --min-spearman, --min-lower-bound or --beat-baseline")
    note = ""
    if args.quick:
        if args.frames is not None:
            raise InterpbenchError("--quick chooses the frames (the gate's set); leave out --frames")
        settings = api.quick_settings()
        args.frames = api.quick_frames_path(progress=not args.no_progress)
        args.bootstrap, args.seed = settings["bootstrap"], settings["seed"]
        args.refits, args.cascade_depth = settings["refits"], settings["cascade_depth"]
        note = (api.quick_note(args.metric) if args.target == "human" else
                "quick figures (the gate's 64 frames, no resamples); how far they lie from the full known-answer "
                "track was not measured")
    if args.target == "planted":
        return _check_planted(args, note)
    evaluation = evaluation_from_args(args, [args.metric])
    if evaluation.table.errors:
        raise InterpbenchError(f"metric {args.metric} could not be scored: {next(iter(evaluation.table.errors.values()))}")
    row = api.leaderboard_row(evaluation, args.metric)
    criteria = _criteria(args, row["spearman"], row["spearman_lo"], row["vs_log_l_lo"])
    figures = {"spearman": _number(row["spearman"]), "spearman_lo": _number(row["spearman_lo"]),
               "spearman_hi": _number(row["spearman_hi"]), "p_value": _number(row["p_value"]),
               "vs_log_l": _number(row["vs_log_l"]), "vs_log_l_lo": _number(row["vs_log_l_lo"]),
               "vs_log_l_hi": _number(row["vs_log_l_hi"]), "n_checkpoints": int(row["n_checkpoints"]),
               "n_level_counts": int(row["n_level_counts"]), "n_k": None}
    interval = "" if math.isnan(row["spearman_lo"]) else f" [{row['spearman_lo']:.3f}, {row['spearman_hi']:.3f}]"
    line = (f"{args.metric}: Spearman {row['spearman']:.3f}{interval} with the per-level-count human fraction over "
            f"{row['n_checkpoints']} checkpoints at {row['n_level_counts']} level counts; permutation p "
            f"{row['p_value']:.3f}; minus log-L baseline {row['vs_log_l']:+.3f} "
            f"[{row['vs_log_l_lo']:+.3f}, {row['vs_log_l_hi']:+.3f}]")
    table = evaluation.table
    settings = {"n_frames": int(table.n_frames), "frames_hash": table.frames_hash,
                "bootstrap": table.config.n_bootstrap, "seed": table.config.seed}
    return _verdict(args, str(row.name), figures, criteria, settings, line, note)


def _check_planted(args: argparse.Namespace, note: str) -> int:
    """The gate on the known-answer track: Spearman with the planted k over a glass-box zoo."""
    from interpbench import api
    from interpbench.metrics import registry

    if args.beat_baseline:
        raise InterpbenchError("--beat-baseline compares with the log-level-count baseline of the human target; "
                               "the planted target has none (use --min-spearman or --min-lower-bound)")
    track = api.known_answer([args.metric], **score_options(args))  # --zoo unset: the shipped known-answer zoo
    if track.reason:
        raise InterpbenchError(track.reason)
    spec = registry.canonical_spec(args.metric)
    rows = track.metric_rows().set_index("metric")
    if spec not in rows.index:
        raise InterpbenchError(f"metric {args.metric} could not be scored on {track.zoo}")
    row = rows.loc[spec]
    criteria = _criteria(args, row["spearman_k"], row["ci_low"], math.nan)
    figures = {"spearman": _number(row["spearman_k"]), "spearman_lo": _number(row["ci_low"]),
               "spearman_hi": _number(row["ci_high"]), "p_value": _number(row["p_value"]), "vs_log_l": None,
               "vs_log_l_lo": None, "vs_log_l_hi": None, "n_checkpoints": int(row["n_checkpoints"]),
               "n_level_counts": None, "n_k": int(row["n_k"])}
    interval = "" if math.isnan(row["ci_low"]) else f" [{row['ci_low']:.3f}, {row['ci_high']:.3f}]"
    line = (f"{args.metric}: Spearman {row['spearman_k']:.3f}{interval} with the planted k over "
            f"{row['n_checkpoints']} known-answer checkpoints at {row['n_k']} k values ({track.zoo}; measured by "
            f"construction, not human); permutation p {row['p_value']:.3f}")
    return _verdict(args, spec, figures, criteria, track.settings, line, note)


def _verdict(args: argparse.Namespace, spec: str, figures: Mapping[str, object], criteria: list[dict[str, object]],
             settings: Mapping[str, object], line: str, note: str) -> int:
    """Print the figures and criteria (or the JSON document); 0 when every criterion passed, else 1."""
    passed = all(c["passed"] for c in criteria)
    if args.json:
        print_json({"metric": args.metric, "spec": spec, "target": args.target, **figures,
                    "min_spearman": args.min_spearman, "min_lower_bound": args.min_lower_bound,
                    "beat_baseline": bool(args.beat_baseline), "criteria": criteria, "passed": passed,
                    "quick": bool(args.quick), "note": note or None, "settings": settings})
        return 0 if passed else 1
    print(line)
    for c in criteria:
        print(f"  {c['name']}: {'PASS' if c['passed'] else 'FAIL'}")
    if note:
        print(note)
    return 0 if passed else 1


def _criteria(args: argparse.Namespace, spearman: float, lower: float, baseline_lower: float) -> list[dict[str, object]]:
    """Each criterion asked for, with the figure it was judged on; NaN (undefined) never passes."""
    out: list[dict[str, object]] = []
    if args.min_spearman is not None:
        out.append({"name": f"Spearman >= {args.min_spearman:.3f}", "value": _number(spearman),
                    "passed": bool(spearman >= args.min_spearman)})
    if args.min_lower_bound is not None:
        out.append({"name": f"interval lower end >= {args.min_lower_bound:.3f}", "value": _number(lower),
                    "passed": bool(lower >= args.min_lower_bound)})
    if args.beat_baseline:
        out.append({"name": "beats the log-level-count baseline (paired interval above 0)",
                    "value": _number(baseline_lower), "passed": bool(baseline_lower > 0)})
    return out
