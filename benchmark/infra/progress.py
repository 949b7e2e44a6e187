"""Progress for long commands: a bar on a terminal, a plain line now and then in a log.

A bar's carriage returns and escape codes turn a CI log into kilobytes of noise, so when stderr
is not a terminal the same calls print ``desc: i/n`` lines, at most one every ``LOG_EVERY_S``
seconds (and at the end).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
LOG_EVERY_S = 30.0


class _LogLines:
    def __init__(self, iterable: Iterable[Any] | None, total: int | None, desc: str, initial: int = 0) -> None:
        self.iterable, self.desc, self.n = iterable, desc, initial
        self.total = total if total is not None else (len(iterable) if hasattr(iterable, "__len__") else None)  # type: ignore[arg-type]
        self.postfix = ""
        self._last = time.monotonic()

    def __iter__(self) -> Iterator[Any]:
        for item in (() if self.iterable is None else self.iterable):
            yield item
            self.update()

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= LOG_EVERY_S or (self.total is not None and self.n >= self.total):
            self._last = now
            total = self.total if self.total is not None else "?"
            print(f"{self.desc}: {self.n}/{total}{self.postfix}", file=sys.stderr, flush=True)

    def set_postfix(self, values: dict[str, Any] | None = None, **more: Any) -> None:
        """Shown with the next line, as tqdm shows it beside the bar."""
        items = {**(values or {}), **more}
        self.postfix = " " + ", ".join(f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}" for k, v in items.items())

    def close(self) -> None:
        return None

    def __enter__(self) -> _LogLines:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class _Silent(_LogLines):
    def update(self, n: int = 1) -> None:
        self.n += n


def progress_bar(iterable: Iterable[T] | None = None, *, total: int | None = None, desc: str = "", unit: str = "it",
                 enabled: bool = True, initial: int = 0) -> Any:
    """``tqdm`` on a terminal, periodic log lines elsewhere, nothing when not ``enabled``.

    Usable as an iterable wrapper or as a context manager with ``update()``, ``set_postfix()``
    and ``close()``."""
    if not enabled:
        return _Silent(iterable, total, desc, initial)
    if sys.stderr.isatty():
        from tqdm import tqdm

        return tqdm(iterable, total=total, desc=desc, unit=unit, leave=False, initial=initial)
    return _LogLines(iterable, total, desc, initial)
