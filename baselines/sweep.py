"""The zoo sweep: level counts x runs, on this machine or on a Ray cluster.

Locally, jobs run as parallel single-thread ``interpbench train`` subprocesses (two single-thread
jobs beat one two-thread job on small CPUs, see docs/training.md), each logging to
``<runs>/logs/<name>.log``. On Ray, each job is a task that reserves one CPU (and GPUs if asked)
and sends the finished checkpoint back to the driver, which writes it into the zoo, so workers
need not share a filesystem with it. Either way a job is resumable and a finished one is skipped,
so re-running the sweep command continues it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from interpbench.baselines.zoo import Job, finished_meta
from interpbench.game.env import LEVEL_COUNTS
from interpbench.infra import atomic
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar


def plan(method: str, preset: str, level_counts: tuple[int, ...] = LEVEL_COUNTS, runs: tuple[int, ...] = (1, 2)) -> list[Job]:
    """Jobs ordered run-major: a first run at every level count finishes before any second run,
    and parallel jobs rarely wait on each other's shared dataset."""
    return [Job(method, levels, run, preset) for run in runs for levels in level_counts]


def _train_command(job: Job, zoo_dir: Path, runs_dir: Path, device: str) -> list[str]:
    return [
        sys.executable, "-m", "interpbench.cli.main", "train", "--method", job.method, "--levels", str(job.num_levels),
        "--run", str(job.run), "--preset", job.preset, "--zoo", str(zoo_dir), "--runs-dir", str(runs_dir),
        "--device", device, "--threads", "1", "--no-progress",
    ]


def run_local(jobs: list[Job], *, zoo_dir: Path, runs_dir: Path, parallel: int, device: str = "auto") -> list[str]:
    """Run jobs as subprocesses, ``parallel`` at a time; returns the names of failed jobs."""
    logs = runs_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    def one(job: Job) -> str | None:
        with open(logs / f"{job.name}.log", "a") as log:
            code = subprocess.call(_train_command(job, zoo_dir, runs_dir, device), stdout=log, stderr=subprocess.STDOUT)
        return None if code == 0 else f"{job.name} (exit {code}, see {logs / job.name}.log)"

    failed: list[str] = []
    with ThreadPoolExecutor(parallel) as pool, progress_bar(total=len(jobs), desc="sweep", unit="job") as bar:
        for result in pool.map(one, jobs):
            bar.update(1)
            if result:
                failed.append(result)
    return failed


def _ray_job(job: Job, runs_dir: str, device: str) -> tuple[str, bytes, bytes]:
    """Body of a Ray task: train on the worker, return the checkpoint's two files as bytes."""
    import torch

    from interpbench.baselines.zoo import run_job

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as staging:
        run_job(job, zoo_dir=Path(staging), runs_dir=Path(runs_dir), device=device, progress=False)
        base = Path(staging) / job.name
        return job.name, base.with_suffix(".safetensors").read_bytes(), base.with_suffix(".json").read_bytes()


def run_ray(
    jobs: list[Job], *, zoo_dir: Path, runs_dir: Path, address: str | None, device: str = "auto",
    gpus_per_job: float = 0.0, num_cpus: int | None = None,
) -> list[str]:
    """Run jobs as Ray tasks (``address`` None starts a local instance); returns failed job names."""
    try:
        import ray
    except ImportError as exc:
        raise InterpbenchError("the Ray sweep needs ray: pip install 'interpbench[ray]'") from exc
    # Ray starts workers at niceness 15, which any other busy process starves; on a local
    # instance the workers are the job, so they run at normal priority.
    local = {"num_cpus": num_cpus, "include_dashboard": False, "_system_config": {"worker_niceness": 0}}
    init: dict[str, Any] = {"address": address} if address else local
    ray.init(**init, log_to_driver=False)
    jobs = [job for job in jobs if finished_meta(job, zoo_dir) is None]
    try:
        task = ray.remote(num_cpus=1, num_gpus=gpus_per_job)(_ray_job)
        pending = {task.remote(job, str(runs_dir), device): job for job in jobs}
        failed: list[str] = []
        with progress_bar(total=len(jobs), desc="sweep (ray)", unit="job") as bar:
            while pending:
                [done], _ = ray.wait(list(pending), num_returns=1)
                job = pending.pop(done)
                try:
                    name, weights, meta = ray.get(done)
                    # The weights land before the JSON: a zoo entry is "there" once its JSON is.
                    atomic.write_bytes(zoo_dir / f"{name}.safetensors", weights)
                    atomic.write_bytes(zoo_dir / f"{name}.json", meta)
                except ray.exceptions.RayError as exc:
                    failed.append(f"{job.name} ({type(exc).__name__}: {exc})")
                bar.update(1)
        return failed
    finally:
        ray.shutdown()
