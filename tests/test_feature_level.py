"""The leaderboard's feature-level columns (``interpbench.validation.feature_level``).

Known answers (a score equal to the judgment, its reverse, a shuffled one), cross-checks against
scikit-learn and scipy, the checkpoint-clustered bootstrap, the study's exclusions, scripted labels,
and the ceiling shared with ``interpbench agreement``. Every judgment here is a synthetic test
fixture written to ``tmp_path``; none is a human judgment.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pointbiserialr
from sklearn.metrics import roc_auc_score
from test_labelling import study_dict

from interpbench.labelling.agreement import study_agreement
from interpbench.labelling.store import COLUMNS, load_human_studies, read_study_judgments
from interpbench.labelling.study import parse_study
from interpbench.validation.feature_labels import ExclusionCriteria, StudyJudgments
from interpbench.validation.feature_level import (
    COLUMNS as ROW_COLUMNS,
)
from interpbench.validation.feature_level import (
    FeatureLevelError,
    checkpoint_weights,
    feature_level_rows,
    weighted_auroc,
)
from interpbench.validation.ranks import weighted_pearson

CRITERIA = ExclusionCriteria(min_catch_accuracy=0.8, min_median_seconds=2.0, catch_required=True,
                             rating_positive_min=6, rating_negative_max=4)
Judged = dict[tuple[str, int], int]


def write_judgments(path: Path, raters: dict[str, Judged], trial_type: str = "2afc", *, catch_passed: dict | None = None,
                    seconds: dict | None = None, made_by: dict | None = None) -> pd.DataFrame:
    """A study file as ``interpbench label`` writes it, read back as the analysis reads it.

    ``raters``: rater -> {(checkpoint, feature): judgment}; ``catch_passed``: rater -> list of
    bools (one 2AFC catch trial each; default: 5 passed); ``seconds``/``made_by``: per rater."""
    rows = []
    for rater, judged in raters.items():
        common = {"labeller": rater, "object": "", "confidence": "", "seconds": (seconds or {}).get(rater, 3.0),
                  "made_by": (made_by or {}).get(rater, "human"), "study": "unit", "protocol_version": 1,
                  "answer": "", "shown_at": "", "submitted_at": "", "demo": 0}
        for (checkpoint, feature), judgment in judged.items():
            rows.append(common | {"checkpoint": checkpoint, "feature": feature, "judgment": judgment,
                                  "scale": "binary" if trial_type == "2afc" else "0-10", "trial_type": trial_type,
                                  "catch": 0, "catch_expect": "", "trial": len(rows)})
        for k, passed in enumerate((catch_passed or {}).get(rater, [True] * 5)):
            rows.append(common | {"checkpoint": "catch:mask-coin", "feature": k, "judgment": int(passed),
                                  "scale": "binary", "trial_type": "2afc", "catch": 1, "catch_expect": "positive",
                                  "trial": len(rows)})
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, columns=list(COLUMNS), index=False, lineterminator="\n")
    return read_study_judgments(path)


def grid(n_checkpoints: int, n_features: int) -> list[tuple[str, int]]:
    return [(f"c{c}", f) for c in range(n_checkpoints) for f in range(n_features)]


def scores_of(values: dict[tuple[str, int], float], metric: str = "m") -> pd.DataFrame:
    return pd.DataFrame([{"checkpoint": c, "feature": f, "metric": metric, "score": v} for (c, f), v in values.items()])


def study(table: pd.DataFrame, criteria: ExclusionCriteria = CRITERIA, task_types: tuple[str, ...] = ("2afc",)) -> StudyJudgments:
    return StudyJudgments("unit", criteria, task_types, 0, table)


def one_row(scores: pd.DataFrame, studies: list[StudyJudgments], **options) -> pd.Series:
    rows = feature_level_rows(scores, studies, **options)
    assert len(rows) == 1 and list(rows.columns) == list(ROW_COLUMNS)
    return rows.iloc[0]


@pytest.fixture
def truth() -> dict[tuple[str, int], int]:
    rng = np.random.default_rng(1)
    return {key: int(v) for key, v in zip(grid(6, 4), rng.permutation([0, 1] * 12), strict=True)}


# -- known answers and libraries ---------------------------------------------------------------------


def test_a_score_equal_to_the_judgment_gives_auroc_1_and_point_biserial_1(tmp_path, truth):
    table = write_judgments(tmp_path / "unit.csv", {r: truth for r in ("r1", "r2", "r3")})
    row = one_row(scores_of({k: float(v) for k, v in truth.items()}), [study(table)])
    assert row["reason"] == ""
    assert (row["auroc"], row["auroc_low"], row["auroc_high"]) == (1.0, 1.0, 1.0)
    assert row["point_biserial"] == pytest.approx(1.0)
    assert row["point_biserial_low"] == pytest.approx(1.0) and row["point_biserial_high"] == pytest.approx(1.0)
    assert (row["n_features"], row["n_interpretable"], row["n_checkpoints"], row["n_raters"]) == (24, 12, 6, 3)
    assert row["n_replicates"] > 0.9 * 2000  # replicates with one class only are dropped, and only those
    reverse = one_row(scores_of({k: -float(v) for k, v in truth.items()}), [study(table)])
    assert reverse["auroc"] == 0.0 and reverse["point_biserial"] == pytest.approx(-1.0)


def test_a_shuffled_score_is_at_chance(tmp_path):
    rng = np.random.default_rng(2)
    keys = grid(40, 8)
    labels = rng.integers(0, 2, len(keys))
    table = write_judgments(tmp_path / "unit.csv", {r: dict(zip(keys, labels.tolist(), strict=True)) for r in ("a", "b")})
    row = one_row(scores_of(dict(zip(keys, rng.permutation(labels).astype(float), strict=True))), [study(table)])
    assert abs(row["auroc"] - 0.5) < 0.08 and abs(row["point_biserial"]) < 0.15, row
    assert row["auroc_low"] < 0.5 < row["auroc_high"] and row["point_biserial_low"] < 0 < row["point_biserial_high"]


def test_the_figures_are_sklearns_auroc_and_scipys_point_biserial_of_the_panel_mean(tmp_path):
    rng = np.random.default_rng(3)
    keys = grid(8, 5)
    raters = {r: dict(zip(keys, rng.integers(0, 11, len(keys)).tolist(), strict=True)) for r in ("a", "b", "c")}
    table = write_judgments(tmp_path / "unit.csv", raters, trial_type="rating")
    values = dict(zip(keys, rng.normal(size=len(keys)), strict=True))
    row = one_row(scores_of(values), [study(table, task_types=("rating",))])
    panel = np.array([np.mean([raters[r][k] for r in raters]) / 10 for k in keys])
    label, score = panel >= 0.5, np.array([values[k] for k in keys])
    assert 0 < label.sum() < len(keys)
    assert row["auroc"] == pytest.approx(roc_auc_score(label, score))
    assert row["point_biserial"] == pytest.approx(pointbiserialr(label, score).statistic)
    assert row["auroc_low"] <= row["auroc"] <= row["auroc_high"]


def test_each_replicate_is_the_statistic_of_its_resampled_checkpoints():
    rng = np.random.default_rng(4)
    checkpoints = np.repeat([f"c{i}" for i in range(7)], 5)
    labels = rng.integers(0, 2, len(checkpoints)).astype(bool)
    scores = np.round(rng.normal(size=len(checkpoints)), 1)  # ties, as sklearn counts them
    weights = checkpoint_weights(checkpoints, 50, np.random.default_rng(0))
    auroc, r = weighted_auroc(scores, labels, weights), weighted_pearson(labels.astype(float), scores, weights)
    for b in range(len(weights)):
        by_checkpoint = pd.Series(weights[b]).groupby(checkpoints).agg(["min", "max"])
        assert (by_checkpoint["min"] == by_checkpoint["max"]).all()  # whole checkpoints travel together
        assert by_checkpoint["min"].sum() == 7  # 7 draws of checkpoints
        sample = np.repeat(np.arange(len(checkpoints)), weights[b])
        if labels[sample].all() or not labels[sample].any():
            assert np.isnan(auroc[b]) and np.isnan(r[b])
            continue
        assert auroc[b] == pytest.approx(roc_auc_score(labels[sample], scores[sample]))
        assert r[b] == pytest.approx(pointbiserialr(labels[sample], scores[sample]).statistic)


# -- not estimable -----------------------------------------------------------------------------------


@pytest.mark.parametrize("n_checkpoints", [1, 2])
def test_fewer_than_three_checkpoints_are_not_estimable(tmp_path, n_checkpoints):
    keys = grid(n_checkpoints, 6)
    judged = {k: i % 2 for i, k in enumerate(keys)}
    table = write_judgments(tmp_path / "unit.csv", {"a": judged, "b": judged})
    row = one_row(scores_of({k: float(v) for k, v in judged.items()}), [study(table)])
    assert np.isnan([row["auroc"], row["auroc_low"], row["point_biserial"], row["point_biserial_high"]]).all()
    assert row["reason"] == f"judged features on {n_checkpoints} checkpoint(s); a checkpoint-clustered interval needs 3"
    three = write_judgments(tmp_path / "three.csv", {"a": {k: i % 2 for i, k in enumerate(grid(3, 6))}})
    assert one_row(scores_of(dict.fromkeys(grid(3, 6), 0.0) | {("c0", 1): 1.0}), [study(three)])["auroc"] > 0.5


def test_one_class_and_constant_scores_say_why(tmp_path):
    keys = grid(4, 3)
    table = write_judgments(tmp_path / "unit.csv", {"a": dict.fromkeys(keys, 1)})
    row = one_row(scores_of({k: float(i) for i, k in enumerate(keys)}), [study(table)])
    assert np.isnan(row["auroc"]) and row["reason"] == "one class only: all 12 features judged interpretable"
    mixed = write_judgments(tmp_path / "mixed.csv", {"a": {k: i % 2 for i, k in enumerate(keys)}})
    flat = one_row(scores_of(dict.fromkeys(keys, 0.3)), [study(mixed)])
    assert flat["auroc"] == 0.5 and np.isnan(flat["point_biserial"]) and "constant" in flat["reason"]


def test_unscored_features_are_counted_not_hidden(tmp_path, truth):
    table = write_judgments(tmp_path / "unit.csv", {"a": truth})
    values = {k: float(v) for k, v in truth.items() if k[0] != "c5"} | {("c0", 0): float("nan")}
    row = one_row(scores_of(values), [study(table)])
    assert (row["n_features"], row["n_unscored"], row["n_checkpoints"]) == (19, 5, 5)
    nothing = one_row(scores_of({("other", 0): 1.0}), [study(table)])
    assert nothing["reason"] == "no judged feature has a score from this metric"


def test_bad_score_tables_are_refused(truth, tmp_path):
    table = write_judgments(tmp_path / "unit.csv", {"a": truth})
    scores = scores_of({k: float(v) for k, v in truth.items()})
    with pytest.raises(FeatureLevelError, match=r"missing column\(s\) \['score'\]"):
        feature_level_rows(scores.drop(columns="score"), [study(table)])
    with pytest.raises(FeatureLevelError, match="scores c0 feature 0 more than once"):
        feature_level_rows(pd.concat([scores, scores.iloc[:1]]), [study(table)])
    with pytest.raises(FeatureLevelError, match="'x' is not a feature index"):
        feature_level_rows(scores.assign(feature=["x"] + scores["feature"].tolist()[1:]), [study(table)])


# -- exclusions, scripted labels, the ceiling --------------------------------------------------------


def test_exclusions_change_the_figures_exactly_as_the_criteria_say(tmp_path, truth):
    inverse = {k: 1 - v for k, v in truth.items()}
    raters = {"good": truth, "careless1": inverse, "careless2": inverse}
    failing = {"careless1": [True, False, False, True, False], "careless2": [False] * 5}
    fast = {"careless1": 0.5, "careless2": 0.5}
    table = write_judgments(tmp_path / "unit.csv", raters, catch_passed=failing, seconds=fast)
    kept = table.copy()
    scores = scores_of({k: float(v) for k, v in truth.items()})
    excluded = one_row(scores, [study(table)])
    assert (excluded["auroc"], excluded["n_raters"], excluded["n_raters_excluded"]) == (1.0, 1, 2)
    alone = write_judgments(tmp_path / "alone.csv", {"good": truth})
    assert excluded.drop("n_raters_excluded").equals(one_row(scores, [study(alone)]).drop("n_raters_excluded"))
    # the same rows with no rule: two inverted raters outvote the good one, so the label flips
    lax = ExclusionCriteria(0.0, 0.0, True, 6, 4)
    included = one_row(scores, [study(table, lax)])
    assert (included["auroc"], included["n_raters"], included["n_raters_excluded"]) == (0.0, 3, 0)
    assert included["point_biserial"] == pytest.approx(-1.0)
    # the time rule alone excludes them too (catch accuracy 0.4 and 0 pass a bar of 0)
    slow_only = one_row(scores, [study(table, ExclusionCriteria(0.0, 2.0, True, 6, 4))])
    assert (slow_only["auroc"], slow_only["n_raters_excluded"]) == (1.0, 2)
    everyone = one_row(scores, [study(table, ExclusionCriteria(1.0, 10.0, True, 6, 4))])
    assert np.isnan(everyone["auroc"]) and everyone["reason"] == "every rater of this task is excluded"
    pd.testing.assert_frame_equal(table, kept)  # applied by the analysis: no row is dropped from the data


def test_scripted_labels_are_never_counted_as_human(tmp_path, truth):
    scores = scores_of({k: float(v) for k, v in truth.items()})
    scripted = write_judgments(tmp_path / "s.csv", {"bot": truth}, made_by={"bot": "model:scripted"})
    row = one_row(scores, [study(scripted)])
    assert np.isnan(row["auroc"]) and row["reason"] == "no human judgment of this task" and row["n_raters"] == 0
    inverse = {k: 1 - v for k, v in truth.items()}
    mixed = write_judgments(tmp_path / "m.csv", {"person": truth, "bot1": inverse, "bot2": inverse},
                            made_by={"bot1": "model:scripted", "bot2": "model:scripted"})
    assert (one_row(scores, [study(mixed)])[["auroc", "n_raters"]] == [1.0, 1]).all()


def test_the_loader_reads_human_study_files_only(tmp_path, truth):
    studies, labels = tmp_path / "studies", tmp_path / "per_feature"
    studies.mkdir()
    (studies / "unit.json").write_text(json.dumps(study_dict(task_types=["2afc"])))
    write_judgments(labels / "scripted" / "unit.csv", {"bot": truth}, made_by={"bot": "model:scripted"})
    assert load_human_studies(studies, labels) == []  # the scripted rater's folder is never read
    write_judgments(labels / "unit.csv", {"person": truth})
    (found,) = load_human_studies(studies, labels)
    expected = parse_study(study_dict(task_types=["2afc"]))
    assert (found.name, found.criteria, found.task_types, found.seed) == ("unit", expected.criteria, ("2afc",), 0)
    assert found.criteria == ExclusionCriteria(0.8, 0.0, True, 6, 4)
    assert set(found.judgments["labeller"]) == {"person"}


@pytest.mark.parametrize("n_raters", [4, 10])  # 10 raters: random splits (more than MAX_SPLITS)
def test_the_ceiling_is_the_one_interpbench_agreement_reports(tmp_path, n_raters):
    rng = np.random.default_rng(5)
    keys = grid(5, 4)
    signal = rng.integers(0, 11, len(keys))
    raters = {f"r{i}": dict(zip(keys, np.clip(signal + rng.integers(-3, 4, len(keys)), 0, 10).tolist(), strict=True))
              for i in range(n_raters)}
    table = write_judgments(tmp_path / "unit.csv", raters, trial_type="rating")
    parsed = parse_study(study_dict(task_types=["rating"], agreement={"bootstrap": 20, "seed": 3}))
    agreement = study_agreement(parsed, table).types[0]
    row = one_row(scores_of(dict(zip(keys, signal.astype(float), strict=True))),
                  [StudyJudgments("unit", parsed.criteria, parsed.task_types, parsed.agreement_seed, table)])
    assert np.isfinite(agreement.noise_ceiling) and row["ceiling"] == agreement.noise_ceiling
    assert row["n_raters"] == agreement.raters == n_raters


def test_one_row_per_metric_study_and_task(tmp_path, truth):
    table = write_judgments(tmp_path / "unit.csv", {"a": truth})
    rating = write_judgments(tmp_path / "rating.csv", {"a": {k: 10 * v for k, v in truth.items()}}, trial_type="rating")
    both = StudyJudgments("unit", CRITERIA, ("2afc", "rating"), 0, pd.concat([table, rating], ignore_index=True))
    scores = pd.concat([scores_of({k: float(v) for k, v in truth.items()}, metric)
                        for metric in ("m1", "m2")])
    rows = feature_level_rows(scores, [both], n_replicates=100)
    assert rows[["metric", "trial_type"]].values.tolist() == [["m1", "2afc"], ["m2", "2afc"],
                                                                ["m1", "rating"], ["m2", "rating"]]
    assert (rows["auroc"] == 1.0).all() and (rows["n_replicates"] <= 100).all()
    assert feature_level_rows(scores, []).empty
