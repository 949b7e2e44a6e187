"""The metric contract, end to end on the synthetic zoo (``tests/synthetic_zoo.py``):

* a metric's own ``aggregate`` decides its model score everywhere: score table, leaderboard
  (point figure and intervals) and report;
* the score cache is keyed per metric: editing one built-in's module re-scores that built-in
  alone, and a parameterised spec is its own metric with its own entries;
* parameters by spec and by keyword are one configuration, and a wrong parameter name is a clear
  error naming the valid ones.
"""

from __future__ import annotations

import hashlib
import html as htmllib
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import synthetic_zoo as sz
from scipy import stats

import interpbench.scoring.identity as identity
import interpbench.scoring.score as scoring
from interpbench import BaseMetric, MetricError, get, register
from interpbench.agents.models import load_checkpoint
from interpbench.data.zoo import read_zoo
from interpbench.metrics import registry
from interpbench.metrics.maps import flat_maps, mass_on, object_mask, ratio
from interpbench.reporting.report import ReportContext, write_report
from interpbench.scoring.identity import metric_identity
from interpbench.scoring.score import score_zoo
from interpbench.scoring.table import ScoringConfig
from interpbench.validation.labels import load_aggregate
from interpbench.validation.validate import validate

CONFIG = ScoringConfig(n_bootstrap=8, area_bins=2)
MAX_NAME = "contract-max-feature"
BUILTINS = ("raw-overlap", "attribution-mass", "thresholded-saliency")


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    yield from sz.isolated_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    root = tmp_path_factory.mktemp("contract")
    zoo = sz.make_zoo(root / "zoo")
    return {"root": root, "zoo": zoo, "frames": sz.make_frames(32),
            "labels": load_aggregate(sz.write_labels(root / "labels"))}


class MaxFeature(BaseMetric):
    """Feature 0 tracks the object share (+10), the others its negative (x10): the best feature
    ranks checkpoints one way and the mean over features the other way."""

    def score_frames(self, attr, frames):
        values = flat_maps(attr, "positive")
        share = ratio(mass_on(values, object_mask(frames, self.classes)), values.sum(axis=-1, dtype=np.float64))
        out = -10.0 * share
        out[:, 0] = share[:, 0] + 10.0
        return out

    def aggregate(self, scores):
        return float(np.max(scores))


# -- aggregate ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def aggregated(synthetic, tmp_path_factory):
    """MAX_NAME registered (and unregistered after this module), scored, validated, reported."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(registry, "_REGISTRY", dict(registry.available()))
        register(MAX_NAME)(MaxFeature)
        table = score_zoo(synthetic["zoo"], synthetic["frames"], [MAX_NAME, "attribution-mass"], config=CONFIG,
                          attribute=sz.synthetic_attribute, progress=False)
        validation = validate(table, synthetic["labels"])
        out = tmp_path_factory.mktemp("report")
        ctx = ReportContext(zoo="synthetic", frames="synthetic", citation="synthetic fixture", code_version="test")
        write_report(out, ctx, validation, table)
        yield {"table": table, "validation": validation, "out": out}


def test_aggregate_gives_the_model_score(aggregated):
    table = aggregated["table"]
    assert table.errors == {}
    trained = table.stacked(MAX_NAME, "trained")
    assert trained.shape == (len(table.checkpoints), CONFIG.n_features)
    np.testing.assert_array_equal(table.per_model()[MAX_NAME].to_numpy(), trained.max(axis=1))
    np.testing.assert_array_equal(table.model_scores(MAX_NAME, "boot"), table.stacked(MAX_NAME, "boot").max(axis=2))
    assert not np.allclose(trained.max(axis=1), trained.mean(axis=1))


def test_leaderboard_spearman_uses_the_aggregate(aggregated):
    table, v = aggregated["table"], aggregated["validation"]
    board = v.leaderboard.set_index("name")
    human = v.matched["human_level_mean"].to_numpy()
    trained = table.stacked(MAX_NAME, "trained", v.matched.index)
    by_max = stats.spearmanr(trained.max(axis=1), human).statistic
    by_mean = stats.spearmanr(trained.mean(axis=1), human).statistic
    assert by_max > 0.95 and by_mean < -0.95  # the case where they differ
    assert board.loc[MAX_NAME, "spearman"] == pytest.approx(by_max, abs=1e-12)
    assert board.loc[MAX_NAME, "kendall"] == pytest.approx(stats.kendalltau(trained.max(axis=1), human).statistic)
    # the interval comes from max-aggregated replicates too (mean-aggregated ones would sit near -1)
    assert board.loc[MAX_NAME, "spearman_lo"] > 0
    np.testing.assert_array_equal(v.model_boot[MAX_NAME], table.stacked(MAX_NAME, "boot", v.matched.index).max(axis=2).T)
    # the control: a mean-aggregated built-in is ranked by its mean
    mass = table.stacked("attribution-mass", "trained", v.matched.index).mean(axis=1)
    assert board.loc["attribution-mass", "spearman"] == pytest.approx(stats.spearmanr(mass, human).statistic)


def markdown_rows(text: str) -> list[dict[str, str]]:
    """The leaderboard table of a markdown report, cells unescaped, keyed by the header."""
    lines = [line for line in text.splitlines() if line.startswith("|")]

    def cells(line: str) -> list[str]:
        parts = re.split(r"(?<!\\)\|", line.strip())[1:-1]
        return [htmllib.unescape(re.sub(r"\\(.)", r"\1", c.strip())) for c in parts]

    header = cells(lines[0])
    return [dict(zip(header, cells(line))) for line in lines[2:]]


class _Table(HTMLParser):
    """Rows of the HTML tables: lists of cell texts, the header row first."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def html_rows(text: str) -> list[dict[str, str]]:
    parser = _Table()
    parser.feed(text)
    header = parser.rows[0]
    return [dict(zip(header, row)) for row in parser.rows[1:]]


