"""Machine-readable outputs: ``--json`` of check, validate and ``metrics list`` print one JSON
document on stdout and nothing else, valid against the schemas in ``schemas/``; the report writes
``leaderboard.json`` (same schema as ``validate --json``) with full provenance; a metric that fails
to score makes validate exit 1 and names it on stderr. All on the synthetic zoo."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import synthetic_zoo as sz

import interpbench.scoring.score as scoring
from interpbench.cli.main import main

SCHEMAS = Path(__file__).resolve().parents[1] / "schemas"
BROKEN = '''
from interpbench import BaseMetric, register

@register("synthetic-broken")
class Broken(BaseMetric):
    """Always raises."""

    def score(self, attr, frames):
        raise ValueError("broken on purpose")
'''


def schema(name: str) -> dict:
    document = json.loads((SCHEMAS / name).read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return document


def validate(document: object, name: str) -> None:
    jsonschema.Draft202012Validator(schema(name)).validate(document)


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    yield from sz.isolated_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    root = tmp_path_factory.mktemp("json")
    sz.synthetic_args(root)
    return root


@pytest.fixture(autouse=True)
def _synthetic(monkeypatch):
    monkeypatch.setattr(scoring, "default_attribute", lambda: sz.synthetic_attribute)


def run_json(capsys, argv: list[str]) -> tuple[int, object, str]:
    code = main(argv)
    out, err = capsys.readouterr()
    return code, json.loads(out), err  # json.loads fails on anything else on stdout


def test_metrics_list_json(capsys, root):
    sz.load_metrics()
    code, doc, _ = run_json(capsys, ["metrics", "list", "--json"])
    assert code == 0
    validate(doc, "metrics-list.schema.json")
    by_name = {m["name"]: m for m in doc["metrics"]}
    assert by_name["raw-overlap"]["origin"] == "built-in" and by_name["raw-overlap"]["description"]
    assert by_name["synthetic-overlap"]["origin"].startswith("plugin ")


@pytest.mark.parametrize("bar, expected", [(0.5, 0), (1.0, 1)])
def test_check_json(capsys, root, bar, expected):
    args = sz.synthetic_args(root)
    code, doc, _ = run_json(capsys, ["check", "--metric", "synthetic-noise" if expected else "synthetic-overlap",
                                     "--min-spearman", str(bar), *args, "--json"])
    validate(doc, "check.schema.json")
    assert code == expected and doc["passed"] is (expected == 0)
    assert doc["settings"]["n_frames"] == 32 and doc["settings"]["bootstrap"] == 12 and doc["quick"] is False


def test_validate_json_and_failure_named_on_stderr(capsys, root, tmp_path):
    plugin = tmp_path / "broken.py"
    plugin.write_text(BROKEN)
    args = sz.synthetic_args(root)
    code, doc, err = run_json(capsys, ["validate", *args, "--plugin", str(plugin), "--metrics",
                                       "synthetic-overlap,synthetic-broken", "--json", "-o", str(tmp_path / "b.csv")])
    validate(doc, "leaderboard.schema.json")
    assert code == 1
    assert "synthetic-broken" in err and "failed" in err
    assert "synthetic-broken" in doc["errors"]
    names = [r["name"] for r in doc["rows"] if r["kind"] == "metric"]
    assert names == ["synthetic-overlap"]
    broken = next(m for m in doc["metrics"] if m["spec"] == "synthetic-broken")
    assert broken["plugin_sha256"] == hashlib.sha256(plugin.read_bytes()).hexdigest()


def test_report_writes_leaderboard_json_with_provenance(capsys, root, tmp_path):
    args = sz.synthetic_args(root)
    out = tmp_path / "out"
    assert main(["report", *args, "--metrics", ",".join(sz.METRICS), "-o", str(out)]) == 0
    doc = json.loads((out / "leaderboard.json").read_text())
    validate(doc, "leaderboard.schema.json")
    prov = doc["provenance"]
    assert prov["frames"]["n_frames"] == 32 and len(prov["frames"]["hash"]) == 64
    assert prov["settings"]["n_bootstrap"] == 12 and prov["code_version"]
    assert prov["judgments"]["citation"] == "synthetic test fixture"
    assert len(prov["checkpoints"]) == len(sz.LEVELS) * len(sz.RUNS)
    plugin_hash = hashlib.sha256(sz.PLUGIN.read_bytes()).hexdigest()
    assert {m["spec"] for m in doc["metrics"]} == set(sz.METRICS)
    assert all(m["origin"].startswith("plugin ") and m["plugin_sha256"] == plugin_hash for m in doc["metrics"])
    board = pd.read_csv(out / "leaderboard.csv")
    assert [r["name"] for r in doc["rows"]] == board["name"].tolist()
    for row, (_, csv_row) in zip(doc["rows"], board.iterrows()):
        assert row["spearman"] == pytest.approx(csv_row["spearman"], nan_ok=True) or (
            row["spearman"] is None and pd.isna(csv_row["spearman"]))
    assert "leaderboard.json" in (out / "leaderboard.md").read_text()
    assert "| best metric (synthetic" in (out / "status.md").read_text()


def test_committed_leaderboard_json_is_valid():
    path = SCHEMAS.parent / "reports" / "leaderboard.json"
    if not path.exists():
        pytest.skip("reports/leaderboard.json not generated yet (the lead regenerates reports/)")
    validate(json.loads(path.read_text()), "leaderboard.schema.json")


def test_readme_status_table_is_generated_from_the_committed_leaderboard():
    from interpbench.reporting.report import STATUS_BEGIN, STATUS_END, render_status

    repo = SCHEMAS.parent
    readme = (repo / "README.md").read_text()
    assert STATUS_BEGIN in readme and STATUS_END in readme, "README lost its status block"
    if not (repo / "reports" / "leaderboard.csv").exists():
        pytest.skip("no committed leaderboard yet")
    block = readme[readme.index(STATUS_BEGIN) + len(STATUS_BEGIN):readme.index(STATUS_END)].strip()
    assert block == render_status(pd.read_csv(repo / "reports" / "leaderboard.csv"),
                                  pd.read_csv(repo / "reports" / "ceilings.csv")).strip(), (
        "README's status table differs from reports/leaderboard.csv: run `interpbench report`")
