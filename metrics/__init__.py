"""interpbench metrics: a registry of interpretability metrics scored on (AttributionSet, FrameSet).

Importing this package is cheap (numpy only); built-ins register when ``interpbench.metrics.registry`` loads
them, third-party metrics through the ``interpbench.metrics`` entry-point group or a plugin file.
"""

from interpbench.metrics.base import Metric, MetricError
from interpbench.metrics.registry import available, get, load_plugin_file, register

__all__ = ["Metric", "MetricError", "available", "get", "load_plugin_file", "register"]
