"""``interpbench attribute``: integrated-gradients NMF features of a checkpoint on a FrameSet."""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from interpbench.cli.options import add_attribution_arguments, attribution_from_args
from interpbench.infra.errors import InterpbenchError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_attribution_arguments(parser)
    parser.add_argument("-o", "--output", default=None, help="also write the AttributionSet here (.npz + .json)")


def check_output(output: str) -> None:
    """Refuse an ``-o`` that cannot name the pair, before the attribution runs.

    The pair is ``<output>.npz`` + ``<output>.json``, so an existing folder (``-o runs``, ``-o .``,
    ``-o runs/``) would silently become ``runs.npz`` beside it, or a traceback; either target being
    a device, a FIFO or a folder is refused by ``atomic``."""
    from interpbench.data.sidecar import pair_paths
    from interpbench.infra import atomic

    if output == "" or output.endswith(os.sep) or Path(output).is_dir() or Path(output).name in ("", ".", ".."):
        raise InterpbenchError(f"-o {output!r} names a folder; name the output file, e.g. "
                               f"-o {os.path.join(output.rstrip(os.sep) or '.', 'attribution.npz')}")
    for target in pair_paths(output):
        atomic.check_target(target)


def run(args: argparse.Namespace) -> int:
    if args.output is not None:
        check_output(args.output)
    started = time.perf_counter()
    attr = attribution_from_args(args)
    seconds = time.perf_counter() - started
    gap = attr.meta.get("completeness")
    # Only complete methods (integrated gradients; GradientSHAP in expectation) record the gap.
    completeness = "" if gap is None else (f"; completeness |sum - delta|: max {gap['max_abs_gap']:.3f}, "
                                           f"mean {gap['mean_abs_gap']:.3f} (path sampling error)")
    print(
        f"{attr.meta['checkpoint']}: {attr.n_frames} frames, {attr.n_features} features of layer {attr.layer} "
        f"({attr.head} head, {attr.method['name']}) in {seconds:.1f} s{completeness}"
    )
    if args.output is not None:
        print(f"wrote {attr.save(args.output)}")
    return 0
