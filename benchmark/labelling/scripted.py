"""A scripted rater: answers every trial of a study from the pictures' own numbers.

Why it exists: to try a study end to end (the page, the files, ``interpbench agreement``) without
asking a person, and to give tests a rater whose answers are known. It is a model, never a human:
its session says ``made_by=model:scripted`` and writes to the scripted files
(``StudyFiles.of(..., scripted=True)``), which the leaderboard never reads, and
``interpbench.validation.labels.human_only`` drops such rows wherever they are.

Its rules: 2AFC, the query the feature is stronger on, with the highest confidence (it is told the
answer, so its 2AFC accuracy is 1 by construction); rating, ten times the share of the shown
maps' absolute attribution that falls on the single non-background class with the largest share,
and that class as the object (a class mask gets 10, noise about its largest class's area share).
"""

from __future__ import annotations

import numpy as np

from interpbench.labelling.prepare import PreparedItem
from interpbench.labelling.session import StudySession
from interpbench.labelling.study import RATING_MAX

MADE_BY = "model:scripted"


def rating_answer(session: StudySession, prepared: PreparedItem) -> dict[str, object]:
    """The scripted rating of one prepared rating item."""
    frames = session.materials.frames
    weight = np.abs(prepared.maps).astype(np.float64)
    masks = frames.masks[prepared.shown]
    total = weight.sum()
    shares = {c: float((weight * masks[:, k]).sum() / total) if total > 0 else 0.0
              for k, c in enumerate(frames.classes) if c != "background"}
    best = max(shares, key=lambda c: shares[c]) if shares else "none"
    return {"rating": int(round(RATING_MAX * shares.get(best, 0.0))), "object": best}


def run_scripted(session: StudySession, rater: str, limit: int | None = None) -> int:
    """Answer ``rater``'s remaining trials (at most ``limit``); returns how many were answered."""
    levels = len(session.study.confidence_levels)
    answered = 0
    while limit is None or answered < limit:
        current = session.current(rater)
        if current is None:
            break
        trial, prepared, stronger = current
        view = session.trial_view(rater)
        if trial.item.trial_type == "2afc":
            body: dict[str, object] = {"choice": stronger, "confidence": levels}
        else:
            body = rating_answer(session, prepared)
        session.submit(rater, view["trial"], body)
        answered += 1
    return answered
