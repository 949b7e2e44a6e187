"""Controls a metric must beat: networks whose weights are randomized (Adebayo et al. 2018).

* **Randomized twins**: fresh clear CNNs initialised as the students were (CleanRL's orthogonal
  scheme, ``agents.init``), one per seed. A twin depends only on (number of actions, seed), so
  its attribution is computed once per zoo and every checkpoint is compared with the same T.
* **Cascading randomization** of a checkpoint's own weights, from the top down to the analysed
  layer: step 1 re-draws the heads (pi, vf), step 2 also dense_1, step 3 also dense, then each
  conv block above 2b (4a, then 3a), with the same scheme. Layers at or below 2b stay trained,
  so each step's attribution at 2b shows how much a metric's score owes to the layers above.

Other architectures (``agents.architectures``) bring their own initialisation and cascade groups;
the cascade of a layer is the groups above it.
"""

from __future__ import annotations

import copy

import numpy as np

from interpbench.agents.architectures import architecture_of, clear_cnn_architecture, get_architecture
from interpbench.agents.models import ARCHITECTURE, Checkpoint
from interpbench.data.layers import ANALYSED_LAYER
from interpbench.game.env import MAX_TRAIN_LEVELS
from interpbench.infra.errors import InterpbenchError

#: The clear CNN's layers above the analysed layer, top first, grouped as the cascade re-draws them.
CASCADE: tuple[tuple[str, tuple[str, ...]], ...] = clear_cnn_architecture().cascade_for(ANALYSED_LAYER)
CASCADE_STEPS: tuple[str, ...] = tuple(step for step, _ in CASCADE)


def _seed(seed: int, *parts: int) -> int:
    return int(np.random.SeedSequence([seed, *parts]).generate_state(1)[0])


def twin_seeds(seed: int, n: int) -> list[int]:
    """The seeds of ``n`` twins, derived from the scoring seed (distinct with overwhelming odds)."""
    return [_seed(seed, 101, t) for t in range(n)]


def randomized_twin(num_actions: int, seed: int, architecture: str = ARCHITECTURE) -> Checkpoint:
    """A fresh network of ``architecture`` initialised as its agents start (the clear CNN: as
    the students are), seeded.

    Its "training levels", for an own-play NMF fit, are the whole training range: a network that
    learned nothing plays every level alike, and the range is the same for every zoo."""
    model = get_architecture(architecture).fresh(num_actions, seed)
    meta = {"name": f"randomized-seed{seed}", "num_levels": MAX_TRAIN_LEVELS, "distribution_mode": "hard"}
    return Checkpoint(model.eval(), meta, None)  # the twin carries none of the trained model's measurements


def cascade(checkpoint: Checkpoint, seed: int, depth: int = len(CASCADE),
            layer: str | None = None) -> list[tuple[str, Checkpoint]]:
    """The first ``depth`` steps of the cascading randomization of ``checkpoint`` above ``layer``
    (None: its architecture's default), top first: (step name, a copy with every layer of that
    step and the steps before re-drawn). More steps than the layer has above it are bad input.

    A layer's draw depends on (``seed``, layer name) only (``agents.init.reinit_layers``), so a
    layer re-drawn at one step keeps the same random weights at every later step."""
    arch = architecture_of(checkpoint)
    steps = arch.cascade_for(layer)
    if depth > len(steps):
        raise InterpbenchError(f"{arch.name} has {len(steps)} cascade step(s) above layer "
                               f"{arch.layer(layer).name!r} ({[s for s, _ in steps]}); {depth} asked for")
    out = []
    for k, (step, _) in enumerate(steps[:depth]):
        names = [name for _, layers in steps[: k + 1] for name in layers]
        model = arch.reinit(copy.deepcopy(checkpoint.model), names, _seed(seed, 202))
        meta = {"name": f"{checkpoint.name}-cascade-{step}", "cascade_of": checkpoint.name, "cascade_step": step}
        out.append((step, Checkpoint(model.eval(), meta, None)))
    return out
