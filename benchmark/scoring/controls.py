"""Controls a metric must beat: the model with its weights randomized (Adebayo et al. 2018)."""

from __future__ import annotations

from interpbench.agents.models import Checkpoint, ClearCNN


def randomized_twin(checkpoint: Checkpoint, seed: int) -> Checkpoint:
    """A freshly initialised network of the same shape: the model with all its weights randomized.

    Full re-initialisation does not depend on the trained weights, so every checkpoint gets the
    same random network for a given seed: one attribution (cached by weights) serves the zoo.
    """
    import torch

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = ClearCNN(num_actions=checkpoint.model.num_actions)
    # The twin carries none of the trained model's measurements.
    return Checkpoint(model.eval(), {"name": f"randomized-seed{seed}"}, None)
