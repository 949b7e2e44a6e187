"""Sweeps: job order, a local sweep that resumes by skipping finished jobs, and a tiny Ray sweep.

Tiny PPO jobs are used because they need nothing outside the repository (no reference agent).
"""

from __future__ import annotations

import json

import pytest

from baselines import sweep
from benchmark.cli import main
from benchmark.env import LEVEL_COUNTS
from benchmark.models import load_checkpoint


def test_plan_covers_the_study_and_puts_first_runs_first():
    jobs = sweep.plan("distill", "medium")
    assert len(jobs) == 14 and {j.num_levels for j in jobs} == set(LEVEL_COUNTS)
    assert [j.run for j in jobs] == [1] * 7 + [2] * 7
    assert jobs[0].name == "distill-L100-r1"
    assert jobs[0].command() == "interpbench train --method distill --levels 100 --run 1 --preset medium"


@pytest.mark.slow
def test_local_sweep_ships_and_skips_finished_jobs(tmp_path, capsys):
    args = ["sweep", "--method", "ppo", "--preset", "tiny", "--levels", "3", "--runs", "1",
            "--zoo", str(tmp_path / "zoo"), "--runs-dir", str(tmp_path / "runs")]
    assert main(args) == 0
    meta_path = tmp_path / "zoo" / "ppo-L3-r1.json"
    meta = json.loads(meta_path.read_text())
    assert meta["method"] == "ppo" and meta["num_levels"] == 3 and meta["run"] == 1
    assert load_checkpoint(tmp_path / "zoo" / "ppo-L3-r1").model.num_actions == 15
    stamp = meta_path.stat().st_mtime_ns
    assert main(args) == 0  # a finished sweep re-runs as a no-op
    assert meta_path.stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_tiny_sweep_on_a_local_ray_instance(tmp_path):
    pytest.importorskip("ray", reason="the Ray sweep needs the 'ray' extra")
    zoo, runs = tmp_path / "zoo", tmp_path / "runs"
    failed = sweep.run_ray(sweep.plan("ppo", "tiny", (2,), (1,)), zoo_dir=zoo, runs_dir=runs,
                           address=None, num_cpus=1)
    assert failed == []
    checkpoint = load_checkpoint(zoo / "ppo-L2-r1")
    assert checkpoint.meta["name"] == "ppo-L2-r1" and checkpoint.meta["preset"] == "tiny"
    assert (runs / "tiny" / "ppo-L2-r1" / "ppo_state.pt").exists()  # the worker's resumable state
