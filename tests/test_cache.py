"""The attribution cache: keyed by content, reused, refreshed when asked or when damaged; and
the ``interpbench attribute`` command on top of it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from attribution_helpers import env_frameset

import interpbench.attribution.attribute as attribution
from interpbench.agents.models import ClearCNN, save_checkpoint
from interpbench.attribution.attribute import attribute_checkpoint
from interpbench.cli.main import main
from interpbench.data.attribution_set import AttributionSet
from interpbench.infra.cache import ENV_VAR, cache_key, cache_root

N = 4


@pytest.fixture()
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture()
def checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(ClearCNN(), tmp_path / "ppo-L100-r1", {"method": "test"})


@pytest.fixture()
def count_computations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = attribution.compute_attribution_set

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(attribution, "compute_attribution_set", counting)
    return calls


def test_root_and_keys(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert cache_root() == cache_dir
    monkeypatch.delenv(ENV_VAR)
    assert cache_root() == Path.home() / ".cache" / "interpbench"
    assert cache_key({"a": 1, "b": {"c": 2}}) == cache_key({"b": {"c": 2}, "a": 1})
    assert cache_key({"a": 1}) != cache_key({"a": 2})


def test_second_call_is_served_from_the_cache(cache_dir: Path, checkpoint: Path, count_computations) -> None:
    frames = env_frameset(N)
    first = attribute_checkpoint(checkpoint, frames, n_features=3)
    again = attribute_checkpoint(checkpoint, frames, n_features=3)
    assert len(count_computations) == 1
    assert again.content_hash() == first.content_hash()
    assert len(list(cache_dir.rglob("*.npz"))) == 1
    attribute_checkpoint(checkpoint, frames, n_features=2)  # other method parameters: a new entry
    attribute_checkpoint(checkpoint, frames, n_features=3, cache=False)
    assert len(count_computations) == 3
    assert len(list(cache_dir.rglob("*.npz"))) == 2


def test_damaged_entry_is_recomputed(cache_dir: Path, checkpoint: Path, count_computations) -> None:
    frames = env_frameset(N)
    first = attribute_checkpoint(checkpoint, frames, n_features=3)
    (entry,) = cache_dir.rglob("*.npz")
    entry.write_bytes(b"not a zip")
    again = attribute_checkpoint(checkpoint, frames, n_features=3)
    assert len(count_computations) == 2
    assert again.content_hash() == first.content_hash()
    assert attribution.read_cache_entry(entry).content_hash() == first.content_hash()  # type: ignore[union-attr]


def test_attribute_command(cache_dir: Path, checkpoint: Path, tmp_path: Path, capsys) -> None:
    frames_path = env_frameset(N).save(tmp_path / "frames")
    out = tmp_path / "attr"
    argv = ["attribute", str(checkpoint), str(frames_path), "-o", str(out), "--features", "3", "--no-progress"]
    assert main(argv) == 0
    attr = AttributionSet.load(out.with_suffix(".npz"))
    assert attr.maps.shape == (N, 3, 64, 64) and attr.meta["checkpoint"] == "ppo-L100-r1"
    assert "completeness" in capsys.readouterr().out
    assert main([*argv, "--head", "policy", "--action", "2"]) == 0
    policy = AttributionSet.load(out.with_suffix(".npz"))
    assert policy.head == "policy" and policy.method["target"] == "logit-2"
    assert np.all(np.array(policy.meta["actions"]) == 2)
    assert main(["attribute", str(tmp_path / "missing.safetensors"), str(frames_path)]) == 2
