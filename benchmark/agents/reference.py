"""Where the published reference agent lives. It is never copied into this repository.

Looked up, in order: ``$INTERPBENCH_REFERENCE`` (a path to the ``.jd`` file), then
``../shared/reference/procgen-coinrun-clear.jd`` relative to the repository root (a checkout),
then the user's data folder (``$XDG_DATA_HOME/interpbench/``, default
``~/.local/share/interpbench/``), where ``interpbench fetch-reference --from PATH`` installs a
downloaded copy after checking its sha256 against :data:`REFERENCE_SHA256`.
"""

from __future__ import annotations

import os
from pathlib import Path

from interpbench.data.sidecar import file_sha256
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.provenance import REPO_ROOT

ENV_VAR = "INTERPBENCH_REFERENCE"
FILENAME = "procgen-coinrun-clear.jd"
DEFAULT_PATH = REPO_ROOT.parent / "shared" / "reference" / FILENAME
#: sha256 of the published file (computed from ../shared/reference/procgen-coinrun-clear.jd).
REFERENCE_SHA256 = "18818904a32842cc177dd3c666b0229a657d0e96b9a7f2be197d6c7f4431a1ac"
SOURCE = "checkpoints/coinrun.jd in github.com/langosco/understanding-rl-vision"


def user_data_dir() -> Path:
    """``$XDG_DATA_HOME/interpbench``, or ``~/.local/share/interpbench``."""
    base = os.environ.get("XDG_DATA_HOME")
    return (Path(base).expanduser() if base else Path.home() / ".local" / "share") / "interpbench"


def user_data_path() -> Path:
    return user_data_dir() / FILENAME


def _where_to_get() -> str:
    return (f"download {SOURCE}, then run `interpbench fetch-reference --from PATH/TO/coinrun.jd` "
            f"(checks its sha256 and copies it to {user_data_path()}), or point ${ENV_VAR} at it")


WHERE_TO_GET = _where_to_get()


def candidates() -> list[Path]:
    """Where the agent is looked for, in order."""
    env = os.environ.get(ENV_VAR)
    return [*([Path(env).expanduser()] if env else []), DEFAULT_PATH, user_data_path()]


def reference_path() -> Path | None:
    """The reference agent's path, or None where it is not on this machine."""
    return next((p for p in candidates() if p.is_file()), None)


def require_reference_path() -> Path:
    path = reference_path()
    if path is None:
        looked = ", ".join(str(p) for p in candidates())
        raise InterpbenchError(f"the reference agent was not found (looked at {looked}); {_where_to_get()}")
    return path


def install_reference(source: str | Path) -> Path:
    """Copy a downloaded agent into the user data folder after checking its sha256; returns the path."""
    from interpbench.infra import atomic

    source = Path(source).expanduser()
    if not source.is_file():
        raise InterpbenchError(f"no file at {source}; {_where_to_get()}")
    digest = file_sha256(source)
    if digest != REFERENCE_SHA256:
        raise InterpbenchError(f"{source} is not the published reference agent: sha256 {digest}, "
                               f"expected {REFERENCE_SHA256} ({SOURCE})")
    target = user_data_path()
    atomic.write_bytes(target, source.read_bytes())
    return target
