"""The committed leaderboard, recomputed independently from reports/model_scores.csv and the stored
judgments with scipy, itertools and numpy only (no interpbench statistics code): Spearmans,
exact permutation p-values, Holm, the run-pairing range, the randomization control and, within
Monte Carlo error, the intervals' design (level counts resampled, corrected Fisher z)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

REPO = Path(__file__).resolve().parents[1]
REPORTS = REPO / "reports"
LABELS = REPO / "human_labels" / "distill2020" / "interpretable.csv"


@pytest.fixture(scope="module")
def committed():
    if not (REPORTS / "model_scores.csv").exists():
        pytest.skip("reports/model_scores.csv not generated yet (run `interpbench report`)")
    board = pd.read_csv(REPORTS / "leaderboard.csv").set_index("name")
    scores = pd.read_csv(REPORTS / "model_scores.csv")
    judged = pd.read_csv(LABELS)
    judged["fraction"] = judged["interpretable_percent"] / 100
    level_mean = judged.groupby("num_levels")["fraction"].mean()
    paired = judged.groupby(["num_levels", "run"])["fraction"].mean()
    trained = scores[scores["kind"] == "trained"].pivot(index="checkpoint", columns="metric", values="score")
    ckpts = scores.drop_duplicates("checkpoint").set_index("checkpoint").loc[trained.index, ["num_levels", "run"]]
    return {"board": board, "scores": scores, "trained": trained, "ckpts": ckpts, "level_mean": level_mean,
            "paired": paired, "target": level_mean.loc[ckpts["num_levels"]].to_numpy()}


def _metrics(c):
    return [m for m in c["trained"].columns if m in c["board"].index and np.ptp(c["trained"][m]) > 0]


def test_spearman_and_kendall(committed):
    for metric in _metrics(committed):
        x = committed["trained"][metric].to_numpy()
        row = committed["board"].loc[metric]
        assert row["spearman"] == pytest.approx(stats.spearmanr(x, committed["target"]).statistic, abs=1e-9)
        assert row["kendall"] == pytest.approx(stats.kendalltau(x, committed["target"]).statistic, abs=1e-9)


def test_exact_permutation_p_values_and_holm(committed):
    levels = committed["ckpts"]["num_levels"].to_numpy()
    order = sorted(set(levels))
    values = committed["level_mean"].loc[order].to_numpy()
    where = np.array([order.index(v) for v in levels])
    perms = [np.array(p) for p in itertools.permutations(range(len(order)))]
    p_values = {}
    for metric in _metrics(committed):
        x = committed["trained"][metric].to_numpy()
        observed = stats.spearmanr(x, values[where]).statistic
        null = np.array([stats.spearmanr(x, values[p][where]).statistic for p in perms])
        p_values[metric] = np.mean(null >= observed - 1e-12)
        assert committed["board"].loc[metric, "p_value"] == pytest.approx(p_values[metric], abs=1e-12)
    names = sorted(p_values, key=lambda m: p_values[m])
    running = 0.0
    for k, metric in enumerate(names):
        running = max(running, min(1.0, (len(names) - k) * p_values[metric]))
        if committed["board"]["p_value"].notna().sum() == len(names):  # every metric of the report was tested
            assert committed["board"].loc[metric, "p_holm"] == pytest.approx(running, abs=1e-12)


def test_run_pairing_range(committed):
    ckpts = committed["ckpts"]
    for metric in _metrics(committed)[:4]:
        x = committed["trained"][metric].to_numpy()
        rhos = []
        for flips in itertools.product((0, 1), repeat=ckpts["num_levels"].nunique()):
            swap = dict(zip(sorted(ckpts["num_levels"].unique()), flips))
            runs = [(3 - r) if swap[level] else r for level, r in zip(ckpts["num_levels"], ckpts["run"])]
            target = committed["paired"].loc[list(zip(ckpts["num_levels"], runs))].to_numpy()
            rhos.append(stats.spearmanr(x, target).statistic)
        row = committed["board"].loc[metric]
        assert (row["paired_min"], row["paired_max"]) == pytest.approx((min(rhos), max(rhos)), abs=1e-9)


def test_randomization_share_over_checkpoint_twin_pairs(committed):
    scores = committed["scores"]
    for metric in _metrics(committed)[:4]:
        twins = scores[(scores["metric"] == metric) & (scores["kind"] == "randomized")]
        assert twins["index"].nunique() >= 5, "the control needs at least 5 twins"
        wide = twins.pivot(index="checkpoint", columns="index", values="score").loc[committed["trained"].index]
        share = (committed["trained"][metric].to_numpy()[:, None] > wide.to_numpy()).mean()
        assert committed["board"].loc[metric, "beats_randomized"] == pytest.approx(share, abs=1e-12)


def test_interval_design_within_monte_carlo_error(committed):
    """An independent hierarchical bootstrap (own RNG, more replicates) gives the same interval to
    Monte Carlo error: level counts are drawn with replacement with all their checkpoints, each
    replicate scores every checkpoint on one frame resample and one of its NMF fits (a refit as
    its shift from the main fit), and the SE on Fisher's z is corrected by sqrt(G / (G - 1))."""
    scores = committed["scores"]
    names = committed["trained"].index
    levels = committed["ckpts"]["num_levels"].to_numpy()
    groups = [np.flatnonzero(levels == v) for v in sorted(set(levels))]
    g, n_reps = len(groups), 4000
    rng = np.random.default_rng(20261202)
    for metric in _metrics(committed)[:5]:
        rows = scores[scores["metric"] == metric]
        boot = rows[rows["kind"] == "boot"].pivot(index="checkpoint", columns="index", values="score").loc[names]
        refits = rows[rows["kind"] == "refits"].pivot(index="checkpoint", columns="index", values="score").loc[names]
        x = committed["trained"][metric].to_numpy()
        shifts = np.concatenate([np.zeros((len(x), 1)), refits.to_numpy() - x[:, None]], axis=1)
        reps = []
        for b in range(n_reps):
            draw = np.concatenate([groups[k] for k in rng.integers(0, g, g)])
            fit = rng.integers(0, shifts.shape[1], len(x))
            score = boot.to_numpy()[:, b % boot.shape[1]] + shifts[np.arange(len(x)), fit]
            reps.append(stats.spearmanr(score[draw], committed["target"][draw]).statistic)
        reps = np.array(reps)
        finite = reps[np.isfinite(reps)]
        z = np.arctanh(np.clip(finite, -0.9999, 0.9999))
        se = z.std(ddof=1) * np.sqrt(g / (g - 1))
        row = committed["board"].loc[metric]
        z0 = np.arctanh(np.clip(row["spearman"], -0.9999, 0.9999))
        assert row["interval_method"] == "fisher-z"
        expected = np.tanh([z0 - 1.959964 * se, z0 + 1.959964 * se])
        assert (row["spearman_lo"], row["spearman_hi"]) == pytest.approx(tuple(expected), abs=0.04)


def test_interventional_track_from_the_scores_and_the_measured_table(committed):
    """The leaderboard's selectivity_spearman: each metric's per-feature scores (reports/scores.csv)
    against the shipped measured selectivity, pooled over every feature, recomputed with scipy."""
    table = pd.read_csv(REPO / "baselines" / "interventions" / "object_dependence.csv")
    scores = pd.read_csv(REPORTS / "scores.csv")
    shown = committed["board"]["selectivity_spearman"].dropna()
    assert len(shown) >= 10, "the committed report has no interventional track"
    merged = scores.merge(table[["checkpoint", "feature", "selectivity"]], on=["checkpoint", "feature"])
    for metric, rho in shown.items():
        rows = merged[(merged["metric"] == metric) & np.isfinite(merged["selectivity"])]
        sign = 1.0 if committed["board"].at[metric, "higher_is_better"] in (True, "True") else -1.0
        assert rows["checkpoint"].nunique() == len(committed["ckpts"])
        assert rho == pytest.approx(stats.spearmanr(sign * rows["score"], rows["selectivity"]).statistic, abs=1e-6)
