"""interpbench: a benchmark and validation harness for interpretability metrics of CoinRun agents.

The public API for metric authors, importable from the top and cheap (numpy only)::

    from interpbench import BaseMetric, register

    @register("my-metric")
    class MyMetric(BaseMetric):
        def score_frames(self, attr, frames): ...   # (N, F): the score is their mean over frames

Pipeline steps (scoring a zoo, validating against the judgments) live in ``interpbench.api``,
which imports torch; stages are subpackages named in data-flow order (docs/architecture.md).
``interpbench.evaluate`` and ``interpbench.Result`` (one metric on a zoo, for notebooks; see
docs/python-api.md) are imported from ``interpbench.api`` on first use, so ``import interpbench``
stays cheap.
"""

from interpbench.metrics.base import BaseMetric, Metric, MetricError, model_score
from interpbench.metrics.registry import available, get, load_plugin_file, register, register_variant

__version__ = "0.1.0"

#: Names served lazily from ``interpbench.api`` (which imports torch and pandas).
_LAZY = ("evaluate", "Result")


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module 'interpbench' has no attribute {name!r}")
    from interpbench import api  # on first use only, so ``import interpbench`` stays cheap

    return getattr(api, name)


__all__ = [
    "BaseMetric",
    "Result",
    "Metric",
    "MetricError",
    "available",
    "evaluate",
    "get",
    "load_plugin_file",
    "model_score",
    "register",
    "register_variant",
]
