"""Check ``interpbench.game.masks`` against the independent ground truth of ``interpbench.game.mask_truth``.

Collects states from held-out levels (easy and hard, with and without velocity painting) by
stepping envs with random actions, and checks for every state that:

* re-rendering the state reproduces its observation exactly (masks describe the real frame);
* the recoloured masks agree with the hide-and-diff ground truth (per-class IoU, false
  positives and negatives).

Prints a table, writes ``docs/mask_validation.json``, and exits 1 if a class present in the
sample has an IoU on unambiguous pixels below ``--min-iou``, any false positive, or a frame
fails to re-render. Deterministic: the same arguments give the same JSON.

    python scripts/validate_masks.py            # the committed docs/mask_validation.json
"""

from __future__ import annotations

import argparse
import importlib.metadata
import sys
from pathlib import Path

import numpy as np

from interpbench.game.env import heldout_levels
from interpbench.game.mask_truth import (
    TruthRenderer,
    collect_states,
    overlap_agreement,
    score_masks,
)
from interpbench.game.masks import MaskRenderer
from interpbench.game.procgen_state import parse
from interpbench.infra import atomic

CONFIGS = [(mode, vel) for mode in ("easy", "hard") for vel in (False, True)]


def _table(scores) -> str:
    rows = [f"{'class':<11}{'frames':>7}{'truth px':>10}{'IoU':>10}{'IoU unamb.':>12}{'FP':>6}{'FN':>6}"]
    for s in scores:
        fmt = lambda v: "-" if v is None else f"{v:.6f}"  # noqa: E731
        rows.append(f"{s.name:<11}{s.frames:>7}{s.true_positives + s.false_negatives:>10}"
                    f"{fmt(s.iou):>10}{fmt(s.iou_unambiguous):>12}{s.false_positives:>6}{s.false_negatives:>6}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--envs", type=int, default=64, help="envs per configuration (one level each at start)")
    parser.add_argument("--snapshots", type=int, nargs="+", default=[6, 20, 40, 70, 110],
                        help="step counts after which every env's state is taken")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--min-iou", type=float, default=0.999)
    parser.add_argument("--out", type=Path, default=Path("docs/mask_validation.json"))
    args = parser.parse_args(argv)

    truth_renderer, mask_renderer = TruthRenderer(), MaskRenderer()
    all_masks, all_truth, per_config, seeds, mismatched = [], [], [], set(), 0
    for k, (mode, vel) in enumerate(CONFIGS):
        states, obs = collect_states(heldout_levels(), distribution_mode=mode, paint_vel_info=vel,
                                     num_envs=args.envs, snapshots=args.snapshots, seed=args.seed + k)
        parsed = [parse(s) for s in states]
        seeds.update(p.level_seed for p in parsed)
        mismatched += int((truth_renderer.render([p.without_rng() for p in parsed]) != obs).any((1, 2, 3)).sum())
        masks, truth = mask_renderer.masks(states), truth_renderer.truth(states)
        all_masks.append(masks)
        all_truth.append(truth)
        scores = score_masks(masks, truth)
        per_config.append({"distribution_mode": mode, "paint_vel_info": vel, "states": len(states),
                           "levels": len({p.level_seed for p in parsed}), "classes": [s.as_dict() for s in scores]})
        print(f"{mode}, paint_vel_info={vel}: {len(states)} states", file=sys.stderr)

    masks, truth = np.concatenate(all_masks), np.concatenate(all_truth)
    scores = score_masks(masks, truth)
    ambiguous, agreeing = overlap_agreement(masks, truth)
    failures = [s.name for s in scores if s.frames and (s.iou_unambiguous < args.min_iou or s.false_positives)]
    report = {
        "command": " ".join(["python scripts/validate_masks.py", *(sys.argv[1:] if argv is None else argv)]),
        "procgen_version": importlib.metadata.version("procgen2"),
        "states": len(masks),
        "levels": len(seeds),
        "rerender_mismatches": mismatched,
        "ambiguous_pixels": ambiguous,
        "ambiguous_pixels_given_a_present_class": agreeing,
        "min_iou": args.min_iou,
        "failing_classes": failures,
        "classes": [s.as_dict() for s in scores],
        "per_config": per_config,
    }
    atomic.write_json(args.out, report)
    print(_table(scores))
    print(f"\n{len(masks)} states from {len(seeds)} levels; re-render mismatches: {mismatched}; "
          f"translucent-overlap pixels: {ambiguous} ({agreeing} given one of their classes)")
    ok = not failures and not mismatched and agreeing == ambiguous
    print("OK" if ok else f"FAILED: {failures or 'see above'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
