"""Human judgments: the stored Distill 2020 figures, the human ceiling, and the strict loaders."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from interpbench.validation.ceilings import target_ceilings
from interpbench.validation.labels import (
    LabelError,
    human_only,
    load_aggregate,
    load_feature_judgments,
)

LEVELS = [100, 300, 1000, 3000, 10000, 30000, 100000]
# The figures of the issue text (percent), typed in again here to check the stored files.
PUBLISHED = {
    ("interpretable", 1, 1): [52.5, 22.5, 11.25, 45, 90, 75, 91.25],
    ("interpretable", 1, 2): [8.75, 8.75, 10, 26.25, 56.25, 90, 70],
    ("interpretable", 2, 1): [15, 13.75, 15, 23.75, 53.75, 90, 96.25],
    ("interpretable", 2, 2): [3.75, 6.25, 21.25, 45, 72.5, 83.75, 77.5],
    ("train", 1): [99.96, 99.82, 99.67, 99.65, 99.47, 99.55, 99.57],
    ("train", 2): [99.97, 99.86, 99.70, 99.46, 99.39, 99.50, 99.37],
    ("test", 1): [61.81, 66.95, 74.93, 89.87, 97.53, 98.66, 99.25],
    ("test", 2): [64.13, 67.64, 73.46, 90.36, 97.44, 98.89, 99.35],
}

HEADER = "checkpoint,feature,labeller,scale,judgment,object,confidence,seconds,made_by"
KNOWN = {"distill-L100-r1": 8, "distill-L1000-r1": 8}


@pytest.fixture(scope="module")
def published():
    return load_aggregate()


def test_stored_figures_are_the_published_ones(published):
    interp = published.interpretable.set_index(["run", "researcher", "num_levels"])["interpretable"]
    completion = published.completion.set_index(["run", "num_levels"])
    for run in (1, 2):
        for researcher in (1, 2):
            got = interp.loc[(run, researcher)].loc[LEVELS].to_numpy() * 100
            np.testing.assert_allclose(got, PUBLISHED[("interpretable", run, researcher)], atol=1e-9)
        for split in ("train", "test"):
            got = completion.loc[run].loc[LEVELS, f"{split}_completed"].to_numpy() * 100
            np.testing.assert_allclose(got, PUBLISHED[(split, run)], atol=1e-9)
    assert len(published.interpretable) == 28 and len(published.completion) == 14


def test_source_names_the_article_and_protocol(published):
    assert "Understanding RL Vision" in published.source["citation"]
    assert "10.23915/distill.00029" in published.source["citation"]
    protocol = " ".join(published.source["protocol"])
    for phrase in ("not fully blind", "primarily illustrative", "clear CNN", "10,000"):
        assert phrase in protocol


def test_harness_computes_the_inter_rater_agreement(published):
    rows = {c.name: c for c in target_ceilings(published.by_researcher(), n_replicates=200, seed=0)}
    r1 = PUBLISHED[("interpretable", 1, 1)] + PUBLISHED[("interpretable", 2, 1)]
    r2 = PUBLISHED[("interpretable", 1, 2)] + PUBLISHED[("interpretable", 2, 2)]
    assert rows["rater vs rater"].spearman == pytest.approx(0.787, abs=0.001)
    assert rows["rater vs rater"].spearman == pytest.approx(stats.spearmanr(r1, r2).statistic, abs=1e-12)


def test_human_fraction_is_the_mean_over_researchers(published):
    assert published.human_fraction().loc[(100, 1)] == pytest.approx((52.5 + 8.75) / 200)


def _write(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "judgments.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def test_feature_judgments_load_and_normalize(tmp_path):
    path = _write(
        tmp_path,
        "distill-L100-r1,0,a,binary,1,coin,0.9,12.5,human",
        "distill-L100-r1,1,a,0-10,7,,,,human",
        "distill-L1000-r1,1,gpt,binary,0,,,,model:some-llm",
    )
    table = load_feature_judgments([path], KNOWN)
    assert table["interpretable"].tolist() == [1.0, 0.7, 0.0]
    assert table["confidence"].isna().tolist() == [False, True, True]
    assert human_only(table)["labeller"].tolist() == ["a", "a"]


@pytest.mark.parametrize(
    "rows, header, message",
    [
        (["distill-L100-r1,0,a,binary,1,coin,0.9,12,human"], HEADER.replace(",confidence", ""), "missing column"),
        (["distill-L999-r1,0,a,binary,1,,,,human"], HEADER, "line 2: unknown checkpoint"),
        (["distill-L100-r1,0,a,binary,1,,,,human", "distill-L100-r1,0,a,binary,0,,,,human"], HEADER,
         "line 3: duplicate"),
        (["distill-L100-r1,8,a,binary,1,,,,human"], HEADER, "line 2: feature='8' is out of range"),
        (["distill-L100-r1,0,a,binary,2,,,,human"], HEADER, "judgment='2' is out of range"),
        (["distill-L100-r1,0,a,0-10,11,,,,human"], HEADER, "judgment='11' is out of range"),
        (["distill-L100-r1,0,a,0-10,5,,1.5,,human"], HEADER, "confidence='1.5' is out of range"),
        (["distill-L100-r1,0,a,0-10,x,,,,human"], HEADER, "judgment='x' is not a valid int"),
        (["distill-L100-r1,0,a,stars,1,,,,human"], HEADER, "scale='stars'"),
        (["distill-L100-r1,0,a,binary,1,,,,robot"], HEADER, "made_by='robot'"),
        (["distill-L100-r1,0,,binary,1,,,,human"], HEADER, "empty labeller"),
        (["distill-L100-r1,0,a,binary,1,,,human"], HEADER, "line 2: expected 9 fields"),
    ],
)
def test_bad_feature_judgments_name_file_and_row(tmp_path, rows, header, message):
    path = _write(tmp_path, *rows, header=header)
    with pytest.raises(LabelError, match=message) as err:
        load_feature_judgments([path], KNOWN)
    assert str(path) in str(err.value)


def test_duplicate_across_files_is_refused(tmp_path):
    a = tmp_path / "a.csv"
    b = tmp_path / "b.csv"
    for p in (a, b):
        p.write_text(f"{HEADER}\ndistill-L100-r1,0,a,binary,1,,,,human\n")
    with pytest.raises(LabelError, match="more than one file"):
        load_feature_judgments([a, b], KNOWN)


def test_bad_aggregate_files_are_refused(tmp_path):
    src = load_aggregate().source
    d = tmp_path / "agg"
    d.mkdir()
    (d / "source.json").write_text(json.dumps(src))
    (d / "completion.csv").write_text("num_levels,run,train_completed_percent,test_completed_percent\n100,1,99,60\n")
    (d / "interpretable.csv").write_text("num_levels,run,researcher,interpretable_percent\n100,1,1,50\n100,1,1,40\n")
    with pytest.raises(LabelError, match=r"interpretable.csv, line 3: duplicate"):
        load_aggregate(d)
    (d / "interpretable.csv").write_text("num_levels,run,researcher,interpretable_percent\n100,1,1,150\n")
    with pytest.raises(LabelError, match="out of range"):
        load_aggregate(d)
    (d / "interpretable.csv").write_text("num_levels,run,researcher\n100,1,1\n")
    with pytest.raises(LabelError, match="missing column"):
        load_aggregate(d)
