"""A third-party metric package, installed into a temporary directory, is discovered through its
``interpbench.metrics`` entry point, listed and scored, with no change to the repository; a
broken entry point beside it is reported by name and does not hide it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from plugin_site import install_with_broken_neighbour

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "tests" / "data" / "example_plugin"

SCORE = """
import numpy as np
from interpbench.metrics.scoring import score_all
from interpbench.metrics.testing import make_attribution, make_frames

labels = np.zeros((1, 64, 64), dtype=np.int64)
labels[0, 30:34, 30:34] = 1  # the agent: 16 px
maps = np.zeros((1, 2, 64, 64), dtype=np.float32)
maps[0, 0, 30:34, 30:34] = 1.0  # feature 0: all on the agent
maps[0, 1, 30:34, 30:34] = 1.0  # feature 1: a quarter on the agent
maps[0, 1, 0:8, 0:6] = 1.0
scores, errors = score_all(make_attribution(maps), make_frames(labels), ["agent-share", "raw-overlap"])
print(errors)
print(*np.round(scores["agent-share"], 6))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """``pip install --no-deps --target`` of the example package (built from a copy, so the
    repository gains no build/ or egg-info), plus a distribution whose entry point is broken."""
    return install_with_broken_neighbour(tmp_path_factory.mktemp("plugin"), EXAMPLE, "interpbench.metrics",
                                         "broken-plugin", "no_such_module:Metric")


def run_with(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True)


def test_entry_point_plugin_is_listed(site: Path) -> None:
    done = run_with(site, "-m", "interpbench.cli.main", "metrics", "list")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if line.startswith("agent-share "))
    assert "entry point interpbench-example-plugin:interpbench_example_plugin:AgentShare" in row
    assert "Share of the feature's positive attribution mass on the agent" in row
    assert "entry point broken (broken-plugin) failed to load: ModuleNotFoundError" in done.stderr


def test_entry_point_plugin_is_scored(site: Path) -> None:
    done = run_with(site, "-c", SCORE)
    assert done.returncode == 0, done.stderr
    errors, scores = done.stdout.splitlines()
    assert errors == "{}"
    assert [float(s) for s in scores.split()] == [1.0, 16 / (16 + 48)]


def test_plugin_absent_without_the_install() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "interpbench.cli.main", "metrics", "list"], cwd=REPO, capture_output=True, text=True
    )
    assert done.returncode == 0 and "agent-share" not in done.stdout
