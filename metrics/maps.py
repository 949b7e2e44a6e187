"""Array helpers every metric shares: signed/abs/positive maps, object masks, safe ratios, top-k hits.

All arrays are flattened over pixels: maps become float32 (N, F, P) and masks bool (N, P) with
P = 64 * 64, so that per-map reductions are one numpy call over the last axis.

Derived arrays (the positive part of 16 M attributions, the object mask) cost tens of
milliseconds each and most metrics need the same ones, so they are memoised per data object
(by identity, weakly, read-only). The data objects are treated as immutable once built.
"""

from __future__ import annotations

import functools
import math
import os
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Literal

import numpy as np

if TYPE_CHECKING:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.data.frameset import FrameSet

Sign = Literal["positive", "abs", "signed"]
SIGNS: tuple[str, ...] = ("positive", "abs", "signed")

_memo: weakref.WeakKeyDictionary[object, dict[tuple, np.ndarray]] = weakref.WeakKeyDictionary()


def memoised(owner: object, key: tuple, compute: Callable[[], np.ndarray]) -> np.ndarray:
    """``compute()``, once per (data object, key), returned read-only."""
    entries = _memo.setdefault(owner, {})
    if key not in entries:
        value = compute()
        value.setflags(write=False)
        entries[key] = value
    return entries[key]


def check_sign(sign: str) -> Sign:
    if sign not in SIGNS:
        raise ValueError(f"sign must be one of {SIGNS}, got {sign!r}")
    return sign  # type: ignore[return-value]


def signed_part(values: np.ndarray, sign: Sign) -> np.ndarray:
    """``max(a, 0)`` ("positive": evidence *for* the head's output), ``|a|`` or ``a`` itself."""
    if sign == "positive":
        return np.maximum(values, 0)
    if sign == "abs":
        return np.abs(values)
    return values


def flat_maps(attr: AttributionSet, sign: Sign = "positive") -> np.ndarray:
    """float32 (N, F, P): the input-resolution maps, flattened, after :func:`signed_part`."""
    check_sign(sign)
    n, f = attr.maps.shape[:2]
    return memoised(
        attr, ("maps", sign), lambda: signed_part(attr.maps.reshape(n, f, -1), sign).astype(np.float32, copy=False)
    )


def object_classes(frames: FrameSet, classes: Sequence[str] | None) -> tuple[str, ...]:
    """The "objects of interest": ``classes`` as given, or every class of ``frames`` but background."""
    if classes is None:
        return tuple(c for c in frames.classes if c != "background")
    for name in classes:
        frames.class_index(name)  # raises with the valid names
    return tuple(classes)


def object_mask(frames: FrameSet, classes: Sequence[str] | None = None) -> np.ndarray:
    """bool (N, P): pixels that show any of the object classes (see :func:`object_classes`)."""
    names = object_classes(frames, classes)
    return memoised(
        frames,
        ("objects", names),
        lambda: frames.object_mask(names).reshape(len(frames), -1),
    )


def object_area_share(frames: FrameSet, classes: Sequence[str] | None = None) -> np.ndarray:
    """float64 (N,): |S_n| / P, the share of each frame's pixels on objects."""
    return object_mask(frames, classes).mean(axis=-1, dtype=np.float64)


def ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, and 0 where the denominator is 0.

    A feature with no attribution at all (or a frame with nothing to score) points at nothing,
    so it scores 0 rather than NaN; NaN would be an error in ``checked_scores``.
    """
    numerator = np.asarray(numerator, dtype=np.float64)
    denominator = np.asarray(denominator, dtype=np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, 0.0, numerator / safe)


def mass_on(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """float64 (N, F): sum of ``values`` (N, F, P) over the pixels where ``mask`` (N, P) is set.

    einsum, not ``values @ mask[..., None]``: that matmul is one tiny multi-threaded OpenBLAS
    call per frame, whose thread hand-offs stall when other processes keep the cores busy (a
    report scored beside a training run was several times slower for it); einsum's
    single-threaded loop does not care, and on idle cores costs about the same.
    """
    return np.einsum("nfp,np->nf", values, mask.astype(values.dtype)).astype(np.float64)


def top_k_count(n_pixels: int, share: float) -> int:
    """k for "the top ``share`` of pixels": ceil(share * P), at least 1."""
    if not 0 < share <= 1:
        raise ValueError(f"share must be in (0, 1], got {share}")
    return max(1, math.ceil(share * n_pixels - 1e-9))


def kth_largest(values: np.ndarray, k: int) -> np.ndarray:
    """(..., 1): the k-th largest value along the last axis of ``values`` (..., P).

    Most of a top-k metric's time. numpy < 2 has no SIMD partition, and its float partition pays
    for NaN-aware comparisons; float32 maps (always finite here) are partitioned as int32 keys
    that sort in the same order, which is faster, and the k-th key is turned back.
    """
    n_pixels = values.shape[-1]
    as_keys = values.dtype == np.float32
    kth = np.partition(_order_keys(values) if as_keys else values, n_pixels - k, axis=-1)[
        ..., n_pixels - k : n_pixels - k + 1
    ]
    return _order_keys(kth).view(np.float32) if as_keys else kth


def _order_keys(values: np.ndarray) -> np.ndarray:
    """int32 keys ordered like the float32 ``values`` (-0.0 just below +0.0); its own inverse.

    A float's bits read as int32 order the non-negative floats correctly and the negative ones
    backwards; flipping a negative float's magnitude bits puts those in order too.
    """
    bits = values.view(np.int32)
    return bits ^ ((bits >> 31) & np.int32(0x7FFFFFFF))


# The cores this process may use (sched_getaffinity is Linux-only; elsewhere all of them);
# $INTERPBENCH_THREADS overrides the thread count (results do not depend on it).
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_THREADS = max(1, int(os.environ.get("INTERPBENCH_THREADS") or min(_CORES, 8)))


def set_threads(threads: int) -> int:
    """Split top-k work over ``threads`` threads from now on (default: the cores, at most 8);
    returns the previous count. Results do not depend on it: each frame is counted by one
    thread; speed comparisons against single-threaded references set it to 1."""
    global _THREADS
    previous, _THREADS = _THREADS, max(1, int(threads))
    if _pool.cache_info().currsize:
        _pool().shutdown(wait=False)
        _pool.cache_clear()
    return previous


@functools.cache
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(_THREADS, thread_name_prefix="interpbench-top-k")


def top_k_hits(values: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    """float64 (N, F): how many of the k largest pixels of each map (N, F, P) lie on ``mask`` (N, P).

    Pixels tied with the k-th largest value share the remaining places equally: with t the k-th
    largest value, hits = |{a > t} ∩ S| + (k - |{a > t}|) * |{a = t} ∩ S| / |{a = t}|. That is the
    expected count under random tie-breaking, so an all-zero map scores the mask's area share
    (chance) instead of an arbitrary 0 or 1, and with no ties it is the plain top-k intersection.
    """
    n_pixels = values.shape[-1]
    if not 1 <= k <= n_pixels:
        raise ValueError(f"k must be in [1, {n_pixels}], got {k}")
    hits = np.empty(values.shape[:2], dtype=np.float64)

    def count(frames: slice) -> None:
        hits[frames] = _top_k_hits(values[frames], mask[frames], k)

    # numpy's partition and comparisons release the GIL: the frames are split over the cores
    bounds = np.linspace(0, len(values), _THREADS + 1).astype(int)
    list(_pool().map(count, [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:])]))
    return hits


def _top_k_hits(values: np.ndarray, mask: np.ndarray, k: int) -> np.ndarray:
    kth = values.max(axis=-1, keepdims=True) if k == 1 else kth_largest(values, k)
    on = mask[:, None, :]
    chosen = values >= kth
    hits = np.count_nonzero(chosen & on, axis=-1).astype(np.float64)
    excess = np.count_nonzero(chosen, axis=-1) - k  # pixels tied at the k-th value beyond k
    rows, cols = np.nonzero(excess)  # usually few: only they need the tie share
    if len(rows):
        tied = values[rows, cols] == kth[rows, cols]
        share = np.count_nonzero(tied & mask[rows], axis=-1) / np.count_nonzero(tied, axis=-1)
        hits[rows, cols] -= excess[rows, cols] * share
    return hits
