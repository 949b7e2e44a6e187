"""Initialising the clear CNN for training from scratch.

PyTorch's default initialisation shrinks the signal through the clear CNN's conv + L2-pool stack
about fifteen-fold (activation std 0.20 after 1a, 0.013 after 4a, for inputs in [0, 1]), so the
dense layers start nearly blind to the frame: a distilled student trained so (the ``mini`` zoo)
stayed at the teacher's state-independent action distribution (KL 0.52 against the marginal
policy's 0.49 after 38k samples). CleanRL's orthogonal initialisation keeps activations at
0.4-0.7 per layer, and the same student then got below the marginal policy within 13k samples.
"""

from __future__ import annotations

import numpy as np
from torch import nn

from benchmark.models import ClearCNN


def init_orthogonal(model: ClearCNN) -> ClearCNN:
    """CleanRL's scheme: orthogonal weights (gain sqrt 2), zero biases, a near-uniform initial
    policy (gain 0.01) and a unit-gain value head. Returns the model, modified in place."""
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.orthogonal_(module.weight, np.sqrt(2))
            nn.init.zeros_(module.bias)
    nn.init.orthogonal_(model.pi.weight, 0.01)
    nn.init.orthogonal_(model.vf.weight, 1.0)
    return model