def test_report_shows_the_aggregated_figures(aggregated):
    out, v = aggregated["out"], aggregated["validation"]
    board = pd.read_csv(out / "leaderboard.csv").set_index("name")
    assert board.loc[MAX_NAME, "spearman"] > 0.95  # the mean over features would give about -0.95
    for rows in (markdown_rows((out / "leaderboard.md").read_text()), html_rows((out / "leaderboard.html").read_text())):
        row = next(r for r in rows if r.get("name") == MAX_NAME)
        assert row["spearman"] == f"{board.loc[MAX_NAME, 'spearman']:.3f}", row
        assert float(row["spearman_lo"]) > 0, row
    scores = pd.read_csv(out / "scores.csv")
    per_ckpt = scores[scores["metric"] == MAX_NAME].groupby("checkpoint")["score"].max()
    human = v.matched["human"]
    assert stats.spearmanr(per_ckpt.loc[human.index], human).statistic == pytest.approx(1.0)


# -- the cache, per metric -----------------------------------------------------------------------------


def cache_state(cache: Path) -> dict[Path, tuple[int, int, str]]:
    """Every score entry: (inode, mtime_ns, sha256 of its bytes)."""
    return {p: (p.stat().st_ino, p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted((cache / "scores").rglob("*.npz"))}


def entry_paths(synthetic, spec: str) -> set[Path]:
    """The cache files ``spec`` scores into, one per checkpoint (computed with the current identity)."""
    frames = synthetic["frames"]
    ident = metric_identity(get(spec))
    return {scoring._cache_path(load_checkpoint(row["path"]).weights_hash(), frames.content_hash(), ident, CONFIG,
                                sz.synthetic_attribute)
            for _, row in read_zoo(synthetic["zoo"]).iterrows()}


def score(synthetic, specs):
    return score_zoo(synthetic["zoo"], synthetic["frames"], list(specs), config=CONFIG,
                     attribute=sz.synthetic_attribute, progress=False)


def test_editing_one_builtin_rescores_only_it(synthetic, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERPBENCH_CACHE", str(tmp_path))
    n = len(read_zoo(synthetic["zoo"]))
    first = score(synthetic, BUILTINS)
    assert first.errors == {}
    before = cache_state(tmp_path)
    assert len(before) == n * len(BUILTINS)
    old_raw = entry_paths(synthetic, "raw-overlap")
    assert old_raw <= set(before)

    real = identity.module_source

    def edited(name: str) -> str | None:
        source = real(name)
        return source + "\n# edited\n" if name == "interpbench.metrics.raw_overlap" and source else source

    monkeypatch.setattr(identity, "module_source", edited)
    rescored: list[set[str]] = []
    real_score = scoring._score_checkpoint

    def spy(checkpoint, frames, metrics, *args, **kwargs):
        rescored.append(set(metrics))
        return real_score(checkpoint, frames, metrics, *args, **kwargs)

    monkeypatch.setattr(scoring, "_score_checkpoint", spy)
    second = score(synthetic, BUILTINS)
    after = cache_state(tmp_path)

    new_raw = entry_paths(synthetic, "raw-overlap")
    assert not new_raw & old_raw, "the edit did not change raw-overlap's cache identity"
    assert rescored == [{"raw-overlap"}] * n, rescored
    assert set(after) - set(before) == new_raw, "entries other than raw-overlap's were written"
    assert {p: after[p] for p in before} == before, "an existing entry was rewritten"
    for spec in BUILTINS:  # the same code gives the same numbers
        np.testing.assert_array_equal(second.stacked(spec, "boot"), first.stacked(spec, "boot"))


def test_a_parameterised_spec_is_its_own_metric(synthetic, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERPBENCH_CACHE", str(tmp_path))
    n = len(read_zoo(synthetic["zoo"]))
    plain = score(synthetic, ["attribution-mass"])
    plain_files = set(cache_state(tmp_path))
    coin = score(synthetic, ["attribution-mass[classes=coin]"])
    coin_files = set(cache_state(tmp_path)) - plain_files
    assert coin.metrics == ["attribution-mass[classes=coin]"] and coin.errors == {}
    assert len(plain_files) == len(coin_files) == n
    assert coin_files == entry_paths(synthetic, "attribution-mass[classes=coin]")
    a, b = plain.stacked("attribution-mass", "trained"), coin.stacked("attribution-mass[classes=coin]", "trained")
    assert a.shape == b.shape and not np.allclose(a, b)
    assert (b <= a + 1e-12).all()  # coins are a subset of the objects: less mass on them
    # the keyword spelling is the same metric, served from the same entries
    monkeypatch.setattr(scoring, "_score_checkpoint", lambda *a, **k: pytest.fail("a cached spec was re-scored"))
    again = score(synthetic, ["attribution-mass[classes=coin]"])
    np.testing.assert_array_equal(again.stacked("attribution-mass[classes=coin]", "boot"),
                                  coin.stacked("attribution-mass[classes=coin]", "boot"))


def test_keyword_and_spec_parameters_are_one_configuration():
    by_keyword = get("attribution-mass", classes=("coin",))
    by_spec = get("attribution-mass[classes=coin]")
    assert by_keyword.spec == by_spec.spec == "attribution-mass[classes=coin]"
    assert by_keyword.classes == by_spec.classes == ("coin",)
    assert metric_identity(by_spec) != metric_identity(get("attribution-mass"))
    both = get("attribution-mass[sign=abs, classes=coin+agent]")
    assert both.spec == get("attribution-mass", sign="abs", classes=("coin", "agent")).spec
    assert both.spec == "attribution-mass[classes=agent+coin,sign=abs]"  # a union of classes has no order
    assert both.spec == get("attribution-mass[classes=agent+coin,sign=abs]").spec
    assert both.classes == ("agent", "coin") and both.sign == "abs"


def test_keyword_and_spec_spellings_share_a_cache_identity():
    """One configuration, one spec, so one cache identity: the score cache is keyed by identity,
    and the registry promises that two spellings of one configuration share their scores."""
    by_keyword = get("attribution-mass", classes=("coin",))
    by_spec = get("attribution-mass[classes=coin]")
    assert by_keyword.spec == by_spec.spec
    assert by_keyword.params == by_spec.params, "the instances record different parameters for one configuration"
    assert metric_identity(by_keyword) == metric_identity(by_spec)


@pytest.mark.parametrize("call", [lambda: get("attribution-mass[clases=coin]"),
                                  lambda: get("attribution-mass", clases=("coin",))])
def test_a_wrong_parameter_names_the_valid_ones(call):
    with pytest.raises(MetricError) as caught:
        call()
    message = str(caught.value)
    assert "'attribution-mass'" in message and "'clases'" in message
    for valid in ("classes", "sign", "pooled"):
        assert valid in message


def test_a_wrong_parameter_fails_before_scoring(synthetic, monkeypatch):
    monkeypatch.setattr(scoring, "_score_checkpoint", lambda *a, **k: pytest.fail("scored despite a bad spec"))
    with pytest.raises(MetricError, match="no parameter 'shares'.*'share'"):
        score(synthetic, ["raw-overlap", "thresholded-saliency[shares=0.1]"])
