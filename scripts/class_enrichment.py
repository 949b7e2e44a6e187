"""Where attribution lands, per object class: enrichment over area for every checkpoint of a zoo.

Prints each class's share of the screen, then, per checkpoint (and the published agent, where
it is found), each class's share of attribution divided by its share of the screen
(`interpbench.attribution.enrichment`), on the leaderboard's frames and attributions (both cached, so after
`make report` this takes seconds), then the same with every frame's masks mirrored left-right
as the control. Deterministic.

    python scripts/class_enrichment.py                       # the shipped zoo + the published agent
    python scripts/class_enrichment.py --zoo runs/zoo-large --csv enrichment.csv
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from interpbench.agents.reference import reference_path
from interpbench.attribution.attribute import attribute_checkpoint
from interpbench.attribution.enrichment import enrichment_table
from interpbench.data.zoo import default_zoo, read_zoo
from interpbench.frames.default import load_or_build_frames
from interpbench.infra import atomic
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar


def _rows(name: str, levels: float, table: dict[str, dict[str, float]]) -> list[dict]:
    return [{"checkpoint": name, "num_levels": levels, "class": cls, "masks": which, "enrichment": value}
            for cls, pair in table.items() for which, value in pair.items()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", type=Path, default=default_zoo())
    parser.add_argument("--csv", type=Path, default=None, help="also write every figure here")
    args = parser.parse_args(argv)
    try:
        frames = load_or_build_frames()
        checkpoints = [(name, row.num_levels, row.path) for name, row in read_zoo(args.zoo).iterrows()]
        if (reference := reference_path()) is not None:
            checkpoints.append(("published agent", float("nan"), str(reference)))
        rows = []
        for name, levels, path in progress_bar(checkpoints, desc="enrichment", unit="ckpt"):
            rows += _rows(name, levels, enrichment_table(attribute_checkpoint(path, frames), frames))
    except InterpbenchError as exc:
        print(f"class_enrichment: error: {exc}", file=sys.stderr)
        return 2
    table = pd.DataFrame(rows)
    if args.csv:
        atomic.write_text(args.csv, table.to_csv(index=False))
    area = pd.Series(frames.masks.mean(axis=(0, 2, 3)), index=list(frames.classes))
    print("share of the screen per class (mean over frames)\n")
    print(area[area > 0].to_string(float_format="{:.4f}".format))
    order = table.drop_duplicates("checkpoint").set_index("checkpoint")["num_levels"].sort_values(na_position="last")
    for which in ("own", "mirrored"):
        wide = table[table["masks"] == which].pivot(index="checkpoint", columns="class", values="enrichment")
        wide = wide.loc[order.index, list(frames.classes)].dropna(axis=1, how="all")
        print(f"\nattribution share / area share, {which} masks\n")
        print(wide.to_string(float_format="{:.2f}".format))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
