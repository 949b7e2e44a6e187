"""Per-feature dependence profiles, selectivity and top class, and the held-out check of the top class.

Profile: the relative drop of a feature's attribution mass when each class is hidden, pooled
over frames (sum of drops over sum of the feature's mass). Selectivity: the top class's share of
the summed positive drops, chance-corrected for the K classes whose hiding changed any frame,
``(share - 1/K) / (1 - 1/K)``: 0 when the drop is spread evenly, 1 when one class carries it all.

The top class is the argmax of the profile, so in-sample it beats every other class by
construction. :func:`held_out_top_vs_other` therefore picks it on half of the levels and tests
it on the other half, against a random other class, on the frames where both classes are seen.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from interpbench.infra.errors import InterpbenchError
from interpbench.interventions.dependence import ObjectDependence


def relative_drops(dep: ObjectDependence, frames: np.ndarray | None = None, *, parts: bool = False) -> np.ndarray:
    """float64 (F, C): pooled relative drop of each feature's mass per hidden class, over ``frames``
    (a bool or index selection of frames; default all); with ``parts``, per hidden class part (F, P)."""
    sel = slice(None) if frames is None else frames
    mass = dep.base[sel].sum(axis=0)
    drops = dep.part_drops if parts else dep.drops
    if drops is None:
        return np.zeros((dep.n_features, 0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (drops[:, sel].sum(axis=1) / mass).T


def profile_summary(drops: np.ndarray, n_present: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(top class index, top share, chance-corrected selectivity), each (F,), from (F, C) drops.

    NaN (and index -1) for a feature no hiding lowers, or when fewer than two classes are present."""
    positive = np.clip(np.nan_to_num(drops), 0, None)
    total = positive.sum(axis=1)
    top = np.where(total > 0, positive.argmax(axis=1), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(total > 0, positive.max(axis=1) / total, np.nan)
    chance = 1.0 / n_present if n_present >= 2 else np.nan
    return top, share, (share - chance) / (1 - chance)


def selectivity_rows(dep: ObjectDependence, checkpoint: str) -> pd.DataFrame:
    """One row per feature: checkpoint, feature, top_class, selectivity, top_share, n_classes,
    frames, and ``drop_<class>`` (the relative drop) for every hidden class, then ``drop_<part>``
    for every part hidden apart (outside the selectivity: its class is already counted)."""
    drops = relative_drops(dep)
    present = dep.changed.any(axis=1)
    top, share, selectivity = profile_summary(drops, int(present.sum()))
    rows = pd.DataFrame({
        "checkpoint": checkpoint,
        "feature": np.arange(dep.n_features),
        "top_class": [dep.classes[t] if t >= 0 else "" for t in top],
        "selectivity": selectivity,
        "top_share": share,
        "n_classes": int(present.sum()),
        "frames": dep.base.shape[0],
    })
    for c, name in enumerate(dep.classes):
        rows[f"drop_{name}"] = drops[:, c]
    for name, part_drop in zip(dep.parts, relative_drops(dep, parts=True).T, strict=True):
        rows[f"drop_{name}"] = part_drop
    return rows


def held_out_top_vs_other(dep: ObjectDependence, seed: int = 0) -> pd.DataFrame:
    """Per feature: the top class picked on even level seeds, tested on odd ones against one random
    other class, pooled over the odd-level frames where hiding either class changes the frame.

    Columns: feature, top_class, other_class, top_drop, other_drop, frames, top_wins. Features with
    no top class on the first half, or no other class seen with it on the second, are left out."""
    pick = dep.level_seeds % 2 == 0
    if pick.all() or not pick.any():
        raise InterpbenchError("the frames come from levels of one parity only; cannot split them by level")
    top, _, _ = profile_summary(relative_drops(dep, pick), int(dep.changed[:, pick].any(axis=1).sum()))
    rng = np.random.default_rng(seed)
    rows = []
    for f, t in enumerate(top):
        if t < 0:
            continue
        others = [c for c in range(len(dep.classes)) if c != t and (dep.changed[c] & dep.changed[t] & ~pick).any()]
        if not others:
            continue
        c = int(rng.choice(others))
        both = dep.changed[c] & dep.changed[t] & ~pick
        mass = dep.base[both, f].sum()
        top_drop, other_drop = dep.drops[t, both, f].sum() / mass, dep.drops[c, both, f].sum() / mass
        rows.append({"feature": f, "top_class": dep.classes[t], "other_class": dep.classes[c],
                     "top_drop": top_drop, "other_drop": other_drop, "frames": int(both.sum()),
                     "top_wins": bool(top_drop > other_drop)})
    return pd.DataFrame(rows, columns=["feature", "top_class", "other_class", "top_drop", "other_drop", "frames",
                                       "top_wins"])
