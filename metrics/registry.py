"""Metric registry: built-ins by decorator, third parties by entry point or plugin file.

Modelled on torchmetrics / lm-evaluation-harness registries: a name maps to a factory; a
``MetricInfo`` records where each came from, so ``interpbench metrics list`` can say it.
Discovery imports only numpy-level code: a plugin must not import torch at module level.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

from interpbench.metrics.base import Metric, MetricError

ENTRY_POINT_GROUP = "interpbench.metrics"
BUILTIN_MODULES: tuple[str, ...] = (
    "interpbench.metrics.raw_overlap",
    "interpbench.metrics.area_normalized",
    "interpbench.metrics.receptive_field_weighted",
    "interpbench.metrics.thresholded_saliency",
    "interpbench.metrics.attribution_mass",
    "interpbench.metrics.chance_corrected",
    "interpbench.metrics.object_consistency",
    "interpbench.metrics.random_attribution",
    "interpbench.metrics.mask_area_prior",
    "interpbench.metrics.quantus_equivalents",
)


@dataclass(frozen=True)
class MetricInfo:
    name: str
    factory: Callable[[], Metric]
    description: str
    higher_is_better: bool
    origin: str  # "built-in", "entry point <dist>", or "plugin <path>"


_REGISTRY: dict[str, MetricInfo] = {}
_plugin_files: dict[Path, list[str]] = {}
_loaded = False
_current_origin = "built-in"


NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def register(name: str) -> Callable[[type], type]:
    """Class decorator: ``@register("raw-overlap")`` makes the class's instances available by name.

    The class is the factory (``get`` calls it with no arguments); the first line of its
    docstring is the description ``interpbench metrics list`` shows.
    """
    if not NAME_PATTERN.match(name):
        raise MetricError(f"metric name {name!r} is not kebab-case (e.g. 'coin-overlap')")

    def decorate(cls: type) -> type:
        if name in _REGISTRY and _REGISTRY[name].factory is not cls:
            raise MetricError(f"metric name {name!r} is registered twice ({_REGISTRY[name].origin} and {_current_origin})")
        cls.name = name
        doc = (cls.__doc__ or "").strip().splitlines()
        _REGISTRY[name] = MetricInfo(
            name=name,
            factory=cls,
            description=doc[0] if doc else "",
            higher_is_better=bool(getattr(cls, "higher_is_better", True)),
            origin=_current_origin,
        )
        return cls

    return decorate


def _import_as(origin: str, loader: Callable[[], object]) -> None:
    global _current_origin
    previous, _current_origin = _current_origin, origin
    try:
        loader()
    finally:
        _current_origin = previous


def load_plugin_file(path: str | Path) -> list[str]:
    """Import a ``.py`` file that registers metrics; returns the names it added."""
    path = Path(path).resolve()
    if not path.is_file():
        raise MetricError(f"plugin file not found: {path}")
    if path in _plugin_files:
        return _plugin_files[path]
    before = set(_REGISTRY)
    module_name = f"interpbench_plugin_{path.stem}"

    def load() -> None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)

    try:
        _import_as(f"plugin {path}", load)
    except MetricError:
        raise
    except Exception as exc:
        raise MetricError(f"plugin {path} failed to import: {type(exc).__name__}: {exc}") from exc
    _plugin_files[path] = sorted(set(_REGISTRY) - before)
    return _plugin_files[path]


def _load_all() -> list[str]:
    """Import built-ins and entry points once; returns plugin failures as messages."""
    global _loaded
    failures: list[str] = []
    if _loaded:
        return failures
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else "?"
        try:
            _import_as(f"entry point {dist}:{ep.value}", lambda: _register_entry_point(ep))
        except Exception as exc:  # a broken plugin must not hide the others
            failures.append(f"entry point {ep.name} ({dist}) failed to load: {type(exc).__name__}: {exc}")
    _load_failures.extend(failures)
    return failures


_load_failures: list[str] = []


def _register_entry_point(ep: EntryPoint) -> None:
    """Load ``ep``: a module registers its metrics by decorator when imported; a metric class
    that is not registered yet is registered under the entry point's name."""
    target = ep.load()
    if inspect.isclass(target) and not any(info.factory is target for info in _REGISTRY.values()):
        register(ep.name)(target)


def available() -> dict[str, MetricInfo]:
    """Every registered metric by name (built-ins, entry points, plugin files loaded so far)."""
    _load_all()
    return dict(sorted(_REGISTRY.items()))


def load_failures() -> list[str]:
    """Messages for entry-point plugins that failed to import."""
    _load_all()
    return list(_load_failures)


def get(name: str) -> Metric:
    """A fresh instance of the metric registered as ``name``."""
    metrics = available()
    if name not in metrics:
        raise MetricError(f"unknown metric {name!r}; registered: {', '.join(metrics) or 'none'}")
    return metrics[name].factory()
