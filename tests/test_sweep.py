"""Sweeps: job order, a local sweep that resumes by skipping finished jobs, and a tiny Ray sweep.

Tiny PPO jobs are used because they need nothing outside the repository (no reference agent).
"""

from __future__ import annotations

import json

import pytest

from interpbench.agents.models import load_checkpoint
from interpbench.baselines import sweep
from interpbench.cli.main import main
from interpbench.game.env import LEVEL_COUNTS


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


def test_readme_averages_the_runs_and_says_where_a_continued_student_began():
    from interpbench.baselines.report import render

    def meta(levels: int, run: int, train: float, test: float) -> dict:
        result = {"completion_rate": 0.0, "ci95": [0.0, 1.0], "episodes": 500}
        return {"name": f"distill-L{levels}-r{run}", "method": "distill", "num_levels": levels, "run": run,
                "distinct_levels_seen": levels, "samples": 1, "preset": "x", "wall_time_s": 1, "eval_wall_time_s": 1,
                "train_completion": {**result, "completion_rate": train},
                "test_completion": {**result, "completion_rate": test},
                "command": "c", "code_version": "0" * 40, "hardware": "h"}

    continued = {**meta(300, 1, 0.5, 0.55), "warm_started_from": {"preset": "medium", "step": 6000}}
    text = render([meta(100, 1, 0.7, 0.5), meta(100, 2, 0.6, 0.5), continued])
    assert "| distill | 100 | 2 | 100 | 65.0 | 50.0 | +15.0 |" in text
    assert "| distill | 300 | 1 | 300 | 50.0 | 55.0 | -5.0 |" in text
    assert "(code 000000000000, h)\n" in text  # run from scratch: no origin
    assert "continued the `medium` student of the same run from step 6,000" in text
