"""Files that ship inside the package (the zoo, the judgments, the gate's bars), found through
``importlib.resources`` so that defaults work from a checkout and from an installed wheel alike."""

from __future__ import annotations

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
