"""The leaderboard: markdown, self-contained HTML, CSV and seaborn figures, written atomically.

Everything here is drawn from a :class:`interpbench.validation.validate.Validation` and the score table it
came from, so the report never computes a number of its own: what it shows is what
``validate`` returned. ``scores.csv`` (per checkpoint, metric and feature) is written beside the
leaderboard so that anyone can recompute the rank correlations without running a model.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from interpbench.infra import atomic
from interpbench.scoring.table import ScoreTable
from interpbench.validation.validate import LEVEL, Validation

FIGURES = {
    "score-vs-levels": "Model score against training level count (line: mean over frame resamples; band: 95% interval)",
    "metric-vs-human": "Model score against the human fraction of interpretable features",
    "forest": "Spearman with human judgments, 95% bootstrap intervals, beside the human ceiling and baselines",
}
COLUMNS = {
    "rank": "rank among metrics by Spearman",
    "spearman / kendall": "rank correlation of the model score (the metric's aggregate of its per-feature "
                          "scores; by default their mean) with the human fraction",
    "_lo / _hi": f"{LEVEL:.0%} bootstrap interval (frames and researchers resampled; the ceiling resamples models)",
    "vs_ceiling": "Spearman divided by the human ceiling",
    "auroc": "feature-level AUROC against per-feature judgments (empty: none exist)",
    "beats_randomized": "share of checkpoints scoring above their weight-randomized twin",
    "beats_shuffled_masks": "share of checkpoints scoring above the same maps with masks of other frames",
    "area_spearman": "mean Spearman between a frame bin's object area and the score on it (near 1: tracks area)",
}


@dataclass(frozen=True)
class ReportContext:
    """Where the numbers came from, printed at the top of every report."""

    zoo: str
    frames: str
    citation: str
    code_version: str


# -- figures -----------------------------------------------------------------------------------------


def _seaborn():
    """seaborn with a non-interactive backend (reports are written on headless machines)."""
    import matplotlib

    matplotlib.use("Agg")
    import seaborn as sns

    sns.set_theme(style="whitegrid")
    return sns


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _score_replicates(validation: Validation, table: ScoreTable) -> pd.DataFrame:
    """Long table (metric, checkpoint, num_levels, run, replicate, score) of oriented model scores;
    the full-sample score stands in for the replicates when the table has none."""
    matched = validation.matched
    rows = []
    for metric, boot in validation.model_boot.items():
        if boot.shape[0] == 0:
            boot = table.model_scores(metric, "trained", matched.index)[None]
        for j, name in enumerate(matched.index):
            rows += [{"metric": metric, "checkpoint": name, "num_levels": matched.at[name, "num_levels"],
                      "run": f"run {matched.at[name, 'run']}", "replicate": b, "score": boot[b, j]}
                     for b in range(boot.shape[0])]
    return pd.DataFrame(rows)


def figure_score_vs_levels(replicates: pd.DataFrame) -> bytes:
    sns = _seaborn()
    grid = sns.relplot(data=replicates, kind="line", x="num_levels", y="score", hue="run", col="metric",
                       col_wrap=min(4, replicates["metric"].nunique()), errorbar=("pi", LEVEL * 100),
                       marker="o", height=2.6, aspect=1.2, facet_kws={"sharey": False})
    grid.set(xscale="log")
    grid.set_axis_labels("training levels", "score (oriented)")
    grid.set_titles("{col_name}")
    return _png(grid.figure)


def figure_metric_vs_human(validation: Validation, table: ScoreTable) -> bytes:
    from matplotlib.colors import LogNorm

    sns = _seaborn()
    matched = validation.matched
    rows = [{"metric": m, "human": matched.at[n, "human"], "levels": matched.at[n, "num_levels"], "score": score}
            for m in validation.model_boot
            for n, score in zip(matched.index, table.model_scores(m, "trained", matched.index))]
    data = pd.DataFrame(rows)
    grid = sns.relplot(data=data, kind="scatter", x="human", y="score", hue="levels", hue_norm=LogNorm(),
                       palette="viridis", col="metric", col_wrap=min(4, data["metric"].nunique()),
                       height=2.6, aspect=1.2, facet_kws={"sharey": False})
    grid.set_axis_labels("human: fraction interpretable", "score (oriented)")
    grid.set_titles("{col_name}")
    return _png(grid.figure)


def figure_forest(board: pd.DataFrame) -> bytes:
    sns = _seaborn()
    import matplotlib.pyplot as plt

    data = board.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(data) + 1.2))
    palette = dict(zip(["ceiling", "baseline", "metric"], sns.color_palette("deep", 3)))
    for y, row in data.iterrows():
        ax.hlines(y, row["spearman_lo"], row["spearman_hi"], color=palette[row["kind"]], lw=2)
    sns.scatterplot(data=data.assign(y=data.index), x="spearman", y="y", hue="kind", palette=palette,
                    style="kind", s=70, ax=ax, zorder=3)
    ceiling = board.loc[board["kind"] == "ceiling", "spearman"]
    if len(ceiling):
        ax.axvline(float(ceiling.iloc[0]), ls="--", color=palette["ceiling"], lw=1)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_yticks(range(len(data)), data["name"])
    ax.set(xlabel="Spearman with human judgments", ylabel="", xlim=(-1.05, 1.05))
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), title=None)
    return _png(fig)


# -- tables ------------------------------------------------------------------------------------------


#: What can open markup inside a line or a cell (``-``, ``#``, ``+`` only matter at a line's start,
#: and every escaped line starts with our own text).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*{}\[\]|~])")


def md_text(text: object) -> str:
    """``text`` safe inside Markdown prose or a table cell: Markdown's punctuation backslash-escaped,
    HTML's ``<>&`` as entities, newlines as spaces. Plugin messages, metric specs and file names
    pass through here, so none can inject markup into a report."""
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split())), quote=False)


def _fmt(value: object) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.3f}"
    return "" if value is pd.NA else md_text(value)


def markdown_table(frame: pd.DataFrame) -> str:
    """A GitHub markdown table (pandas' to_markdown needs tabulate, which this project does not)."""
    lines = ["| " + " | ".join(md_text(c) for c in frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


def _header(validation: Validation, table: ScoreTable, ctx: ReportContext) -> list[str]:
    """The report's provenance lines, as plain text (each format escapes them its own way)."""
    cfg = table.config
    notes = [
        f"zoo: {ctx.zoo}, method {validation.matched['method'].iloc[0]}, {len(validation.matched)} "
        "checkpoints matched to judgments",
        f"frames: {ctx.frames} ({table.n_frames} frames, content hash {table.frames_hash[:12]})",
        f"attribution: head {cfg.head}, {cfg.n_features} features; {cfg.n_bootstrap} frame resamples, "
        f"{cfg.area_bins} area bins, seed {cfg.seed}",
        f"human judgments: {ctx.citation}",
        f"code: {ctx.code_version}",
    ]
    if validation.unmatched:
        notes.append(f"not validated (no judgment for their level count and run): {', '.join(validation.unmatched)}")
    notes += [f"metric {name} failed and is not ranked: {msg}" for name, msg in table.errors.items()]
    return notes


def render_markdown(ctx: ReportContext, validation: Validation, table: ScoreTable, figure_dir: str) -> str:
    parts = ["# interpbench leaderboard", "", *(f"- {md_text(line)}" for line in _header(validation, table, ctx)), "",
             markdown_table(validation.leaderboard), "", "Columns:", ""]
    parts += [f"- `{k}`: {v}" for k, v in COLUMNS.items()]
    for name, caption in FIGURES.items():
        parts += ["", f"## {caption}", "", f"![{name}]({figure_dir}/{name}.png)"]
    return "\n".join(parts) + "\n"


def render_html(ctx: ReportContext, validation: Validation, table: ScoreTable, figures: dict[str, bytes]) -> str:
    """One file with the figures embedded as base64, so it can be mailed or archived alone."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in _header(validation, table, ctx))
    columns = "".join(f"<li><code>{html.escape(k)}</code>: {html.escape(v)}</li>" for k, v in COLUMNS.items())
    board = validation.leaderboard.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.3f}", border=0)
    images = "".join(
        f"<h2>{html.escape(FIGURES[name])}</h2><img alt='{name}' src='data:image/png;base64,"
        f"{base64.b64encode(png).decode()}'>" for name, png in figures.items()
    )
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse}"
             "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:right}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>interpbench leaderboard</title>"
            f"<style>{style}</style></head><body><h1>interpbench leaderboard</h1><ul>{items}</ul>{board}"
            f"<p>Columns:</p><ul>{columns}</ul>{images}</body></html>\n")


def write_report(out_dir: str | Path, ctx: ReportContext, validation: Validation, table: ScoreTable) -> list[Path]:
    """Write leaderboard.{md,html,csv}, scores.csv and figures/*.png under ``out_dir``."""
    out_dir = Path(out_dir)
    figures = {
        "score-vs-levels": figure_score_vs_levels(_score_replicates(validation, table)),
        "metric-vs-human": figure_metric_vs_human(validation, table),
        "forest": figure_forest(validation.leaderboard),
    }
    written = []
    for name, png in figures.items():
        atomic.write_bytes(out_dir / "figures" / f"{name}.png", png)
        written.append(out_dir / "figures" / f"{name}.png")
    outputs = {
        "leaderboard.csv": validation.leaderboard.to_csv(index=False),
        "scores.csv": table.long().to_csv(index=False),
        "leaderboard.md": render_markdown(ctx, validation, table, "figures"),
        "leaderboard.html": render_html(ctx, validation, table, figures),
    }
    for name, text in outputs.items():
        atomic.write_text(out_dir / name, text)
        written.append(out_dir / name)
    return written
