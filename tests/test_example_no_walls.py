"""examples/no_walls.py: loads as a plugin file, and its variants ignore walls but nothing else."""

from __future__ import annotations

import numpy as np

from interpbench.data.frameset import MASK_CLASSES
from interpbench.infra.provenance import REPO_ROOT
from interpbench.metrics import registry
from interpbench.metrics.testing import make_attribution, make_frames

PLUGIN = REPO_ROOT / "examples" / "no_walls.py"
BASES = ("raw-overlap", "attribution-mass", "chance-corrected-overlap", "chance-corrected-mass")


def test_variants_score_the_small_objects_only() -> None:
    assert sorted(registry.load_plugin_file(PLUGIN)) == sorted(f"{b}-no-walls" for b in BASES)
    labels = np.zeros((2, 64, 64), np.int64)
    labels[:, :, :32] = MASK_CLASSES.index("wall")  # walls on the left half
    labels[:, 30:34, 40:44] = MASK_CLASSES.index("coin")  # a coin on the right
    maps = np.zeros((2, 2, 64, 64), np.float32)
    maps[:, 0, :, :32] = 1.0  # feature 0 looks at the walls
    maps[:, 1, 30:34, 40:44] = 1.0  # feature 1 at the coin
    attr, frames = make_attribution(maps), make_frames(labels)
    for base in BASES:
        with_walls = registry.get(base).score(attr, frames)
        no_walls = registry.get(f"{base}-no-walls").score(attr, frames)
        assert no_walls[1] > 0 and no_walls[0] <= 0, base  # the coin still counts, walls no more
        assert with_walls[0] > 0, base
