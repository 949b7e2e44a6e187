"""The CI gate: every built-in metric keeps its bar on the shipped zoo (benchmark/gate_thresholds.toml).

Each bar is checked by running ``interpbench check`` itself, so the gate CI runs is the one
metric authors run. Every built-in has a bar or a stated reason under [no_bar]. Skips, saying
so, where no zoo is shipped or no bar is set.
"""

from __future__ import annotations

import tomllib

import pytest

from benchmark.cli import main
from benchmark.provenance import REPO_ROOT
from benchmark.reference import reference_path
from benchmark.scoring import DEFAULT_ZOO, frames_cache_path, load_or_build_frames
from metrics import registry

THRESHOLDS = REPO_ROOT / "benchmark" / "gate_thresholds.toml"
CONFIG = tomllib.loads(THRESHOLDS.read_text())
BUILTINS = sorted(name for name, info in registry.available().items() if info.origin == "built-in")
ZOO_SHIPPED = any(DEFAULT_ZOO.glob("*.safetensors"))
BARS_SET = bool(CONFIG["min_spearman"])


def test_thresholds_file_is_well_formed():
    gate, bars, no_bar = CONFIG["gate"], CONFIG["min_spearman"], CONFIG.get("no_bar", {})
    assert {"frames", "seed", "bootstrap"} <= gate.keys()
    assert gate["frames"] >= 8 and gate["bootstrap"] >= 0
    for name, bar in bars.items():
        assert name in BUILTINS, f"bar for {name!r}, which is not a built-in metric"
        assert -1.0 <= bar <= 1.0, f"bar {bar} for {name} is not a correlation"
    for name, reason in no_bar.items():
        assert name in BUILTINS and name not in bars and reason.strip(), f"bad [no_bar] entry {name!r}"
    if bars:
        missing = set(BUILTINS) - bars.keys() - no_bar.keys()
        assert not missing, f"built-in metrics with neither a bar nor a reason: {sorted(missing)}"


@pytest.fixture(scope="module")
def gate_frames():
    if reference_path() is None:
        pytest.skip("the gate's frames are played by the published reference agent, absent here")
    n, seed = CONFIG["gate"]["frames"], CONFIG["gate"]["seed"]
    path = frames_cache_path(n, seed)
    load_or_build_frames(path, n=n, seed=seed, progress=False)
    return path


@pytest.mark.skipif(not (ZOO_SHIPPED and BARS_SET),
                    reason="no bars set yet: they are set from the first report of the full zoo (docs/ci-gate.md)")
@pytest.mark.parametrize("metric", sorted(CONFIG["min_spearman"]))
def test_builtin_metric_keeps_its_bar(metric, gate_frames, capsys):
    bars = CONFIG["min_spearman"]
    code = main(["check", "--metric", metric, "--min-spearman", str(bars[metric]), "--frames", str(gate_frames),
                 "--bootstrap", str(CONFIG["gate"]["bootstrap"]), "--seed", str(CONFIG["gate"]["seed"]),
                 "--no-progress"])
    assert code == 0, capsys.readouterr().out
