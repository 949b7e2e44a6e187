"""Metric isolation: whatever a plugin raises or returns is reported under its name, the other
metrics keep their results, and ``check`` never passes a metric that did not score."""

from __future__ import annotations

import numpy as np
import pytest

from interpbench.metrics import registry
from interpbench.metrics.base import MetricError, checked_scores
from interpbench.metrics.scoring import score_all, time_limit
from interpbench.metrics.testing import random_case

MISBEHAVING = {
    "exits": "raise SystemExit(0)",
    "strings": "return np.array(['a'] * attr.n_features)",
    "objects": "return [object()] * attr.n_features",
    "short": "return np.zeros(attr.n_features - 1)",
    "nan": "return np.full(attr.n_features, np.nan)",
    "mutates": "m = attr.maps; m[m < 0] = 0; return np.zeros(attr.n_features)",
    "sleeps": "import time; time.sleep(5); return np.zeros(attr.n_features)",
}


@pytest.fixture
def plugin(tmp_path):
    lines = ["import numpy as np", "from interpbench import register", ""]
    for name, body in MISBEHAVING.items():
        lines += [f'@register("bad-{name}")', f"class Bad{name.title()}:", "    higher_is_better = True",
                  "    def score(self, attr, frames):", f"        {body}", ""]
    path = tmp_path / "bad_plugins.py"
    path.write_text("\n".join(lines))
    registry.load_plugin_file(path)
    return path


def test_every_misbehaviour_is_reported_by_name_and_others_still_score(plugin) -> None:
    attr, frames = random_case(8, 3, seed=0)
    before = attr.maps.copy()
    names = [f"bad-{n}" for n in MISBEHAVING if n != "sleeps"] + ["raw-overlap", "attribution-mass"]
    scores, errors = score_all(attr, frames, names)
    assert sorted(errors) == sorted(f"bad-{n}" for n in MISBEHAVING if n != "sleeps")
    for name, message in errors.items():
        assert name in message
    assert "read-only" in errors["bad-mutates"]
    np.testing.assert_array_equal(attr.maps, before)  # the mutation never happened
    clean_attr, clean_frames = random_case(8, 3, seed=0)
    for name in ("raw-overlap", "attribution-mass"):
        np.testing.assert_array_equal(scores[name], checked_scores(registry.get(name), clean_attr, clean_frames))


def test_a_plugin_exiting_at_import_is_an_error(tmp_path) -> None:
    path = tmp_path / "exits.py"
    path.write_text("raise SystemExit(0)\n")
    with pytest.raises(MetricError, match="SystemExit"):
        registry.load_plugin_file(path)


def test_time_limit_fails_a_slow_metric(plugin) -> None:
    attr, frames = random_case(4, 2, seed=0)
    from interpbench.metrics.scoring import weighted_all

    metrics = {"bad-sleeps": registry.get("bad-sleeps"), "raw-overlap": registry.get("raw-overlap")}
    scores, errors = weighted_all(metrics, attr, frames, np.ones((1, 4)), time_limit_s=0.2)
    assert list(errors) == ["bad-sleeps"] and "time limit" in errors["bad-sleeps"]
    assert "raw-overlap" in scores
    with time_limit(None, "x"):  # no limit: nothing armed
        pass
