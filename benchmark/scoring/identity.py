"""What a metric *is*, for the score cache: its spec and the code that computes it.

A cached score is valid while neither the metric's parameters nor its code change. The code is
the metric's own module and the ``interpbench.metrics`` modules it draws on (its base classes
and the helpers it imports, followed transitively), not its whole folder: editing one built-in
re-scores that built-in alone. A metric may instead declare ``version``; one defined where no
source file exists (a notebook cell, ``python -c``) is identified by its compiled code.
"""

from __future__ import annotations

import hashlib
import inspect
import sys
import types
from typing import Any

from interpbench.infra.cache import cache_key

#: Modules whose edits cannot change a score (registration and error plumbing).
NEUTRAL_MODULES = frozenset({"interpbench.metrics.registry", "interpbench.metrics"})


def module_source(name: str) -> str | None:
    """The source text of module ``name``, or None where it has no source file."""
    module = sys.modules.get(name)
    if module is None:
        return None
    try:
        return inspect.getsource(module)
    except (OSError, TypeError):
        return None


def _own_metric_modules(module_name: str) -> bool:
    """A metric module of ours (not the registry), or any module outside the harness: a plugin
    file (``interpbench_plugin_<stem>``), an entry-point package, a notebook's ``__main__``."""
    if module_name in NEUTRAL_MODULES or module_name == "builtins":
        return False
    return module_name.startswith("interpbench.metrics.") or not module_name.startswith("interpbench.")


def _dependencies(cls: type) -> list[str]:
    """The metric's class's module, its bases' modules, and the metric modules they import."""
    seen: set[str] = set()
    todo = [c.__module__ for c in cls.__mro__ if c is not object]
    while todo:
        name = todo.pop()
        if name in seen or not _own_metric_modules(name):
            continue
        seen.add(name)
        module = sys.modules.get(name)
        for value in vars(module).values() if module else ():
            owner = value.__name__ if isinstance(value, types.ModuleType) else getattr(value, "__module__", None)
            if isinstance(owner, str) and owner.startswith("interpbench.metrics.") and owner not in seen:
                todo.append(owner)
    return sorted(seen)


def _code_digest(obj: Any, h: Any) -> None:
    """Feed the compiled code of a class's functions (recursively, constants included) into ``h``."""
    if isinstance(obj, types.CodeType):
        h.update(obj.co_code)
        h.update(repr(obj.co_names).encode())
        for const in obj.co_consts:
            if isinstance(const, types.CodeType):
                _code_digest(const, h)
            else:
                h.update(repr(const).encode())
    elif isinstance(obj, (types.FunctionType, types.MethodType)):
        _code_digest(obj.__code__, h)
    elif isinstance(obj, (staticmethod, classmethod)):
        _code_digest(obj.__func__, h)
    elif isinstance(obj, property):
        for part in (obj.fget, obj.fset):
            if part is not None:
                _code_digest(part, h)


def code_identity(cls: type) -> str:
    """sha256 of the code behind ``cls``'s scores (module docstring)."""
    h = hashlib.sha256()
    for name in _dependencies(cls):
        source = module_source(name)
        h.update(name.encode())
        if source is not None:
            h.update(source.encode())
        else:  # no source file: the compiled code of every class of that module in the MRO
            for klass in (c for c in cls.__mro__ if c.__module__ == name):
                for attr, value in sorted(vars(klass).items()):
                    h.update(attr.encode())
                    _code_digest(value, h)
    return h.hexdigest()


def metric_identity(metric: Any) -> str:
    """The cache identity of a metric instance from ``registry.get``: spec, parameters, code."""
    version = getattr(metric, "version", None)
    code = f"version:{version}" if version is not None else code_identity(type(metric))
    params = getattr(metric, "params", {})
    return f"{getattr(metric, 'spec', metric.name)}@{cache_key({'params': params, 'code': code})}"
