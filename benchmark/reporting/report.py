"""The leaderboard: markdown, self-contained HTML, CSV + JSON and seaborn figures, written atomically.

Everything here is drawn from a :class:`interpbench.validation.validate.Validation` and the score table it
came from, so the report never computes a number of its own: what it shows is what
``validate`` returned. ``scores.csv`` (per checkpoint, metric and feature) is written beside the
leaderboard so that anyone can recompute the rank correlations without running a model;
``leaderboard.json`` carries the same rows with their full provenance (zoo, frames and their
hash, settings, code version, each metric's spec, origin and plugin file hash, the judgments'
citation), validated by ``schemas/leaderboard.schema.json``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interpbench.infra import atomic
from interpbench.scoring.table import ScoreTable
from interpbench.validation.interventional import SHOWN_COLUMNS as INTERVENTION_SHOWN
from interpbench.validation.known_answer import RECOVERS_SPEARMAN
from interpbench.validation.known_answer import SHOWN_COLUMNS as KNOWN_ANSWER_SHOWN
from interpbench.validation.validate import LEVEL, Validation

#: "oriented" is used by every figure and the JSON; this is its one definition.
ORIENTED = ("score (oriented: higher = more interpretable) is the metric's model score, negated for a "
            "lower-is-better metric, so that higher always means more interpretable by the metric's own account")
FIGURES = {
    "score-vs-levels": "Model score against training level count (line: mean over frame resamples; band: 95% "
                       "interval; one line and marker per training run)",
    "metric-vs-human": "Model score against the human fraction of interpretable features of the checkpoint's level "
                       "count (colour: level count; marker: run; rho: the leaderboard's Spearman)",
    "forest": "Spearman with the per-level-count human means and its 95% interval (level counts resampled), beside "
              "the noise ceiling and the baselines",
    "methods": "Spearman with the per-level-count human means and its 95% interval, per attribution method "
               "(does a metric's verdict hold across methods?)",
    "interventions": "Measured, not human. Left: each checkpoint's mean object selectivity against its level count "
                     "(the diversity question asked causally). Right: each metric's Spearman of per-feature scores "
                     "with object selectivity, 95% interval resampling whole checkpoints",
}
#: One line each: what the leaderboard's intervals resample and what it tests (printed with every report).
LEGEND = {
    "target": "each checkpoint's target is the human fraction of its level count, averaged over both researchers "
              "and both study runs (a student's run number has no link to the study's runs)",
    "resampled": "intervals resample level counts with replacement, each with all its checkpoints, and within "
                 "each replicate one frame resample and one NMF fit per checkpoint (Fisher z, bootstrap SE x "
                 "sqrt(G/(G-1)); percentile where z is infinite, see interval_method); sd_frames and sd_fits: "
                 "the spread frames and fits alone cause",
    "tested": "p_value: one-sided exact permutation test over the level counts' targets; p_holm: Holm-adjusted over "
              "the metrics of this report; vs_log_l: paired difference with the log-level-count baseline on the "
              "same replicates (beats_log_l: its interval above 0)",
}
COLUMNS = {
    "rank": "rank among metrics by Spearman (blank for the baselines, which are not ranked)",
    "kind": "metric, or a baseline that needs no attribution",
    "name": "metric spec, or what the baseline row measures",
    "higher_is_better": "the metric's direction: up arrow, higher scores mean more interpretable; down arrow, "
                        "lower (its scores are negated before correlating)",
    "spearman": "Spearman of the model score (the metric's aggregate of its per-feature scores; by default their "
                "mean) with the per-level-count human fraction of interpretable features",
    "spearman_lo": f"lower end of the {LEVEL:.0%} interval of the Spearman (level counts, frames and NMF fits "
                   "resampled)",
    "spearman_hi": f"upper end of the {LEVEL:.0%} interval of the Spearman",
    "interval_method": "fisher-z (corrected, normal on Fisher's z), or percentile where over 5% of replicates are "
                       "exactly +-1 and z is infinite",
    "p_value": "one-sided exact permutation p-value of the Spearman (the level counts' targets permuted)",
    "p_holm": "p_value Holm-adjusted across the metrics of this report",
    "vs_log_l": "Spearman minus the log-level-count baseline's",
    "vs_log_l_lo": f"lower end of the {LEVEL:.0%} paired interval of that difference",
    "vs_log_l_hi": f"upper end of the {LEVEL:.0%} paired interval of that difference",
    "beats_log_l": "the paired interval of vs_log_l lies above 0: evidence the metric tells more than level count",
    "detectable_difference": "smallest difference from the log-L baseline this design detects with 80% power",
    "spearman_r1": "Spearman with researcher 1's per-level-count fractions alone",
    "spearman_r2": "Spearman with researcher 2's per-level-count fractions alone",
    "paired_mean": "mean Spearman with the run-paired target (two-researcher mean of the study model of the same "
                   "level count and run) over every pairing of students with study runs",
    "paired_min": "lowest run-paired Spearman over those pairings",
    "paired_max": "highest run-paired Spearman over those pairings",
    "partial_log_l": "diagnostic: partial Spearman with the target, controlling log level count",
    "kendall": "Kendall's tau-b with the per-level-count human fraction",
    "sd_frames": "SD of the Spearman over frame resamples alone (checkpoints fixed)",
    "sd_fits": "SD of the Spearman over the NMF fits (main fit and refits) alone",
    "vs_ceiling": "Spearman divided by the noise ceiling (see the ceilings table)",
    "auroc": "feature-level AUROC against per-feature human judgments of the study with the most judged features "
             "(blank: none exist; all studies in the feature-level table)",
    "point_biserial": "feature-level point-biserial correlation with the same judgments",
    "selectivity_spearman": "feature-level, measured (not human): Spearman over all features of the zoo of the "
                            "per-feature score with its object selectivity when object classes are hidden "
                            "(interpbench intervene hide; blank: no applicable measured table)",
    "selectivity_lo": f"lower end of its {LEVEL:.0%} interval (whole checkpoints resampled)",
    "selectivity_hi": f"upper end of its {LEVEL:.0%} interval",
    "planted_spearman": "known-answer track, measured by construction (not human): Spearman of the model score with "
                        "the planted k over the known-answer zoo of glass-box agents (blank: none scored)",
    "planted_lo": f"lower end of its {LEVEL:.0%} interval (k values resampled with their checkpoints)",
    "planted_hi": f"upper end of its {LEVEL:.0%} interval",
    "sees_planted": f"planted_spearman >= {RECOVERS_SPEARMAN} and planted_lo > 0: the metric recovers the planted k "
                    "(false: flagged, it does not recover the planted k on this zoo)",
    "auroc_selective": "AUROC of the per-feature score for the features whose measured selectivity is at least "
                       "the threshold printed in the interventional section",
    "beats_randomized": "sanity check: share of (checkpoint, randomized twin) pairs where the checkpoint scores "
                        "higher; twins are fresh networks initialised as the students are (below 0.5 fails)",
    "beats_randomized_lo": f"lower end of its {LEVEL:.0%} interval (level counts resampled)",
    "beats_randomized_hi": f"upper end of its {LEVEL:.0%} interval",
    "n_twins": "randomized twins per checkpoint behind beats_randomized",
    "beats_shuffled_masks": "sanity check: share of checkpoints scoring above the same maps with masks of other "
                            "frames (below 0.5 fails)",
    "area_spearman": "mean Spearman between a frame bin's object area and the score on it (at or above 0.9: the "
                     "score tracks object area, flagged)",
    "n_checkpoints": "checkpoints the correlation is computed over",
    "n_level_counts": "level counts (the units resampled and permuted)",
}
FEATURE_LEVEL_NOTE = ("Per-feature scores against per-feature human judgments of a labelling study "
                      "(`interpbench label`, docs/labelling.md), the study's exclusions applied, intervals "
                      "resampling checkpoints; the study's noise ceiling beside them. Empty until a study has "
                      "human judgments: the repository ships none it did not collect.")
INTERVENTION_NOTE = ("Measured ground truth, not human: each feature's object selectivity when object classes "
                     "are hidden from the frames and re-rendered by the game, its NMF basis fixed "
                     "(`interpbench intervene hide`, docs/interventions.md). Per metric: Spearman of its "
                     "per-feature scores with selectivity over all features, intervals resampling whole "
                     "checkpoints; AUROC for the selective features.")


KNOWN_ANSWER_NOTE = ("Measured by construction, not human: glass-box agents whose layer 2b carries k of 8 channel "
                     "groups as the game's own object masks (the rest fixed random features of the frame), the layers "
                     "above trained to play through them (docs/known-answer.md). The oracle row is the share of value "
                     "attribution on the planted channels; the completion row ranks held-out completion by k (play improves "
                     "with k here, so read each metric beside it); each metric's row is its model score's Spearman with k, "
                     f"intervals resampling k values. recovers_k: Spearman >= {RECOVERS_SPEARMAN} and interval above 0.")


def known_answer_lines(validation: Validation) -> list[str]:
    """What the known-answer section says besides its table: the zoo, or why there is no track."""
    track = validation.known_answer
    if track.reason:
        return [f"Not shown: {track.reason}."]
    ks = sorted(set(track.checkpoints.values()))
    metrics = track.metric_rows()
    blind = [str(m) for m, ok in zip(metrics["metric"], metrics["recovers_k"]) if not ok]
    return [f"Zoo: {track.zoo}, {len(track.checkpoints)} checkpoints at k = {', '.join(map(str, ks))}; "
            f"{track.settings.get('n_frames')} scoring frames, the leaderboard's settings.",
            f"Do not recover the planted k, flagged ({len(blind)} of {len(metrics)} metrics): "
            f"{', '.join(blind) or 'none'}."]


def intervention_lines(validation: Validation) -> list[str]:
    """What the interventional section says besides its table: the source, the threshold, the
    diversity question's figure, or why there is no track."""
    track = validation.interventions
    if track.reason:
        return [f"Not shown: {track.reason}."]
    d = track.diversity
    return [f"Source: {track.source.get('command')} (code {track.source.get('code_version')}, csv sha256 "
            f"{str(track.source.get('csv_sha256'))[:12]}); selective: selectivity at least "
            f"{track.source.get('selective_threshold')}.",
            f"Does object selectivity rise with level count? Spearman of each checkpoint's mean selectivity with "
            f"its level count: {_fmt(d['spearman'])} ({LEVEL:.0%} interval {_fmt(d['ci_low'])} to "
            f"{_fmt(d['ci_high'])}, level counts resampled; {d['checkpoints']} checkpoints, {d['level_counts']} level "
            "counts)."]


