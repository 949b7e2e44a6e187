"""``interpbench gallery``: per-feature PNGs of the frames where each feature is strongest."""

from __future__ import annotations

import argparse

from interpbench.cli.options import (
    add_attribution_arguments,
    attribution_from_args,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_attribution_arguments(parser)
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="directory for the PNGs and gallery.json")
    parser.add_argument("--top", type=int, default=8, help="frames per feature (default 8)")


def run(args: argparse.Namespace) -> int:
    from interpbench.attribution.gallery import write_gallery
    from interpbench.data.frameset import FrameSet

    attr = attribution_from_args(args)
    files = write_gallery(attr, FrameSet.load(args.frames), args.output, k=args.top)
    print(f"wrote {len(files)} files to {args.output}")
    return 0
