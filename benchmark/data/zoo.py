"""The checkpoint zoo as a table: one reader for every stage that lists checkpoints.

A zoo is a folder of ``<method>-L<levels>-r<run>.safetensors`` weights, each with a ``.json``
beside it saying how it was made and what it measured. The reader is strict: a checkpoint with
only one of its two files, two checkpoints claiming the same (method, level count, run), or
metadata with the wrong types (or NaN, which Python's json accepts) is bad input, named, never
skipped in silence. A JSON that records ``weights_sha256`` (``save_checkpoint`` writes it) must
describe the weights beside it: weights of one checkpoint under another's JSON are refused.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd

from interpbench.data.sidecar import check_weights_hash, describe, loads_strict
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.resources import package_path


def default_zoo() -> Path:
    """The shipped zoo (``baselines/zoo`` in a checkout, package data when installed)."""
    return package_path("interpbench.baselines", "zoo")


def known_answer_zoo() -> Path:
    """The shipped known-answer zoo of glass-box agents (``baselines/zoo-known``; docs/known-answer.md)."""
    return package_path("interpbench.baselines", "zoo-known")


def _rate(meta: dict[str, Any], split: str, path: Path) -> float:
    result = meta.get(f"{split}_completion")
    if not isinstance(result, dict):
        raise InterpbenchError(f"{path}: {split}_completion must be an object with a completion_rate in [0, 1], "
                               f"got {result!r}")
    rate = result.get("completion_rate", result.get("rate"))
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not math.isfinite(rate) or not 0 <= rate <= 1:
        raise InterpbenchError(f"{path}: {split}_completion needs a completion_rate in [0, 1], got {rate!r}")
    return float(rate)


def _int(meta: dict[str, Any], key: str, path: Path) -> int:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InterpbenchError(f"{path}: {key} must be an integer, got {value!r}")
    return value


def read_zoo_metadata(zoo_dir: str | Path) -> list[dict[str, Any]]:
    """Every checkpoint's JSON (plus ``path``: its weights), ordered by method, level count, run."""
    zoo_dir = Path(zoo_dir)
    if not zoo_dir.is_dir():
        raise InterpbenchError(f"zoo folder not found: {zoo_dir}")
    weights = {p.stem for p in zoo_dir.glob("*.safetensors")}
    described = {p.stem for p in zoo_dir.glob("*.json")}
    half = sorted(weights ^ described)
    if half:
        raise InterpbenchError(f"{zoo_dir}: checkpoint(s) with only one of .json and .safetensors: {half}")
    odd = sorted(p.name for p in (*zoo_dir.glob("*.safetensors"), *zoo_dir.glob("*.json")) if not p.is_file())
    if odd:
        raise InterpbenchError(f"{zoo_dir}: not regular files: {odd}")
    metas = []
    for stem in sorted(described):
        meta_path = zoo_dir / f"{stem}.json"
        try:
            meta = loads_strict(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, NaN
            raise InterpbenchError(f"{meta_path}: not a zoo checkpoint description: {describe(exc)}") from exc
        if not isinstance(meta, dict) or not isinstance(meta.get("method"), str):
            raise InterpbenchError(f"{meta_path}: not a zoo checkpoint description (no method)")
        weights_path = zoo_dir / f"{stem}.safetensors"
        check_weights_hash(meta, meta_path, weights_path)
        metas.append({**meta, "name": stem, "path": str(weights_path),
                      "num_levels": _int(meta, "num_levels", meta_path), "run": _int(meta, "run", meta_path),
                      "test_completion_rate": _rate(meta, "test", meta_path)})
    keys: dict[tuple[str, int, int], str] = {}
    for meta in metas:
        key = (meta["method"], meta["num_levels"], meta["run"])
        if key in keys:
            raise InterpbenchError(f"{zoo_dir}: {keys[key]} and {meta['name']} are both {key[0]} L={key[1]} run {key[2]}")
        keys[key] = meta["name"]
    if not metas:
        raise InterpbenchError(f"no checkpoints (*.json + *.safetensors) in {zoo_dir}")
    return sorted(metas, key=lambda m: (m["method"], m["num_levels"], m["run"]))


def read_zoo(zoo_dir: str | Path) -> pd.DataFrame:
    """The zoo's checkpoints indexed by name: method, num_levels, run, preset, test_completion, path."""
    rows = [{"name": m["name"], "method": m["method"], "num_levels": m["num_levels"], "run": m["run"],
             "preset": m.get("preset", ""), "test_completion": m["test_completion_rate"], "path": m["path"]}
            for m in read_zoo_metadata(zoo_dir)]
    return pd.DataFrame(rows).set_index("name")
