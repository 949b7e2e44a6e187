"""How a change of protocol moves the leaderboard: two ``leaderboard.csv`` files side by side.

    interpbench report                                      # the study's NMF protocol (own play)
    interpbench report --nmf-fit scoring-frames -o /tmp/old/reports
    python scripts/protocol_change.py reports /tmp/old/reports

Prints a Markdown table per metric: Spearman, its interval and the Holm-adjusted p under each
report, the difference, and whether the sign changed (docs/validation.md quotes its output).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd


def side_by_side(new: pd.DataFrame, old: pd.DataFrame) -> pd.DataFrame:
    metrics = new[new["kind"] == "metric"].set_index("name")
    other = old.set_index("name").reindex(metrics.index)
    out = pd.DataFrame({"spearman": metrics["spearman"], "interval": _interval(metrics), "p_holm": metrics["p_holm"],
                        "old_spearman": other["spearman"], "old_interval": _interval(other),
                        "old_p_holm": other["p_holm"]})
    out["difference"] = out["spearman"] - out["old_spearman"]
    out["sign_changed"] = np.sign(out["spearman"]) * np.sign(out["old_spearman"]) < 0
    return out.sort_values("spearman", ascending=False)


def _interval(board: pd.DataFrame) -> pd.Series:
    return board.apply(lambda r: f"[{r['spearman_lo']:.2f}, {r['spearman_hi']:.2f}]", axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path, help="report folder of the new protocol")
    parser.add_argument("old", type=Path, help="report folder of the old protocol")
    args = parser.parse_args()
    table = side_by_side(pd.read_csv(args.new / "leaderboard.csv"), pd.read_csv(args.old / "leaderboard.csv"))
    print("| metric | Spearman (new) | interval | p_holm | Spearman (old) | interval | p_holm | new - old | sign changed |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in table.iterrows():
        print(f"| {name} | {r['spearman']:.3f} | {r['interval']} | {r['p_holm']:.2f} | {r['old_spearman']:.3f} | "
              f"{r['old_interval']} | {r['old_p_holm']:.2f} | {r['difference']:+.3f} | {'yes' if r['sign_changed'] else ''} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