#: The columns the Markdown and HTML tables show (the CSV and JSON hold all of COLUMNS).
SHOWN = ("rank", "name", "spearman", "spearman_lo", "spearman_hi", "p_holm", "vs_log_l", "vs_log_l_lo", "paired_min",
         "paired_max", "sd_fits", "vs_ceiling", "auroc", "beats_randomized", "beats_shuffled_masks", "area_spearman")
#: Sanity checks: a metric below this share fails the check; an area Spearman at or above AREA_FLAG is flagged.
SANITY_PASS = 0.5
AREA_FLAG = 0.9
SANITY_COLUMNS = ("beats_randomized", "beats_shuffled_masks")
#: A metric whose Holm-adjusted p is at or above this is flagged: no evidence it agrees at all.
SIGNIFICANCE = 0.05


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


def _level_palette(levels) -> dict[str, Any]:
    """One distinct colour per level count (ordered light to dark by level count)."""
    sns = _seaborn()
    order = sorted({int(v) for v in levels})
    return dict(zip([f"{v:,}" for v in order], sns.color_palette("viridis", len(order))))


def figure_score_vs_levels(replicates: pd.DataFrame) -> bytes:
    sns = _seaborn()
    grid = sns.relplot(data=replicates, kind="line", x="num_levels", y="score", hue="run", style="run",
                       markers=True, dashes=True, col="metric", col_wrap=min(4, replicates["metric"].nunique()),
                       errorbar=("pi", LEVEL * 100), height=2.6, aspect=1.2, facet_kws={"sharey": False})
    grid.set(xscale="log")
    grid.set_axis_labels("training levels (log scale)", "score (oriented)")
    grid.set_titles("{col_name}")
    grid.figure.text(0.01, -0.02, "score (oriented: higher = more interpretable)", fontsize=9)
    return _png(grid.figure)


