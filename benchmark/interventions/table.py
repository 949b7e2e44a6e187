"""The measured intervention tables: small CSVs with a provenance JSON each, read strictly.

They are *measured* ground truth (interventions on the models), never human judgments: every
provenance says ``"source": "measured"``, and they live in their own folder
(``baselines/interventions/``, shipped as package data), apart from ``human_labels/``.

A table is ``<name>.csv`` plus ``<name>.json``; the JSON records the command, the code
version, the frames or episodes, the CSV's columns and its sha256, so an edited, truncated or
mismatched CSV is refused with one error instead of being read as ground truth.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from interpbench.infra import atomic
from interpbench.infra.errors import CorruptFileError
from interpbench.infra.resources import package_path

FORMAT = "interpbench.interventions/1"
#: Required columns of each kind (object dependence adds one ``drop_<class>`` per hidden class).
KINDS: dict[str, tuple[str, ...]] = {
    "object_dependence": ("checkpoint", "num_levels", "feature", "top_class", "selectivity", "top_share",
                          "n_classes", "frames"),
    "ablation": ("checkpoint", "num_levels", "feature", "episodes", "completed", "saw", "enemy", "lava", "multiple",
                 "timeout", "unexplained"),
}
#: Columns that must be finite wherever they appear.
_FINITE = ("feature", "n_classes", "frames", "episodes", "completed", "saw", "enemy", "lava", "multiple",
           "timeout", "unexplained")


def shipped_dir() -> Path:
    """The folder of the shipped tables (a checkout's ``baselines/interventions/`` or the wheel's)."""
    return package_path("interpbench.baselines", "interventions")


@dataclass(frozen=True)
class MeasuredTable:
    """A measured table and where it came from."""

    kind: str
    rows: pd.DataFrame
    provenance: dict[str, Any]


def _csv_bytes(rows: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    rows.to_csv(buffer, index=False, float_format="%.6g")
    return buffer.getvalue().encode()


def write_table(path: str | Path, kind: str, rows: pd.DataFrame, provenance: dict[str, Any]) -> Path:
    """Write ``path``.csv and ``path``.json (the CSV first, both atomically); returns the CSV path."""
    _check_rows(kind, rows, Path(path))
    base = Path(path).with_suffix("")
    data = _csv_bytes(rows)
    meta = {**provenance, "format": FORMAT, "kind": kind, "source": "measured", "columns": list(rows.columns),
            "rows": len(rows), "csv_sha256": hashlib.sha256(data).hexdigest()}
    atomic.write_bytes(base.with_suffix(".csv"), data)
    atomic.write_json(base.with_suffix(".json"), meta)
    return base.with_suffix(".csv")


def load_table(path: str | Path, kind: str) -> MeasuredTable:
    """Read a table strictly: both files, the right kind and format, the CSV unchanged since it was
    written, the required columns present and finite. Anything else is ``CorruptFileError``."""
    base = Path(path).with_suffix("")
    csv, js = base.with_suffix(".csv"), base.with_suffix(".json")
    for file in (csv, js):
        if not file.is_file():
            raise CorruptFileError(f"measured table {base}: {file.name} is missing (a table is a .csv and a .json)")
    try:
        meta = json.loads(js.read_text())
    except (OSError, ValueError) as exc:
        raise CorruptFileError(f"measured table {js}: unreadable provenance ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("kind") != kind:
        raise CorruptFileError(f"measured table {js}: expected format {FORMAT!r} of kind {kind!r}")
    if meta.get("source") != "measured":
        raise CorruptFileError(f"measured table {js}: source is {meta.get('source')!r}, not 'measured'")
    data = csv.read_bytes()
    if hashlib.sha256(data).hexdigest() != meta.get("csv_sha256"):
        raise CorruptFileError(f"measured table {csv}: contents differ from those recorded in {js.name}")
    rows = pd.read_csv(io.BytesIO(data), keep_default_na=True, dtype={"top_class": str, "checkpoint": str})
    if list(rows.columns) != meta.get("columns"):
        raise CorruptFileError(f"measured table {csv}: columns differ from those recorded in {js.name}")
    _check_rows(kind, rows, csv)
    return MeasuredTable(kind, rows, meta)


def _check_rows(kind: str, rows: pd.DataFrame, where: Path) -> None:
    if kind not in KINDS:
        raise CorruptFileError(f"unknown measured-table kind {kind!r}; known: {list(KINDS)}")
    missing = [c for c in KINDS[kind] if c not in rows.columns]
    if missing:
        raise CorruptFileError(f"measured table {where}: missing column(s) {missing}")
    for column in (c for c in _FINITE if c in rows.columns):
        values = pd.to_numeric(rows[column], errors="coerce").to_numpy(float)
        if not np.isfinite(values).all():
            raise CorruptFileError(f"measured table {where}: column {column!r} has missing or non-numeric values")
    if kind == "object_dependence":
        sel = rows["selectivity"].to_numpy(float)
        if (sel[np.isfinite(sel)] < -1e-9).any() or (sel[np.isfinite(sel)] > 1 + 1e-9).any():
            raise CorruptFileError(f"measured table {where}: selectivity outside [0, 1]")
    if rows.duplicated(["checkpoint", "feature"]).any():
        raise CorruptFileError(f"measured table {where}: a (checkpoint, feature) appears twice")
