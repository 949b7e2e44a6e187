"""Shared fixtures. Tests that need the published reference agent skip, saying where to get it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from interpbench.agents.reference import WHERE_TO_GET, reference_path

# CI has 2 cores; one intra-op thread per test process keeps timings stable and avoids
# oversubscription when anything else runs beside the suite.
torch.set_num_threads(1)


@pytest.fixture(scope="session")
def reference_jd() -> Path:
    path = reference_path()
    if path is None:
        pytest.skip(f"reference agent not found; {WHERE_TO_GET}")
    return path


@pytest.fixture(scope="session")
def quick_cache(tmp_path_factory) -> Path:
    """One cache folder for every test that scores the shipped zoo with the quick (gate) settings
    (the notebook, the gate, the CI recipe, the installed quick check): the zoo's cold attribution
    on the 64 quick frames is paid once a session, not once a file. A fresh folder each session,
    so no test depends on what an earlier run left in the user's cache."""
    path = tmp_path_factory.getbasetemp() / "interpbench-quick-cache"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture(scope="session")
def reference_checkpoint(reference_jd: Path):
    from interpbench.agents.models import load_checkpoint

    return load_checkpoint(reference_jd)


@pytest.fixture(autouse=True)
def _registry_restored(monkeypatch):
    """Metrics a test registers (plugin files, synthetic metrics) never leak into the next test."""
    from interpbench.metrics import registry

    registry.available()  # built-ins and entry points load once, outside any test's changes
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    monkeypatch.setattr(registry, "_plugin_files", dict(registry._plugin_files))
