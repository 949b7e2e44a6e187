"""Which code made an artefact: recorded in frame sets, checkpoints and reports alike.

Lives in the harness (not in baselines/) because every stage records it and the harness must not
depend on the trainers.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shown_path(path: Path, outside: str = "(cache) ") -> str:
    """A path relative to the repository where it lies inside it; elsewhere (the cache, an
    installed package) ``outside`` and its name, so committed reports never carry one machine's
    home directory."""
    path = Path(path).resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else f"{outside}{path.name}"


def code_version() -> str:
    """The git commit of this checkout (``+dirty`` when tracked files differ), or ``unknown``."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")
