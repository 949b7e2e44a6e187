"""The shipped zoo: every checkpoint loads, says how it was made, and plays; the sweep's claims.

Skips (saying why) where the zoo is absent or incomplete; see baselines/zoo/README.md.
"""

from __future__ import annotations

import json

import pytest
import torch

from interpbench.agents.models import load_checkpoint
from interpbench.baselines.report import level_trend
from interpbench.baselines.zoo import ZOO_DIR
from interpbench.data.zoo import read_zoo_metadata
from interpbench.game.env import LEVEL_COUNTS, heldout_levels

REQUIRED = {
    "method", "num_levels", "run", "seed", "distinct_levels_seen", "train_completion", "test_completion",
    "wall_time_s", "hardware", "config", "code_version", "command", "preset",
}
SHIPPED = sorted(ZOO_DIR.glob("*-L*-r*.json"))
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no checkpoints shipped in baselines/zoo yet")


@pytest.mark.parametrize("meta_path", SHIPPED, ids=lambda p: p.stem)
def test_checkpoint_loads_with_complete_metadata(meta_path):
    meta = json.loads(meta_path.read_text())
    assert REQUIRED <= meta.keys()
    assert meta_path.stem == f"{meta['method']}-L{meta['num_levels']}-r{meta['run']}"
    assert "samples" in meta or "env_steps" in meta
    assert 1 <= meta["distinct_levels_seen"] <= meta["num_levels"]
    for split in ("train", "test"):
        assert meta[f"{split}_completion"]["episodes"] >= 500 or meta["preset"] == "tiny"
    weights = meta_path.with_suffix(".safetensors")
    assert weights.stat().st_size < 1_000_000  # float16 storage keeps the zoo small
    checkpoint = load_checkpoint(weights)
    assert all(p.dtype == torch.float32 for p in checkpoint.model.parameters())


def test_a_checkpoint_plays():
    from interpbench.agents.policies import ModelPolicy
    from interpbench.agents.rollout import evaluate_completion

    checkpoint = load_checkpoint(SHIPPED[0].with_suffix(".safetensors"))
    result = evaluate_completion(ModelPolicy(checkpoint.model, seed=0), heldout_levels(), 3, seed=5,
                                 num_envs=3, progress=False)
    assert result["episodes"] == 3 and 0.0 <= result["completion_rate"] <= 1.0


def _distill_zoo() -> list[dict]:
    metas = [m for m in read_zoo_metadata(ZOO_DIR) if m["method"] == "distill"]
    if {(m["num_levels"], m["run"]) for m in metas} != {(L, r) for L in LEVEL_COUNTS for r in (1, 2)}:
        pytest.skip(f"the distill zoo has {len(metas)} of 14 checkpoints")
    return metas


def test_test_completion_rises_with_level_count():
    metas = _distill_zoo()
    rho = level_trend(metas)
    assert rho >= 0.8, f"Spearman(level count, test completion) = {rho:.2f} < 0.8"


def test_train_completion_exceeds_test_completion_at_small_level_counts():
    metas = _distill_zoo()
    small = [m for m in metas if m["num_levels"] <= 300]
    gaps = {m["name"]: m["train_completion"]["completion_rate"] - m["test_completion"]["completion_rate"]
            for m in small}
    shown = ", ".join(f"{name} {100 * g:+.1f}" for name, g in gaps.items())
    assert all(g > 0.05 for g in gaps.values()), f"train - test completion (points) at L <= 300: {shown}; bar +5"


def test_shipped_readme_is_generated_from_the_shipped_metadata():
    from interpbench.baselines.report import render

    assert (ZOO_DIR / "README.md").read_text() == render(read_zoo_metadata(ZOO_DIR)), (
        "baselines/zoo/README.md is stale: run `interpbench sweep --readme-only`")

