"""Command-line options several commands share, and the steps that turn them into library calls.

Only the CLI imports this; every step it takes is a call into ``interpbench.api`` or a stage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from interpbench.infra.errors import InterpbenchError
from interpbench.scoring.table import DEFAULT_BOOTSTRAP, NMF_FITS, ScoringConfig
from interpbench.validation.labels import DISTILL2020_DIR, PER_FEATURE_DIR


def add_scoring_arguments(parser: argparse.ArgumentParser, *, metrics_option: bool = True) -> None:
    """--zoo/--frames/--bootstrap/--seed/--plugin/--jobs/--no-progress (and --metrics); caches live
    under ``$INTERPBENCH_CACHE`` (see ``interpbench.infra.cache``)."""
    parser.add_argument("--zoo", type=Path, default=None, help="checkpoint folder (default: the shipped zoo)")
    parser.add_argument("--frames", type=Path, default=None,
                        help="FrameSet (.npz); default: 512 held-out frames kept in the cache, built on first use")
    if metrics_option:
        parser.add_argument("--metrics", default=None,
                            help="comma-separated metric specs, e.g. raw-overlap,attribution-mass[classes=coin+saw] "
                                 "(default: all registered)")
    parser.add_argument("--bootstrap", type=int, default=DEFAULT_BOOTSTRAP,
                        help=f"frame resamples per checkpoint (default: {DEFAULT_BOOTSTRAP}; 0: no intervals)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the resamples and the randomized twins")
    parser.add_argument("--plugin", type=Path, action="append", default=[], help="a .py file that registers metrics")
    add_control_arguments(parser)
    add_model_arguments(parser)
    parser.add_argument("--jobs", type=int, default=None, help="processes for attribution (default: one per core)")
    parser.add_argument("--metric-time-limit", type=float, default=None, metavar="S",
                        help="fail a metric whose call on one checkpoint runs longer than S seconds")
    parser.add_argument("--no-progress", action="store_true")


def add_control_arguments(parser: argparse.ArgumentParser) -> None:
    """How each checkpoint's NMF basis is fitted, and the controls scored beside it (docs/validation.md)."""
    defaults = ScoringConfig()
    parser.add_argument("--nmf-fit", choices=NMF_FITS, default=defaults.nmf_fit,
                        help=f"fit each basis on the checkpoint's own play on its training levels (the study's "
                             f"protocol) or on the scoring frames (default: {defaults.nmf_fit})")
    parser.add_argument("--own-play-frames", type=int, default=defaults.own_play_frames,
                        help=f"own-play observations each basis is fitted on (default: {defaults.own_play_frames})")
    parser.add_argument("--refits", type=int, default=defaults.n_refits,
                        help=f"further NMF bases per checkpoint, fitted on resamples of the fit frames (default: "
                             f"{defaults.n_refits})")
    parser.add_argument("--twins", type=int, default=defaults.n_twins,
                        help=f"weight-randomized twins initialised as the students (default: {defaults.n_twins})")
    parser.add_argument("--cascade-depth", type=int, default=defaults.cascade_depth,
                        help=f"steps of the cascading randomization, top layer first, 0-5 (default: "
                             f"{defaults.cascade_depth})")


def control_settings(args: argparse.Namespace) -> dict[str, object]:
    """The ScoringConfig fields the control options set."""
    return {"nmf_fit": args.nmf_fit, "own_play_frames": args.own_play_frames, "n_refits": args.refits,
            "n_twins": args.twins, "cascade_depth": args.cascade_depth}


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """--attribution/--layer/--model: which attribution, at which layer, of which registered network
    (docs/models.md)."""
    parser.add_argument("--attribution", default="integrated-gradients", metavar="NAME",
                        help="attribution method: integrated-gradients (ig, the default), grad-x-act, saliency, "
                             "gradient-shap, grad-cam")
    parser.add_argument("--layer", default=None,
                        help="layer to attribute (default: the architecture's, 2b for the clear CNN; "
                             "`interpbench models list` names them)")
    parser.add_argument("--model", action="append", default=[], metavar="MODULE:FACTORY",
                        help="register an architecture from a factory before loading checkpoints (repeatable)")


