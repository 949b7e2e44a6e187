"""Files that ship inside the package (the zoo, the judgments, the gate's bars), found through
``importlib.resources`` so that defaults work from a checkout and from an installed wheel alike;
and the cores a process may use (what parallel stages size their workers by)."""

from __future__ import annotations

import os
from importlib.resources import as_file, files
from pathlib import Path


def package_path(package: str, *parts: str) -> Path:
    """The path of ``parts`` inside ``package`` (e.g. ``("interpbench.baselines", "zoo")``).

    Wheels install as plain folders, so the resource is a real path; ``as_file`` keeps that
    promise explicit (and would extract from a zip import, which this project does not use).
    """
    resource = files(package).joinpath(*parts)
    with as_file(resource) as path:
        return Path(path)


def available_cores() -> int:
    """The cores this process may run on (its affinity mask where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
