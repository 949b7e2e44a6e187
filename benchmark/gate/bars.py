"""The built-in metrics' CI gate: its settings, their measurement on the shipped zoo, their bars.

``benchmark/gate/gate_thresholds.toml`` holds one bar per built-in metric, each set from a Spearman
measured with the gate's own settings and written beside it. Measuring here, in one place, lets
``scripts/gate_bars.py`` set the bars and lets the tests check that the recorded measurements
still reproduce, so a bar cannot outlive the zoo it was measured on.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

from interpbench.api import GATE_THRESHOLDS as THRESHOLDS
from interpbench.api import gate_config as load_config
from interpbench.api import recorded_measurements, settings_frames_path
from interpbench.infra.errors import InterpbenchError

__all__ = ["THRESHOLDS", "load_config", "recorded_measurements"]

#: Bars are multiples of this, rounded down from measured - margin.
BAR_STEP = 0.05


def gated_metrics(config: dict[str, Any]) -> list[str]:
    """Every built-in metric that must have a bar: all but those with a reason under [no_bar]."""
    from interpbench.metrics import registry

    no_bar = config.get("no_bar", {})
    return sorted(n for n, info in registry.available().items() if info.origin == "built-in" and n not in no_bar)


def gate_frames(config: dict[str, Any], progress: bool = False) -> Path:
    """The gate's frame set (built by the published agent on first use, then cached)."""
    return settings_frames_path(config["gate"], progress)


def measure(config: dict[str, Any], names: list[str], progress: bool = False) -> tuple[dict[str, float], str]:
    """Spearman with the human judgments for each of ``names`` on the shipped zoo, scored with
    the gate's settings through the library call behind ``interpbench check``; and a line saying
    which zoo was measured."""
    from interpbench import api

    evaluation = api.evaluate_zoo(names, frames_path=gate_frames(config, progress), progress=progress,
                                  config=api.gate_scoring_config(config["gate"]))
    table = evaluation.table
    if table.errors:
        raise InterpbenchError(f"metrics that failed to score: {table.errors}")
    spearman = evaluation.validation.leaderboard.set_index("name")["spearman"]
    kinds = Counter(f"{row.method} {row.preset}" for row in table.checkpoints.itertuples())
    zoo = ", ".join(f"{count} x {kind}" for kind, count in sorted(kinds.items()))
    return {name: float(spearman[name]) for name in names}, zoo


def bar_for(measured: float, margin: float) -> float:
    """``measured - margin`` rounded down to a multiple of BAR_STEP, kept within [-1, 1]."""
    return max(-1.0, math.floor(round((measured - margin) / BAR_STEP, 9)) * BAR_STEP)


def bars_table(measured: dict[str, float], margin: float, zoo: str) -> str:
    """The [min_spearman] and [not_a_bar] TOML tables.

    A bar is ``measured - margin`` rounded down. Where that falls below 0 it is no bar: a metric
    that anti-correlates with the humans would pass it. Such metrics go to [not_a_bar] with their
    measurement as the value, so the measurement is still checked to reproduce.
    """
    undefined = [name for name, value in measured.items() if math.isnan(value)]
    if undefined:
        raise InterpbenchError(f"Spearman undefined for {undefined}: give them a reason under [no_bar]")
    bars = {name: bar_for(value, margin) for name, value in measured.items()}
    lines = [f"# written by scripts/gate_bars.py (margin {margin}) on the zoo in baselines/zoo: {zoo}"]
    lines += [f'"{name}" = {bars[name]:.2f}  # measured {value:.3f}' for name, value in measured.items()
              if bars[name] >= 0]
    below = [f'"{name}" = {value:.3f}  # measured; measured - {margin} = {value - margin:.3f} is below 0'
             for name, value in measured.items() if bars[name] < 0]
    return ("[min_spearman]\n" + "\n".join(lines) + "\n\n"
            "# Built-ins whose bar would be below 0 (not a bar): their measured Spearman, re-checked like a bar's.\n"
            "[not_a_bar]\n" + "\n".join(below) + "\n")


def replace_bars_table(text: str, table: str) -> str:
    """``text`` (the thresholds file) with its [min_spearman] and [not_a_bar] tables replaced."""
    pattern = r"^\[min_spearman\]\n(?:[^\n]+\n)*(?:\n(?:#[^\n]*\n)*\[not_a_bar\]\n(?:[^\n]+\n)*)?"
    new, count = re.subn(pattern, lambda _: table, text, flags=re.MULTILINE)
    if count != 1:
        raise InterpbenchError("the thresholds file has no single [min_spearman] table to replace")
    return new
