"""A running study as a service: each rater's current trial, opaque tokens, checked submissions.

Why a layer below the web routes: the browser, the HTTP tests and the scripted rater all go
through these three calls (:meth:`StudySession.trial_view`, :meth:`StudySession.submit`,
:meth:`StudySession.image`), so the rules live in one place:

* blinding: what leaves this class is a trial token, image tokens (random, 144 bits, new for each
  server start), the task type, whether it is a practice trial, the progress and the answer
  options. Checkpoint names, feature indices, level counts, runs and catch status stay inside;
* order and resume: a rater's position is the number of their rows in the judgment file, and the
  trial at a position comes from the seeded plan, so a closed browser or a restarted server
  resumes at the same trial with the same pictures on the same sides;
* refusals (:class:`RequestRefused`, an HTTP status and a message): a forged or unknown trial id
  (404), another rater's trial (403), a replayed one (409), an answer out of range or of the wrong
  shape (422). Nothing refused reaches the file.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from interpbench.infra.errors import InterpbenchError
from interpbench.infra.provenance import code_version
from interpbench.labelling.inputs import check_rater_id, clean_free_text, csv_safe
from interpbench.labelling.plan import CatchItem, FeatureItem, Trial, every_item, rater_sequence, stable_seed
from interpbench.labelling.prepare import PreparedItem, prepare_items
from interpbench.labelling.sources import Materials
from interpbench.labelling.store import COLUMNS, JudgmentLog, StudyFiles, check_provenance
from interpbench.labelling.study import RATING_MAX, Study, StudyError

TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
#: Answer options of a rating trial besides the mask classes.
NO_OBJECT, OTHER_OBJECT = "none", "other"


class RequestRefused(InterpbenchError):
    """A request the study refuses; ``status`` is the HTTP status the app answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class _Issued:
    """A trial handed to a rater: its token, its images' tokens, when it was first shown."""

    token: str
    rater: str
    position: int
    images: dict[str, str]
    shown_at: float
    stronger_side: str | None  # 2AFC: "a" or "b"


