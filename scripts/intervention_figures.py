"""Print the figures docs/interventions.md quotes, from the shipped measured tables, and (with a
path) the counts of an ablation progress file, summed over each run's finished chunks.

    .venv/bin/python scripts/intervention_figures.py [PROGRESS_JSON]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import pandas as pd
from scipy.stats import binomtest

from interpbench.interventions.causes import OUTCOMES
from interpbench.interventions.effects import ablation_effects
from interpbench.interventions.table import load_table, shipped_dir
from interpbench.interventions.track import selectivity_vs_levels


def main() -> None:
    pd.set_option("display.width", 200)
    folder = shipped_dir()
    for name in ("object_dependence-reference", "object_dependence"):
        path = folder / f"{name}.csv"
        if not path.exists():
            continue
        table = load_table(path, "object_dependence")
        check = table.provenance["held_out_top_vs_other"]
        print(f"## {name}: {table.provenance['frames']['hidden_frames']} frames hidden per checkpoint")
        print(f"held-out top class beats a random other class: {check['top_wins']}/{check['features']} features")
        rows = table.rows
        print(rows.groupby("checkpoint", sort=False).agg(num_levels=("num_levels", "first"),
                                                           mean_selectivity=("selectivity", "mean")).round(3))
        print("top classes:", rows["top_class"].value_counts().to_dict())
        if rows["num_levels"].notna().all():
            print("selectivity vs level count:", {k: round(v, 3) for k, v in selectivity_vs_levels(rows).items()})
        if {"drop_wall_top", "drop_wall_mid"} <= set(rows.columns):
            walls = rows[rows["top_class"] == "wall"]
            medians = walls[["drop_wall", "drop_wall_top", "drop_wall_mid"]].median().round(3).to_dict()
            print(f"wall-topped features: {len(walls)}; median relative drop when hiding all walls, their top "
                  f"surfaces (tile 16), their interiors (tile 15): {medians}; surfaces drop more for "
                  f"{int((walls['drop_wall_top'] > walls['drop_wall_mid']).sum())}")
        print("seconds per checkpoint:", table.provenance["seconds_per_checkpoint"],
              "processes:", table.provenance.get("processes", 1))
    path = folder / "ablation-reference.csv"
    if path.exists():
        table = load_table(path, "ablation")
        print(f"## ablation-reference: {int(table.rows['episodes'].iloc[0])} episodes per run")
        print(table.rows.to_string(index=False))
        effects = ablation_effects(table.rows)
        base = table.rows[table.rows["feature"] == -1].iloc[0]
        ablated = table.rows.set_index("feature")
        # same levels in every run: of the top cause's ends in the two runs, a share above 1/2 in
        # the ablated run is a rise (exact one-sided binomial test, conditional on their sum)
        effects["p_rise"] = [binomtest(int(ablated.at[f, c]), int(ablated.at[f, c] + base[c]), 0.5,
                                       alternative="greater").pvalue if ablated.at[f, c] + base[c] else float("nan")
                             for f, c in zip(effects["feature"], effects["top_cause"], strict=True)]
        print(effects[["feature", "completion_drop", "top_cause", "top_cause_ratio", "top_cause_rise", "specificity",
                       "p_rise"]].round(6).to_string(index=False))


def progress_counts(path: str) -> pd.DataFrame:
    """Rows like the ablation table's, from the chunks a progress file holds (keys name|feature|k|size)."""
    sums: dict[tuple[str, int], dict[str, int]] = defaultdict(lambda: dict.fromkeys(("episodes", *OUTCOMES), 0))
    for key, counts in json.loads(open(path).read())["chunks"].items():
        name, feature, _, size = key.split("|")
        row = sums[(name, int(feature))]
        row["episodes"] += int(size)
        for outcome in OUTCOMES:
            row[outcome] += counts[outcome]
    return pd.DataFrame([{"checkpoint": n, "feature": f, **c} for (n, f), c in sorted(sums.items())])


if __name__ == "__main__":
    main()
    if len(sys.argv) > 1:
        rows = progress_counts(sys.argv[1])
        print(f"## progress file {sys.argv[1]}")
        print(rows.to_string(index=False))
        print(ablation_effects(rows)[["feature", "completion_drop", "top_cause", "top_cause_ratio",
                                      "top_cause_rise"]].round(4).to_string(index=False))