def figure_metric_vs_human(validation: Validation, table: ScoreTable) -> bytes:
    sns = _seaborn()
    matched = validation.matched
    rho = validation.leaderboard.set_index("name")["spearman"]
    rows = [{"metric": m, "human": matched.at[n, "human_level_mean"],
             "level count": f"{int(matched.at[n, 'num_levels']):,}",
             "run": f"run {matched.at[n, 'run']}", "score": score}
            for m in validation.model_boot
            for n, score in zip(matched.index, table.model_scores(m, "trained", matched.index))]
    data = pd.DataFrame(rows)
    palette = _level_palette(matched["num_levels"])
    grid = sns.relplot(data=data, kind="scatter", x="human", y="score", hue="level count", hue_order=list(palette),
                       palette=palette, style="run", s=55, col="metric",
                       col_wrap=min(4, data["metric"].nunique()), height=2.6, aspect=1.2, facet_kws={"sharey": False})
    for metric, ax in grid.axes_dict.items():
        value = float(rho.get(metric, float("nan")))
        text = "rho undefined" if math.isnan(value) else f"rho = {value:.2f}"
        ax.text(0.03, 0.95, text, transform=ax.transAxes, va="top", fontsize=9,
                bbox={"boxstyle": "round", "fc": "white", "ec": "0.7"})
    grid.set_axis_labels("human: fraction interpretable (level-count mean)", "score (oriented)")
    grid.set_titles("{col_name}")
    grid.figure.text(0.01, -0.02, "score (oriented: higher = more interpretable)", fontsize=9)
    return _png(grid.figure)


def figure_interventions(validation: Validation) -> bytes:
    import matplotlib.pyplot as plt

    _seaborn()
    track = validation.interventions
    rows = track.rows.sort_values("spearman_selectivity", na_position="first")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, max(3.0, 0.28 * len(rows) + 1)),
                                      gridspec_kw={"width_ratios": [1, 1.3]})
    per = track.selectivity
    left.scatter(per["num_levels"], per["selectivity"], color="0.25")
    left.set(xscale="log", xlabel="training levels (log scale)", ylabel="mean object selectivity of its features",
             title=f"rho = {_fmt(track.diversity['spearman'])} [{_fmt(track.diversity['ci_low'])}, "
                   f"{_fmt(track.diversity['ci_high'])}]")
    y = np.arange(len(rows))
    rho = rows["spearman_selectivity"].to_numpy(float)
    err = np.vstack([rho - rows["ci_low_selectivity"].to_numpy(float), rows["ci_high_selectivity"].to_numpy(float) - rho])
    right.errorbar(rho, y, xerr=err, fmt="o", color="0.2", ecolor="0.6", capsize=2)
    right.axvline(0, color="0.5", lw=0.8)
    right.set(yticks=y, yticklabels=rows["metric"], xlabel="Spearman with measured object selectivity", xlim=(-1, 1))
    return _png(fig)


def figure_forest(board: pd.DataFrame, ceilings: pd.DataFrame) -> bytes:
    sns = _seaborn()
    import matplotlib.pyplot as plt

    data = board.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(data) + 1.2))
    palette = dict(zip(["ceiling", "baseline", "metric"], sns.color_palette("deep", 3)))
    for y, row in data.iterrows():
        ax.hlines(y, row["spearman_lo"], row["spearman_hi"], color=palette[row["kind"]], lw=2)
    sns.scatterplot(data=data.assign(y=data.index), x="spearman", y="y", hue="kind", palette=palette,
                    style="kind", s=70, ax=ax, zorder=3)
    noise = ceilings.loc[ceilings["name"] == "noise ceiling", "spearman"]
    if len(noise):
        ax.axvline(float(noise.iloc[0]), ls="--", color=palette["ceiling"], lw=1, label="noise ceiling")
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_yticks(range(len(data)), data["name"])
    ax.set(xlabel="Spearman with human judgments (oriented model score vs level-count human fraction)", ylabel="",
           xlim=(-1.05, 1.05))
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), title=None)
    return _png(fig)


#: Columns of methods.csv and of the report's table across attribution methods.
METHOD_COLUMNS = ("attribution", "name", "spearman", "spearman_lo", "spearman_hi", "p_holm", "vs_log_l",
                  "beats_randomized", "beats_shuffled_masks", "sd_fits")


def methods_table(by_method: Mapping[str, Validation]) -> pd.DataFrame:
    """Every metric's leaderboard figures under each attribution method, one row per (method, metric)."""
    boards = [v.leaderboard[v.leaderboard["kind"] == "metric"].assign(attribution=method)
              for method, v in by_method.items()]
    return pd.concat(boards, ignore_index=True)[list(METHOD_COLUMNS)].sort_values(
        ["name", "attribution"], kind="stable").reset_index(drop=True)


def figure_methods(methods: pd.DataFrame) -> bytes:
    """Each metric's Spearman and interval per attribution method, side by side."""
    sns = _seaborn()
    import matplotlib.pyplot as plt

    names = sorted(methods["name"].unique())
    order = list(dict.fromkeys(methods["attribution"]))
    palette = dict(zip(order, sns.color_palette("deep", len(order))))
    fig, ax = plt.subplots(figsize=(7, 0.5 * len(names) + 1.2))
    step = 0.7 / max(1, len(order))
    for k, method in enumerate(order):
        rows = methods[methods["attribution"] == method].set_index("name").reindex(names)
        y = np.arange(len(names)) + (k - (len(order) - 1) / 2) * step
        ax.hlines(y, rows["spearman_lo"], rows["spearman_hi"], color=palette[method], lw=2)
        ax.scatter(rows["spearman"], y, color=palette[method], s=30, label=method, zorder=3)
    ax.axvline(0, color="grey", lw=0.5)
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel="Spearman with human judgments, per attribution method", xlim=(-1.05, 1.05))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), title="attribution")
    return _png(fig)