def attribution_methods(args: argparse.Namespace) -> list[str]:
    """The canonical names ``--attribution`` lists (``report`` takes several, comma-separated)."""
    from interpbench.attribution.methods import split_methods

    return split_methods(args.attribution)


def model_options(args: argparse.Namespace, method: str | None = None) -> tuple[str, str | None]:
    """Register the ``--model`` factories and check ``--attribution`` (or use ``method``, one of
    the several ``report`` was given): (method name, layer)."""
    from interpbench.agents.architectures import load_model_spec

    for spec in args.model:
        load_model_spec(spec)
    methods = [method] if method is not None else attribution_methods(args)
    if len(methods) != 1:
        raise InterpbenchError(f"--attribution takes one method here, got {methods}")
    return methods[0], args.layer


def add_validation_arguments(parser: argparse.ArgumentParser, *, metrics_option: bool = True) -> None:
    add_scoring_arguments(parser, metrics_option=metrics_option)
    parser.add_argument("--labels", type=Path, default=DISTILL2020_DIR,
                        help="aggregate judgments folder (default: human_labels/distill2020)")
    parser.add_argument("--feature-labels", type=Path, default=PER_FEATURE_DIR,
                        help="folder of per-feature judgment CSVs (default: human_labels/per_feature)")
    parser.add_argument("--interventions", type=Path, default=None,
                        help="measured object-dependence table (.csv with its .json) for the interventional "
                             "track (default: the shipped baselines/interventions/object_dependence)")
    parser.add_argument("--method", default=None, help="training method to validate when the zoo holds several")


def metric_specs(args: argparse.Namespace) -> list[str] | None:
    from interpbench.metrics.registry import split_specs

    return split_specs(args.metrics) if getattr(args, "metrics", None) else None


def score_options(args: argparse.Namespace, method: str | None = None) -> dict:
    """The keyword arguments of ``api.score`` that the scoring options name (``method``: the
    attribution method, when ``--attribution`` listed several)."""
    method, layer = model_options(args, method)
    return {"zoo": args.zoo, "frames_path": args.frames, "plugins": args.plugin, "progress": not args.no_progress,
            "config": ScoringConfig(n_bootstrap=args.bootstrap, seed=args.seed, attribution=method, layer=layer,
                                    **control_settings(args)),  # type: ignore[arg-type]
            "n_jobs": args.jobs,
            "time_limit_s": args.metric_time_limit}


def warn_failures(table) -> None:
    from interpbench.metrics import registry

    for message in registry.load_failures():
        print(f"warning: {message}", file=sys.stderr)
    for name, message in table.errors.items():
        print(f"warning: metric {name} failed and is left out: {message}", file=sys.stderr)


def report_failed(command: str, table) -> int:
    """Exit status 1, saying on stderr which requested metrics failed, when any did; else 0."""
    if not table.errors:
        return 0
    print(f"interpbench {command}: {len(table.errors)} requested metric(s) failed to score: "
          f"{', '.join(table.errors)} (exit 1)", file=sys.stderr)
    return 1


def add_known_answer_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--known-zoo", default=None,
                        help="known-answer zoo of glass-box agents for the known-answer track (default: the shipped "
                             "baselines/zoo-known when --zoo is the shipped zoo; 'none' leaves the track out)")


def known_zoo_from_args(args: argparse.Namespace) -> Path | None:
    """The known-answer zoo ``--known-zoo`` names: the shipped one by default for the shipped zoo
    (the leaderboard's), none for another zoo unless named, none for 'none'."""
    from interpbench.data.zoo import known_answer_zoo

    if args.known_zoo is None:
        return known_answer_zoo() if args.zoo is None else None
    return None if args.known_zoo == "none" else Path(args.known_zoo)


