"""Human judgments: the published aggregate figures and per-feature judgment files, loaded strictly.

Why strict: a judgment file is the ground truth every metric is ranked against, so a typo (a
missing column, a feature index that does not exist, the same feature judged twice by one
labeller) must stop the run with the file and line named, never be skipped or coerced.

Two granularities (see ``human_labels/README.md`` for the schemas and every file's source):

* aggregate: percent of a model's features judged interpretable, per (level count, run,
  researcher), as published by Hilton et al. (Distill 2020); plus those models' completion rates.
* per feature: one judgment per (checkpoint, feature, labeller); ``made_by`` tells human
  judgments from model-made ones, which are never counted as human.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from interpbench.data.sidecar import describe
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.resources import package_path

LABELS_DIR = package_path("interpbench.human_labels")
DISTILL2020_DIR = LABELS_DIR / "distill2020"
PER_FEATURE_DIR = LABELS_DIR / "per_feature"

#: Per-feature judgment columns, in the order files are expected to use.
FEATURE_COLUMNS: tuple[str, ...] = (
    "checkpoint", "feature", "labeller", "scale", "judgment", "object", "confidence", "seconds", "made_by",
)
#: The largest judgment of each scale: binary judgments are 0/1, graded ones 0..10.
SCALES: dict[str, int] = {"binary": 1, "0-10": 10}


class LabelError(InterpbenchError):
    """A judgment file that cannot be used as it is; the message names the file and line."""


@dataclass(frozen=True)
class AggregateJudgments:
    """The published per-model figures, as fractions in [0, 1].

    interpretable: columns num_levels, run, researcher, interpretable.
    completion:    columns num_levels, run, train_completed, test_completed.
    source:        citation and protocol notes (``source.json``).
    """

    interpretable: pd.DataFrame
    completion: pd.DataFrame
    source: dict[str, Any]

    def by_researcher(self) -> pd.DataFrame:
        """Fraction interpretable, index (num_levels, run), one column per researcher."""
        return self.interpretable.pivot(index=["num_levels", "run"], columns="researcher", values="interpretable")

    def human_fraction(self) -> pd.Series:
        """Mean over researchers per (num_levels, run): the target a metric's ranking is compared to."""
        return self.by_researcher().mean(axis=1).rename("human")


# -- strict CSV reading ----------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    """The file as UTF-8 text (a leading byte-order mark is dropped); bytes that are not UTF-8 are
    refused with the line they are on."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LabelError(f"cannot read judgment file {path}: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LabelError(f"{path}, line {line}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start})") from None