# -- provenance ----------------------------------------------------------------------------------------


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def metric_provenance(spec: str) -> dict[str, Any]:
    """A metric spec's registry entry: base name, parameters, description, direction, origin and,
    for a plugin file, the sha256 of that file (so a report names the exact code it scored)."""
    from interpbench.metrics import registry

    name, params = registry.parse_spec(spec)
    info = registry.available().get(name)
    if info is None:
        return {"spec": spec, "name": name, "params": params, "description": "", "origin": "unknown",
                "higher_is_better": None, "plugin_sha256": None}
    plugin = Path(info.origin.removeprefix("plugin ")) if info.origin.startswith("plugin ") else None
    return {"spec": spec, "name": name, "params": {**info.params, **params}, "description": info.description,
            "origin": info.origin, "higher_is_better": info.higher_is_better,
            "plugin_sha256": _sha256(plugin) if plugin else None}


def _plain(value: Any) -> Any:
    """A JSON value: NaN and pandas' NA as null, numpy scalars as Python ones."""
    if value is None or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else float(value)
    return value


def board_records(board: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _plain(v) for k, v in row.items()} for row in board.to_dict(orient="records")]


def sanity_flags(row: pd.Series | dict) -> list[str]:
    """Why a metric row deserves a second look (empty for the ceiling and baselines)."""
    if row.get("kind") != "metric":
        return []
    flags = []
    for column, what in (("beats_randomized", "fails the randomized-weights check"),
                         ("beats_shuffled_masks", "fails the shuffled-masks check")):
        value = _plain(row.get(column))
        if value is not None and value < SANITY_PASS:
            flags.append(what)
    area = _plain(row.get("area_spearman"))
    if area is not None and area >= AREA_FLAG:
        flags.append("tracks object area")
    if _plain(row.get("sees_planted")) is False:
        flags.append("does not recover the planted k (known-answer track)")
    if _plain(row.get("spearman")) is None:
        flags.append("no rank correlation (every checkpoint scored alike)")
    elif (_plain(row.get("p_holm")) or 1.0) >= SIGNIFICANCE:
        flags.append("agreement not distinguishable from 0 (Holm-adjusted p >= 0.05)")
    return flags


def leaderboard_json(ctx: ReportContext, validation: Validation, table: ScoreTable) -> dict[str, Any]:
    """The leaderboard rows with everything needed to say where they came from."""
    matched = validation.matched
    rows = board_records(validation.leaderboard)
    for row in rows:
        row["flags"] = sanity_flags(row)
    return {
        "format": "interpbench-leaderboard/1",
        "provenance": {
            "zoo": ctx.zoo,
            "method": str(matched["method"].iloc[0]),
            "checkpoints": [{"name": str(n), "num_levels": int(matched.at[n, "num_levels"]),
                             "run": int(matched.at[n, "run"]), "human": float(matched.at[n, "human"])}
                            for n in matched.index],
            "unmatched": list(validation.unmatched),
            "frames": {"path": ctx.frames, "n_frames": int(table.n_frames), "hash": table.frames_hash},
            "settings": asdict(table.config),
            "code_version": ctx.code_version,
            "judgments": {"citation": ctx.citation},
            "oriented": ORIENTED,
        },
        "metrics": [metric_provenance(spec) for spec in [*table.metrics, *table.errors]],
        "errors": dict(table.errors),
        "columns": COLUMNS,
        "legend": LEGEND,
        "design": {k: _plain(v) for k, v in validation.design.items()},
        "ceilings": board_records(validation.ceilings),
        "cascade": board_records(validation.cascade),
        "feature_level": board_records(validation.feature_level),
        "interventions": {"rows": board_records(validation.interventions.rows),
                          "diversity": {k: _plain(v) for k, v in validation.interventions.diversity.items()},
                          "selectivity": board_records(validation.interventions.selectivity),
                          "source": {k: _plain(v) for k, v in validation.interventions.source.items()},
                          "reason": validation.interventions.reason},
        "known_answer": {"zoo": validation.known_answer.zoo, "checkpoints": validation.known_answer.checkpoints,
                         "settings": {k: _plain(v) for k, v in validation.known_answer.settings.items()},
                         "rows": board_records(validation.known_answer.rows),
                         "reason": validation.known_answer.reason},
        "rows": rows,
    }


# -- tables ------------------------------------------------------------------------------------------


#: What can open markup inside a line or a cell (``-``, ``#``, ``+`` only matter at a line's start,
#: and every escaped line starts with our own text).
_MARKDOWN_SPECIAL = re.compile(r"([\\`*{}\[\]|~])")


def md_text(text: object) -> str:
    """``text`` safe inside Markdown prose or a table cell: Markdown's punctuation backslash-escaped,
    HTML's ``<>&`` as entities, newlines as spaces. Plugin messages, metric specs and file names
    pass through here, so none can inject markup into a report."""
    return html.escape(_MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split())), quote=False)


def _cell_text(value: object) -> str:
    """A table cell's plain text: floats to 3 decimals, NaN and NA blank, booleans yes/no."""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:.3f}"
    return "" if value is pd.NA or value is None else str(value)


def _fmt(value: object) -> str:
    return md_text(_cell_text(value))


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


def design_lines(design: dict[str, Any]) -> list[str]:
    """What the design can tell, in words (from ``Validation.design``)."""
    return [
        f"{design['n_checkpoints']} checkpoints at {design['n_level_counts']} level counts; the level count is the "
        f"unit resampled ({design['n_replicates']} replicates) and permuted ({design['n_permutations']} permutations, "
        f"smallest possible p {design['min_p_value']:.4f})",
        f"the permutation test rejects 0 at 5% only for a Spearman of at least {design['critical_spearman']:.3f} "
        "(a score without ties)",
        f"median smallest difference from the log-L baseline detectable with 80% power: "
        f"{design['detectable_difference_median']:.3f}",
    ]


def control_lines(table: ScoreTable) -> list[str]:
    """What the controls were drawn from (the randomization figures need at least 5 twins)."""
    cfg = table.config
    return [f"NMF bases: fitted on {cfg.nmf_fit} ({cfg.own_play_frames} frames of each checkpoint's own play on "
            f"its training levels)" if cfg.nmf_fit == "own-play" else f"NMF bases: fitted on {cfg.nmf_fit}",
            f"{cfg.n_refits} NMF refits per checkpoint (sd_fits); {cfg.n_twins} randomized twins per checkpoint "
            f"(beats_randomized); cascading randomization: {', '.join(table.cascade_steps) or 'none'}"]


