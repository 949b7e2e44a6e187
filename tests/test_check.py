"""``interpbench check``: 0 at or above the bar, 1 below, 2 on bad input."""

from __future__ import annotations

import pytest
import synthetic_zoo as sz

import interpbench.scoring.score as scoring
from interpbench.cli.main import main


@pytest.fixture(scope="module", autouse=True)
def _cache(tmp_path_factory):
    yield from sz.isolated_cache(tmp_path_factory)


@pytest.fixture(scope="module")
def args(tmp_path_factory):
    return sz.synthetic_args(tmp_path_factory.mktemp("check"))


@pytest.fixture(autouse=True)
def synthetic_attribution(monkeypatch):
    monkeypatch.setattr(scoring, "default_attribute", lambda: sz.synthetic_attribute)


def check(*argv: str) -> int:
    return main(["check", *argv])


def test_pass_at_or_above_the_bar(args, capsys):
    # The best any score reaches against the per-level-count target: the planted ranking's 0.976.
    assert check("--metric", "synthetic-overlap", "--min-spearman", "0.975", *args) == 0
    out = capsys.readouterr().out
    assert "synthetic-overlap: Spearman 0.976" in out and "PASS" in out


def test_fail_below_the_bar(args, capsys):
    assert check("--metric", "synthetic-noise", "--min-spearman", "0.95", *args) == 1
    assert "FAIL" in capsys.readouterr().out


@pytest.mark.parametrize(
    "change, message",
    [
        (["--metric", "no-such-metric", "--min-spearman", "0.5"], "unknown metric"),
        (["--metric", "synthetic-overlap", "--min-spearman", "1.5"], "must be in"),
        (["--metric", "synthetic-overlap", "--min-spearman", "0.5", "--zoo", "/nonexistent"], "zoo folder not found"),
        (["--metric", "synthetic-overlap", "--min-spearman", "0.5", "--labels", "/nonexistent"], "not found"),
    ],
)
def test_bad_input_exits_2(args, capsys, change, message):
    assert check(*args, *change) == 2
    assert message in capsys.readouterr().err


def test_a_metric_that_fails_to_score_exits_2(args, tmp_path, capsys):
    from interpbench.metrics import registry

    if "synthetic-broken" not in registry.available():
        plugin = tmp_path / "broken.py"
        plugin.write_text("from interpbench.metrics.registry import register\n\n"
                          "@register('synthetic-broken')\nclass Broken:\n    higher_is_better = True\n"
                          "    def score(self, attr, frames):\n        raise RuntimeError('boom')\n")
        registry.load_plugin_file(plugin)
    assert check("--metric", "synthetic-broken", "--min-spearman", "0.0", *args) == 2
    assert "boom" in capsys.readouterr().err
