"""``interpbench score``: every metric on every checkpoint of a zoo, per feature (cached).

Also home of the arguments and the loading steps that ``validate``, ``report`` and ``check``
share, so the four commands read a zoo, frames and metrics in exactly the same way.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from interpbench.scoring.scorer import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_ZOO,
    ScoreTable,
    ScoringConfig,
)


def add_scoring_arguments(parser: argparse.ArgumentParser, *, metrics_option: bool = True) -> None:
    """--zoo/--frames/--bootstrap/--seed/--plugin/--no-progress (and --metrics); caches live under
    ``$INTERPBENCH_CACHE`` (see ``interpbench.infra.cache``)."""
    parser.add_argument("--zoo", type=Path, default=DEFAULT_ZOO, help="checkpoint folder (default: baselines/zoo)")
    parser.add_argument("--frames", type=Path, default=None,
                        help="FrameSet (.npz); default: 512 held-out frames kept in the cache, built on first use")
    if metrics_option:
        parser.add_argument("--metrics", default=None, help="comma-separated metric names (default: all registered)")
    parser.add_argument("--bootstrap", type=int, default=DEFAULT_BOOTSTRAP,
                        help=f"frame resamples per checkpoint (default: {DEFAULT_BOOTSTRAP}; 0: no intervals)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resamples and the randomized twins")
    parser.add_argument("--plugin", type=Path, action="append", default=[], help="a .py file that registers metrics")
    parser.add_argument("--no-progress", action="store_true")


def load_frames(args: argparse.Namespace):
    """The FrameSet named by --frames, or the default one (built on first use)."""
    from interpbench.data.frameset import FrameSet
    from interpbench.scoring.scorer import load_or_build_frames

    if args.frames is None:
        return load_or_build_frames(progress=not args.no_progress)
    return FrameSet.load(args.frames)


def score_from_args(args: argparse.Namespace, names: list[str] | None) -> ScoreTable:
    """Load plugins and frames, then score ``names`` (None: every registered metric) on the zoo."""
    import sys

    from interpbench.metrics import registry
    from interpbench.scoring.scorer import score_zoo

    for path in args.plugin:
        registry.load_plugin_file(path)
    for message in registry.load_failures():
        print(f"warning: {message}", file=sys.stderr)
    table = score_zoo(args.zoo, load_frames(args), names,
                      config=ScoringConfig(n_bootstrap=args.bootstrap, seed=args.seed),
                      progress=not args.no_progress)
    for name, message in table.errors.items():
        print(f"warning: metric {name} failed and is left out: {message}", file=sys.stderr)
    return table


def metric_names(args: argparse.Namespace) -> list[str] | None:
    return [n.strip() for n in args.metrics.split(",") if n.strip()] if args.metrics else None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_scoring_arguments(parser)
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="write per-feature scores as CSV (checkpoint, metric, feature, score, ...)")


def run(args: argparse.Namespace) -> int:
    from interpbench.infra import atomic

    table = score_from_args(args, metric_names(args))
    per_model = table.long().groupby(["checkpoint", "metric"])["score"].mean().unstack("metric")
    print(per_model.loc[table.checkpoints.index].to_string(float_format=lambda v: f"{v:.4f}"))
    if args.output:
        atomic.write_text(args.output, table.long().to_csv(index=False))
        print(f"wrote {args.output}")
    return 0
