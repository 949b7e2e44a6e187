"""Measure the built-in metrics on the shipped zoo and set their CI-gate bars from the figures.

A bar must come from a measurement with the gate's own settings (benchmark/gate/gate_thresholds.toml,
[gate]), never from a guess, and must be re-measured whenever the zoo changes
(tests/test_gate.py fails when the recorded measurements no longer reproduce). This scores every
built-in with those settings, all at once so attributions are shared, prints the [min_spearman]
table it implies (bar = measured - margin, rounded down to 0.05) and, with ``--write``, puts it
in the thresholds file. Metrics under [no_bar] are skipped.

    python scripts/gate_bars.py              # show
    python scripts/gate_bars.py --write      # and write benchmark/gate/gate_thresholds.toml
"""

from __future__ import annotations

import argparse
import sys

from interpbench.gate import bars as gate
from interpbench.infra import atomic
from interpbench.infra.errors import InterpbenchError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--margin", type=float, default=0.25)
    parser.add_argument("--write", action="store_true", help="rewrite [min_spearman] in the thresholds file")
    args = parser.parse_args()
    try:
        config = gate.load_config()
        measured, zoo = gate.measure(config, gate.gated_metrics(config), progress=True)
        table = gate.bars_table(measured, args.margin, zoo)
        print(table)
        if args.write:
            atomic.write_text(gate.THRESHOLDS, gate.replace_bars_table(gate.THRESHOLDS.read_text(), table))
            print(f"wrote {gate.THRESHOLDS}")
    except InterpbenchError as exc:
        print(f"gate_bars: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
