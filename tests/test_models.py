"""The clear-CNN port and its checkpoint formats.

The reference agent (a model nobody here trained) is the check that the port is right: a wrong
flatten order, pooling or kernel layout would not complete held-out levels.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from interpbench.agents.models import (
    ClearCNN,
    load_checkpoint,
    preprocess,
    save_checkpoint,
)
from interpbench.agents.policies import ModelPolicy, RandomPolicy
from interpbench.agents.rollout import evaluate_completion
from interpbench.data.layers import ANALYSED_LAYER
from interpbench.game.env import level_range, make_env
from interpbench.infra.errors import CorruptFileError, InterpbenchError

#: Procgen CoinRun pays 10 once per completed level and 0 otherwise, so the discounted return,
#: and thus the true value, lies in [0, 10]. The value head is an unconstrained linear regressor
#: and overshoots slightly near the coin: over 9,600 held-out frames its maximum was 10.05
#: (docs/reference-agent.md), hence the tolerance on the upper bound.
VALUE_BOUNDS = (0.0, 10.1)


@pytest.fixture(scope="module")
def heldout_obs(reference_checkpoint) -> np.ndarray:
    """~190 real held-out frames the reference agent meets, level starts and later steps."""
    env = make_env(16, level_range("heldout"), seed=11)
    policy = ModelPolicy(reference_checkpoint.model, seed=11)
    frames = []
    for step in range(36):
        obs = env.observe()[1]["rgb"]
        if step % 3 == 0:
            frames.append(obs)
        env.act(policy.act(obs))
    return np.concatenate(frames)


@pytest.mark.reference
def test_reference_loads(reference_checkpoint) -> None:
    model = reference_checkpoint.model
    assert isinstance(model, ClearCNN) and model.num_actions == 15
    assert reference_checkpoint.meta["architecture"] == "clear-cnn"
    seen: list[torch.Size] = []
    handle = model.get_submodule(ANALYSED_LAYER).register_forward_hook(lambda m, i, o: seen.append(o.shape))
    try:
        with torch.no_grad():
            logits, value = model(preprocess(np.zeros((2, 64, 64, 3), np.uint8)))
    finally:
        handle.remove()
    assert logits.shape == (2, 15) and value.shape == (2,)
    assert seen == [(2, 32, 32, 32)]


@pytest.mark.reference
def test_value_on_heldout_frames_is_a_return(reference_checkpoint, heldout_obs: np.ndarray) -> None:
    with torch.no_grad():
        _, value = reference_checkpoint.model(preprocess(heldout_obs))
    low, high = VALUE_BOUNDS
    assert low <= value.min().item() and value.max().item() <= high
    assert (value <= 10).float().mean() >= 0.95


@pytest.mark.reference
@pytest.mark.slow
def test_reference_completes_heldout_levels_random_does_not(reference_checkpoint) -> None:
    levels = level_range("heldout")
    agent = evaluate_completion(ModelPolicy(reference_checkpoint.model, seed=1), levels, 24, seed=1, progress=False)
    chance = evaluate_completion(RandomPolicy(seed=1), levels, 24, seed=1, progress=False)
    assert agent["completion_rate"] >= 0.8, agent
    assert chance["completion_rate"] <= 0.5, chance
    assert agent["distinct_levels"] == 24


@pytest.mark.reference
def test_safetensors_roundtrip_gives_identical_outputs(reference_checkpoint, heldout_obs, tmp_path: Path) -> None:
    path = save_checkpoint(reference_checkpoint.model, tmp_path / "ref-copy", {"method": "test", "num_levels": None})
    loaded = load_checkpoint(path)
    x = preprocess(heldout_obs[:32])
    with torch.no_grad():
        for a, b in zip(reference_checkpoint.model(x), loaded.model(x)):
            assert torch.equal(a, b)
    assert loaded.weights_hash() == reference_checkpoint.weights_hash()
    assert loaded.meta["name"] == "ref-copy"


@pytest.fixture()
def small_checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(ClearCNN(), tmp_path / "tiny", {"method": "test"})


def test_missing_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(InterpbenchError, match="not found"):
        load_checkpoint(tmp_path / "absent.safetensors")
    with pytest.raises(InterpbenchError, match="not found"):
        load_checkpoint(tmp_path / "absent.jd")


def test_truncated_checkpoint(small_checkpoint: Path) -> None:
    small_checkpoint.write_bytes(small_checkpoint.read_bytes()[:1000])
    with pytest.raises(CorruptFileError):
        load_checkpoint(small_checkpoint)


def test_corrupt_sidecar(small_checkpoint: Path) -> None:
    small_checkpoint.with_suffix(".json").write_text("{not json")
    with pytest.raises(CorruptFileError):
        load_checkpoint(small_checkpoint)


def test_corrupt_jd(tmp_path: Path) -> None:
    path = tmp_path / "bad.jd"
    path.write_bytes(b"\x80\x04 definitely not a joblib file")
    with pytest.raises(CorruptFileError):
        load_checkpoint(path)


def test_wrong_shape_checkpoint(small_checkpoint: Path) -> None:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(small_checkpoint))
    tensors["dense.weight"] = torch.zeros(256, 256)
    del tensors["vf.bias"]
    save_file(tensors, str(small_checkpoint))
    with pytest.raises(InterpbenchError, match=r"dense.weight: shape \(256, 256\).*missing vf.bias|missing vf.bias"):
        load_checkpoint(small_checkpoint)


def test_wrong_architecture(small_checkpoint: Path) -> None:
    meta_path = small_checkpoint.with_suffix(".json")
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "architecture": "impala-cnn"}))
    with pytest.raises(InterpbenchError, match="architecture"):
        load_checkpoint(small_checkpoint)


def test_failed_save_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.torch

    def fail(tensors, filename):
        Path(filename).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(safetensors.torch, "save_file", fail)
    with pytest.raises(OSError):
        save_checkpoint(ClearCNN(), tmp_path / "ckpt", {"method": "test"})
    assert list(tmp_path.iterdir()) == []
