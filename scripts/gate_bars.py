"""Measure the built-in metrics on the shipped zoo and set their CI-gate bars from the figures.

A bar must come from a measurement with the gate's own settings (benchmark/gate_thresholds.toml,
[gate]), never from a guess, and must be re-measured whenever the zoo changes. This scores every
built-in with those settings (the same code path as ``interpbench check``, all metrics at once so
attributions are shared), prints each Spearman and the bar ``measured - margin`` rounded down to
a multiple of 0.05, and with ``--write`` replaces the [min_spearman] table of the thresholds file.
Metrics under [no_bar] are skipped.

    python scripts/gate_bars.py              # show
    python scripts/gate_bars.py --write      # and write benchmark/gate_thresholds.toml
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tomllib
from collections import Counter
from pathlib import Path

from benchmark import atomic
from benchmark.commands.validate import add_validation_arguments, validation_from_args
from benchmark.provenance import REPO_ROOT
from benchmark.scoring import frames_cache_path, load_or_build_frames
from metrics import registry

THRESHOLDS = REPO_ROOT / "benchmark" / "gate_thresholds.toml"
STEP = 0.05


def bar_for(measured: float, margin: float) -> float:
    """``measured - margin`` rounded down to a multiple of STEP, kept within [-1, 1]."""
    return max(-1.0, math.floor(round((measured - margin) / STEP, 9)) * STEP)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--margin", type=float, default=0.25)
    parser.add_argument("--write", action="store_true", help="rewrite [min_spearman] in the thresholds file")
    args = parser.parse_args()
    config = tomllib.loads(THRESHOLDS.read_text())
    gate, no_bar = config["gate"], config.get("no_bar", {})
    names = sorted(n for n, info in registry.available().items() if info.origin == "built-in" and n not in no_bar)
    frames = frames_cache_path(gate["frames"], gate["seed"])
    load_or_build_frames(frames, n=gate["frames"], seed=gate["seed"])
    validate_parser = argparse.ArgumentParser()
    add_validation_arguments(validate_parser, metrics_option=False)
    validate_args = validate_parser.parse_args(["--frames", str(frames), "--bootstrap", str(gate["bootstrap"]),
                                                "--seed", str(gate["seed"])])
    table, _, validation = validation_from_args(validate_args, names)
    if table.errors:
        print(f"metrics that failed to score: {table.errors}", file=sys.stderr)
        return 2
    measured = validation.leaderboard.set_index("name")["spearman"]
    zoo = Counter(f"{row.method} {json.loads(Path(row.path).with_suffix('.json').read_text()).get('preset', '')}"
                  for row in table.checkpoints.itertuples())
    lines = [f"# written by scripts/gate_bars.py (margin {args.margin}) on the zoo in baselines/zoo: "
             + ", ".join(f"{count} x {kind}" for kind, count in sorted(zoo.items()))]
    for name in names:
        if math.isnan(measured[name]):
            print(f"{name}: Spearman undefined; give it a reason under [no_bar]", file=sys.stderr)
            return 2
        lines.append(f'"{name}" = {bar_for(measured[name], args.margin):.2f}  # measured {measured[name]:.3f}')
    block = "[min_spearman]\n" + "\n".join(lines) + "\n"
    print(block)
    if args.write:
        text, count = re.subn(r"^\[min_spearman\]\n(?:[^\n]+\n)*", lambda _: block, THRESHOLDS.read_text(),
                              flags=re.M)
        if count != 1:
            print(f"{THRESHOLDS} has no single [min_spearman] table to replace", file=sys.stderr)
            return 2
        atomic.write_text(THRESHOLDS, text)
        print(f"wrote {THRESHOLDS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
