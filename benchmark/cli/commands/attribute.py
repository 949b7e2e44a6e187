"""``interpbench attribute``: integrated-gradients NMF features of a checkpoint on a FrameSet."""

from __future__ import annotations

import argparse
import time

from interpbench.cli.options import add_attribution_arguments, attribution_from_args


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