def evaluation_from_args(args: argparse.Namespace, specs: list[str] | None, method: str | None = None, *,
                         known_zoo: Path | None = None):
    """``api.evaluate_zoo`` for the arguments of validate/report/check, warnings printed
    (``method``: the attribution method, when ``--attribution`` listed several; ``known_zoo``:
    add the known-answer track scored there)."""
    from interpbench import api

    evaluation = api.evaluate_zoo(specs, labels=args.labels, feature_labels=args.feature_labels,
                                  interventions=args.interventions, known_zoo=known_zoo, method=args.method,
                                  **score_options(args, method))
    warn_failures(evaluation.table)
    return evaluation


def add_json_argument(parser: argparse.ArgumentParser, schema: str) -> None:
    parser.add_argument("--json", action="store_true",
                        help=f"print one JSON document on stdout (schema: schemas/{schema}) and nothing else; "
                             "warnings and progress go to stderr")


def print_json(document: object) -> None:
    import json

    print(json.dumps(document, indent=1, allow_nan=False))


def report_context(args: argparse.Namespace, evaluation, frames: Path | None = None):
    """The ReportContext (zoo, frames, citation, code version) of validate/report's arguments."""
    from interpbench.data.zoo import default_zoo
    from interpbench.frames.default import default_frames_path
    from interpbench.infra.provenance import code_version, shown_path
    from interpbench.reporting.report import ReportContext

    return ReportContext(zoo=shown_path(args.zoo or default_zoo()),
                         frames=shown_path(frames or args.frames or default_frames_path()),
                         citation=evaluation.labels.source.get("citation", "?"), code_version=code_version())


def add_split_arguments(parser: argparse.ArgumentParser) -> None:
    """--split/--levels/--distribution-mode, shared with ``interpbench frames``."""
    parser.add_argument("--split", choices=("heldout", "train"), default="heldout")
    parser.add_argument(
        "--levels",
        type=int,
        default=None,
        help="train split: the model's level count (seeds [0, L)); held-out split: restrict to "
        "the first L held-out seeds (default: the whole held-out range)",
    )
    parser.add_argument("--distribution-mode", choices=("hard", "easy"), default="hard")


def add_runtime_arguments(parser: argparse.ArgumentParser) -> None:
    """--num-envs/--threads/--no-progress, shared with ``interpbench frames``."""
    parser.add_argument("--num-envs", type=int, default=64)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op threads (default 1: on a shared 2-core machine one thread built the "
        "default FrameSet 3.5x faster than two, see docs/reference-agent.md)",
    )
    parser.add_argument("--no-progress", action="store_true")


def set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))



def add_attribution_arguments(parser: argparse.ArgumentParser) -> None:
    """CHECKPOINT FRAMES and the method options, shared with ``interpbench gallery``."""
    parser.add_argument("checkpoint", help="'reference', or a checkpoint path (.safetensors zoo checkpoint or .jd)")
    parser.add_argument("frames", help="FrameSet .npz (from `interpbench frames`)")
    parser.add_argument("--head", choices=("value", "policy"), default="value")
    parser.add_argument(
        "--action", type=int, default=None, help="policy head: attribute this logit (default: each frame's greedy one)"
    )
    parser.add_argument("--features", type=int, default=8, help="number of NMF features (default 8)")
    add_model_arguments(parser)
    parser.add_argument("--no-cache", action="store_true", help="recompute and do not store in the cache")
    parser.add_argument("--no-progress", action="store_true")


def attribution_from_args(args: argparse.Namespace):
    """Load checkpoint and frames named on the command line and attribute (cached)."""
    from interpbench.agents.models import load_checkpoint
    from interpbench.agents.reference import require_reference_path
    from interpbench.attribution.attribute import attribute_checkpoint
    from interpbench.data.frameset import FrameSet

    method, layer = model_options(args)
    path = require_reference_path() if args.checkpoint == "reference" else Path(args.checkpoint)
    return attribute_checkpoint(
        load_checkpoint(path),
        FrameSet.load(args.frames),
        head=args.head,
        n_features=args.features,
        cache=not args.no_cache,
        action=args.action,
        progress=not args.no_progress,
        layer=layer,
        method=method,
    )


