"""The library API every command, the gate, the tests and notebooks call.

Each function is one pipeline step with plain arguments (paths, spec strings, settings) and
returns the stage's data object; the command line is a thin layer that parses arguments and
prints what these return.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interpbench.data.frameset import FrameSet
from interpbench.data.zoo import default_zoo, known_answer_zoo
from interpbench.frames.default import frames_cache_path, load_or_build_frames
from interpbench.infra.provenance import REPO_ROOT
from interpbench.infra.resources import package_path
from interpbench.interventions.table import MeasuredTable, load_table, shipped_dir
from interpbench.labelling.store import load_human_studies
from interpbench.metrics import registry
from interpbench.metrics.base import MetricError
from interpbench.scoring.score import Attribute, score_zoo
from interpbench.scoring.table import ScoreTable, ScoringConfig
from interpbench.validation.known_answer import KnownAnswerTrack, known_answer_track
from interpbench.validation.labels import DISTILL2020_DIR, PER_FEATURE_DIR, AggregateJudgments, load_aggregate
from interpbench.validation.oracle import oracle_shares
from interpbench.validation.validate import Validation, validate


@dataclass
class Evaluation:
    """What one validation run produced: the scores, the judgments, the leaderboard."""

    table: ScoreTable
    labels: AggregateJudgments
    validation: Validation


def load_plugins(plugins: Sequence[str | Path] = ()) -> list[str]:
    """Import plugin files; returns warnings for entry-point plugins that failed to load."""
    for path in plugins:
        registry.load_plugin_file(path)
    return registry.load_failures()


def frames(path: str | Path | FrameSet | None = None, *, progress: bool = True) -> FrameSet:
    """The FrameSet at ``path`` (or ``path`` itself, a FrameSet), or the default evaluation set
    (built on first use, cached)."""
    if isinstance(path, FrameSet):
        return path
    return load_or_build_frames(progress=progress) if path is None else FrameSet.load(path)


def score(
    metrics: Sequence[str] | None = None,
    *,
    zoo: str | Path | None = None,
    frames_path: str | Path | FrameSet | None = None,
    config: ScoringConfig = ScoringConfig(),
    plugins: Sequence[str | Path] = (),
    progress: bool = True,
    attribute: Attribute | None = None,
    n_jobs: int | None = None,
    time_limit_s: float | None = None,
) -> ScoreTable:
    """Score metric specs (default: all registered) on every checkpoint of ``zoo`` (default: shipped)."""
    load_plugins(plugins)
    return score_zoo(zoo or default_zoo(), frames(frames_path, progress=progress), metrics, config=config,
                     attribute=attribute, progress=progress, n_jobs=n_jobs, time_limit_s=time_limit_s)


#: The shipped object-dependence table of the shipped zoo (``interpbench intervene hide``).
SHIPPED_OBJECT_DEPENDENCE = "object_dependence"


def measured_object_dependence(path: str | Path | None = None) -> MeasuredTable | None:
    """The measured object-dependence table at ``path`` (default: the shipped one), read strictly
    (a damaged table is an error, never skipped); None where there is no such table."""
    base = Path(path) if path is not None else shipped_dir() / SHIPPED_OBJECT_DEPENDENCE
    if not base.with_suffix(".csv").exists() and not base.with_suffix(".json").exists():
        return None
    return load_table(base, "object_dependence")


def known_answer(
    metrics: Sequence[str] | None = None,
    *,
    zoo: str | Path | None = None,
    **score_options: object,
) -> KnownAnswerTrack:
    """Score ``metrics`` on the known-answer zoo (default: the shipped ``baselines/zoo-known``)
    with the leaderboard's settings (less its randomized controls) and rank its agents by planted k
    (``validation.known_answer``), the oracle's row first (read from each checkpoint's JSON where
    recorded for these frames)."""
    zoo_dir = Path(zoo) if zoo is not None else known_answer_zoo()
    # The track reads the trained scores, frame resamples and refits; the randomized controls
    # belong to the human leaderboard, so one twin (the least a ScoreTable holds) and no cascade.
    config = replace(score_options.pop("config", ScoringConfig()), n_twins=1, cascade_depth=0)  # type: ignore[type-var]
    progress = bool(score_options.get("progress", True))
    scored = frames(score_options.pop("frames_path", None), progress=progress)  # type: ignore[arg-type]
    table = score(metrics, zoo=zoo_dir, frames_path=scored, config=config, **score_options)  # type: ignore[arg-type]
    shares = oracle_shares(zoo_dir, scored, progress=progress)
    return known_answer_track(table, zoo_dir, shares, seed=table.config.seed)


def evaluate_zoo(
    metrics: Sequence[str] | None = None,
    *,
    labels: str | Path = DISTILL2020_DIR,
    feature_labels: str | Path = PER_FEATURE_DIR,
    interventions: str | Path | None = None,
    known_zoo: str | Path | None = None,
    method: str | None = None,
    **score_options: object,
) -> Evaluation:
    """Score, then validate against the stored human judgments (``validate``'s leaderboard) and,
    where it describes the features scored, the measured object dependence (``interventions``:
    a table path, default the shipped one); ``known_zoo`` (a folder of glass-box agents) adds the
    known-answer track, scored with the same settings."""
    judgments_aggregate = load_aggregate(labels)
    studies = load_human_studies(labels_dir=feature_labels)
    measured = measured_object_dependence(interventions)
    table = score(metrics, **score_options)  # type: ignore[arg-type]
    planted = None if known_zoo is None else known_answer(
        metrics, zoo=known_zoo, **{k: v for k, v in score_options.items() if k != "zoo"})
    validation = validate(table, judgments_aggregate, studies=studies, interventions=measured, known_answer=planted,
                          method=method, seed=table.config.seed)
    return Evaluation(table, judgments_aggregate, validation)


def leaderboard_row(evaluation: Evaluation, spec: str) -> pd.Series:
    """The leaderboard row of one metric spec."""
    return evaluation.validation.leaderboard.set_index("name").loc[registry.canonical_spec(spec)]


# -- quick author loop and notebooks -------------------------------------------------------------------

#: The gate's settings file, read here (package data) because the quick loop uses the gate's
#: settings and this module sits below ``interpbench.gate``, which reads it through these functions.
GATE_THRESHOLDS = package_path("interpbench.gate", "gate_thresholds.toml")
_RECORDED = re.compile(r'^"(?P<name>[^"]+)" = (?P<bar>-?[\d.]+)\s+# measured (?P<measured>-?[\d.]+)\s*$', re.MULTILINE)


def gate_config(path: Path = GATE_THRESHOLDS) -> dict[str, Any]:
    """The gate's settings file as a dict ([gate], [min_spearman], [no_bar])."""
    return tomllib.loads(path.read_text())


def recorded_measurements(path: Path = GATE_THRESHOLDS) -> dict[str, float]:
    """The Spearman each bar was set from, as written beside it (``# measured X``), and the
    measurements of [not_a_bar] (built-ins whose bar would fall below 0)."""
    text = path.read_text()
    recorded = {m["name"]: float(m["measured"]) for m in _RECORDED.finditer(text)}
    return recorded | {name: float(v) for name, v in tomllib.loads(text).get("not_a_bar", {}).items()}


def quick_settings() -> dict[str, int]:
    """The quick loop's settings: the gate's ``[gate]`` table (frames, seed, bootstrap, refits,
    cascade_depth)."""
    gate = gate_config()["gate"]
    return {key: int(gate[key]) for key in ("frames", "seed", "bootstrap", "refits", "cascade_depth")}


def gate_scoring_config(settings: dict[str, int]) -> ScoringConfig:
    """The ScoringConfig of a settings table: its resamples, seed, refits and cascade depth."""
    return ScoringConfig(n_bootstrap=settings["bootstrap"], seed=settings["seed"], n_refits=settings["refits"],
                         cascade_depth=settings["cascade_depth"])


def settings_frames_path(settings: dict[str, Any], progress: bool = False) -> Path:
    """The frame set of a settings table (``frames``, ``seed``), built from the published agent on
    first use, then cached."""
    path = frames_cache_path(settings["frames"], settings["seed"])
    load_or_build_frames(path, n=settings["frames"], seed=settings["seed"], progress=progress)
    return path


def quick_frames_path(progress: bool = False) -> Path:
    """The quick loop's (the gate's) frame set."""
    return settings_frames_path(quick_settings(), progress)


def quick_difference(leaderboard_csv: str | Path | None = None) -> dict[str, Any]:
    """How far quick figures were measured to be from the leaderboard's: for every built-in with a
    recorded gate measurement (64 frames, ``measured`` in gate_thresholds.toml) and a row in the
    leaderboard CSV (default: the checkout's reports/leaderboard.csv), the absolute difference of
    their Spearman figures. Empty ``per_metric`` where either file is missing."""
    quick = recorded_measurements()
    path = Path(leaderboard_csv) if leaderboard_csv else REPO_ROOT / "reports" / "leaderboard.csv"
    full: dict[str, float] = {}
    if path.is_file():
        board = pd.read_csv(path)
        full = {str(r["name"]): float(r["spearman"]) for _, r in board[board["kind"] == "metric"].iterrows()}
    per_metric = {n: {"quick": quick[n], "leaderboard": full[n], "abs_difference": round(abs(quick[n] - full[n]), 3)}
                  for n in sorted(quick) if n in full and not math.isnan(full[n])}
    diffs = [v["abs_difference"] for v in per_metric.values()]
    return {"sources": [str(GATE_THRESHOLDS), str(path)], "per_metric": per_metric,
            "min": min(diffs) if diffs else None, "max": max(diffs) if diffs else None,
            "median": float(np.median(diffs)) if diffs else None}


def quick_note(spec: str | None = None, leaderboard_csv: str | Path | None = None) -> str:
    """One paragraph saying that quick figures are not the leaderboard's, and by how much they were
    measured to differ (from generated files, never a typed number)."""
    s = quick_settings()
    text = (f"quick: {s['frames']} frames (seed {s['seed']}), {s['bootstrap']} resamples, the gate's settings "
            "(benchmark/gate/gate_thresholds.toml); the leaderboard scores 512 frames with resamples, and its "
            "figures differ from quick ones")
    diff = quick_difference(leaderboard_csv)
    if not diff["per_metric"]:
        return text + " (no leaderboard CSV here to measure by how much)."
    text += (f": over {len(diff['per_metric'])} built-ins, |quick - leaderboard| Spearman ranged "
             f"{diff['min']:.3f}-{diff['max']:.3f} (median {diff['median']:.3f}), measured from the gate's "
             "recorded figures against reports/leaderboard.csv")
    name = registry.parse_spec(spec)[0] if spec else None
    if name in diff["per_metric"]:
        d = diff["per_metric"][name]
        text += f"; for {name}: quick {d['quick']:.3f} vs leaderboard {d['leaderboard']:.3f}"
    return text + ". Read the leaderboard for whether a metric agrees with humans."


def _spec_of(metric_or_name: object) -> str:
    """A spec for a spec string, a registered name, a metric class or a metric instance; classes and
    instances not yet registered are registered on the fly (under their ``name`` or their class's
    name in kebab-case)."""
    if isinstance(metric_or_name, str):
        registry.canonical_spec(metric_or_name)  # unknown names and bad parameters fail here
        return metric_or_name
    spec = getattr(metric_or_name, "spec", None)
    if not isinstance(metric_or_name, type) and isinstance(spec, str):
        return spec
    cls = metric_or_name if isinstance(metric_or_name, type) else type(metric_or_name)
    for name, info in registry.available().items():
        if info.factory is cls and not info.params:
            return name
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not registry.NAME_PATTERN.match(name):
        name = re.sub(r"(?<!^)(?=[A-Z])", "-", cls.__name__).lower().replace("_", "-")
    registry.register(name)(cls)
    return name


@dataclass
class Result:
    """One metric evaluated on a zoo: what ``interpbench.evaluate`` returns.

    ``scores``: tidy DataFrame, one row per validated checkpoint (checkpoint, num_levels, run,
    score: the metric's model score, oriented_score: higher = more interpretable, human: the
    published fraction of interpretable features of that level count, both researchers and both
    study runs, the target of the leaderboard's Spearman); ``row``: the
    metric's leaderboard row; ``plot()``: a matplotlib figure of score against human judgment.
    """

    spec: str
    evaluation: Evaluation
    quick: bool = False
    note: str = ""

    @property
    def row(self) -> pd.Series:
        return leaderboard_row(self.evaluation, self.spec)

    @property
    def spearman(self) -> float:
        return float(self.row["spearman"])

    @property
    def scores(self) -> pd.DataFrame:
        v, table = self.evaluation.validation, self.evaluation.table
        name = registry.canonical_spec(self.spec)
        matched = v.matched
        oriented = table.model_scores(name, "trained", matched.index)
        sign = 1.0 if table.higher_is_better[name] else -1.0
        return pd.DataFrame({"checkpoint": matched.index, "num_levels": matched["num_levels"].to_numpy(),
                             "run": matched["run"].to_numpy(), "score": sign * oriented, "oriented_score": oriented,
                             "human": matched["human_level_mean"].to_numpy()}).reset_index(drop=True)

    def plot(self, ax: Any = None) -> Any:
        """Oriented score against the human fraction, one colour per level count, a marker per run,
        rho in the title; returns the matplotlib Figure (a notebook shows it inline)."""
        import matplotlib.pyplot as plt
        from matplotlib import colormaps

        data = self.scores
        if ax is None:
            fig, ax = plt.subplots(figsize=(5.5, 3.8), layout="constrained")
            plt.close(fig)  # shown once, as the returned value (pyplot's inline backend would show it again)
        else:
            fig = ax.figure
        levels = sorted(data["num_levels"].unique())
        colours = colormaps["viridis"](np.linspace(0, 0.9, len(levels)))
        markers = "osD^v<>"
        for i, level in enumerate(levels):
            for j, run in enumerate(sorted(data["run"].unique())):
                part = data[(data["num_levels"] == level) & (data["run"] == run)]
                ax.scatter(part["human"], part["oriented_score"], color=colours[i], marker=markers[j % len(markers)],
                           s=45, label=f"{level:,} levels, run {run}")
        rho = self.spearman
        ax.set_title(f"{registry.canonical_spec(self.spec)}: rho = {rho:.2f}" + (" (quick)" if self.quick else ""))
        ax.set_xlabel("human: fraction of features interpretable (level-count mean)")
        ax.set_ylabel("score (oriented: higher =\nmore interpretable)")
        ax.legend(fontsize=6, ncols=2, loc="best")
        return fig

    def __repr__(self) -> str:
        row = self.row
        return (f"Result({registry.canonical_spec(self.spec)!r}: Spearman {row['spearman']:.3f} over "
                f"{row['n_checkpoints']} checkpoints{', quick' if self.quick else ''})")


def evaluate(
    metric_or_name: object,
    zoo: str | Path | None = None,
    frames: str | Path | FrameSet | None = None,
    quick: bool = False,
    *,
    bootstrap: int | None = None,
    seed: int | None = None,
    labels: str | Path = DISTILL2020_DIR,
    feature_labels: str | Path = PER_FEATURE_DIR,
    method: str | None = None,
    plugins: Sequence[str | Path] = (),
    progress: bool = False,
    attribute: Attribute | None = None,
    n_jobs: int | None = None,
) -> Result:
    """Score one metric on a zoo (default: the shipped one) and validate it against the human judgments.

    ``metric_or_name``: a spec (``"attribution-mass[classes=coin]"``), a registered name, or a
    metric class or instance (registered on the fly). ``quick=True`` uses the gate's settings (64
    frames, no resamples; cached), whose figures differ from the leaderboard's: ``Result.note``
    says by how much they were measured to differ.
    """
    load_plugins(plugins)
    spec = _spec_of(metric_or_name)
    config = gate_scoring_config(quick_settings()) if quick else ScoringConfig()
    if quick and frames is None:
        frames = quick_frames_path(progress)
    config = replace(config, n_bootstrap=config.n_bootstrap if bootstrap is None else bootstrap,
                     seed=config.seed if seed is None else seed)
    evaluation = evaluate_zoo([spec], labels=labels, feature_labels=feature_labels, method=method, zoo=zoo,
                              frames_path=frames, config=config, progress=progress, attribute=attribute,
                              n_jobs=n_jobs)
    if evaluation.table.errors:
        raise MetricError(f"metric {spec} could not be scored: {next(iter(evaluation.table.errors.values()))}")
    return Result(spec, evaluation, quick, quick_note(spec) if quick else "")
