"""What the human target itself allows: rater agreement, the noise ceiling, the level-count ceiling.

Three different questions, kept apart because the old leaderboard mixed them up:

* **rater vs rater**: researcher 1 against researcher 2 over the 14 published models; two
  *single* raters, so it is not the ceiling of a correlation with their *mean*.
* **noise ceiling**: the highest Spearman any score can expect with the two-rater mean, given
  how reliable that mean is: the square root of its Spearman-Brown reliability ``2r / (1 + r)``
  with r the rater-vs-rater Spearman. ``vs_ceiling`` divides by it.
* **L-ceiling**: the best Spearman any function of level count alone reaches with the run-paired
  target (each model scored by its level count's mean target). On this design it is nearly the
  noise ceiling: the leaderboard measures how well a metric detects L unless a metric beats it.

Intervals resample level counts as clusters (:mod:`interpbench.validation.design`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from interpbench.validation.design import Design, cluster_bootstrap_counts
from interpbench.validation.inference import fisher_interval
from interpbench.validation.ranks import spearman, spearman_rows


def spearman_brown(r: float | np.ndarray, factor: float = 2.0) -> float | np.ndarray:
    """Reliability of the mean of ``factor`` raters whose single-rater reliability is ``r``."""
    return factor * r / (1 + (factor - 1) * r)


def noise_ceiling(r: float | np.ndarray) -> float | np.ndarray:
    """sqrt of the Spearman-Brown reliability of the two-rater mean; NaN for r <= 0 (no reliable signal)."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        out = np.where(r > 0, np.sqrt(np.clip(spearman_brown(r), 0, None)), np.nan)
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class Ceiling:
    name: str
    what: str
    spearman: float
    lo: float
    hi: float

    def row(self) -> dict[str, object]:
        return {"name": self.name, "what": self.what, "spearman": self.spearman,
                "spearman_lo": self.lo, "spearman_hi": self.hi}


def level_mean_scores(levels: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Each model scored by its level count's mean target: the best function of L."""
    design = Design.from_levels(levels)
    return design.cluster_means(target)[design.cluster]


def target_ceilings(by_researcher: pd.DataFrame, n_replicates: int, seed: int) -> list[Ceiling]:
    """Rater vs rater, the noise ceiling, the L-ceiling and log L, over the published models.

    ``by_researcher``: index (num_levels, run), one column per researcher (two), fractions.
    """
    if by_researcher.shape[1] != 2:
        raise ValueError(f"the ceilings compare two researchers, got {by_researcher.shape[1]}")
    levels = by_researcher.index.get_level_values("num_levels").to_numpy(dtype=float)
    r1, r2 = (by_researcher.iloc[:, i].to_numpy(dtype=float) for i in range(2))
    target = (r1 + r2) / 2
    design = Design.from_levels(levels)
    counts = cluster_bootstrap_counts(design, n_replicates, seed)
    rater = spearman(r1, r2)
    rater_boot = spearman_rows(np.broadcast_to(r1, counts.shape), np.broadcast_to(r2, counts.shape), counts)
    best_l = level_mean_scores(levels, target)
    log_l = np.log(levels)

    def boot_of(score: np.ndarray) -> np.ndarray:
        # The L-ceiling's score is itself estimated from the drawn clusters' models.
        return spearman_rows(np.broadcast_to(score, counts.shape), np.broadcast_to(target, counts.shape), counts)

    g = design.n_clusters
    rater_lo, rater_hi = fisher_interval(rater, rater_boot, g)
    best, logged = spearman(best_l, target), spearman(log_l, target)
    return [
        Ceiling("rater vs rater", "researcher 1 vs researcher 2 (two single raters)", rater, rater_lo, rater_hi),
        # The ceiling is a monotone function of r, so its interval is the image of r's.
        Ceiling("noise ceiling", "sqrt of the Spearman-Brown reliability of the two-rater mean",
                float(noise_ceiling(rater)), float(noise_ceiling(rater_lo)), float(noise_ceiling(rater_hi))),
        Ceiling("L-ceiling", "best Spearman any function of level count reaches with the run-paired target",
                best, *fisher_interval(best, boot_of(best_l), g)),
        Ceiling("log L", "log level count against the run-paired target", logged,
                *fisher_interval(logged, boot_of(log_l), g)),
    ]
