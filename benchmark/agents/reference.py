"""Where the published reference agent lives. It is never copied into this repository.

Looked up, in order: ``$INTERPBENCH_REFERENCE`` (a path to the ``.jd`` file), then
``../shared/reference/procgen-coinrun-clear.jd`` relative to the repository root.
"""

from __future__ import annotations

import os
from pathlib import Path

from interpbench.infra.errors import InterpbenchError
from interpbench.infra.provenance import REPO_ROOT

ENV_VAR = "INTERPBENCH_REFERENCE"
DEFAULT_PATH = REPO_ROOT.parent / "shared" / "reference" / "procgen-coinrun-clear.jd"
WHERE_TO_GET = (
    "download checkpoints/coinrun.jd from github.com/langosco/understanding-rl-vision "
    f"and point ${ENV_VAR} at it"
)


def reference_path() -> Path | None:
    """The reference agent's path, or None where it is not on this machine."""
    env = os.environ.get(ENV_VAR)
    candidates = [Path(env)] if env else []
    candidates.append(DEFAULT_PATH)
    return next((p for p in candidates if p.is_file()), None)


def require_reference_path() -> Path:
    path = reference_path()
    if path is None:
        raise InterpbenchError(f"the reference agent was not found; {WHERE_TO_GET}")
    return path
