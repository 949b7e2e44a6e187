"""Compare two leaderboards (``leaderboard.csv`` of two ``interpbench report`` runs).

Used to check that a report reproduces across thread counts and machines
(docs/architecture.md, "Reproducibility"):

    INTERPBENCH_CACHE=/tmp/a INTERPBENCH_THREADS=1 interpbench report --jobs 1 -o /tmp/a/reports
    INTERPBENCH_CACHE=/tmp/b INTERPBENCH_THREADS=2 interpbench report --jobs 2 -o /tmp/b/reports
    python scripts/compare_reports.py /tmp/a/reports /tmp/b/reports

Prints the largest absolute difference of every numeric column and any rank change; exits 1
when a figure differs by more than ``--tolerance`` or a rank changes. It then prints, per
checkpoint, the largest difference of its trained model scores over every metric
(``model_scores.csv``), which says whether a difference is spread over the zoo or sits in a few
checkpoints (as the cross-CPU one in docs/architecture.md does).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd


def compare(a: pd.DataFrame, b: pd.DataFrame, tolerance: float) -> list[str]:
    """Problems found between two leaderboards indexed by row name (empty: they agree)."""
    problems = []
    if set(a.index) != set(b.index):
        problems.append(f"rows differ: {sorted(set(a.index) ^ set(b.index))}")
    common = a.index.intersection(b.index)
    numeric = [c for c in a.columns if c in b.columns and c != "rank" and pd.api.types.is_numeric_dtype(a[c])]
    for column in numeric:
        left, right = a.loc[common, column].to_numpy(float), b.loc[common, column].to_numpy(float)
        same_nan = np.isnan(left) == np.isnan(right)
        diff = np.nanmax(np.abs(left - right)) if np.isfinite(left - right).any() else 0.0
        print(f"{column:24s} max |difference| {diff:.3g}")
        if not same_nan.all() or diff > tolerance:
            problems.append(f"{column}: differs by {diff:.3g} (tolerance {tolerance:g})")
    moved = [n for n in common if not (pd.isna(a.at[n, "rank"]) and pd.isna(b.at[n, "rank"]))
             and a.at[n, "rank"] != b.at[n, "rank"]]
    if moved:
        problems.append(f"rank changes: {moved}")
    return problems


def trained_score_differences(a: Path, b: Path) -> pd.Series:
    """Per checkpoint, the largest |difference| of its trained model scores over every metric."""
    key = ["checkpoint", "metric", "kind", "index"]
    scores = [pd.read_csv(folder / "model_scores.csv").set_index(key)["score"] for folder in (a, b)]
    diff = (scores[0] - scores[1]).abs().xs("trained", level="kind")
    return diff.groupby(level="checkpoint").max().sort_values()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("a", type=Path, help="folder holding leaderboard.csv")
    parser.add_argument("b", type=Path, help="folder holding leaderboard.csv")
    parser.add_argument("--tolerance", type=float, default=1e-6)
    args = parser.parse_args()
    boards = [pd.read_csv(folder / "leaderboard.csv").set_index("name") for folder in (args.a, args.b)]
    problems = compare(*boards, args.tolerance)
    for line in problems:
        print(f"DIFFERENT: {line}", file=sys.stderr)
    print("equal within tolerance, no rank changes" if not problems else f"{len(problems)} difference(s)")
    print("\ntrained model scores, largest |difference| over the metrics, per checkpoint:")
    for name, diff in trained_score_differences(args.a, args.b).items():
        print(f"  {name:28s} {diff:.3g}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
