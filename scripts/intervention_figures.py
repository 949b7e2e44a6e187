"""Print the figures docs/interventions.md quotes, from the shipped measured tables only.

    .venv/bin/python scripts/intervention_figures.py
"""

from __future__ import annotations

import pandas as pd

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
        print("seconds per checkpoint:", table.provenance["seconds_per_checkpoint"])
    path = folder / "ablation-reference.csv"
    if path.exists():
        table = load_table(path, "ablation")
        print(f"## ablation-reference: {int(table.rows['episodes'].iloc[0])} episodes per run")
        print(table.rows.to_string(index=False))
        print(ablation_effects(table.rows)[["feature", "completion_drop", "top_cause", "top_cause_ratio",
                                            "top_cause_rise", "specificity"]].round(4).to_string(index=False))


if __name__ == "__main__":
    main()
