"""The IMPALA CNN (Espeholt et al. 2018) in the layout of CleanRL's ``ppo_procgen.py``, and its checkpoints.

Most procgen agents are trained with this network, so a user with a CleanRL checkpoint should be
able to score it. The module tree (and so every ``state_dict`` key) is CleanRL's ``Agent``:

    network.0, network.1, network.2   ConvSequence: conv 3x3 -> max-pool 3x3/2 -> 2 residual blocks
    network.3                         Flatten
    network.4                         ReLU
    network.5                         Linear(32*8*8 -> 256)
    network.6                         ReLU (the 256-unit hidden state both heads read)
    actor, critic                     Linear(256 -> actions), Linear(256 -> 1)

so ``torch.save(agent.state_dict(), path)`` from CleanRL loads with the identity key mapping
(``docs/models.md`` lists every key). The input is CleanRL's: uint8 (N, 64, 64, 3) observations
permuted to channels-first and divided by 255, which is ``models.preprocess``.

Analysable layers are the three ConvSequence outputs (before the ReLU that follows: CleanRL's
network adds it after flattening) and ``network.6``, a layer without spatial extent (1 x 1).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interpbench.data.layers import LayerGeometry, LayerSpec, compose
from interpbench.infra.errors import CorruptFileError, InterpbenchError

ARCHITECTURE = "impala-cnn"
CHANNELS = (16, 32, 32)
HIDDEN = 256
#: The analysable layers, input first, with their (channels, height, width) for 64x64 input.
LAYER_SHAPES: dict[str, tuple[int, int, int]] = {
    "network.0": (16, 32, 32),
    "network.1": (32, 16, 16),
    "network.2": (32, 8, 8),
    "network.6": (HIDDEN, 1, 1),
}
DEFAULT_LAYER = "network.1"
#: Module groups re-drawn by the cascading randomization, top first (``scoring.controls``).
CASCADE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("heads", ("actor", "critic")),
    ("dense", ("network.5",)),
    ("network.2", ("network.2",)),
    ("network.1", ("network.1",)),
    ("network.0", ("network.0",)),
)
#: Module names in forward order (analysable layers and re-drawn groups), to tell which groups lie above a layer.
FORWARD_ORDER = ("network.0", "network.1", "network.2", "network.5", "network.6", "actor", "critic")
#: CleanRL's ``layer_init`` gains for the heads; every other layer keeps torch's default initialisation there.
HEAD_GAINS = {"actor": 0.01, "critic": 1.0}


class ResidualBlock(nn.Module):
    """x + conv1(relu(conv0(relu(x)))), both convs 3x3 "same"."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv0 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(F.relu(self.conv0(F.relu(x))))