def _cascade_table(cascade: pd.DataFrame) -> pd.DataFrame:
    """Metrics x cascade steps: share of checkpoints scoring above their own cascaded weights."""
    if cascade.empty:
        return cascade
    wide = cascade.pivot(index="metric", columns="layers_randomized", values="beats_cascade")
    steps = cascade.drop_duplicates("layers_randomized").set_index("layers_randomized")["step"]
    wide.columns = [f"{i}: {steps[i]}" for i in wide.columns]
    return wide.reset_index()


METHODS_NOTE = ("The leaderboard above uses the first method; the same validation under every method "
                "(`--attribution`), one row per method and metric (methods.csv holds them).")


def render_markdown(ctx: ReportContext, validation: Validation, table: ScoreTable, figure_dir: str,
                    methods: pd.DataFrame | None = None) -> str:
    board = validation.leaderboard
    parts = ["# interpbench leaderboard", "", *(f"- {md_text(line)}" for line in _header(validation, table, ctx)), "",
             "Provenance in full (each metric's spec, origin and plugin file hash, the settings, the frames' hash) "
             "is in `leaderboard.json` beside `leaderboard.csv`, which hold every column of every row; "
             "`model_scores.csv` holds each checkpoint's model score under every resample, refit and control.", "",
             *(f"- **{k}**: {md_text(v)}" for k, v in LEGEND.items()), "",
             markdown_table(board[[c for c in SHOWN if c in board.columns]]), "",
             "## Ceilings of the human target", "",
             "Against the run-paired target (each published model's two-researcher mean); intervals resample level "
             "counts.", "", markdown_table(validation.ceilings), "",
             "## What this design can tell", "", *(f"- {md_text(line)}" for line in design_lines(validation.design)),
             *(f"- {md_text(line)}" for line in control_lines(table)), ""]
    cascade = _cascade_table(validation.cascade)
    if not cascade.empty:
        parts += ["## Cascading randomization", "",
                  "Share of checkpoints whose score is above that of the same checkpoint with its top layers "
                  "re-initialised as the students are (column: layers randomized, top first; Adebayo et al. 2018). "
                  "A metric that sees the trained weights should fall as more layers are randomized.", "",
                  markdown_table(cascade), ""]
    parts += ["## Feature-level agreement", "", FEATURE_LEVEL_NOTE, ""]
    if not validation.feature_level.empty:
        parts += [markdown_table(validation.feature_level), ""]
    if methods is not None:
        parts += ["## Across attribution methods", "", METHODS_NOTE, "", markdown_table(methods), ""]
    parts += ["## Feature-level agreement with interventions", "", INTERVENTION_NOTE, "",
              *(f"- {md_text(line)}" for line in intervention_lines(validation)), ""]
    if not validation.interventions.rows.empty:
        parts += [markdown_table(validation.interventions.rows[list(INTERVENTION_SHOWN)]), ""]
    parts += ["## Known-answer track", "", KNOWN_ANSWER_NOTE, "",
              *(f"- {md_text(line)}" for line in known_answer_lines(validation)), ""]
    if not validation.known_answer.rows.empty:
        parts += [markdown_table(validation.known_answer.rows[list(KNOWN_ANSWER_SHOWN)]), ""]
    parts += ["Columns:", ""]
    parts += [f"- `{k}`: {v}" for k, v in COLUMNS.items()]
    parts += ["", f"Figures: {ORIENTED}."]
    shown = {"interventions": not validation.interventions.rows.empty, "methods": methods is not None}
    for name, caption in FIGURES.items():
        if shown.get(name, True):
            parts += ["", f"## {caption}", "", f"![{name}]({figure_dir}/{name}.png)"]
    return "\n".join(parts) + "\n"


def render_status(board: pd.DataFrame, ceilings: pd.DataFrame, source: str = "reports/leaderboard.csv") -> str:
    """A short Markdown status table for the README, from a leaderboard (``validation.leaderboard``
    or ``leaderboard.csv`` read back) and its ceilings: the noise ceiling, the best baseline, the
    best metric, how many metrics beat the level-count baseline and how many pass both sanity checks."""

    def interval(row: pd.Series) -> str:
        lo, hi = _plain(row["spearman_lo"]), _plain(row["spearman_hi"])
        return "" if lo is None or hi is None else f"[{lo:.2f}, {hi:.2f}]"

    def line(label: str, row: pd.Series) -> str:
        value = _plain(row["spearman"])
        return f"| {label} | {'' if value is None else f'{value:.2f}'} | {interval(row)} |"

    metrics = board[board["kind"] == "metric"].sort_values("spearman", ascending=False, na_position="last")
    baselines = board[board["kind"] == "baseline"].sort_values("spearman", ascending=False)
    lines = ["| | Spearman with human judgments | 95% interval |", "|---|---|---|"]
    for _, row in ceilings[ceilings["name"] == "noise ceiling"].iterrows():
        lines.append(line("noise ceiling of the human target", row))
    if len(baselines):
        lines.append(line(f"best baseline ({md_text(baselines.iloc[0]['name'])})", baselines.iloc[0]))
    if len(metrics):
        lines.append(line(f"best metric ({md_text(metrics.iloc[0]['name'])})", metrics.iloc[0]))
        passing = sum(not any("check" in f for f in sanity_flags(row)) for _, row in metrics.iterrows())
        beating = int(metrics["beats_log_l"].astype(bool).sum())
        significant = int((metrics["p_holm"] < SIGNIFICANCE).sum())
        lines.append(f"| metrics whose agreement is distinguishable from 0 (Holm p < 0.05) | {significant} of "
                     f"{len(metrics)} | |")
        lines.append(f"| metrics beating the log-level-count baseline (paired interval above 0) | {beating} of "
                     f"{len(metrics)} | |")
        lines.append(f"| metrics passing both sanity checks | {passing} of {len(metrics)} | |")
    return "\n".join(lines) + f"\n\nGenerated from `{source}` by `interpbench report`.\n"


