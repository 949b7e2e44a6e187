"""Initialising the clear CNN as the students are: CleanRL's orthogonal scheme.

PyTorch's default initialisation shrinks the signal through the clear CNN's conv + L2-pool stack
about ninefold (ReLU-output std 0.133 at 1a, 0.015 at 4a, on real frames in [0, 1]), so the dense
layers start nearly blind to the frame: a probe student so initialised stayed at the teacher's
state-independent average policy (held-out KL 0.51 after 51,200 samples; the average policy's
is 0.51). CleanRL's orthogonal initialisation keeps the stds at 0.3-0.7, and the same probe then
fell to KL 0.36. Figures: ``scripts/init_probe.py`` (docs/history.md).

It lives with the network (not with the trainers) because the scoring stage's randomization
controls must initialise their networks exactly as the students started (``scoring.controls``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
import torch
from torch import nn

from interpbench.agents.models import ClearCNN
from interpbench.data.layers import CONV_LAYERS

#: The clear CNN's weighted layers, input first.
LAYERS: tuple[str, ...] = (*(name for name, *_ in CONV_LAYERS), "dense", "dense_1", "pi", "vf")

#: Gains of the scheme: a near-uniform initial policy, a unit-gain value head, sqrt 2 elsewhere.
HEAD_GAINS = {"pi": 0.01, "vf": 1.0}


def layer_gain(name: str) -> float:
    """The orthogonal gain of the clear CNN's layer ``name`` ("1a" ... "4a", "dense", "dense_1", "pi", "vf")."""
    return HEAD_GAINS.get(name, float(np.sqrt(2)))


def init_orthogonal(model: ClearCNN) -> ClearCNN:
    """CleanRL's scheme: orthogonal weights (gain sqrt 2), zero biases, a near-uniform initial
    policy (gain 0.01) and a unit-gain value head, drawn from torch's global generator (the
    trainers seed it). Returns the model, modified in place."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.orthogonal_(module.weight, np.sqrt(2))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    nn.init.orthogonal_(model.pi.weight, 0.01)
    nn.init.orthogonal_(model.vf.weight, 1.0)
    return model


def _weighted(model: ClearCNN, name: str) -> nn.Conv2d | nn.Linear:
    module = model.get_submodule(name)
    return module.conv if hasattr(module, "conv") else module  # type: ignore[return-value]


def reinit_layers(model: ClearCNN, names: Iterable[str], seed: int) -> ClearCNN:
    """Re-draw the layers ``names`` with the students' scheme (orthogonal, :func:`layer_gain`,
    zero bias), each from its own generator seeded by (``seed``, layer name), in place.

    A layer's draw depends only on the seed and its name, not on which other layers are
    re-drawn, so the steps of a cascading randomization share the draws of the layers they
    have in common, and a network of all fresh layers is the same whatever order built it."""
    with torch.no_grad():
        for name in names:
            layer = _weighted(model, name)
            state = np.random.SeedSequence([seed, zlib.crc32(name.encode())]).generate_state(1)[0]
            nn.init.orthogonal_(layer.weight, layer_gain(name), generator=torch.Generator().manual_seed(int(state)))
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
    return model
