"""The model registry: a CleanRL-format IMPALA checkpoint (written here from a freshly initialised
agent of ``ppo_procgen.py``'s layout, defined below independently of ``agents.impala``) loads, plays
a few episodes, is attributed and scored at a named layer; bad checkpoints are refused naming the
key; the analytic receptive fields match the network's gradients."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from synthetic_zoo import isolated_cache, make_frames
from torch import nn

from interpbench.agents.architectures import get_architecture, load_cleanrl
from interpbench.agents.models import load_checkpoint, preprocess, save_checkpoint
from interpbench.agents.policies import ModelPolicy
from interpbench.agents.rollout import evaluate_completion
from interpbench.attribution.attribute import attribute_checkpoint
from interpbench.game.env import training_levels
from interpbench.infra.errors import InterpbenchError
from interpbench.scoring.score import score_zoo
from interpbench.scoring.table import ScoringConfig

_cache = pytest.fixture(scope="module", autouse=True)(isolated_cache)


# -- CleanRL's Agent layout, as its state_dict names it (network.*, actor, critic) ----------------


class _Res(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.conv0, self.conv1 = nn.Conv2d(c, c, 3, padding=1), nn.Conv2d(c, c, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(torch.relu(self.conv0(torch.relu(x))))


class _Seq(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv, self.res_block0, self.res_block1 = nn.Conv2d(c_in, c_out, 3, padding=1), _Res(c_out), _Res(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.res_block1(self.res_block0(nn.functional.max_pool2d(self.conv(x), 3, 2, 1)))


class CleanRLAgent(nn.Module):
    """ppo_procgen.py's Agent for 64x64x3 observations and 15 actions, its heads initialised as
    CleanRL's layer_init does (orthogonal, gains 0.01 and 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.network = nn.Sequential(_Seq(3, 16), _Seq(16, 32), _Seq(32, 32), nn.Flatten(), nn.ReLU(),
                                     nn.Linear(32 * 8 * 8, 256), nn.ReLU())
        self.actor, self.critic = nn.Linear(256, 15), nn.Linear(256, 1)
        for head, gain in ((self.actor, 0.01), (self.critic, 1.0)):
            nn.init.orthogonal_(head.weight, gain)
            nn.init.constant_(head.bias, 0.0)

    def logits_value(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.network(obs.permute(0, 3, 1, 2) / 255.0)
        return self.actor(hidden), self.critic(hidden)


@pytest.fixture(scope="module")
def cleanrl_file(tmp_path_factory) -> tuple[Path, CleanRLAgent]:
    torch.manual_seed(0)
    agent = CleanRLAgent()
    path = tmp_path_factory.mktemp("cleanrl") / "coinrun__ppo_procgen__1.cleanrl_model"
    torch.save(agent.state_dict(), path)
    return path, agent


def test_cleanrl_checkpoint_loads_and_computes_the_same(cleanrl_file) -> None:
    path, agent = cleanrl_file
    ck = load_checkpoint(path)
    assert ck.meta["architecture"] == "impala-cnn" and ck.model.num_actions == 15
    obs = np.random.default_rng(1).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    with torch.no_grad():
        logits, value = ck.model(preprocess(obs))
        want_logits, want_value = agent.logits_value(torch.as_tensor(obs).float())
    torch.testing.assert_close(logits, want_logits, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(value, want_value.squeeze(1), rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_cleanrl_checkpoint_plays_is_attributed_and_scored(cleanrl_file, tmp_path: Path) -> None:
    """The must-show: load, play a few episodes, attribute and score at a named layer."""
    path, _ = cleanrl_file
    ck = load_checkpoint(path)
    played = evaluate_completion(ModelPolicy(ck.model, seed=0), training_levels(2), 2, seed=0, num_envs=2,
                                 progress=False)
    assert played["episodes"] == 2 and 0.0 <= played["completion_rate"] <= 1.0
    frames = make_frames(8)
    attr = attribute_checkpoint(ck, frames, n_features=4, layer="network.2", method="grad-x-act", progress=False)
    assert attr.layer == "network.2" and attr.hidden.shape == (8, 4, 8, 8) and attr.maps.shape == (8, 4, 64, 64)
    assert attr.method["name"] == "grad-x-act" and attr.geometry.stride == 8
    zoo = tmp_path / "zoo"
    meta = {"method": "cleanrl", "num_levels": 2, "run": 1, "test_completion": {"completion_rate": 0.0}}
    save_checkpoint(ck.model, zoo / "cleanrl-L2-r1", meta)
    config = ScoringConfig(n_bootstrap=0, n_twins=1, n_refits=0, nmf_fit="scoring-frames", area_bins=2, n_features=4,
                           layer="network.2", attribution="grad-x-act", cascade_depth=5)
    table = score_zoo(zoo, frames, ["raw-overlap"], config=config, progress=False, n_jobs=1)
    assert not table.errors
    scores = table.scores["raw-overlap"]["cleanrl-L2-r1"]
    assert scores.trained.shape == (4,) and np.isfinite(scores.trained).all()
    assert table.cascade_steps == ("heads", "dense") and scores.cascade.shape == (2, 4)
    assert table.config.layer == "network.2" and table.config.attribution == "grad-x-act"


def test_missing_or_misshapen_key_is_named(cleanrl_file, tmp_path: Path) -> None:
    path, _ = cleanrl_file
    state = torch.load(path, weights_only=True)
    del state["network.1.res_block0.conv1.weight"]
    state["critic.weight"] = torch.zeros(1, 128)
    bad = tmp_path / "bad.cleanrl_model"
    torch.save(state, bad)
    with pytest.raises(InterpbenchError, match=r"critic\.weight: shape \(1, 128\), expected \(1, 256\).*"
                                               r"missing network\.1\.res_block0\.conv1\.weight"):
        load_cleanrl(bad)


def test_not_a_state_dict_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "notes.pt"
    torch.save({"lr": 0.1}, bad)
    with pytest.raises(InterpbenchError, match="state_dict"):
        load_checkpoint(bad)


@pytest.mark.parametrize("layer", ["network.0", "network.1"])
def test_impala_receptive_field_matches_the_gradient(layer: str) -> None:
    """The input pixels a unit's gradient reaches lie inside its analytic receptive field, and it is
    centred where the geometry says."""
    arch = get_architecture("impala-cnn")
    info, net = arch.layer(layer), arch.fresh(15, 0)
    x = torch.rand(1, 3, 64, 64, requires_grad=True)
    i = j = info.height // 2
    (grad,) = torch.autograd.grad(net.forward_to(layer, x)[0, :, i, j].sum(), x)
    rows = np.flatnonzero(grad.abs().sum((0, 1, 3)).numpy())
    g = info.geometry
    centre, half = g.offset + i * g.stride, (g.size - 1) / 2
    assert rows.min() >= centre - half and rows.max() <= centre + half
    assert rows.min() == max(0, centre - half) and rows.max() == min(63, centre + half)


def test_unknown_architecture_in_a_checkpoint_lists_the_registered(tmp_path: Path) -> None:
    import json

    path = save_checkpoint(get_architecture("impala-cnn").fresh(15, 0), tmp_path / "x", {})
    meta = json.loads(path.with_suffix(".json").read_text())
    path.with_suffix(".json").write_text(json.dumps({**meta, "architecture": "resnet-9000"}))
    with pytest.raises(InterpbenchError, match=r"unknown architecture 'resnet-9000'.*clear-cnn.*impala-cnn"):
        load_checkpoint(path)