# -- html ----------------------------------------------------------------------------------------------


_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,Arial,sans-serif;max-width:1380px;margin:0 auto;
padding:0 10px;color:#1a1a1a;font-size:14px}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:1.6em}
.prov{font-size:.9em;color:#333}.prov li{margin:1px 0}
.controls{display:flex;gap:14px;align-items:center;margin:10px 0;flex-wrap:wrap}
.controls input[type=search]{padding:4px 6px;width:260px}
table.board{border-collapse:collapse;width:100%;font-size:12px}
table.board th{position:sticky;top:0;background:#f3f4f6;z-index:1;cursor:pointer;vertical-align:bottom;
padding:4px 4px;border-bottom:2px solid #999;text-align:right;font-weight:600;overflow-wrap:normal;hyphens:none}
table.board th.text,table.board td.text{text-align:left}
table.board th[aria-sort=descending]::after{content:" \\25BC"}table.board th[aria-sort=ascending]::after{content:" \\25B2"}
table.board td{padding:3px 4px;border-bottom:1px solid #e2e2e2;text-align:right;font-variant-numeric:tabular-nums}
tbody.reference td{background:#eef4fb;font-style:italic}tbody.reference tr.group th{background:#dbe7f5;cursor:default;
text-align:left;position:static;font-style:normal}
tbody.metrics tr.group th{background:#f3f4f6;cursor:default;text-align:left;position:static}
td.fail{background:#fde2e1;color:#8a1c14;font-weight:600}td.warn{background:#fff4d6}
td.na{color:#888}td.desc{min-width:150px;max-width:230px;color:#333;font-size:.95em;overflow-wrap:anywhere}
td.name{min-width:130px;max-width:190px;overflow-wrap:break-word}td.flags{min-width:100px;max-width:150px}.origin{color:#666;font-size:.9em}
.flag{display:inline-block;background:#fde2e1;color:#8a1c14;border-radius:3px;padding:0 4px;margin:1px;
font-size:.9em;white-space:normal}.flag.area{background:#fff4d6;color:#6b4e00}.flag.undef{background:#eee;color:#444}
td.dir{text-align:center;font-size:1.1em}
dl.legend{font-size:.9em;display:grid;grid-template-columns:max-content 1fr;gap:2px 12px}dl.legend dt{font-weight:600}
dl.legend dd{margin:0}
img{max-width:100%}figure{margin:1em 0}figcaption{font-size:.9em;color:#333}
.errors li{color:#8a1c14}
"""

_SCRIPT = """
(function(){
  var table=document.getElementById('board'), body=table.querySelector('tbody.metrics');
  var heads=table.querySelectorAll('thead th');
  function key(td){var v=td.getAttribute('data-v');if(v===null)return td.textContent.trim().toLowerCase();
    return v===''?null:parseFloat(v);}
  heads.forEach(function(th,i){th.addEventListener('click',function(){
    var dir=th.getAttribute('aria-sort')==='descending'?'ascending':'descending';
    heads.forEach(function(h){h.removeAttribute('aria-sort');});th.setAttribute('aria-sort',dir);
    var rows=Array.prototype.slice.call(body.querySelectorAll('tr.row'));
    rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);
      if(x===null&&y===null)return 0;if(x===null)return 1;if(y===null)return -1;
      var c=x<y?-1:(x>y?1:0);return dir==='ascending'?c:-c;});
    rows.forEach(function(r){body.appendChild(r);});});});
  var filter=document.getElementById('filter'), clean=document.getElementById('clean');
  function apply(){var q=filter.value.trim().toLowerCase(), shown=0;
    body.querySelectorAll('tr.row').forEach(function(r){
      var ok=(!q||r.getAttribute('data-name').toLowerCase().indexOf(q)>=0)&&(!clean.checked||r.getAttribute('data-flags')==='0');
      r.style.display=ok?'':'none';if(ok)shown++;});
    document.getElementById('shown').textContent=shown;}
  filter.addEventListener('input',apply);clean.addEventListener('change',apply);apply();
})();
"""

#: The table's columns in order, with how each cell is drawn.
_NUMERIC = tuple(c for c in SHOWN if c not in ("rank", "name"))


def _na_reason(column: str, row: dict, n_bootstrap: int) -> str:
    """Why a numeric cell is blank, shown on hover and in the legend."""
    if column in ("auroc",):
        return "no per-feature human judgments exist for these checkpoints"
    if row.get("kind") != "metric" and column in ("beats_randomized", "beats_shuffled_masks", "area_spearman",
                                                  "auroc", "p_holm", "sd_frames", "sd_fits"):
        return "defined for metrics only; not for a baseline row"
    if column.startswith("vs_log_l") and row.get("name") == "baseline: log level count":
        return "the baseline compared with itself"
    if column == "partial_log_l":
        return "undefined: log level count determines the score or the target"
    if column in ("spearman", "kendall", "vs_ceiling") or row.get("spearman") is None:
        return ("undefined: the metric gave every checkpoint the same model score (a control such as "
                "random-attribution), so there is no rank correlation")
    if column.endswith(("_lo", "_hi")) and n_bootstrap == 0:
        return "no interval: not estimable from these replicates"
    return "undefined"


def _num_cell(column: str, row: dict, n_bootstrap: int) -> str:
    value = row.get(column)
    if value is None:
        reason = _na_reason(column, row, n_bootstrap)
        return f"<td class='na' data-v='' title='{html.escape(reason, quote=True)}'>n/a</td>"
    css = ""
    if row.get("kind") == "metric" and column in SANITY_COLUMNS and value < SANITY_PASS:
        css = " class='fail'"
    elif row.get("kind") == "metric" and column == "area_spearman" and value >= AREA_FLAG:
        css = " class='warn'"
    return f"<td{css} data-v='{value!r}'>{value:.3f}</td>"


def _row_html(row: dict, info: dict[str, Any] | None, n_bootstrap: int) -> str:
    is_metric = row.get("kind") == "metric"
    flags = row.get("flags", [])
    cells = [f"<td data-v='{row['rank'] if row.get('rank') is not None else ''}'>"
             f"{row['rank'] if row.get('rank') is not None else ''}</td>",
             f"<td class='text name'>{html.escape(str(row['name']))}</td>"]
    if is_metric:
        up = bool(row.get("higher_is_better", True))
        cells.append(f"<td class='dir' data-v='{int(up)}' title='{'higher' if up else 'lower'} is better'>"
                     f"{'&#8593;' if up else '&#8595;'}</td>")
    else:
        cells.append("<td class='dir' data-v='' title='not a metric: no direction'></td>")
    cells += [_num_cell(c, row, n_bootstrap) for c in _NUMERIC]
    chips = "".join(
        f"<span class='flag{' area' if 'area' in f else (' undef' if 'correlation' in f else '')}'>"
        f"{html.escape(f)}</span>" for f in flags)
    cells.append(f"<td class='text flags' data-v='{len(flags)}'>{chips}</td>")
    if not is_metric:
        cells.append(f"<td class='text desc'>reference row: {html.escape(str(row['kind']))}</td>")
    elif info is not None:
        origin = info["origin"] + (f" (sha256 {info['plugin_sha256'][:12]})" if info.get("plugin_sha256") else "")
        cells.append(f"<td class='text desc'>{_docstring_html(info['description'] or '(no description)')}"
                     f"<div class='origin'>{html.escape(origin)}</div></td>")
    else:
        cells.append("<td class='text desc'>(not in the registry)</td>")
    name = html.escape(str(row["name"]), quote=True)
    css = "row" + (" flagged" if flags else "")
    return f"<tr class='{css}' data-name='{name}' data-flags='{len(flags)}'>{''.join(cells)}</tr>"


def _plain_table_html(frame: pd.DataFrame) -> str:
    """A small static table (ceilings, cascade), every cell escaped."""
    head = "".join(f"<th class='text' title='{html.escape(COLUMNS.get(str(c), str(c)), quote=True)}'>"
                   f"{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td class='text'>{html.escape(_cell_text(v))}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False))
    return f"<table class='board'><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _docstring_html(text: str) -> str:
    """A docstring line as HTML: escaped, its reStructuredText ````literals```` as <code>."""
    parts = html.escape(text).split("``")
    return "".join(f"<code>{part}</code>" if i % 2 else part for i, part in enumerate(parts))


_HEADERS = ["rank", "name", "higher_is_better", *_NUMERIC, "flags", "description / origin"]
_HEADER_TITLES = {**COLUMNS, "flags": "failed sanity checks (below 0.5) and other reasons to look twice",
                  "description / origin": "first line of the metric's docstring; where it was registered from"}


def render_html(ctx: ReportContext, validation: Validation, table: ScoreTable, figures: dict[str, bytes],
                methods: pd.DataFrame | None = None) -> str:
    """One self-contained file: no network (figures as data: URIs, no fonts, no scripts from elsewhere),
    a sortable and filterable table, column explanations on hover and in a legend."""
    data = leaderboard_json(ctx, validation, table)
    infos = {m["spec"]: m for m in data["metrics"]}
    n_boot = table.config.n_bootstrap
    head = "".join(
        f"<th scope='col' class='{'text' if h in ('kind', 'name', 'flags', 'description / origin') else ''}' "
        f"title='{html.escape(_HEADER_TITLES.get(h, h), quote=True)}'>{html.escape(h).replace('_', '_<wbr>')}</th>"
        for h in _HEADERS)
    width = len(_HEADERS)
    reference = [r for r in data["rows"] if r["kind"] != "metric"]
    metrics = [r for r in data["rows"] if r["kind"] == "metric"]
    body = (f"<tbody class='metrics'>{''.join(_row_html(r, infos.get(r['name']), n_boot) for r in metrics)}</tbody>"
            f"<tbody class='reference'><tr class='group'><th colspan='{width}'>Reference rows, not ranked: baselines "
            "that need no attribution (the ceilings of the human target are in their own table below)</th></tr>"
            f"{''.join(_row_html(r, None, n_boot) for r in reference)}</tbody>")
    items = "".join(f"<li>{html.escape(line)}</li>" for line in _header(validation, table, ctx))
    legend_items = "".join(f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in LEGEND.items())
    design_items = "".join(f"<li>{html.escape(line)}</li>"
                           for line in [*design_lines(validation.design), *control_lines(table)])
    cascade = _cascade_table(validation.cascade)
    n_flagged = sum(1 for r in metrics if r["flags"])
    legend = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in _HEADER_TITLES.items())
    legend += ("<dt>n/a</dt><dd>a blank figure; hover it for why (e.g. a control that scores every checkpoint "
               "alike has no rank correlation; no per-feature judgments means no AUROC)</dd>")
    errors = "".join(f"<li>{html.escape(name)}: {html.escape(msg)}</li>" for name, msg in table.errors.items())
    images = "".join(
        f"<figure><img alt='{html.escape(name, quote=True)}' src='data:image/png;base64,"
        f"{base64.b64encode(png).decode()}'><figcaption>{html.escape(FIGURES[name])}. "
        f"{html.escape(ORIENTED)}.</figcaption></figure>" for name, png in figures.items())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>interpbench leaderboard</title><style>{_STYLE}</style></head><body>"
        "<h1>interpbench leaderboard</h1>"
        "<p>How well each metric's ranking of the zoo's agents agrees with the published human judgments of "
        "feature interpretability (matched by level count and run). Click a column header to sort; hover it "
        "for what it means.</p>"
        f"<ul class='prov'>{items}<li>full provenance: leaderboard.json beside this file</li></ul>"
        + (f"<h2>Metrics that failed to score</h2><ul class='errors'>{errors}</ul>" if errors else "")
        + "<div class='controls'><label>filter metrics <input type='search' id='filter' "
        "placeholder='metric name'></label><label><input type='checkbox' id='clean'> only metrics with no "
        f"flags</label><span><span id='shown'>{len(metrics)}</span> of {len(metrics)} metrics shown; "
        f"{n_flagged} flagged</span></div>"
        f"<ul class='prov'>{legend_items}</ul>"
        f"<table class='board' id='board'><thead><tr>{head}</tr></thead>{body}</table>"
        "<h2>Ceilings of the human target</h2><p>Against the run-paired target (each published model's "
        "two-researcher mean); intervals resample level counts.</p>"
        f"{_plain_table_html(validation.ceilings)}"
        f"<h2>What this design can tell</h2><ul class='prov'>{design_items}</ul>"
        f"<h2>Feature-level agreement</h2><p>{html.escape(FEATURE_LEVEL_NOTE.replace('`', ''))}</p>"
        + (_plain_table_html(validation.feature_level) if not validation.feature_level.empty else "")
        + (f"<h2>Across attribution methods</h2><p>{html.escape(METHODS_NOTE.replace('`', ''))}</p>"
           f"{_plain_table_html(methods)}" if methods is not None else "")
        + f"<h2>Feature-level agreement with interventions</h2><p>{html.escape(INTERVENTION_NOTE.replace('`', ''))}</p>"
        + "<ul class='prov'>" + "".join(f"<li>{html.escape(line.replace('`', ''))}</li>"
                                        for line in intervention_lines(validation)) + "</ul>"
        + (_plain_table_html(validation.interventions.rows[list(INTERVENTION_SHOWN)])
           if not validation.interventions.rows.empty else "")
        + f"<h2>Known-answer track</h2><p>{html.escape(KNOWN_ANSWER_NOTE)}</p>"
        + "<ul class='prov'>" + "".join(f"<li>{html.escape(line)}</li>" for line in known_answer_lines(validation))
        + "</ul>"
        + (_plain_table_html(validation.known_answer.rows[list(KNOWN_ANSWER_SHOWN)])
           if not validation.known_answer.rows.empty else "")
        + (f"<h2>Cascading randomization</h2><p>Share of checkpoints scoring above the same checkpoint with its top "
           f"layers re-initialised (column: layers randomized, top first).</p>{_plain_table_html(cascade)}"
           if not cascade.empty else "")
        +
        f"<h2>Columns</h2><dl class='legend'>{legend}</dl>"
        f"<h2>Figures</h2>{images}<script>{_SCRIPT}</script></body></html>\n"
    )


#: ScoreTable fields written to model_scores.csv, one row per checkpoint, metric and entry.
REPLICATE_FIELDS = ("trained", "boot", "refits", "randomized", "cascade", "shuffled")


def model_scores_long(table: ScoreTable, names: pd.Index) -> pd.DataFrame:
    """Oriented model scores of every checkpoint under every resample, refit and control: what
    ``tests/test_report_recompute.py`` (or anyone) recomputes the leaderboard from."""
    frames = []
    for metric in table.metrics:
        for field in REPLICATE_FIELDS:
            values = np.asarray(table.model_scores(metric, field, names), dtype=np.float64).reshape(len(names), -1)
            if values.shape[1] == 0:
                continue
            frame = pd.DataFrame(values, index=names).stack().rename("score").reset_index()
            frame.columns = ["checkpoint", "index", "score"]
            frames.append(frame.assign(metric=metric, kind=field))
    out = pd.concat(frames, ignore_index=True)
    levels = table.checkpoints.loc[out["checkpoint"], ["num_levels", "run"]].reset_index(drop=True)
    out = pd.concat([out, levels], axis=1)
    return out[["checkpoint", "num_levels", "run", "metric", "kind", "index", "score"]]


def write_report(out_dir: str | Path, ctx: ReportContext, validation: Validation, table: ScoreTable, *,
                 by_method: Mapping[str, Validation] | None = None) -> list[Path]:
    """Write leaderboard.{md,html,csv,json}, status.md, scores.csv, model_scores.csv, ceilings.csv,
    cascade.csv and figures/*.png under ``out_dir``; with ``by_method`` (attribution method ->
    its validation, the report's own first), also methods.csv and the comparison across methods;
    with a known-answer track, known_answer.csv."""
    out_dir = Path(out_dir)
    methods = methods_table(by_method) if by_method else None
    figures = {
        "score-vs-levels": figure_score_vs_levels(_score_replicates(validation, table)),
        "metric-vs-human": figure_metric_vs_human(validation, table),
        "forest": figure_forest(validation.leaderboard, validation.ceilings),
    }
    if methods is not None:
        figures["methods"] = figure_methods(methods)
    if not validation.interventions.rows.empty:
        figures["interventions"] = figure_interventions(validation)
    written = []
    for name, png in figures.items():
        atomic.write_bytes(out_dir / "figures" / f"{name}.png", png)
        written.append(out_dir / "figures" / f"{name}.png")
    outputs = {
        "leaderboard.csv": validation.leaderboard.to_csv(index=False),
        "leaderboard.json": json.dumps(leaderboard_json(ctx, validation, table), indent=1, allow_nan=False) + "\n",
        "scores.csv": table.long().to_csv(index=False),
        "model_scores.csv": model_scores_long(table, validation.matched.index).to_csv(index=False),
        "ceilings.csv": validation.ceilings.to_csv(index=False),
        "cascade.csv": validation.cascade.to_csv(index=False),
        "leaderboard.md": render_markdown(ctx, validation, table, "figures", methods),
        "leaderboard.html": render_html(ctx, validation, table, figures, methods),
        "status.md": render_status(validation.leaderboard, validation.ceilings),
    }
    if methods is not None:
        outputs["methods.csv"] = methods.to_csv(index=False)
    if not validation.known_answer.rows.empty:
        outputs["known_answer.csv"] = validation.known_answer.rows.to_csv(index=False)
    for name, text in outputs.items():
        atomic.write_text(out_dir / name, text)
        written.append(out_dir / name)
    return written


#: The README's status block lies between these lines (``interpbench report`` rewrites it).
STATUS_BEGIN = "<!-- status: generated by `interpbench report` from reports/leaderboard.csv; do not edit -->"
STATUS_END = "<!-- status: end -->"


def replace_status_block(text: str, status: str) -> str | None:
    """``text`` with the block between STATUS_BEGIN and STATUS_END replaced, or None where it has none."""
    start, end = text.find(STATUS_BEGIN), text.find(STATUS_END)
    if start < 0 or end < start:
        return None
    return text[: start + len(STATUS_BEGIN)] + "\n" + status + text[end:]
