"""Per-feature effects of an ablation, against the same checkpoint's unablated run on the same levels.

For each failure cause: its rate with the feature ablated over its rate without, and the rise
in percentage points. Specificity is the rise of the cause that rose most as a share of the
summed rises of all causes that rose, chance-corrected for the number of causes like object
selectivity: near 0 when removing the feature makes the agent worse at everything alike, 1 when
one kind of failure carries the whole change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from interpbench.infra.errors import InterpbenchError
from interpbench.interventions.causes import HAZARDS, OUTCOMES

#: Failure causes compared (``multiple`` and ``unexplained`` are reported but not a cause).
FAILURES: tuple[str, ...] = (*HAZARDS, "timeout")


def ablation_effects(rows: pd.DataFrame) -> pd.DataFrame:
    """One row per ablated feature: checkpoint, feature, completion_drop, top_cause, top_cause_ratio
    (its rate over the baseline's, inf when the baseline had none), top_cause_rise, specificity,
    and ``rate_<cause>`` / ``base_rate_<cause>`` for every failure cause."""
    missing = [c for c in ("checkpoint", "feature", "episodes", *OUTCOMES) if c not in rows.columns]
    if missing:
        raise InterpbenchError(f"ablation rows lack column(s) {missing}")
    out = []
    for name, group in rows.groupby("checkpoint", sort=False):
        base = group[group["feature"] == -1]
        if len(base) != 1:
            raise InterpbenchError(f"checkpoint {name!r} needs exactly one unablated row (feature -1), has {len(base)}")
        b = base.iloc[0]
        base_rates = np.array([b[c] / b["episodes"] for c in FAILURES])
        for _, r in group[group["feature"] != -1].iterrows():
            rates = np.array([r[c] / r["episodes"] for c in FAILURES])
            rise = rates - base_rates
            positive = np.clip(rise, 0, None)
            top = int(rise.argmax())
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = rates[top] / base_rates[top] if base_rates[top] > 0 else (np.inf if rates[top] > 0 else np.nan)
                share = positive[top] / positive.sum() if positive.sum() > 0 else np.nan
            chance = 1 / len(FAILURES)
            out.append({"checkpoint": name, "feature": int(r["feature"]),
                        "completion_drop": b["completed"] / b["episodes"] - r["completed"] / r["episodes"],
                        "top_cause": FAILURES[top], "top_cause_ratio": ratio, "top_cause_rise": rise[top],
                        "specificity": (share - chance) / (1 - chance),
                        **{f"rate_{c}": v for c, v in zip(FAILURES, rates)},
                        **{f"base_rate_{c}": v for c, v in zip(FAILURES, base_rates)}})
    return pd.DataFrame(out)