@dataclass
class Answer:
    """A checked answer: the values of the judgment row it becomes."""

    judgment: int
    object: str = ""
    confidence: float | None = None
    answer: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _int_in(body: dict[str, Any], key: str, low: int, high: int) -> int:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestRefused(422, f"{key} must be a whole number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise RequestRefused(422, f"{key}={value} is out of range: it must be from {low} to {high}")
    return value


def _keys(body: Any, required: set[str], optional: set[str], what: str) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestRefused(422, f"a {what} answer is a JSON object with {sorted(required)}")
    missing, extra = required - body.keys(), body.keys() - required - optional
    if missing or extra:
        raise RequestRefused(422, f"a {what} answer has exactly the fields {sorted(required)}"
                                  + (f" (and optionally {sorted(optional)})" if optional else "")
                                  + (f"; missing {sorted(missing)}" if missing else "")
                                  + (f"; unknown {sorted(extra)}" if extra else ""))
    return body


class StudySession:
    """One study, its materials and the raters allowed to judge it, in one process.

    ``made_by`` is ``human`` for people; the scripted rater's session says ``model:scripted`` and
    writes to the scripted files (``StudyFiles.of(..., scripted=True)``). Thread-safe: the web
    server answers requests from a thread pool.
    """

    def __init__(self, study: Study, materials: Materials, files: StudyFiles, raters: Sequence[str] = (),
                 made_by: str = "human", clock: Callable[[], float] = time.time) -> None:
        if made_by != "human" and not made_by.startswith("model:"):
            raise InterpbenchError(f"made_by={made_by!r}: 'human' or 'model:<name>'")
        self.study, self.materials, self.files, self.made_by, self.clock = study, materials, files, made_by, clock
        self.n_features = {name: attr.n_features for name, attr in materials.attributions.items()}
        self.prepared: dict[Any, PreparedItem] = prepare_items(study, materials, every_item(study, self.n_features))
        self.objects = [*materials.frames.classes, NO_OBJECT, OTHER_OBJECT]
        self.provenance = check_provenance(files, self._provenance_record())
        self.log = JudgmentLog(files.judgments)
        self._lock = threading.Lock()
        self._sequences: dict[str, list[Trial]] = {}
        self._done: dict[str, int] = {}
        self._current: dict[str, _Issued] = {}
        self._issued: dict[str, _Issued] = {}
        self._answered: dict[str, str] = {}  # trial token -> rater
        self._images: dict[str, tuple[str, bytes]] = {}  # image token -> (rater, png)
        for rater in raters:
            self.add_rater(rater)

    # -- set-up ----------------------------------------------------------------------------------

    def _provenance_record(self) -> dict[str, Any]:
        return {
            "format": "interpbench.study-provenance/1",
            "study": self.study.name,
            "study_file": self.study.raw,
            "study_sha256": self.study.sha256,
            "protocol_version": self.study.protocol_version,
            "made_by": self.made_by,
            "materials": self.materials.fingerprint(),
            "materials_digest": self.materials.digest(),
            "judgments_file": self.files.judgments.name,
            "columns": list(COLUMNS),
            "code_version": code_version(),
            "created_at": _iso(self.clock()),
        }

    def add_rater(self, rater: str) -> None:
        """Allow ``rater`` (a checked id) to judge; their position is read from the judgment file."""
        check_rater_id(rater)
        sequence = rater_sequence(self.study, self.n_features, rater)
        with self._lock:
            self._sequences[rater] = sequence
            self._done[rater] = self._position_on_file(rater, self.log.read())

    def _position_on_file(self, rater: str, rows: list[dict[str, str]]) -> int:
        """How many of ``rater``'s trials the file holds, after checking they follow the plan."""
        sequence = self._sequences[rater]
        mine = [r for r in rows if r["labeller"] == rater and r["study"] == self.study.name]
        for k, row in enumerate(mine):
            expected = self._row_identity(sequence[k]) if k < len(sequence) else None
            got = (row["trial"], row["checkpoint"], row["feature"], row["trial_type"])
            if expected != got:
                raise StudyError(f"{self.files.judgments}: rater {rater}'s judgment {k + 1} is {got}, but the study's "
                                 f"plan has {expected} there; the file does not belong to this study file")
        return len(mine)

    def _row_identity(self, trial: Trial) -> tuple[str, str, str, str]:
        item = trial.item
        if isinstance(item, FeatureItem):
            return str(trial.position), item.checkpoint, str(item.feature), item.trial_type
        return str(trial.position), f"{'demo' if trial.phase == 'demo' else 'catch'}:{item.label}", str(item.index), \
            item.trial_type

    @property
    def raters(self) -> list[str]:
        return list(self._sequences)

    def sequence(self, rater: str) -> list[Trial]:
        return list(self._sequences[self._known(rater)])

    def position(self, rater: str) -> int:
        with self._lock:
            return self._done[self._known(rater)]

    def _known(self, rater: str) -> str:
        if rater not in self._sequences:
            raise RequestRefused(403, "this rater is not part of the study")
        return rater

    # -- the three calls -------------------------------------------------------------------------

    def trial_view(self, rater: str) -> dict[str, Any]:
        """What the rater's page shows next: the current trial (the same one, with the same tokens,
        until it is answered) or ``{"done": true}``. Nothing in it names a checkpoint."""
        with self._lock:
            issued = self._issue(self._known(rater))
            total = len(self._sequences[rater])
            if issued is None:
                return {"done": True, "completed": self._done[rater], "total": total}
            trial = self._sequences[rater][issued.position]
            view: dict[str, Any] = {
                "done": False,
                "trial": issued.token,
                "type": trial.item.trial_type,
                "practice": trial.phase == "demo",
                "number": issued.position + 1,
                "total": total,
                "images": dict(issued.images),
            }
            if trial.item.trial_type == "2afc":
                view["confidence_levels"] = list(self.study.confidence_levels)
            else:
                view["scale_max"] = RATING_MAX
                view["objects"] = list(self.objects)
            return view

    def _issue(self, rater: str) -> _Issued | None:
        position = self._done[rater]
        sequence = self._sequences[rater]
        if position >= len(sequence):
            return None
        current = self._current.get(rater)
        if current is not None and current.position == position:
            return current
        if current is not None:  # stale (another server moved the rater on)
            self._issued.pop(current.token, None)
            for image_token in current.images.values():
                self._images.pop(image_token, None)
        trial = sequence[position]
        prepared = self.prepared[trial.item]
        images = dict(prepared.images)
        side = None
        if trial.item.trial_type == "2afc":
            flip = stable_seed(self.study.seed, "side", rater, position) % 2 == 1
            side = "b" if flip else "a"
            images = {"reference": images["reference"],
                      "a": images["weaker" if flip else "stronger"], "b": images["stronger" if flip else "weaker"]}
        roles = {}
        for role, data in images.items():
            image_token = secrets.token_urlsafe(18)
            self._images[image_token] = (rater, data)
            roles[role] = image_token
        issued = _Issued(secrets.token_urlsafe(18), rater, position, roles, self.clock(), side)
        self._issued[issued.token] = issued
        self._current[rater] = issued
        return issued

    def image(self, rater: str, image_token: str) -> bytes:
        """The PNG bytes of one of ``rater``'s images; any other token is 404 (an image of another
        rater is not confirmed to exist)."""
        found = self._images.get(image_token) if TOKEN.fullmatch(image_token or "") else None
        if found is None or found[0] != rater:
            raise RequestRefused(404, "unknown image")
        return found[1]

    def submit(self, rater: str, trial_token: str, body: Any) -> dict[str, Any]:
        """Check and store one answer; returns ``{"ok": true}`` (with the right answer for a
        practice trial). Every refusal is a :class:`RequestRefused` and leaves the file alone."""
        with self._lock:
            self._known(rater)
            if not TOKEN.fullmatch(trial_token or ""):
                raise RequestRefused(404, "unknown trial id")
            owner = self._answered.get(trial_token)
            if owner is not None:
                if owner != rater:
                    raise RequestRefused(403, "this trial belongs to another rater")
                raise RequestRefused(409, "this trial was already submitted; reload the page for the current trial")
            issued = self._issued.get(trial_token)
            if issued is None:
                raise RequestRefused(404, "unknown trial id: it was never issued (forged), or the server has "
                                          "restarted since; reload the page")
            if issued.rater != rater:
                raise RequestRefused(403, "this trial belongs to another rater")
            if issued.position != self._done[rater]:
                raise RequestRefused(409, "this trial is no longer current; reload the page")
            trial = self._sequences[rater][issued.position]
            answer = self._check_answer(trial, issued, body)
            now = self.clock()
            row = self._row(rater, trial, issued, answer, now)

            def still_next(rows: list[dict[str, str]]) -> None:
                on_file = self._position_on_file(rater, rows)
                if on_file != issued.position:
                    self._done[rater] = on_file
                    raise RequestRefused(409, "this trial was already submitted from another window or server; "
                                              "reload the page")

            self.log.append(row, check=still_next)
            self._done[rater] += 1
            self._answered[trial_token] = rater
            del self._issued[trial_token]
            self._current.pop(rater, None)
            for image_token in issued.images.values():
                self._images.pop(image_token, None)
            result: dict[str, Any] = {"ok": True}
            if trial.phase == "demo":
                result["feedback"] = self._feedback(trial, issued, answer)
            return result

    # -- answers and rows ------------------------------------------------------------------------

    def _check_answer(self, trial: Trial, issued: _Issued, body: Any) -> Answer:
        if trial.item.trial_type == "2afc":
            body = _keys(body, {"choice", "confidence"}, set(), "2AFC")
            choice = body["choice"]
            if choice not in ("a", "b"):
                raise RequestRefused(422, f"choice must be 'a' or 'b', got {choice!r}")
            levels = len(self.study.confidence_levels)
            level = _int_in(body, "confidence", 1, levels)
            return Answer(judgment=int(choice == issued.stronger_side), confidence=round((level - 1) / (levels - 1), 6),
                          answer=choice)
        body = _keys(body, {"rating", "object"}, {"object_text"}, "rating")
        rating = _int_in(body, "rating", 0, RATING_MAX)
        obj = body["object"]
        if obj not in self.objects:
            raise RequestRefused(422, f"object must be one of {self.objects}, got {obj!r}")
        text = body.get("object_text", "")
        if obj == OTHER_OBJECT:
            try:
                named = csv_safe(clean_free_text(text))
            except InterpbenchError as exc:
                raise RequestRefused(422, str(exc)) from None
        elif text not in ("", None):
            raise RequestRefused(422, f"object_text is only for object '{OTHER_OBJECT}'")
        else:
            named = "" if obj == NO_OBJECT else obj
        return Answer(judgment=rating, object=named)

    def _row(self, rater: str, trial: Trial, issued: _Issued, answer: Answer, now: float) -> dict[str, Any]:
        _, checkpoint, feature, trial_type = self._row_identity(trial)
        item = trial.item
        return {
            "checkpoint": checkpoint, "feature": feature, "labeller": rater,
            "scale": "binary" if trial_type == "2afc" else "0-10", "judgment": answer.judgment,
            "object": answer.object, "confidence": answer.confidence, "seconds": round(max(0.0, now - issued.shown_at), 3),
            "made_by": self.made_by, "study": self.study.name, "protocol_version": self.study.protocol_version,
            "trial": trial.position, "trial_type": trial_type, "demo": int(trial.phase == "demo"),
            "catch": int(trial.catch), "catch_expect": item.expect if isinstance(item, CatchItem) else "",
            "answer": answer.answer, "shown_at": _iso(issued.shown_at), "submitted_at": _iso(now),
        }

    def _feedback(self, trial: Trial, issued: _Issued, answer: Answer) -> dict[str, Any]:
        """Practice trials say what the answer should have been (and are never counted)."""
        item = trial.item
        if trial.item.trial_type == "2afc":
            return {"correct": bool(answer.judgment), "stronger": issued.stronger_side}
        assert isinstance(item, CatchItem)
        if item.expect == "positive":
            return {"expected": f"high (at least {self.study.rating_positive_min})", "object": item.cls}
        return {"expected": f"low (at most {self.study.rating_negative_max}): this feature is noise"}

    # -- for in-process raters (scripted, tests) -------------------------------------------------

    def current(self, rater: str) -> tuple[Trial, PreparedItem, str | None] | None:
        """The current trial of ``rater`` with its prepared pictures and, for 2AFC, the side of the
        stronger query. For the scripted rater and tests only: the web routes never call it."""
        with self._lock:
            issued = self._issue(self._known(rater))
            if issued is None:
                return None
            trial = self._sequences[rater][issued.position]
            return trial, self.prepared[trial.item], issued.stronger_side
