"""What every trainer needs besides the algorithm: devices, provenance, resumable state, logs.

Training here runs for hours on shared CPUs and is killed at session ends, so every trainer saves
its whole state (weights, optimizer, counters, RNG) atomically and picks it up again on restart.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import platform
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from interpbench.infra import atomic
from interpbench.infra.errors import InterpbenchError


def select_device(spec: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, so one command line serves laptops and GPU nodes."""
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(spec)


def hardware(device: torch.device) -> str:
    """A one-line description of where a checkpoint was made, for its metadata."""
    if device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)} (CUDA), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {torch.get_num_threads()} torch thread(s) of {os.cpu_count()} cores, torch {torch.__version__}"


@contextlib.contextmanager
def file_lock(directory: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``directory``: a second process doing the same work (two sweeps
    over one job, two runs sharing one dataset) waits for the first, then finds its result."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / ".lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def save_state(path: Path, state: dict[str, Any], settings: dict[str, Any]) -> None:
    """Write a resumable training state atomically (a kill mid-write keeps the previous one),
    with the ``settings`` it was trained under, which a resume must match."""
    with atomic.atomic_path(path) as tmp:
        torch.save({**state, "settings": settings}, tmp)


def load_state(path: Path, settings: dict[str, Any]) -> dict[str, Any] | None:
    """The last saved training state, or None when a run starts fresh; a state saved under
    other ``settings`` is refused (see :func:`require_same_settings`)."""
    if not path.exists():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    require_same_settings(state.get("settings"), settings, path)
    return state


def require_same_settings(saved: dict[str, Any] | None, settings: dict[str, Any], path: Path) -> None:
    """Refuse to continue work made under other settings (a preset edited since, say): the result
    would be a model or dataset that neither setting reproduces."""
    if saved == settings:
        return
    saved = saved or {}
    changed = sorted(k for k in {**saved, **settings} if saved.get(k) != settings.get(k))
    raise InterpbenchError(
        f"{path} was made under other settings (differing: {', '.join(changed)}); "
        f"delete {path.parent} to make it afresh under the current ones"
    )


def rng_state() -> dict[str, Any]:
    return {"torch": torch.get_rng_state()}


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])


class JsonlLog:
    """Append-only JSON-lines log: survives interruption, and ``tail -f`` shows progress."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, **record: Any) -> None:
        record = {"time": round(time.time(), 1), **record}
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
