"""Metric registry: built-ins by decorator, third parties by entry point, plugin file or notebook.

Modelled on torchmetrics / lm-evaluation-harness registries: a name maps to a factory; a
``MetricInfo`` records where each came from, so ``interpbench metrics list`` can say it.
Discovery imports only numpy-level code: a plugin must not import torch at module level.

Metrics take parameters through the registry: ``get("attribution-mass", classes=("coin",))``, or
the same as a *spec* string, ``attribution-mass[classes=coin]``, usable on the command line
(values: numbers, ``true``/``false``/``none``, words; ``+`` joins a sequence,
``classes=coin+saw``). The canonical spec (parameters sorted) names the metric in the score
cache and on the leaderboard, so two spellings of one configuration share their scores.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import inspect
import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

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
BUILT_IN = "built-in"


@dataclass(frozen=True)
class MetricInfo:
    name: str
    factory: Callable[..., Metric]
    description: str
    higher_is_better: bool
    origin: str  # "built-in", "entry point <dist>", "plugin <path>" or "module <name>"
    params: dict[str, Any] = field(default_factory=dict)  # fixed parameters of a registered variant


_REGISTRY: dict[str, MetricInfo] = {}
_plugin_files: dict[Path, list[str]] = {}
_loaded = False
_current_origin: str | None = None  # set while built-ins, entry points or plugin files import


NAME_PATTERN = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")
SPEC_PATTERN = re.compile(r"^(?P<name>[^\[\]]+?)(?:\[(?P<params>[^\[\]]*)\])?$")


def _check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise MetricError(f"metric name {name!r} is not kebab-case (e.g. 'coin-overlap')")


def _add(info: MetricInfo) -> None:
    """Enter ``info``; the same name again from the same origin or the same class (a re-run
    notebook cell, a reloaded module) replaces it with a warning, from elsewhere it is an error."""
    old = _REGISTRY.get(info.name)
    if old is not None and old.factory is not info.factory:
        same_class = getattr(old.factory, "__qualname__", None) == getattr(info.factory, "__qualname__", "")
        if old.origin != info.origin and not same_class:
            raise MetricError(f"metric name {info.name!r} is registered twice ({old.origin} and {info.origin})")
        warnings.warn(f"metric {info.name!r} registered again ({info.origin}); the new definition replaces the old",
                      stacklevel=3)
    _REGISTRY[info.name] = info


def _description(obj: object) -> str:
    doc = (getattr(obj, "__doc__", None) or "").strip().splitlines()
    return doc[0] if doc else ""


def _origin_of(module: str) -> str:
    """Where a metric registered outside any loader comes from: a built-in module imported
    directly (before the registry loaded it) is still a built-in."""
    return BUILT_IN if module in BUILTIN_MODULES else f"module {module}"


def register(name: str) -> Callable[[type], type]:
    """Class decorator: ``@register("raw-overlap")`` makes the class's instances available by name.

    The class is the factory (``get`` calls it with the spec's parameters); the first line of its
    docstring is the description ``interpbench metrics list`` shows.
    """
    _check_name(name)

    def decorate(cls: type) -> type:
        cls.name = name  # type: ignore[attr-defined]
        _add(MetricInfo(name=name, factory=cls, description=_description(cls),
                        higher_is_better=bool(getattr(cls, "higher_is_better", True)),
                        origin=_current_origin or _origin_of(cls.__module__)))
        return cls

    return decorate


def register_variant(name: str, base: str, description: str | None = None, **params: Any) -> None:
    """Register ``name`` as metric ``base`` with fixed parameters: a variant without a subclass.

    ``register_variant("raw-overlap-no-walls", "raw-overlap", classes=("agent", "coin"))``.
    """
    _check_name(name)
    info = available().get(base)
    if info is None:
        raise MetricError(f"cannot make variant {name!r} of unknown metric {base!r}")
    params = _normalised(params)
    _build(info, params)  # the parameters must fit the base metric now, not at scoring time
    _add(MetricInfo(name=name, factory=info.factory, higher_is_better=info.higher_is_better,
                    description=description or f"{info.description} ({canonical_params(params)})",
                    origin=_current_origin or "module __main__", params={**info.params, **params}))


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
    available()  # built-ins first, so a plugin can make variants of them
    before = set(_REGISTRY)
    module_name = f"interpbench_plugin_{path.stem}"

    def load() -> None:
        spec = importlib.util.spec_from_file_location(module_name, path)
        if spec is None or spec.loader is None:
            raise MetricError(f"plugin {path} cannot be imported as a module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)

    try:
        _import_as(f"plugin {path}", load)
    except MetricError:
        raise
    except (Exception, SystemExit) as exc:  # SystemExit too: an import must not end the run as a success
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
        _import_as(BUILT_IN, functools.partial(importlib.import_module, module))
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist.name if ep.dist else "?"
        try:
            _import_as(f"entry point {dist}:{ep.value}", functools.partial(_register_entry_point, ep))
        except (Exception, SystemExit) as exc:  # a broken plugin must not hide the others
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


# -- specs and instances ---------------------------------------------------------------------------


def _parse_value(text: str) -> Any:
    word = text.strip()
    lowered = word.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    if "+" in word:
        return tuple(_parse_value(part) for part in word.split("+"))
    for parse in (int, float):
        try:
            return parse(word)
        except ValueError:
            pass
    return word


def _format_value(value: Any) -> str:
    if isinstance(value, (tuple, list)):
        return "+".join(_format_value(v) for v in value)
    if value is None or isinstance(value, bool):
        return str(value).lower()
    return str(value)


def canonical_params(params: dict[str, Any]) -> str:
    return ",".join(f"{key}={_format_value(params[key])}" for key in sorted(params))


def parse_spec(spec: str) -> tuple[str, dict[str, Any]]:
    """``"name[key=value,...]"`` -> (name, parameters); a bare name has none."""
    match = SPEC_PATTERN.match(spec.strip())
    if match is None:
        raise MetricError(f"metric spec {spec!r} is not NAME or NAME[key=value,...]")
    params: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in (match["params"] or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip().isidentifier():
            raise MetricError(f"metric spec {spec!r}: parameter {item!r} is not key=value")
        params[key.strip()] = _parse_value(value)
    return match["name"].strip(), params


def split_specs(text: str) -> list[str]:
    """Comma-separated specs, commas inside brackets kept: ``"a,b[x=1,y=2]"`` -> ["a", "b[x=1,y=2]"]."""
    specs, depth, current = [], 0, ""
    for char in text:
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == "," and depth == 0:
            specs.append(current)
            current = ""
        else:
            current += char
    specs.append(current)
    return [s.strip() for s in specs if s.strip()]


def _normalised(params: dict[str, Any]) -> dict[str, Any]:
    """One spelling per configuration: ``classes`` as a sorted tuple (a union of masks has no order;
    one class named on the command line is a one-element tuple)."""
    classes = params.get("classes")
    if classes is None:
        return params
    return {**params, "classes": tuple(sorted({classes} if isinstance(classes, str) else set(classes)))}


def _build(info: MetricInfo, params: dict[str, Any]) -> Metric:
    factory_params = {**info.params, **params}
    if inspect.isclass(info.factory):
        signature = inspect.signature(info.factory)
        for key in factory_params:
            parameter = signature.parameters.get(key)
            if parameter is None and not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
                valid = [p for p in signature.parameters if p != "self"]
                raise MetricError(f"metric {info.name!r} has no parameter {key!r}; it takes {valid or 'none'}")
    try:
        metric = info.factory(**factory_params)
    except MetricError:
        raise
    except (TypeError, ValueError) as exc:
        raise MetricError(f"metric {info.name!r} rejects parameters {factory_params}: {exc}") from exc
    return metric


def _without_defaults(info: MetricInfo, params: dict[str, Any]) -> dict[str, Any]:
    """``params`` less those equal to the factory's defaults: one configuration, one spec."""
    if not inspect.isclass(info.factory):
        return params
    defaults = {k: p.default for k, p in inspect.signature(info.factory).parameters.items()
                if p.default is not inspect.Parameter.empty}
    return {k: v for k, v in params.items() if not (k in defaults and defaults[k] == v and k not in info.params)}


def canonical_spec(spec: str) -> str:
    """The spec with its parameters sorted and defaults left out: the metric's name in caches
    and reports (``get(spec).spec``)."""
    return str(get(spec).spec)  # type: ignore[attr-defined]


def get(spec: str, **params: Any) -> Metric:
    """A fresh instance of the metric ``spec`` names (``name`` or ``name[key=value,...]``), with
    ``params`` added; it carries ``spec``, its canonical spec, and ``params``, its parameters."""
    name, spec_params = parse_spec(spec)
    metrics = available()
    if name not in metrics:
        raise MetricError(f"unknown metric {name!r}; registered: {', '.join(metrics) or 'none'}")
    params = _without_defaults(metrics[name], _normalised({**spec_params, **params}))
    metric = _build(metrics[name], params)
    metric.name = name
    metric.spec = f"{name}[{canonical_params(params)}]" if params else name  # type: ignore[attr-defined]
    metric.params = {**metrics[name].params, **params}  # type: ignore[attr-defined]
    return metric
