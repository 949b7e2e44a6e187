"""interpbench metrics: a registry of interpretability metrics scored on (AttributionSet, FrameSet).

Importing this package is cheap (numpy only); built-ins register when ``interpbench.metrics.registry``
loads them, third-party metrics through the ``interpbench.metrics`` entry-point group, a plugin
file, or a ``@register`` anywhere (a notebook cell included).
"""

from interpbench.metrics.base import BaseMetric, Metric, MetricError, model_score
from interpbench.metrics.registry import available, get, load_plugin_file, register, register_variant

__all__ = ["BaseMetric", "Metric", "MetricError", "available", "get", "load_plugin_file", "model_score", "register",
           "register_variant"]
