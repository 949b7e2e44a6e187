"""The study's judgment file and provenance: append-only, one line per judgment, durable.

Why this way: a judgment is a person's time and cannot be re-made, so each one is on disk before
the rater's browser is told it was received. A submission takes an exclusive ``fcntl.flock`` on
the CSV, checks (under the lock) that it is the rater's next trial, appends one line, flushes and
fsyncs, then releases the lock: two raters' servers writing one file interleave whole lines, a
killed server loses at most the submission it had not yet acknowledged, and nothing is rewritten.
A torn last line (a machine that lost power mid-write; never acknowledged) is moved to
``<file>.torn`` before the next append, so the file stays loadable.

The columns are the schema of ``human_labels/README.md`` (``interpbench.validation.labels``) plus
the study's own (:data:`STUDY_COLUMNS`); the strict loader skips demo and catch rows (they judge
synthetic features, not a checkpoint's).
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pandas as pd

from interpbench.infra import atomic
from interpbench.infra.errors import CorruptFileError
from interpbench.labelling.study import STUDIES_DIR, StudyError, load_study
from interpbench.validation.feature_labels import StudyJudgments
from interpbench.validation.labels import FEATURE_COLUMNS, PER_FEATURE_DIR

#: Columns the study adds to the per-feature schema.
STUDY_COLUMNS: tuple[str, ...] = (
    "study", "protocol_version", "trial", "trial_type", "demo", "catch", "catch_expect", "answer",
    "shown_at", "submitted_at",
)
COLUMNS: tuple[str, ...] = (*FEATURE_COLUMNS, *STUDY_COLUMNS)
HEADER = ",".join(COLUMNS) + "\n"


@dataclass(frozen=True)
class StudyFiles:
    """Where a study writes: ``<out>/<study>.csv`` and ``<out>/<study>.provenance.json``; a
    scripted (model) rater writes under ``<out>/scripted/``, a file the leaderboard never reads
    (and whose rows say ``made_by=model:scripted`` besides)."""

    judgments: Path
    provenance: Path

    @classmethod
    def of(cls, study: str, out_dir: str | Path = PER_FEATURE_DIR, scripted: bool = False) -> StudyFiles:
        folder = Path(out_dir) / "scripted" if scripted else Path(out_dir)
        return cls(folder / f"{study}.csv", folder / f"{study}.provenance.json")


def _encode(row: dict[str, Any]) -> bytes:
    missing = [c for c in COLUMNS if c not in row]
    extra = [c for c in row if c not in COLUMNS]
    if missing or extra:
        raise ValueError(f"judgment row: missing {missing}, unknown {extra}")
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(["" if row[c] is None else str(row[c]) for c in COLUMNS])
    line = buffer.getvalue()
    if line.count("\n") != 1:
        raise ValueError("a judgment row may not contain a line break")
    return line.encode("utf-8")


def _parse(path: Path, text: str) -> list[dict[str, str]]:
    if not text:
        return []
    if not text.startswith(HEADER):
        first = text.splitlines()[0] if text else ""
        raise CorruptFileError(f"{path}: header is {first!r}; a study file's header is {HEADER.strip()!r}")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = []
    for row in reader:
        if None in row or any(v is None for v in row.values()):
            raise CorruptFileError(f"{path}, line {reader.line_num}: expected {len(COLUMNS)} fields")
        rows.append(row)
    return rows


class JudgmentLog:
    """The append-only judgment CSV of one study."""

    def __init__(self, path: str | Path) -> None:
        self.path = atomic.check_target(path)

    @contextmanager
    def _locked(self, mode: int) -> Iterator[IO[bytes]]:
        created = not self.path.exists()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a+b") as handle:
            fcntl.flock(handle.fileno(), mode)
            try:
                yield handle
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        if created:  # the new name itself must survive a crash
            fd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def _content(self, handle: IO[bytes]) -> str:
        handle.seek(0)
        data = handle.read()
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CorruptFileError(f"{self.path}: not UTF-8 text at offset {exc.start}") from None

    def read(self) -> list[dict[str, str]]:
        """Every complete row (a torn last line, never acknowledged, is left out)."""
        if not self.path.exists():
            return []
        with self._locked(fcntl.LOCK_SH) as handle:
            text = self._content(handle)
        return _parse(self.path, text[: text.rfind("\n") + 1])

    def append(self, row: dict[str, Any], check: Callable[[list[dict[str, str]]], None] | None = None) -> None:
        """Append ``row`` durably. ``check(rows)`` runs under the lock on the file's rows and raises
        to refuse the row (e.g. when another window already submitted that trial)."""
        line = _encode(row)
        with self._locked(fcntl.LOCK_EX) as handle:
            text = self._content(handle)
            complete = text.rfind("\n") + 1
            if complete < len(text):
                self._set_aside(text[complete:], handle, complete)
                text = text[:complete]
            rows = _parse(self.path, text)
            if check is not None:
                check(rows)
            handle.write((HEADER.encode() if not text else b"") + line)
            handle.flush()
            os.fsync(handle.fileno())

    def _set_aside(self, fragment: str, handle: IO[bytes], keep: int) -> None:
        torn = self.path.with_name(self.path.name + ".torn")
        with open(torn, "ab") as out:
            out.write(fragment.encode("utf-8") + b"\n")
            out.flush()
            os.fsync(out.fileno())
        handle.truncate(keep)


def read_study_judgments(path: str | Path) -> pd.DataFrame:
    """A study's judgment file as a table with typed columns (judgment int, seconds float,
    demo/catch bool, trial int), for the agreement analysis; a bad value names the line."""
    path = Path(path)
    if not path.is_file():
        raise StudyError(f"no judgments yet: {path} does not exist")
    rows = JudgmentLog(path).read()
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    try:
        for column in ("judgment", "trial", "protocol_version"):
            frame[column] = frame[column].astype(int)
        frame["seconds"] = pd.to_numeric(frame["seconds"], errors="raise").astype(float)
        frame["confidence"] = pd.to_numeric(frame["confidence"].replace("", None), errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise CorruptFileError(f"{path}: a value is not a number: {exc}") from None
    for column in ("demo", "catch"):
        bad = ~frame[column].isin(["0", "1"])
        if bad.any():
            raise CorruptFileError(f"{path}, line {int(bad.to_numpy().argmax()) + 2}: {column} must be 0 or 1")
        frame[column] = frame[column] == "1"
    return frame


def load_human_studies(studies_dir: str | Path = STUDIES_DIR, labels_dir: str | Path = PER_FEATURE_DIR) -> list[StudyJudgments]:
    """Every study file in ``studies_dir`` that has a judgment file in ``labels_dir``, with its
    rules, for the leaderboard's feature-level columns (``interpbench.validation.feature_level``).

    Only ``<labels_dir>/<study>.csv`` is read, never the scripted rater's ``scripted/`` folder; a
    study without judgments yet (the shipped example) is left out."""
    found = []
    for path in sorted(Path(studies_dir).glob("*.json")):
        study = load_study(path)
        files = StudyFiles.of(study.name, labels_dir)
        if files.judgments.is_file():
            found.append(StudyJudgments(study.name, study.criteria, study.task_types, study.agreement_seed,
                                        read_study_judgments(files.judgments)))
    return found


def check_provenance(files: StudyFiles, record: dict[str, Any]) -> dict[str, Any]:
    """Write the study's provenance, or check that an existing one describes the same study.

    Compared: the study file's hash, the materials' digest (frames, checkpoints, maps) and who
    makes the judgments; a difference means the existing judgments were collected under another
    protocol or on other pictures, and mixing them is refused (start a study with a new name)."""
    keys = ("study_sha256", "materials_digest", "made_by", "protocol_version")
    if files.provenance.exists():
        try:
            existing = json.loads(files.provenance.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CorruptFileError(f"{files.provenance}: unreadable provenance: {exc}") from None
        changed = [k for k in keys if existing.get(k) != record.get(k)]
        if changed:
            raise StudyError(f"{files.provenance}: this study was started with a different {', '.join(changed)}; its "
                             "judgments would mix two protocols. Keep the study file and materials as they were, "
                             "or start a study under a new name")
        return dict(existing)
    atomic.write_json(files.provenance, record)
    return record
