"""``interpbench report`` on a synthetic zoo writes every file, and its numbers can be recomputed
independently from scores.csv and the label files with scipy."""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthetic_zoo as sz
from scipy import stats

import interpbench.scoring.score as scoring
from interpbench.cli.main import main
from interpbench.infra.provenance import REPO_ROOT
from interpbench.validation.labels import DISTILL2020_DIR

FILES = ("leaderboard.md", "leaderboard.html", "leaderboard.csv", "scores.csv", "model_scores.csv", "ceilings.csv",
         "cascade.csv",
         "figures/score-vs-levels.png", "figures/metric-vs-human.png", "figures/forest.png")


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    yield from sz.isolated_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scoring, "default_attribute", lambda: sz.synthetic_attribute)
        args = sz.synthetic_args(root)
        assert main(["report", *args, "--metrics", ",".join(sz.METRICS), "-o", str(root / "out")]) == 0
    return root / "out", root / "labels"


def test_report_writes_every_file(report_dir):
    out, _ = report_dir
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
    for png in (out / "figures").glob("*.png"):
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.rglob(".*.tmp*")), "a temp file was left behind"


def test_html_is_self_contained(report_dir):
    out, _ = report_dir
    page = (out / "leaderboard.html").read_text()
    sources = re.findall(r"src='([^']*)'", page)
    assert len(sources) == 3 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "http" not in "".join(re.findall(r"(?:href|src)=['\"]([^'\"]*)", page))


def test_markdown_shows_the_csv_figures(report_dir):
    out, _ = report_dir
    board = pd.read_csv(out / "leaderboard.csv")
    md = (out / "leaderboard.md").read_text()
    for _, row in board.iterrows():
        assert f"| {row['name']} | {row['spearman']:.3f} |" in md


def recompute(scores_csv: Path, labels_dir: Path) -> dict[str, tuple[float, float]]:
    """Spearman and Kendall of each metric's model score (mean over features) with the mean of
    the researchers' fractions over both study runs of the checkpoint's level count, straight from
    the CSV files (no harness code involved)."""
    scores = pd.read_csv(scores_csv)
    judged = pd.read_csv(labels_dir / "interpretable.csv")
    per_level = judged.groupby("num_levels")["interpretable_percent"].mean()
    out = {}
    for metric, rows in scores.groupby("metric"):
        model = rows.groupby(["num_levels", "run"])["score"].mean()
        human = per_level.loc[model.index.get_level_values("num_levels")].to_numpy()
        joined = pd.DataFrame({"model": model.to_numpy(), "human": human})
        with warnings.catch_warnings():  # a constant control has no rank correlation: NaN, checked below
            warnings.simplefilter("ignore", stats.ConstantInputWarning)
            out[metric] = (stats.spearmanr(joined.iloc[:, 0], joined.iloc[:, 1]).statistic,
                           stats.kendalltau(joined.iloc[:, 0], joined.iloc[:, 1]).statistic)
    return out


def check_against_recomputation(out: Path, labels_dir: Path) -> None:
    board = pd.read_csv(out / "leaderboard.csv").set_index("name")
    metrics = board[board["kind"] == "metric"]
    recomputed = recompute(out / "scores.csv", labels_dir)
    assert set(recomputed) == set(metrics.index)
    for metric, (rho, tau) in recomputed.items():
        sign = 1 if metrics.loc[metric, "higher_is_better"] else -1
        # A metric that scores every checkpoint alike (the random-attribution control) has no
        # rank correlation: both computations must then say NaN.
        assert metrics.loc[metric, "spearman"] == pytest.approx(sign * rho, abs=1e-9, nan_ok=True), metric
        assert metrics.loc[metric, "kendall"] == pytest.approx(sign * tau, abs=1e-9, nan_ok=True), metric
    researchers = pd.read_csv(labels_dir / "interpretable.csv").pivot(
        index=["num_levels", "run"], columns="researcher", values="interpretable_percent")
    ceiling = stats.spearmanr(researchers[1], researchers[2]).statistic
    ceilings = pd.read_csv(out / "ceilings.csv").set_index("name")
    assert ceilings.loc["rater vs rater", "spearman"] == pytest.approx(ceiling, abs=1e-9)
    ranked = metrics.sort_values("rank")["spearman"].to_numpy()
    assert np.all(np.diff(ranked[~np.isnan(ranked)]) <= 0), "ranks must follow Spearman"


def test_leaderboard_numbers_recompute_independently(report_dir):
    check_against_recomputation(*report_dir)


def test_rerun_uses_the_cache(report_dir, tmp_path, monkeypatch):
    out, labels = report_dir
    monkeypatch.setattr(scoring, "default_attribute", lambda: sz.synthetic_attribute)
    monkeypatch.setattr(scoring, "_score_checkpoint", lambda *a, **k: pytest.fail("rerun re-scored a checkpoint"))
    args = sz.synthetic_args(labels.parent)
    assert main(["report", *args, "--metrics", ",".join(sz.METRICS), "-o", str(tmp_path)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "leaderboard.csv"), pd.read_csv(out / "leaderboard.csv"))


@pytest.mark.skipif(not (REPO_ROOT / "reports" / "leaderboard.csv").exists(), reason="no committed report yet")
def test_committed_leaderboard_recomputes_from_its_scores():
    check_against_recomputation(REPO_ROOT / "reports", DISTILL2020_DIR)


def _attribute_per_method(checkpoint, frames, fits, head="value", n_features=8, method="integrated-gradients", **_):
    """The synthetic attribution, with other noise for every method but integrated gradients."""
    offset = 0 if method == "integrated-gradients" else 17
    return [sz.synthetic_attribution(checkpoint, frames, head, n_features, fit.refit + offset) for fit in fits]


def test_report_across_attribution_methods(tmp_path, monkeypatch):
    """``--attribution ig,grad-x-act``: the report's leaderboard is the first method's, and
    methods.csv, its section and its figure give every metric under both methods."""
    monkeypatch.setattr(scoring, "default_attribute", lambda: _attribute_per_method)
    args = sz.synthetic_args(tmp_path)
    out = tmp_path / "out"
    assert main(["report", *args, "--metrics", ",".join(sz.METRICS), "--attribution", "ig,grad-x-act",
                 "-o", str(out)]) == 0
    methods = pd.read_csv(out / "methods.csv")
    board = pd.read_csv(out / "leaderboard.csv").set_index("name")
    assert set(methods["attribution"]) == {"integrated-gradients", "grad-x-act"}
    assert len(methods) == 2 * len(sz.METRICS)
    ig = methods[methods["attribution"] == "integrated-gradients"].set_index("name")
    pd.testing.assert_series_equal(ig["spearman"], board.loc[ig.index, "spearman"], check_names=False)
    other = methods[methods["attribution"] == "grad-x-act"].set_index("name").loc[ig.index]
    assert not np.allclose(other["spearman_lo"], ig["spearman_lo"]), "the second method was not scored apart"
    text = (out / "leaderboard.md").read_text()
    assert "## Across attribution methods" in text and "figures/methods.png" in text
    assert (out / "figures" / "methods.png").read_bytes()[:4] == b"\x89PNG"
