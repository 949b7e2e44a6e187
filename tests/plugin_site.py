"""Install an example plugin package into a temporary ``site`` folder, beside a broken entry point:
what the metric-plugin and model-plugin tests share (``tests/test_plugins.py``,
``tests/test_model_plugin.py``)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def install_with_broken_neighbour(work: Path, example: Path, group: str, dist: str, entry: str) -> Path:
    """pip-install ``example`` (no deps, no index; from a copy, so the repository gains no build/
    or egg-info) into ``work/site``, beside a distribution ``dist`` whose ``group`` entry point
    ``broken`` is ``entry`` (a module that does not exist); returns the site folder."""
    source, target = work / "src", work / "site"
    shutil.copytree(example, source)
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index"]
    done = subprocess.run([*pip, "--target", str(target), str(source)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"installing {example.name} failed:\n{done.stderr}")
    info = target / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\nbroken = {entry}\n")
    return target
