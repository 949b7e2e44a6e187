"""The zoo's README: one table row per shipped checkpoint, written from the checkpoints' own JSON.

Nothing here is typed by hand, so the table cannot drift from the metadata; re-run
``interpbench sweep --readme-only`` after any checkpoint changes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from interpbench.data.zoo import read_zoo_metadata
from interpbench.infra import atomic

HEADER = """# The checkpoint zoo

Clear-CNN CoinRun agents at the reference study's level counts, two runs each, named
`<method>-L<levels>-r<run>.safetensors` (weights, stored as float16; `load_checkpoint` restores
float32) with a `.json` beside each saying how it was made and what it measured. How they are
trained, the budgets and their limits: [docs/training.md](../../docs/training.md).

Completion = fraction of episodes that reached the coin, on the hard distribution, the student
sampling from its policy; train = levels `[0, L)`, test = held-out levels `[10^9, 1.1x10^9)`;
95% Wilson intervals. "levels seen" is the true number of distinct levels in the student's data
(for distillation) or played (for PPO), which for large L is bounded by the episode budget.
This file is generated from the JSON files by `interpbench sweep --readme-only`.

What the shipped zoo does and does not show, and how to continue training a better one:
[docs/training.md](../../docs/training.md#status).
"""


def _pct(result: dict[str, Any]) -> str:
    low, high = result["ci95"]
    return f"{100 * result['completion_rate']:.1f} [{100 * low:.0f}, {100 * high:.0f}]"


def _gap(meta: dict[str, Any]) -> float:
    return meta["train_completion"]["completion_rate"] - meta["test_completion"]["completion_rate"]


def level_trend(metas: list[dict[str, Any]]) -> float | None:
    """Spearman correlation of test completion with level count (None for fewer than 3 points)."""
    from scipy.stats import spearmanr

    if len(metas) < 3:
        return None
    rho = spearmanr([m["num_levels"] for m in metas], [m["test_completion"]["completion_rate"] for m in metas])
    return float(rho.statistic)


def render(metas: list[dict[str, Any]]) -> str:
    rows = [
        "| checkpoint | L | run | levels seen | samples / steps | train completion % | test completion % "
        "| gap (points) | episodes (train/test) | train s | eval s | preset |",
        "|---|---:|---:|---:|---:|---|---|---:|---|---:|---:|---|",
    ]
    for m in metas:
        rows.append(
            f"| {m['name']} | {m['num_levels']:,} | {m['run']} | {m['distinct_levels_seen']:,} "
            f"| {m.get('samples', m.get('env_steps', 0)):,} | {_pct(m['train_completion'])} "
            f"| {_pct(m['test_completion'])} | {100 * _gap(m):+.1f} | {m['train_completion']['episodes']}/{m['test_completion']['episodes']} "
            f"| {m['wall_time_s']:.0f} | {m['eval_wall_time_s']:.0f} | {m['preset']} |"
        )
    lines = [HEADER, "## Checkpoints", "", *rows, ""]
    for method in sorted({m["method"] for m in metas}):
        group = [m for m in metas if m["method"] == method]
        rho = level_trend(group)
        small = [_gap(m) for m in group if m["num_levels"] <= 300]
        lines.append(f"- {method}: {len(group)} checkpoints; Spearman(level count, test completion) = "
                     + ("n/a" if rho is None else f"{rho:.2f}")
                     + ("" if not small else f"; mean train - test completion at L <= 300: {100 * sum(small) / len(small):+.1f} points"))
    lines += ["", "## By level count (mean over runs)", "", *_level_means(metas)]
    lines += ["", "## Reproducing a checkpoint", "",
              "Each checkpoint's `command`, run from the repository root at its recorded code version "
              "(`git checkout` it first: later changes to the training code, such as the student "
              "initialisation, are not retroactive):", ""]
    lines += [f"- `{m['name']}`: `{m['command']}` (code {m['code_version'][:12]}, {m['hardware']}){_origin(m)}"
              for m in metas]
    return "\n".join(lines) + "\n"


def _origin(meta: dict[str, Any]) -> str:
    """Where a student that continued a smaller budget's run began (docs/training.md, Budgets)."""
    if (start := meta.get("warm_started_from")) is None:
        return ""
    return (f"; continued the `{start['preset']}` student of the same run from step {start['step']:,}, "
            "equivalent to the command from scratch (docs/training.md#budgets)")


def _level_means(metas: list[dict[str, Any]]) -> list[str]:
    """One row per (method, level count): the runs' mean completions and gap, so the diversity
    effects read down a column."""
    rows = ["| method | L | runs | levels seen | train completion % | test completion % | gap (points) |",
            "|---|---:|---:|---:|---:|---:|---:|"]
    for key in sorted({(m["method"], m["num_levels"]) for m in metas}):
        runs = [m for m in metas if (m["method"], m["num_levels"]) == key]
        mean = {split: 100 * sum(m[f"{split}_completion"]["completion_rate"] for m in runs) / len(runs)
                for split in ("train", "test")}
        seen = "/".join(sorted({f"{m['distinct_levels_seen']:,}" for m in runs}))
        rows.append(f"| {key[0]} | {key[1]:,} | {len(runs)} | {seen} | {mean['train']:.1f} | {mean['test']:.1f} "
                    f"| {mean['train'] - mean['test']:+.1f} |")
    return rows


def write_readme(zoo_dir: Path) -> Path:
    path = zoo_dir / "README.md"
    atomic.write_text(path, render(read_zoo_metadata(zoo_dir)))
    return path
