"""Controls a metric must beat: networks whose weights are randomized (Adebayo et al. 2018).

* **Randomized twins**: fresh clear CNNs initialised as the students were (CleanRL's orthogonal
  scheme, ``agents.init``), one per seed. A twin depends only on (number of actions, seed), so
  its attribution is computed once per zoo and every checkpoint is compared with the same T.
* **Cascading randomization** of a checkpoint's own weights, from the top down to the analysed
  layer: step 1 re-draws the heads (pi, vf), step 2 also dense_1, step 3 also dense, then each
  conv block above 2b (4a, then 3a), with the same scheme. Layers at or below 2b stay trained,
  so each step's attribution at 2b shows how much a metric's score owes to the layers above.
"""

from __future__ import annotations

import copy

import numpy as np

from interpbench.agents.init import LAYERS, reinit_layers
from interpbench.agents.models import Checkpoint, ClearCNN
from interpbench.data.layers import ANALYSED_LAYER
from interpbench.game.env import MAX_TRAIN_LEVELS

#: Layers above the analysed layer, top first, grouped as the cascade re-draws them.
CASCADE: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("heads", ("pi", "vf")),
    ("dense_1", ("dense_1",)),
    ("dense", ("dense",)),
    *((name, (name,)) for name in reversed(LAYERS[LAYERS.index(ANALYSED_LAYER) + 1 : LAYERS.index("dense")])),
)
CASCADE_STEPS: tuple[str, ...] = tuple(step for step, _ in CASCADE)


def _seed(seed: int, *parts: int) -> int:
    return int(np.random.SeedSequence([seed, *parts]).generate_state(1)[0])


def twin_seeds(seed: int, n: int) -> list[int]:
    """The seeds of ``n`` twins, derived from the scoring seed (distinct with overwhelming odds)."""
    return [_seed(seed, 101, t) for t in range(n)]


def randomized_twin(num_actions: int, seed: int) -> Checkpoint:
    """A fresh clear CNN initialised as the students are, seeded.

    Its "training levels", for an own-play NMF fit, are the whole training range: a network that
    learned nothing plays every level alike, and the range is the same for every zoo."""
    model = reinit_layers(ClearCNN(num_actions=num_actions), LAYERS, seed)
    meta = {"name": f"randomized-seed{seed}", "num_levels": MAX_TRAIN_LEVELS, "distribution_mode": "hard"}
    return Checkpoint(model.eval(), meta, None)  # the twin carries none of the trained model's measurements


def cascade(checkpoint: Checkpoint, seed: int, depth: int = len(CASCADE)) -> list[tuple[str, Checkpoint]]:
    """The first ``depth`` steps of the cascading randomization of ``checkpoint``, top first:
    (step name, a copy with every layer of that step and the steps before re-drawn).

    A layer's draw depends on (``seed``, layer name) only (``agents.init.reinit_layers``), so a
    layer re-drawn at one step keeps the same random weights at every later step."""
    out = []
    for k, (step, _) in enumerate(CASCADE[:depth]):
        names = [name for _, layers in CASCADE[: k + 1] for name in layers]
        model = reinit_layers(copy.deepcopy(checkpoint.model), names, _seed(seed, 202))
        meta = {"name": f"{checkpoint.name}-cascade-{step}", "cascade_of": checkpoint.name, "cascade_step": step}
        out.append((step, Checkpoint(model.eval(), meta, None)))
    return out
