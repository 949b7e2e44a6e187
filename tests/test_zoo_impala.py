"""The shipped IMPALA-CNN student (``baselines/zoo-impala``): what its JSON claims, and that it is
scored end to end at the IMPALA CNN's default layer, own-play NMF fit included.

Small on purpose (seconds): a few episodes and a handful of frames. The completion figures in its
JSON come from ``interpbench train`` itself (1,000 episodes per split), not from here.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path

import numpy as np
import pytest
from synthetic_zoo import make_frames

from interpbench.agents.models import load_checkpoint
from interpbench.agents.policies import ModelPolicy
from interpbench.agents.rollout import evaluate_completion
from interpbench.baselines import zoo
from interpbench.data.zoo import read_zoo_metadata
from interpbench.game.env import training_levels
from interpbench.scoring.score import score_zoo
from interpbench.scoring.table import ScoringConfig

REPO = Path(__file__).resolve().parents[1]
ZOO = zoo.ZOO_DIRS["impala-cnn"]
JOB = zoo.Job("distill", 100_000, 1, "impala", "impala-cnn")


@pytest.fixture(scope="module")
def meta() -> dict:
    [only] = read_zoo_metadata(ZOO)  # also checks the weights against the JSON's sha256
    return only


def test_the_shipped_zoo_is_the_impala_jobs_result(meta) -> None:
    assert ZOO == REPO / "baselines" / "zoo-impala"
    assert meta["name"] == JOB.name and meta["architecture"] == "impala-cnn"
    # The preset and config are the current ones, so re-running the recorded command is a no-op.
    assert zoo.finished_meta(JOB) is not None and meta["command"] == JOB.command()
    assert re.fullmatch(r"[0-9a-f]{40}", meta["code_version"]), "made from a clean, committed tree"
    assert meta["hardware"] and meta["train_seconds"] > 0 and meta["storage_dtype"] == "float16"
    assert meta["dataset"]["num_levels"] == meta["num_levels"] == 100_000
    assert meta["distinct_levels_seen"] == meta["dataset"]["distinct_levels"]
    for split in ("train", "test"):
        result = meta[f"{split}_completion"]
        assert result["episodes"] >= 500 and result["completed"] == round(result["completion_rate"] * result["episodes"])
        low, high = result["ci95"]
        assert low <= result["completion_rate"] <= high


def test_the_wheel_ships_it() -> None:
    """Every file of the IMPALA zoo matches the package-data globs (tests/test_packaging.py builds the wheel)."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    globs = data["interpbench.baselines"]
    files = [p.relative_to(REPO / "baselines").as_posix() for p in ZOO.iterdir() if not p.name.startswith(".")]
    assert {"zoo-impala/README.md", f"zoo-impala/{JOB.name}.json", f"zoo-impala/{JOB.name}.safetensors"} <= set(files)
    assert [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)] == []


def test_it_plays_and_is_scored_at_network_1(meta, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("INTERPBENCH_CACHE", str(tmp_path / "cache"))
    model = load_checkpoint(Path(meta["path"]).with_suffix("")).model
    assert model.architecture == "impala-cnn" and model.num_actions == meta["num_actions"]
    played = evaluate_completion(ModelPolicy(model, seed=0), training_levels(meta["num_levels"]), 2, seed=0,
                                 num_envs=2, progress=False)
    assert played["episodes"] == 2 and 0.0 <= played["completion_rate"] <= 1.0
    # The own-play fit plays the checkpoint on the training levels its JSON names.
    config = ScoringConfig(n_bootstrap=0, n_twins=1, n_refits=0, nmf_fit="own-play", own_play_frames=16,
                           area_bins=2, n_features=4, layer="network.1")
    table = score_zoo(ZOO, make_frames(8), ["raw-overlap", "attribution-mass"], config=config, progress=False,
                      n_jobs=1)
    assert not table.errors and table.config.layer == "network.1"
    for metric in ("raw-overlap", "attribution-mass"):
        scores = table.scores[metric][JOB.name]
        assert scores.trained.shape == (4,) and np.isfinite(scores.trained).all()
        assert np.isfinite(scores.randomized).all()