class ConvSequence(nn.Module):
    """conv 3x3 -> max-pool 3x3 stride 2 (padding 1) -> two residual blocks: halves the resolution."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.res_block0 = ResidualBlock(c_out)
        self.res_block1 = ResidualBlock(c_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv(x), kernel_size=3, stride=2, padding=1)
        return self.res_block1(self.res_block0(x))


class ImpalaCNN(nn.Module):
    """Input: float32 (N, 3, 64, 64) in [0, 1]. Output: (policy logits (N, actions), value (N,))."""

    architecture = ARCHITECTURE

    def __init__(self, num_actions: int = 15) -> None:
        super().__init__()
        seqs: list[nn.Module] = []
        c_in = 3
        for c_out in CHANNELS:
            seqs.append(ConvSequence(c_in, c_out))
            c_in = c_out
        self.network = nn.Sequential(*seqs, nn.Flatten(), nn.ReLU(), nn.Linear(c_in * 8 * 8, HIDDEN), nn.ReLU())
        self.actor = nn.Linear(HIDDEN, num_actions)
        self.critic = nn.Linear(HIDDEN, 1)

    @property
    def num_actions(self) -> int:
        return self.actor.out_features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self._heads(self.network(x))

    def _heads(self, hidden: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.actor(hidden), self.critic(hidden).squeeze(-1)

    def forward_to(self, layer: str, x: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w) activations of ``layer`` (``network.6`` as (N, 256, 1, 1))."""
        out = self.network[: _index(layer) + 1](x)
        return out.view(*out.shape, 1, 1) if out.ndim == 2 else out

    def forward_from(self, layer: str, acts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(policy logits, value) from ``layer``'s activations, as :meth:`forward_to` returns them."""
        index = _index(layer)
        if index == len(self.network) - 1:
            acts = acts.flatten(1)
        return self._heads(self.network[index + 1:](acts))


def _index(layer: str) -> int:
    if layer not in LAYER_SHAPES:
        raise InterpbenchError(f"unknown layer {layer!r}; the IMPALA CNN has {list(LAYER_SHAPES)}")
    return int(layer.split(".")[1])


def _specs(layer: str) -> list[LayerSpec]:
    """(kernel, stride, padding) of every layer up to ``layer``; a residual block's widest path
    is its two convs, so each block adds two 3x3 layers; the dense layer covers the whole 8x8 grid."""
    index = _index(layer)
    specs: list[LayerSpec] = []
    for _ in range(min(index + 1, len(CHANNELS))):
        specs += [(3, 1, 1), (3, 2, 1), *[(3, 1, 1)] * 4]
    if index == len(CHANNELS) + 3:
        specs.append((8, 8, 0))
    return specs


def geometry(layer: str) -> LayerGeometry:
    return compose(_specs(layer))


def _generator_seed(seed: int, name: str) -> int:
    return int(np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0])


def reinit(model: ImpalaCNN, names: Iterable[str], seed: int) -> ImpalaCNN:
    """Re-draw the modules ``names`` as CleanRL initialises its ``Agent``: torch's default for the
    convs and the dense layer, orthogonal with gain 0.01 (actor) and 1 (critic), zero bias for the
    heads; each weighted layer from its own generator seeded by (``seed``, its full name), so a
    layer's draw does not depend on which others are re-drawn (as ``agents.init.reinit_layers``)."""
    with torch.no_grad():
        for name in names:
            for sub_name, module in model.get_submodule(name).named_modules():
                if not isinstance(module, (nn.Conv2d, nn.Linear)):
                    continue
                full = f"{name}.{sub_name}" if sub_name else name
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(_generator_seed(seed, full))
                    if full in HEAD_GAINS:
                        nn.init.orthogonal_(module.weight, HEAD_GAINS[full])
                        nn.init.zeros_(module.bias)  # type: ignore[arg-type]
                    else:
                        module.reset_parameters()
    return model


# -- CleanRL checkpoints: torch.save(agent.state_dict(), path) ------------------------------------


def read_cleanrl_state(path: Path) -> dict[str, torch.Tensor]:
    """The tensors of a CleanRL ``state_dict`` file, read with ``weights_only`` (a pickle, so
    nothing but tensors and containers is admitted and nothing in the file can run code)."""
    try:
        state: Any = torch.load(path, map_location="cpu", weights_only=True)
    except (OSError, RuntimeError, ValueError, EOFError) as exc:
        raise CorruptFileError(f"cannot read CleanRL checkpoint {path}: {type(exc).__name__}: {exc}") from exc
    if isinstance(state, dict) and "model_state_dict" in state:  # a training-state file around the weights
        state = state["model_state_dict"]
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise CorruptFileError(f"{path}: a CleanRL checkpoint is a state_dict (key -> tensor)")
    return state


def num_actions_of(state: dict[str, torch.Tensor], path: Path) -> int:
    """The action count, read off the actor's bias (the one tensor whose shape says it)."""
    bias = state.get("actor.bias")
    if bias is None or bias.ndim != 1 or len(bias) < 1:
        raise InterpbenchError(f"{path} does not fit the IMPALA CNN: missing actor.bias "
                               f"(got {None if bias is None else tuple(bias.shape)})")
    return int(bias.shape[0])
