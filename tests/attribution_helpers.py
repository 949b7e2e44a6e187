"""Small real CoinRun FrameSets for the attribution tests, built straight from the env.

Attribution needs only observations, so masks are all background; the full frame builder with
object masks (``interpbench.frames.build``) is tested on its own. Frames come from random play a few
steps into held-out levels, so the agent, coins and enemies are in varied places.
"""

from __future__ import annotations

import functools

import numpy as np

from interpbench.data.frameset import FrameSet
from interpbench.game.env import level_range, make_env


@functools.lru_cache(maxsize=4)
def env_frameset(n: int, seed: int = 0, steps: int = 12) -> FrameSet:
    """``n`` frames, one per held-out level, after ``steps`` random actions (cached per process)."""
    env = make_env(n, level_range("heldout"), seed=seed, num_threads=1)
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        env.act(rng.integers(0, 15, size=n, dtype=np.int32))
    _, obs, _ = env.observe()
    masks = np.zeros((n, 1, 64, 64), dtype=bool)
    masks[:, 0] = True
    return FrameSet(
        obs=obs["rgb"].copy(),
        masks=masks,
        classes=("background",),
        level_seeds=np.array([info["level_seed"] for info in env.get_info()], dtype=np.int64),
        states=[bytes(s) for s in env.callmethod("get_state")],
        provenance={"source": "tests/attribution_helpers.py", "seed": seed, "steps": steps},
    )
