"""interpbench: a benchmark and validation harness for interpretability metrics of CoinRun agents.

The public API for metric authors, importable from the top and cheap (numpy only)::

    from interpbench import BaseMetric, register

    @register("my-metric")
    class MyMetric(BaseMetric):
        def score_frames(self, attr, frames): ...   # (N, F): the score is their mean over frames

Pipeline steps (scoring a zoo, validating against the judgments) live in ``interpbench.api``,
which imports torch; stages are subpackages named in data-flow order (docs/architecture.md).
"""

from interpbench.metrics.base import BaseMetric, Metric, MetricError, model_score
from interpbench.metrics.registry import available, get, load_plugin_file, register, register_variant

__version__ = "0.1.0"

__all__ = [
    "BaseMetric",
    "Metric",
    "MetricError",
    "available",
    "get",
    "load_plugin_file",
    "model_score",
    "register",
    "register_variant",
]
