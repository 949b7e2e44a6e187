"""The study file: everything a labelling study fixes before the first judgment.

Why a file: a study's protocol (which tasks, how many trials, which catch trials, who is excluded)
must be decided before data exist and stay the same for every rater, so it lives in a reviewed
JSON file (``human_labels/studies/<name>.json``), is recorded in the study's provenance, and a
change to it after judgments exist is refused (``store.check_provenance``). Every field is
required: a missing one is an error naming the field, never a silent default.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from interpbench.infra.errors import InterpbenchError
from interpbench.infra.resources import package_path
from interpbench.labelling.inputs import STUDY_PATTERN
from interpbench.validation.feature_labels import ExclusionCriteria

FORMAT = "interpbench.study/1"
STUDIES_DIR = package_path("interpbench.human_labels") / "studies"
TASK_TYPES = ("2afc", "rating")
#: The rating scale (the ``0-10`` scale of ``interpbench.validation.labels.SCALES``).
RATING_MAX = 10


class StudyError(InterpbenchError):
    """A study file that cannot be used; the message names the file and the field."""


def _obj(properties: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": sorted(properties), "additionalProperties": False}


_INT0 = {"type": "integer", "minimum": 0}
_INT1 = {"type": "integer", "minimum": 1}
_RATING = {"type": "integer", "minimum": 0, "maximum": RATING_MAX}

#: JSON schema of a study file (every property required, nothing else allowed).
SCHEMA: dict[str, Any] = _obj({
    "format": {"const": FORMAT},
    "study": {"type": "string", "pattern": f"^{STUDY_PATTERN.pattern}$"},
    "protocol_version": _INT1,
    "description": {"type": "string"},
    "seed": _INT0,
    "attribution": _obj({"head": {"enum": ["value", "policy"]}, "n_features": _INT1}),
    "task_types": {"type": "array", "items": {"enum": list(TASK_TYPES)}, "minItems": 1, "uniqueItems": True},
    "main_trials": _INT1,
    "demo_trials": _INT0,
    "catch_trials": _INT0,
    "two_afc": _obj({
        "references": _INT1,
        "query_pool": _INT1,
        "confidence_levels": {"type": "array", "items": {"type": "string", "minLength": 1}, "minItems": 2},
    }),
    "rating": _obj({"examples": _INT1}),
    "catch": _obj({
        "classes": {"type": "array", "items": {"type": "string"}, "minItems": 1, "uniqueItems": True},
        "rating_positive_min": _RATING,
        "rating_negative_max": _RATING,
    }),
    "exclusion": _obj({
        "min_catch_accuracy": {"type": "number", "minimum": 0, "maximum": 1},
        "min_median_seconds": {"type": "number", "minimum": 0},
    }),
    "agreement": _obj({"bootstrap": _INT0, "seed": _INT0}),
})


@dataclass(frozen=True)
class Study:
    """A parsed study file.

    main_trials is the stopping rule: each rater judges this many checkpoint features (the same
    set for every rater, so agreement is defined), plus ``catch_trials`` catch trials mixed in and
    ``demo_trials`` practice trials first (never counted).
    """

    name: str
    protocol_version: int
    description: str
    seed: int
    head: str
    n_features: int
    task_types: tuple[str, ...]
    main_trials: int
    demo_trials: int
    catch_trials: int
    references: int
    query_pool: int
    confidence_levels: tuple[str, ...]
    examples: int
    catch_classes: tuple[str, ...]
    rating_positive_min: int
    rating_negative_max: int
    min_catch_accuracy: float
    min_median_seconds: float
    bootstrap: int
    agreement_seed: int
    raw: dict[str, Any]
    sha256: str

    @property
    def criteria(self) -> ExclusionCriteria:
        """The exclusion rules and catch-trial thresholds, as the analysis (validation stage) takes them."""
        return ExclusionCriteria(self.min_catch_accuracy, self.min_median_seconds, self.catch_trials > 0,
                                 self.rating_positive_min, self.rating_negative_max)

    @property
    def needs_frames(self) -> int:
        """Frames a 2AFC feature needs: the references and two disjoint query pools."""
        return self.references + 2 * self.query_pool


def _message(path: Path | str, error: jsonschema.ValidationError) -> str:
    where = "/".join(str(p) for p in error.absolute_path) or "the top level"
    if error.validator == "required":
        missing = [name for name in error.validator_value if name not in error.instance]
        return f"{path}: {where}: missing field(s) {missing}"
    if error.validator == "additionalProperties":
        return f"{path}: {where}: {error.message} (a typo? every allowed field is listed in docs/labelling.md)"
    return f"{path}: {where}: {error.message}"


def parse_study(data: Any, source: Path | str = "<study>") -> Study:
    """A :class:`Study` from the decoded JSON ``data``; :class:`StudyError` names what is wrong."""
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(data), key=lambda e: (len(e.absolute_path), str(e.absolute_path)))
    if errors:
        raise StudyError(_message(source, errors[0]))
    d = data
    if d["catch"]["rating_negative_max"] >= d["catch"]["rating_positive_min"]:
        raise StudyError(f"{source}: catch: rating_negative_max ({d['catch']['rating_negative_max']}) must be below "
                         f"rating_positive_min ({d['catch']['rating_positive_min']}), or a catch trial has no right answer")
    canonical = json.dumps(d, sort_keys=True, separators=(",", ":")).encode()
    return Study(
        name=d["study"], protocol_version=d["protocol_version"], description=d["description"], seed=d["seed"],
        head=d["attribution"]["head"], n_features=d["attribution"]["n_features"],
        task_types=tuple(d["task_types"]), main_trials=d["main_trials"], demo_trials=d["demo_trials"],
        catch_trials=d["catch_trials"], references=d["two_afc"]["references"], query_pool=d["two_afc"]["query_pool"],
        confidence_levels=tuple(d["two_afc"]["confidence_levels"]), examples=d["rating"]["examples"],
        catch_classes=tuple(d["catch"]["classes"]), rating_positive_min=d["catch"]["rating_positive_min"],
        rating_negative_max=d["catch"]["rating_negative_max"],
        min_catch_accuracy=float(d["exclusion"]["min_catch_accuracy"]),
        min_median_seconds=float(d["exclusion"]["min_median_seconds"]),
        bootstrap=d["agreement"]["bootstrap"], agreement_seed=d["agreement"]["seed"],
        raw=d, sha256=hashlib.sha256(canonical).hexdigest(),
    )


def study_path(name_or_path: str | Path, studies_dir: str | Path = STUDIES_DIR) -> Path:
    """The study file for ``--study``: a path to a ``.json`` file, or a name in ``studies_dir``."""
    text = str(name_or_path)
    if text.endswith(".json"):
        return Path(text)
    if not STUDY_PATTERN.fullmatch(text):
        raise StudyError(f"study {text!r}: give a study name (lower-case letters, digits, '_', '-') or a .json path")
    return Path(studies_dir) / f"{text}.json"


def load_study(name_or_path: str | Path, studies_dir: str | Path = STUDIES_DIR) -> Study:
    """Read and check a study file; its ``study`` field must equal the file's name (the name
    names the judgment files, so two spellings of one study would split its data)."""
    path = study_path(name_or_path, studies_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StudyError(f"study file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudyError(f"cannot read study file {path}: {exc}") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise StudyError(f"{path}: not JSON: {exc}") from None
    study = parse_study(data, path)
    if study.name != path.stem:
        raise StudyError(f"{path}: the study field is {study.name!r} but the file is named {path.stem!r}; make them equal")
    return study


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")
