"""Initialising the clear CNN for training from scratch.

PyTorch's default initialisation shrinks the signal through the clear CNN's conv + L2-pool stack
about ninefold (ReLU-output std 0.133 at 1a, 0.015 at 4a, on real frames in [0, 1]), so the dense
layers start nearly blind to the frame: a probe student so initialised stayed at the teacher's
state-independent average policy (held-out KL 0.51 after 51,200 samples; the average policy's
is 0.51). CleanRL's orthogonal initialisation keeps the stds at 0.3-0.7, and the same probe then
fell to KL 0.36. Figures: ``scripts/init_probe.py`` (docs/history.md).
"""

from __future__ import annotations

import numpy as np
from torch import nn

from interpbench.agents.models import ClearCNN


def init_orthogonal(model: ClearCNN) -> ClearCNN:
    """CleanRL's scheme: orthogonal weights (gain sqrt 2), zero biases, a near-uniform initial
    policy (gain 0.01) and a unit-gain value head. Returns the model, modified in place."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.orthogonal_(module.weight, np.sqrt(2))
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    nn.init.orthogonal_(model.pi.weight, 0.01)
    nn.init.orthogonal_(model.vf.weight, 1.0)
    return model
