"""The CI gate: every built-in metric keeps its bar on the shipped zoo (benchmark/gate_thresholds.toml).

Each bar is checked by running ``interpbench check`` itself, so the gate CI runs is the one
metric authors run. Once any bar is set, every built-in must have one. Skips, saying so, until
the zoo is shipped and the bars have been set from its first report.
"""

from __future__ import annotations

import tomllib

import pytest

from benchmark.cache import cache_root
from benchmark.cli import main
from benchmark.reference import REPO_ROOT, reference_path
from benchmark.scoring import DEFAULT_ZOO, load_or_build_frames
from metrics import registry

THRESHOLDS = REPO_ROOT / "benchmark" / "gate_thresholds.toml"
CONFIG = tomllib.loads(THRESHOLDS.read_text())
BUILTINS = sorted(name for name, info in registry.available().items() if info.origin == "built-in")
ZOO_SHIPPED = any(DEFAULT_ZOO.glob("*.safetensors"))
BARS_SET = bool(CONFIG["min_spearman"])


def test_thresholds_file_is_well_formed():
    gate, bars = CONFIG["gate"], CONFIG["min_spearman"]
    assert {"frames", "seed", "bootstrap"} <= gate.keys()
    assert gate["frames"] >= 8 and gate["bootstrap"] >= 0
    for name, bar in bars.items():
        assert name in BUILTINS, f"bar for {name!r}, which is not a built-in metric"
        assert -1.0 <= bar <= 1.0, f"bar {bar} for {name} is not a correlation"


@pytest.fixture(scope="module")
def gate_frames():
    if reference_path() is None:
        pytest.skip("the gate's frames are played by the published reference agent, absent here")
    n, seed = CONFIG["gate"]["frames"], CONFIG["gate"]["seed"]
    path = cache_root() / "frames" / f"heldout-{n}-seed{seed}.npz"
    load_or_build_frames(path, n=n, seed=seed, progress=False)
    return path


@pytest.mark.skipif(not (ZOO_SHIPPED and BARS_SET),
                    reason="no bars set yet: they are set from the first report of the full zoo (docs/ci-gate.md)")
@pytest.mark.parametrize("metric", BUILTINS)
def test_builtin_metric_keeps_its_bar(metric, gate_frames, capsys):
    bars = CONFIG["min_spearman"]
    assert metric in bars, f"built-in metric {metric} has no bar in {THRESHOLDS.name}"
    code = main(["check", "--metric", metric, "--min-spearman", str(bars[metric]), "--frames", str(gate_frames),
                 "--bootstrap", str(CONFIG["gate"]["bootstrap"]), "--seed", str(CONFIG["gate"]["seed"]),
                 "--no-progress"])
    assert code == 0, capsys.readouterr().out
