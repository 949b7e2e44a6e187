"""``interpbench attribute``: integrated-gradients NMF features of a checkpoint on a FrameSet."""

from __future__ import annotations

import argparse
import time
from pathlib import Path


def add_attribution_arguments(parser: argparse.ArgumentParser) -> None:
    """CHECKPOINT FRAMES and the method options, shared with ``interpbench gallery``."""
    parser.add_argument("checkpoint", help="'reference', or a checkpoint path (.safetensors zoo checkpoint or .jd)")
    parser.add_argument("frames", help="FrameSet .npz (from `interpbench frames`)")
    parser.add_argument("--head", choices=("value", "policy"), default="value")
    parser.add_argument(
        "--action", type=int, default=None, help="policy head: attribute this logit (default: each frame's greedy one)"
    )
    parser.add_argument("--features", type=int, default=8, help="number of NMF features (default 8)")
    parser.add_argument("--no-cache", action="store_true", help="recompute and do not store in the cache")
    parser.add_argument("--no-progress", action="store_true")


def attribution_from_args(args: argparse.Namespace):
    """Load checkpoint and frames named on the command line and attribute (cached)."""
    from interpbench.agents.models import load_checkpoint
    from interpbench.agents.reference import require_reference_path
    from interpbench.attribution.attribute import attribute_checkpoint
    from interpbench.data.frameset import FrameSet

    path = require_reference_path() if args.checkpoint == "reference" else Path(args.checkpoint)
    return attribute_checkpoint(
        load_checkpoint(path),
        FrameSet.load(args.frames),
        head=args.head,
        n_features=args.features,
        cache=not args.no_cache,
        action=args.action,
        progress=not args.no_progress,
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_attribution_arguments(parser)
    parser.add_argument("-o", "--output", default=None, help="also write the AttributionSet here (.npz + .json)")


def run(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    attr = attribution_from_args(args)
    seconds = time.perf_counter() - started
    gap = attr.meta["completeness"]
    print(
        f"{attr.meta['checkpoint']}: {attr.n_frames} frames, {attr.n_features} features of layer {attr.layer} "
        f"({attr.head} head) in {seconds:.1f} s; completeness |sum - delta|: max {gap['max_abs_gap']:.3f}, "
        f"mean {gap['mean_abs_gap']:.3f} (10-step Riemann error)"
    )
    if args.output:
        print(f"wrote {attr.save(args.output)}")
    return 0
