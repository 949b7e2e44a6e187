"""The known-answer track end to end on a synthetic known-answer zoo: the report lists every
metric against the planted k and flags those that cannot see it; ``check --target planted``
gates on it. (The glass-box construction itself, its oracle and its training are tested in
tests/test_glass_box.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import synthetic_zoo as sz

import interpbench.scoring.score as scoring
from interpbench.cli.main import main
from interpbench.data.frameset import FrameSet
from interpbench.infra.provenance import REPO_ROOT
from interpbench.validation.known_answer import RECOVERS_SPEARMAN


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    yield from sz.isolated_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("known")
    sz.synthetic_args(root)
    sz.make_known_zoo(root / "known", FrameSet.load(root / "frames.npz"))
    return root


@pytest.fixture(autouse=True)
def _synthetic_attribution(monkeypatch):
    monkeypatch.setattr(scoring, "default_attribute", lambda: sz.synthetic_attribute)


def _schema(name: str) -> dict:
    return json.loads((REPO_ROOT / "schemas" / name).read_text())


@pytest.fixture(scope="module")
def report(root: Path) -> Path:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(scoring, "default_attribute", lambda: sz.synthetic_attribute)
        out = root / "out"
        assert main(["report", *sz.synthetic_args(root), "--known-zoo", str(root / "known"), "--metrics",
                     ",".join(sz.METRICS), "-o", str(out)]) == 0
    return out


def test_report_lists_every_metric_against_k_and_flags_the_blind(report: Path) -> None:
    track = pd.read_csv(report / "known_answer.csv").set_index("metric")
    assert list(track.index) == ["oracle:planted-share", "baseline: test completion", *sz.METRICS]
    assert track.loc["oracle:planted-share", "spearman_k"] == pytest.approx(1.0)
    assert track.loc["baseline: test completion", "spearman_k"] < -0.9  # read from each checkpoint's JSON
    assert (track["n_checkpoints"] == len(sz.KNOWN_KS) * len(sz.RUNS)).all() and (track["n_k"] == len(sz.KNOWN_KS)).all()
    # quality rises with k: overlap recovers it, and so does its complement (lower is better: oriented), noise not
    assert track.loc["synthetic-overlap", "spearman_k"] >= RECOVERS_SPEARMAN and track.loc["synthetic-overlap", "ci_low"] > 0
    assert track.loc["synthetic-overlap", "recovers_k"] and track.loc["synthetic-distance", "recovers_k"]
    assert not track.loc["synthetic-noise", "recovers_k"]
    board = pd.read_csv(report / "leaderboard.csv").set_index("name")
    assert board.loc["synthetic-overlap", "planted_spearman"] == pytest.approx(track.loc["synthetic-overlap", "spearman_k"])
    document = json.loads((report / "leaderboard.json").read_text())
    jsonschema.validate(document, _schema("leaderboard.schema.json"))
    flags = {r["name"]: r["flags"] for r in document["rows"]}
    blind = "does not recover the planted k (known-answer track)"
    assert blind not in flags["synthetic-overlap"] and blind in flags["synthetic-noise"]
    assert blind not in flags["synthetic-distance"]
    assert document["known_answer"]["checkpoints"]["glass-box-k8-L100000-r2"] == 8
    text = (report / "leaderboard.md").read_text()
    section = text[text.index("## Known-answer track"):text.index("Columns:")]
    assert all(m in section for m in sz.METRICS) and "synthetic-noise" in section.split("Do not recover")[1].split("\n")[0]
    assert "Known-answer track" in (report / "leaderboard.html").read_text()


def test_a_report_without_a_known_zoo_says_why(root: Path, tmp_path: Path) -> None:
    assert main(["report", *sz.synthetic_args(root), "--metrics", "synthetic-overlap", "-o", str(tmp_path)]) == 0
    document = json.loads((tmp_path / "leaderboard.json").read_text())
    assert document["known_answer"]["rows"] == [] and "no known-answer zoo" in document["known_answer"]["reason"]
    assert not (tmp_path / "known_answer.csv").exists()
    assert all(r.get("sees_planted") is None for r in document["rows"])


@pytest.mark.parametrize("metric, expected", [("synthetic-overlap", 0), ("synthetic-noise", 1)])
def test_check_gates_on_the_planted_target(root: Path, capsys, metric: str, expected: int) -> None:
    args = ["check", "--target", "planted", "--zoo", str(root / "known"), "--frames", str(root / "frames.npz"),
            "--plugin", str(sz.PLUGIN), "--bootstrap", "12", "--no-progress", "--metric", metric,
            "--min-spearman", str(RECOVERS_SPEARMAN), "--min-lower-bound", "0.0", "--json"]
    assert main(args) == expected
    document = json.loads(capsys.readouterr().out)
    jsonschema.validate(document, _schema("check.schema.json"))
    assert document["target"] == "planted" and document["n_k"] == len(sz.KNOWN_KS) and document["vs_log_l"] is None
    assert document["passed"] is (expected == 0)


def test_check_planted_refuses_the_baseline_and_an_unrankable_zoo(root: Path, tmp_path: Path, capsys) -> None:
    common = ["check", "--target", "planted", "--frames", str(root / "frames.npz"), "--plugin", str(sz.PLUGIN),
              "--bootstrap", "0", "--no-progress", "--metric", "synthetic-overlap"]
    assert main([*common, "--zoo", str(root / "known"), "--beat-baseline"]) == 2
    assert "no" in capsys.readouterr().err.lower()
    sz.make_known_zoo(tmp_path, FrameSet.load(root / "frames.npz"), ks=(4,))
    assert main([*common, "--zoo", str(tmp_path), "--min-spearman", "0.5"]) == 2
    assert "cannot be ranked by k" in capsys.readouterr().err
