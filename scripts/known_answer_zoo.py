"""Train the known-answer zoo, measure its oracle, and write its summary (docs/known-answer.md).

    nice -n 19 python scripts/known_answer_zoo.py                  # the whole zoo, resumable
    python scripts/known_answer_zoo.py --preset known --k 8 --seed 1   # one agent
    python scripts/known_answer_zoo.py --summary-only              # oracle + summary of what exists
    python scripts/known_answer_zoo.py --track reports/known_answer.csv   # which rows recover k

Every stage is resumable (``baselines.known_zoo``): re-run the same command after an
interruption. After training, the oracle (``validation.oracle.oracle_shares``, on the default
512 held-out evaluation frames) is written into each checkpoint's JSON, and docs/known_answer.json
gathers the per-checkpoint figures and Spearman(k, oracle share) with its interval.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from interpbench.baselines import known_zoo
from interpbench.data.zoo import default_zoo, read_zoo_metadata
from interpbench.frames.default import load_or_build_frames
from interpbench.infra import atomic
from interpbench.infra.provenance import REPO_ROOT, code_version
from interpbench.reporting.report import markdown_table
from interpbench.validation.known_answer import RECOVERS_SPEARMAN, SHOWN_COLUMNS, KnownAnswerTrack
from interpbench.validation.oracle import agreement_with_k, oracle_shares

SUMMARY = REPO_ROOT / "docs" / "known_answer.json"


def summarize(zoo_dir: Path, shares: dict[str, float]) -> dict:
    """Per-checkpoint figures, Spearman(k, oracle share), and the k = 8 agents' held-out completion
    against the main zoo's best student's."""
    rows = []
    for meta in read_zoo_metadata(zoo_dir):
        rows.append({"name": meta["name"], "k": meta["planted"]["k"], "seed": meta["planted"]["seed"],
                     "object_groups": meta["planted"]["object_groups"], "oracle_share": shares[meta["name"]],
                     "train_completion": meta["train_completion"]["completion_rate"],
                     "test_completion": meta["test_completion"]["completion_rate"],
                     "test_ci95": meta["test_completion"]["ci95"], "episodes_per_split": meta["test_completion"]["episodes"],
                     "train_seconds": meta["wall_time_s"], "eval_seconds": meta["eval_wall_time_s"],
                     "hardware": meta["hardware"], "command": meta["command"]})
    rows.sort(key=lambda r: (r["k"], r["seed"]))
    out: dict = {"code_version": code_version(), "zoo": str(zoo_dir.relative_to(REPO_ROOT)), "checkpoints": rows}
    ks = np.array([r["k"] for r in rows])
    if len(np.unique(ks)) >= 2 and len(rows) >= 3:
        out["spearman_k_oracle"] = agreement_with_k(np.array([r["oracle_share"] for r in rows]), ks)
    best = max(read_zoo_metadata(default_zoo()), key=lambda m: m["test_completion_rate"])
    full = [r["test_completion"] for r in rows if r["k"] == 8]
    out["main_zoo_best_test"] = {"name": best["name"], "test_completion": best["test_completion_rate"]}
    if full:
        out["k8_test_over_best"] = [round(c / best["test_completion_rate"], 4) for c in full]
    out["total_train_seconds"] = round(sum(r["train_seconds"] for r in rows), 1)
    out["total_eval_seconds"] = round(sum(r["eval_seconds"] for r in rows), 1)
    return out


def markdown(summary: dict) -> str:
    """The summary's per-checkpoint table and headline figures, as docs/known-answer.md shows them."""
    lines = ["| checkpoint | k | object groups | oracle share | train completion | held-out completion (95% CI) | "
             "train s | eval s |", "|---|---|---|---|---|---|---|---|"]
    for r in summary["checkpoints"]:
        low, high = r["test_ci95"]
        lines.append(f"| {r['name']} | {r['k']} | {', '.join(r['object_groups']) or '-'} | {r['oracle_share']:.3f} | "
                     f"{r['train_completion']:.3f} | {r['test_completion']:.3f} ({low:.3f}-{high:.3f}) | "
                     f"{r['train_seconds']:.0f} | {r['eval_seconds']:.0f} |")
    if "spearman_k_oracle" in summary:
        sp = summary["spearman_k_oracle"]
        lines.append(f"\nSpearman(k, oracle share) = {sp['spearman_k']:.3f} ({sp['ci_method']} 95% interval "
                     f"{sp['ci_low']:.3f} to {sp['ci_high']:.3f}; {sp['n_checkpoints']} checkpoints, {sp['n_k']} k values).")
    best = summary["main_zoo_best_test"]
    lines.append(f"\nMain zoo's best held-out completion: {best['name']} {best['test_completion']:.3f}; "
                 f"k = 8 agents' held-out completion over it: {summary.get('k8_test_over_best', 'none yet')}.")
    lines.append(f"\nTraining {summary['total_train_seconds']:.0f} s and evaluation {summary['total_eval_seconds']:.0f} s "
                 f"in all, over {len(summary['checkpoints'])} checkpoints.")
    return "\n".join(lines)


def track_markdown(track_csv: Path) -> str:
    """The report's known-answer track (``known_answer.csv``) as docs/known-answer.md shows it:
    the report's own table of it, and which registered metrics recover k."""
    track = KnownAnswerTrack(pd.read_csv(track_csv), str(track_csv))
    metrics = track.metric_rows()
    recovering = list(metrics.loc[metrics["recovers_k"].astype(bool), "metric"])
    return (f"{markdown_table(track.rows[list(SHOWN_COLUMNS)])}\n\nRegistered metrics that recover k "
            f"(Spearman >= {RECOVERS_SPEARMAN}, interval above 0): {', '.join(recovering) or 'none'} "
            f"({len(recovering)} of {len(metrics)}).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="known", choices=sorted(known_zoo.PRESETS))
    parser.add_argument("--k", type=int, nargs="*", default=None, help="planted degrees (default: all, zoo order)")
    parser.add_argument("--seed", type=int, nargs="*", default=None, help="seeds (default: the zoo's)")
    parser.add_argument("--zoo", type=Path, default=known_zoo.KNOWN_ZOO_DIR)
    parser.add_argument("--summary-only", action="store_true", help="no training: oracle and summary only")
    parser.add_argument("--track", type=Path, default=None, metavar="CSV",
                        help="print a report's known_answer.csv as the docs' table, and nothing else")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    if args.track is not None:
        print(track_markdown(args.track))
        return 0
    torch.set_num_threads(args.threads)
    if not args.summary_only:
        ks = tuple(args.k) if args.k is not None else known_zoo.KS
        seeds = tuple(args.seed) if args.seed is not None else known_zoo.SEEDS
        for planted in known_zoo.zoo_order(ks, seeds):
            meta = known_zoo.run_agent(planted, args.preset, zoo_dir=args.zoo, progress=not args.no_progress)
            print(json.dumps({"name": meta["name"], "train_seconds": meta["wall_time_s"],
                              "train": meta["train_completion"]["completion_rate"],
                              "test": meta["test_completion"]["completion_rate"]}), flush=True)
    shares = oracle_shares(args.zoo, load_or_build_frames(), record=True, progress=not args.no_progress)
    if args.zoo.resolve() == known_zoo.KNOWN_ZOO_DIR.resolve():
        summary = summarize(args.zoo, shares)
        atomic.write_json(SUMMARY, summary)
        print(f"wrote {SUMMARY}\n\n{markdown(summary)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
