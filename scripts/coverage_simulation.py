"""Coverage of the leaderboard's intervals and level of its test, on synthetic zoos with a known
Spearman (issue 14's calibration; docs/validation.md cites the output).

    python scripts/coverage_simulation.py [--zoos 400] [--replicates 1000] [--out reports/coverage.json]

The noise model (share of a metric's checkpoint variance between level counts, frame and NMF-fit
noise relative to it) is estimated from the committed report's ``reports/model_scores.csv``
(median over the metrics that vary), so the synthetic zoos are as noisy as the real one. Both the
hierarchical interval (level counts, frames and fits resampled, corrected Fisher-z) and the
level-counts-only variant (also frames and fits) are run on the same zoos; the leaderboard uses the hierarchical one. Writes a JSON document and prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from interpbench.infra import atomic
from interpbench.validation.calibration import NoiseModel, study

ASSOCIATIONS = (0.0, 0.3, 0.6, 0.9)


def estimate_noise(model_scores: Path) -> tuple[NoiseModel, dict[str, float]]:
    """The median noise model over the metrics of a report's model_scores.csv."""
    data = pd.read_csv(model_scores)
    estimates = []
    for _metric, rows in data.groupby("metric"):
        trained = rows[rows["kind"] == "trained"].set_index("checkpoint")
        if trained["score"].std() == 0:
            continue
        boot = rows[rows["kind"] == "boot"].pivot(index="checkpoint", columns="index", values="score")
        fits = rows[rows["kind"].isin(["trained", "refits"])].pivot_table(index="checkpoint", columns=["kind", "index"],
                                                                          values="score")
        frame = float(boot.std(axis=1, ddof=1).mean()) if boot.shape[1] > 1 else 0.0
        fit = float(fits.std(axis=1, ddof=1).mean()) if fits.shape[1] > 1 else 0.0
        levels = trained["num_levels"]
        k = trained.groupby(levels)["score"].size().mean()
        msw = float(trained.groupby(levels)["score"].var(ddof=1).mean())
        msb = float(k * trained.groupby(levels)["score"].mean().var(ddof=1))
        between = max((msb - msw) / k, 0.0)
        within = max(msw - frame**2 - fit**2, 0.0)
        total = between + within
        if total <= 0:
            continue
        estimates.append((between / total, frame / np.sqrt(total), fit / np.sqrt(total)))
    if not estimates:
        raise SystemExit(f"{model_scores}: no metric varies across checkpoints; cannot estimate the noise")
    med = np.median(np.array(estimates), axis=0)
    # Keep the model proper: a between share strictly inside (0, 1), noise at most 3x the signal.
    noise = NoiseModel(between_share=float(np.clip(med[0], 0.05, 0.95)), frame_sd=float(min(med[1], 3.0)),
                       fit_sd=float(min(med[2], 3.0)))
    return noise, {"n_metrics": len(estimates), "between_share": float(med[0]), "frame_sd": float(med[1]),
                   "fit_sd": float(med[2])}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoos", type=int, default=400, help="synthetic zoos per true association")
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-scores", type=Path, default=Path("reports/model_scores.csv"))
    parser.add_argument("--out", type=Path, default=Path("reports/coverage.json"))
    args = parser.parse_args(argv)
    noise, measured = estimate_noise(args.model_scores)
    results = {}
    for variant, hierarchical in (("hierarchical: levels, frames, fits (leaderboard)", True), ("levels only", False)):
        rows = []
        for association, zoos in study(noise, ASSOCIATIONS, args.zoos, args.replicates, args.seed, hierarchical):
            rows.append({"association": association, "true_spearman": zoos[0].truth,
                         "mean_estimate": float(np.mean([z.estimate for z in zoos])),
                         "coverage": float(np.mean([z.covered for z in zoos])),
                         "mean_width": float(np.mean([z.hi - z.lo for z in zoos])),
                         "rejects_at_5pct": float(np.mean([z.p_value <= 0.05 for z in zoos]))})
        results[variant] = rows
    doc = {"command": "python scripts/coverage_simulation.py " + " ".join(argv if argv is not None else sys.argv[1:]),
           "n_zoos": args.zoos, "n_replicates": args.replicates, "seed": args.seed,
           "noise_model": asdict(noise), "noise_measured_from": str(args.model_scores), "measured": measured,
           "results": results}
    atomic.write_text(args.out, json.dumps(doc, indent=1) + "\n")
    print(f"noise model (median over {measured['n_metrics']} metrics of {args.model_scores}): {asdict(noise)}\n")
    print("| interval | true association | true Spearman | coverage of the 95% interval | mean width | "
          "rejects at 5% |\n|---|---|---|---|---|---|")
    for variant, rows in results.items():
        for r in rows:
            print(f"| {variant} | {r['association']:.1f} | {r['true_spearman']:.3f} | {r['coverage']:.3f} | "
                  f"{r['mean_width']:.2f} | {r['rejects_at_5pct']:.3f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
