"""``interpbench frames``: build a FrameSet (frames, object masks, states) and optionally a picture."""

from __future__ import annotations

import argparse

from interpbench.cli.options import (
    add_runtime_arguments,
    add_split_arguments,
    set_threads,
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--n", type=int, default=512, help="number of frames (default: 512)")
    add_split_arguments(parser)
    parser.add_argument("--policy", default="reference", help="'reference', 'random', or a checkpoint path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--paint-vel-info", action="store_true", help="draw procgen's velocity boxes")
    parser.add_argument("-o", "--output", required=True, help="FrameSet path (.npz; a .json sidecar is written)")
    parser.add_argument("--picture", metavar="PNG", default=None, help="also write a grid of frames and masks")
    add_runtime_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from interpbench.frames.build import build_frameset
    from interpbench.frames.picture import save_picture

    set_threads(args.threads)
    frames = build_frameset(
        args.n,
        split=args.split,
        policy=args.policy,
        seed=args.seed,
        distribution_mode=args.distribution_mode,
        paint_vel_info=args.paint_vel_info,
        num_levels=args.levels,
        num_envs=args.num_envs,
        progress=not args.no_progress,
    )
    path = frames.save(args.output)
    prov = frames.provenance
    print(
        f"wrote {path}: {len(frames)} frames from {prov['distinct_levels']} distinct levels "
        f"in {prov['build_seconds']:.1f} s; content hash {frames.content_hash()[:12]}"
    )
    if args.picture:
        print(f"wrote {save_picture(frames, args.picture)}")
    return 0
