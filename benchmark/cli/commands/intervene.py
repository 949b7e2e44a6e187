"""``interpbench intervene hide | ablate``: measured per-feature ground truth (docs/interventions.md).

``hide``: hide each object class from the frames (re-rendered from their states) and measure the
drop of every feature's attribution, its basis fixed. ``ablate``: project each feature out of
layer 2b and play held-out levels, counting completion and causes of failure; resumable.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from interpbench.infra import atomic

DEFAULT_OUT = Path("baselines") / "interventions"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    hide = sub.add_parser("hide", help="object dependence: hide each class, watch each feature's attribution")
    ablate = sub.add_parser("ablate", help="feature ablation: remove each feature, count how episodes end")
    for p in (hide, ablate):
        who = p.add_mutually_exclusive_group()
        who.add_argument("--zoo", type=Path, default=None, help="checkpoint folder (default: the shipped zoo)")
        who.add_argument("--reference", action="store_true", help="the published agent instead of a zoo")
        p.add_argument("--frames", type=Path, default=None,
                       help="FrameSet whose attribution gives each basis (default: the 512 scoring frames)")
        p.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"folder of the tables (default: {DEFAULT_OUT})")
        p.add_argument("--name", default=None, help="table name (default: <kind> or <kind>-reference)")
        p.add_argument("--nmf-fit", default=None, choices=("own-play", "scoring-frames"),
                       help="what each basis is fitted on (default: the scoring's default, so the features are the scored ones)")
        p.add_argument("--no-progress", action="store_true")
    hide.add_argument("--n-frames", type=int, default=None, help="frames hidden per checkpoint (default: 256)")
    hide.add_argument("--classes", default=None, help="comma-separated classes to hide (default: all of the FrameSet's)")
    hide.add_argument("--jobs", type=int, default=None, help="processes sharing the checkpoints (default: one per core)")
    ablate.add_argument("--episodes", type=int, default=1000, help="held-out episodes per feature (default: 1000)")
    ablate.add_argument("--chunk", type=int, default=256, help="episodes per saved chunk (default: 256)")
    ablate.add_argument("--seed", type=int, default=0)
    ablate.add_argument("--features", default=None, help="comma-separated feature indices (default: all)")
    ablate.add_argument("--from-progress", action="store_true",
                        help="play nothing: write the table from the chunks every run has finished so far")
    ablate.add_argument("--progress-file", type=Path, default=None,
                        help="where finished chunks are kept (default: the cache's interventions/<name>.progress.json)")


def _ints(text: str | None) -> list[int] | None:
    from interpbench.infra.errors import InterpbenchError

    if text is None:
        return None
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise InterpbenchError(f"--features must be comma-separated integers, got {text!r}") from exc


def _main_fit(source: str | None):
    """The scoring's main basis fit (refit 0) under its default settings, or with ``source``."""
    import dataclasses

    from interpbench.scoring.score import basis_fits
    from interpbench.scoring.table import ScoringConfig

    config = ScoringConfig() if source is None else dataclasses.replace(ScoringConfig(), nmf_fit=source)
    return basis_fits(config)[0]


def run(args: argparse.Namespace) -> int:
    import shlex
    import sys

    from interpbench import api
    from interpbench.data.zoo import default_zoo
    from interpbench.infra.provenance import code_version
    from interpbench.interventions import measure
    from interpbench.interventions.table import write_table

    kind = "object_dependence" if args.action == "hide" else "ablation"
    name = args.name or (f"{kind}-reference" if args.reference else kind)
    target = args.out / f"{name}.csv"
    for path in (target, target.with_suffix(".json")):
        atomic.check_target(path)
    subjects = [measure.reference_subject()] if args.reference else measure.zoo_subjects(args.zoo or default_zoo())
    frames = api.frames(args.frames, progress=not args.no_progress)
    fit = _main_fit(args.nmf_fit)
    provenance = {"command": shlex.join(["interpbench", *sys.argv[1:]]), "code_version": code_version(),
                  "checkpoints": [s.name for s in subjects]}
    if args.action == "hide":
        classes = None if args.classes is None else [c.strip() for c in args.classes.split(",") if c.strip()]
        table, check, extra = measure.object_dependence_table(
            subjects, frames, n_frames=args.n_frames or measure.DEFAULT_HIDE_FRAMES, classes=classes, fit=fit,
            progress=not args.no_progress, n_jobs=args.jobs)
        wins = check["top_wins"]
        print(f"held-out top class beats a random other class for {int(wins.sum())}/{len(wins)} features "
              f"({wins.mean():.0%}); per-checkpoint seconds: {extra['seconds_per_checkpoint']}")
        extra["held_out_top_vs_other"] = {"features": len(wins), "top_wins": int(wins.sum()),
                                          "rule": "top class on even level seeds, tested on odd ones"}
    else:
        from interpbench.infra.cache import cache_root
        from interpbench.interventions.ablation import run_ablation

        progress_file = args.progress_file or cache_root() / "interventions" / f"{name}.progress.json"
        table, extra = run_ablation(subjects, frames, n_episodes=args.episodes, chunk=args.chunk, seed=args.seed,
                                    features=_ints(args.features), progress_file=progress_file, fit=fit,
                                    play=not args.from_progress, progress=not args.no_progress)
        print(table.to_string(index=False))
    print(f"wrote {write_table(target, kind, table, {**provenance, **extra})}")
    return 0