def _rows(path: Path, required: Iterable[str]) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) pairs of a CSV file that has every ``required`` column."""
    if not path.is_file():
        raise LabelError(f"judgment file not found: {path}")
    reader = csv.DictReader(io.StringIO(_read_text(path), newline=""))
    rows = []
    try:
        missing = [c for c in required if c not in (reader.fieldnames or [])]
        if missing:
            raise LabelError(f"{path}: missing column(s) {missing}; header is {reader.fieldnames}")
        for row in reader:
            if None in row or any(v is None for v in row.values()):
                raise LabelError(f"{path}, line {reader.line_num}: expected {len(reader.fieldnames or ())} fields")
            rows.append((reader.line_num, {k: v.strip() for k, v in row.items()}))
    except csv.Error as exc:  # a NUL byte, an unterminated quote at the end of the file
        raise LabelError(f"{path}, line {reader.line_num}: not a CSV row: {describe(exc)}") from None
    return rows


def _field(path: Path, line: int, row: Mapping[str, str], column: str, parse: Callable[[str], Any],
           low: float | None = None, high: float | None = None, optional: bool = False) -> Any:
    """``parse(row[column])`` checked against [low, high]; an empty optional field gives None.

    NaN and infinities are refused whatever the range: ``float("nan")`` compares false with
    every bound, so a range check alone would let it through into every mean."""
    text = row[column]
    if text == "" and optional:
        return None
    try:
        value = parse(text)
    except ValueError:
        raise LabelError(f"{path}, line {line}: {column}={text!r} is not a valid {parse.__name__}") from None
    if isinstance(value, float) and not math.isfinite(value):
        raise LabelError(f"{path}, line {line}: {column}={text!r} is not a finite number")
    if (low is not None and value < low) or (high is not None and value > high):
        raise LabelError(f"{path}, line {line}: {column}={text!r} is out of range [{low}, {high}]")
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _no_duplicates(path: Path, keys: list[tuple[int, tuple]], what: str) -> None:
    seen: dict[tuple, int] = {}
    for line, key in keys:
        if key in seen:
            raise LabelError(f"{path}, line {line}: duplicate {what} {key} (first on line {seen[key]})")
        seen[key] = line


# -- aggregate judgments ---------------------------------------------------------------------------


def _read_percent_table(path: Path, key_columns: tuple[str, ...], value_columns: tuple[str, ...]) -> pd.DataFrame:
    """Integer keys and percent values (0..100) as fractions, with duplicate keys refused."""
    records, keys = [], []
    for line, row in _rows(path, key_columns + value_columns):
        rec = {c: _field(path, line, row, c, int, low=1) for c in key_columns}
        rec |= {c.removesuffix("_percent"): _field(path, line, row, c, float, 0, 100) / 100 for c in value_columns}
        records.append(rec)
        keys.append((line, tuple(rec[c] for c in key_columns)))
    _no_duplicates(path, keys, "/".join(key_columns))
    if not records:
        raise LabelError(f"{path}: no rows")
    return pd.DataFrame.from_records(records)


def load_aggregate(directory: str | Path = DISTILL2020_DIR) -> AggregateJudgments:
    """Load ``interpretable.csv``, ``completion.csv`` and ``source.json`` from ``directory``."""
    directory = Path(directory)
    interpretable = _read_percent_table(
        directory / "interpretable.csv", ("num_levels", "run", "researcher"), ("interpretable_percent",)
    )
    completion = _read_percent_table(
        directory / "completion.csv", ("num_levels", "run"), ("train_completed_percent", "test_completed_percent")
    )
    source_path = directory / "source.json"
    try:
        source = json.loads(_read_text(source_path), parse_constant=_refuse_constant)
    except (LabelError, ValueError) as exc:
        raise LabelError(f"{source_path}: every judgment file needs its source: {describe(exc)}") from None
    if not isinstance(source, dict):
        raise LabelError(f"{source_path}: must be a JSON object (citation, made_by, protocol), got a {type(source).__name__}")
    if source.get("made_by") != "human":
        raise LabelError(f"{source_path}: made_by is {source.get('made_by')!r}; aggregate judgments must be human")
    counts = interpretable.groupby(["num_levels", "run"]).size()
    if counts.nunique() != 1:
        raise LabelError(f"{directory / 'interpretable.csv'}: models have unequal numbers of researchers: {counts.to_dict()}")
    return AggregateJudgments(interpretable, completion, source)


# -- per-feature judgments -------------------------------------------------------------------------


#: Optional 0/1 columns of study files (``interpbench label``, ``interpbench.labelling.store``):
#: a row with either set judges a synthetic feature (a practice trial or an attention check), not a
#: checkpoint's, and is skipped. Their optional ``trial_type`` column (``2afc``, ``rating``) tells
#: two judgments of one feature by one labeller apart.
STUDY_FLAGS: tuple[str, ...] = ("demo", "catch")


def _synthetic_trial(path: Path, line: int, row: Mapping[str, str]) -> bool:
    for flag in STUDY_FLAGS:
        if row.get(flag, "0") not in ("0", "1"):
            raise LabelError(f"{path}, line {line}: {flag}={row[flag]!r}; expected 0 or 1")
    return any(row.get(flag) == "1" for flag in STUDY_FLAGS)


def load_feature_judgments(
    paths: Iterable[str | Path], checkpoints: Mapping[str, int]
) -> pd.DataFrame:
    """Per-feature judgments from CSV files, checked against the zoo being validated.

    ``checkpoints`` maps each known checkpoint name to its number of features. Returns columns
    checkpoint, feature, labeller, scale, judgment, object, confidence, seconds, made_by,
    trial_type (empty where the file has no such column), source and ``interpretable`` (the
    judgment as a fraction of its scale's maximum). Files written by ``interpbench label`` carry
    :data:`STUDY_FLAGS`: their demo and catch rows are skipped.
    """
    records = []
    for path in map(Path, paths):
        keys = []
        for line, row in _rows(path, FEATURE_COLUMNS):
            if _synthetic_trial(path, line, row):
                continue
            name = row["checkpoint"]
            if name not in checkpoints:
                raise LabelError(f"{path}, line {line}: unknown checkpoint {name!r}; known: {sorted(checkpoints)}")
            scale = row["scale"]
            if scale not in SCALES:
                raise LabelError(f"{path}, line {line}: scale={scale!r}; expected one of {list(SCALES)}")
            if not row["labeller"]:
                raise LabelError(f"{path}, line {line}: empty labeller id")
            made_by = row["made_by"]
            if made_by != "human" and not (made_by.startswith("model:") and len(made_by) > len("model:")):
                raise LabelError(f"{path}, line {line}: made_by={made_by!r}; expected 'human' or 'model:<name>'")
            rec = {
                "checkpoint": name,
                "feature": _field(path, line, row, "feature", int, 0, checkpoints[name] - 1),
                "labeller": row["labeller"],
                "scale": scale,
                "judgment": _field(path, line, row, "judgment", int, 0, SCALES[scale]),
                "object": row["object"],
                "confidence": _field(path, line, row, "confidence", float, 0, 1, optional=True),
                "seconds": _field(path, line, row, "seconds", float, 0, optional=True),
                "made_by": made_by,
                "trial_type": row.get("trial_type", ""),
                "source": str(path),
            }
            rec["interpretable"] = rec["judgment"] / SCALES[scale]
            records.append(rec)
            keys.append((line, (name, rec["feature"], rec["labeller"], rec["trial_type"])))
        _no_duplicates(path, keys, "checkpoint/feature/labeller")
    frame = pd.DataFrame.from_records(records, columns=[*FEATURE_COLUMNS, "trial_type", "source", "interpretable"])
    dupes = frame.duplicated(["checkpoint", "feature", "labeller", "trial_type"], keep=False)
    if dupes.any():
        where = frame.loc[dupes, "source"].unique().tolist()
        raise LabelError(f"the same checkpoint/feature/labeller is judged in more than one file: {where}")
    return frame


def human_only(judgments: pd.DataFrame) -> pd.DataFrame:
    """The rows a human made; model-made labels are never counted as human judgments."""
    return judgments[judgments["made_by"] == "human"]


def feature_judgment_files(directory: str | Path = PER_FEATURE_DIR) -> list[Path]:
    """Every per-feature judgment file shipped in ``directory`` (none exist yet)."""
    directory = Path(directory)
    return sorted(directory.glob("*.csv")) if directory.is_dir() else []
