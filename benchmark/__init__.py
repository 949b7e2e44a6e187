"""interpbench harness: CoinRun frames, exact object masks, models, attribution, validation.

Submodules are imported explicitly (``from interpbench.frames.build import FrameSet``) so that the CLI
and the metric registry can start without importing torch or procgen.
"""

__version__ = "0.1.0"
