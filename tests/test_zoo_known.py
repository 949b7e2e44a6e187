"""The shipped known-answer zoo (``baselines/zoo-known``) and its summary (``docs/known_answer.json``):
every planted k and seed is there, the oracle was measured on one frame set with one method, and
issue 15's must-shows hold when recomputed here from the checkpoints' own JSONs with scipy, not
read back from the summary the training script wrote.
"""

from __future__ import annotations

import json

import pytest
from scipy import stats

from interpbench.baselines import known_zoo
from interpbench.data.zoo import default_zoo, read_zoo_metadata
from interpbench.infra.provenance import REPO_ROOT
from interpbench.validation.oracle import ORACLE_METHOD

SUMMARY = REPO_ROOT / "docs" / "known_answer.json"
METAS = read_zoo_metadata(known_zoo.KNOWN_ZOO_DIR)  # shipped with the repository: missing is a failure, not a skip


def test_every_k_and_seed_is_shipped_with_its_oracle_on_one_frame_set() -> None:
    shipped = {(m["planted"]["k"], m["planted"]["seed"]) for m in METAS}
    assert shipped == {(k, seed) for k in known_zoo.KS for seed in known_zoo.SEEDS}
    assert {m["oracle"]["frames_sha256"] for m in METAS} == {METAS[0]["oracle"]["frames_sha256"]}
    assert all(m["oracle"]["method"] == ORACLE_METHOD and m["oracle"]["n_frames"] >= 512 for m in METAS)
    for m in METAS:
        assert len(m["planted"]["object_groups"]) == m["planted"]["k"]
        assert m["train_completion"]["episodes"] >= 500 and m["test_completion"]["episodes"] >= 500


def test_every_agent_was_distilled_from_the_same_dataset() -> None:
    """The zoo was trained on two machines (each JSON's ``hardware``), each gathering the dataset
    itself: what the gather produced must be the same, only its wall time may differ."""
    produced = [{k: v for k, v in m["dataset"].items() if k != "wall_time_s"} for m in METAS]
    assert all(d == produced[0] for d in produced)


def test_the_oracle_rises_with_k_and_full_planting_plays_well() -> None:
    ks = [m["planted"]["k"] for m in METAS]
    shares = [m["oracle"]["planted_share"] for m in METAS]
    assert stats.spearmanr(ks, shares).statistic >= 0.9
    best = max(m["test_completion_rate"] for m in read_zoo_metadata(default_zoo()))
    full = [m["test_completion_rate"] for m in METAS if m["planted"]["k"] == 8]
    assert len(full) == len(known_zoo.SEEDS) and min(full) >= 0.8 * best


def test_the_summary_is_the_shipped_zoo() -> None:
    summary = json.loads(SUMMARY.read_text())
    by_name = {m["name"]: m for m in METAS}
    assert {r["name"] for r in summary["checkpoints"]} == by_name.keys()
    for row in summary["checkpoints"]:
        meta = by_name[row["name"]]
        assert row["oracle_share"] == meta["oracle"]["planted_share"] and row["k"] == meta["planted"]["k"]
        assert row["test_completion"] == meta["test_completion_rate"]
    ks = [r["k"] for r in summary["checkpoints"]]
    assert summary["spearman_k_oracle"]["spearman_k"] == pytest.approx(
        stats.spearmanr(ks, [r["oracle_share"] for r in summary["checkpoints"]]).statistic)
