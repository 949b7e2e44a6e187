"""The CI gate: every built-in metric keeps its bar on the shipped zoo (benchmark/gate/gate_thresholds.toml).

Each bar is checked by running ``interpbench check`` itself, so the gate CI runs is the one
metric authors run. Every built-in has a bar or a stated reason under [no_bar], and the
measurement written beside each bar still reproduces on the shipped zoo (a bar set on an older
zoo fails here until ``scripts/gate_bars.py --write`` re-measures it). Skips, saying so, where no
zoo is shipped or no bar is set.
"""

from __future__ import annotations

import pytest

from interpbench.agents.reference import reference_path
from interpbench.cli.main import main
from interpbench.data.zoo import default_zoo
from interpbench.gate import bars as gate
from interpbench.metrics import registry

CONFIG = gate.load_config()
BUILTINS = sorted(name for name, info in registry.available().items() if info.origin == "built-in")
ZOO_SHIPPED = any(default_zoo().glob("*.safetensors"))
BARS_SET = bool(CONFIG["min_spearman"]) or bool(CONFIG.get("not_a_bar"))
NEEDS_BARS = pytest.mark.skipif(not (ZOO_SHIPPED and BARS_SET),
                                reason="no zoo shipped or no bars set yet (docs/ci-gate.md)")


def test_thresholds_file_is_well_formed():
    gate, bars, no_bar = CONFIG["gate"], CONFIG["min_spearman"], CONFIG.get("no_bar", {})
    assert {"frames", "seed", "bootstrap"} <= gate.keys()
    assert gate["frames"] >= 8 and gate["bootstrap"] >= 0
    for name, bar in bars.items():
        assert name in BUILTINS, f"bar for {name!r}, which is not a built-in metric"
        assert -1.0 <= bar <= 1.0, f"bar {bar} for {name} is not a correlation"
    not_a_bar = CONFIG.get("not_a_bar", {})
    for name, reason in no_bar.items():
        assert name in BUILTINS and name not in bars and reason.strip(), f"bad [no_bar] entry {name!r}"
    for name, value in not_a_bar.items():
        assert name in BUILTINS and name not in bars and name not in no_bar, f"bad [not_a_bar] entry {name!r}"
        assert value - 0.25 < 0, f"{name}: measured {value} would give a bar >= 0; it belongs in [min_spearman]"
    for name, bar in bars.items():
        assert bar >= 0, f"bar {bar} for {name} is below 0: not a bar (scripts/gate_bars.py puts it in [not_a_bar])"
    if bars or not_a_bar:
        missing = set(BUILTINS) - bars.keys() - no_bar.keys() - not_a_bar.keys()
        assert not missing, f"built-in metrics with neither a bar nor a reason: {sorted(missing)}"


@pytest.fixture(scope="module")
def gate_frames(quick_cache):
    """The gate's frames, in the session's quick cache (as every scoring of this module's)."""
    if reference_path() is None:
        pytest.skip("the gate's frames are played by the published reference agent, absent here")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERPBENCH_CACHE", str(quick_cache))
        yield gate.gate_frames(CONFIG)


def test_every_bar_has_its_measurement_beside_it():
    assert gate.recorded_measurements().keys() == CONFIG["min_spearman"].keys() | CONFIG.get("not_a_bar", {}).keys()


#: How far a recorded gate measurement may move on other hardware. Rank correlations over 14
#: checkpoints move in steps of ~0.005 per swapped pair, and at 64 frames float-level differences
#: between CPUs swap more than one: the same code (commit 9ace9f6, where the bars were recorded
#: on an AMD EPYC) from a cold cache on an Intel Sapphire Rapids gave area-normalized 0.115
#: against the recorded 0.080, top-k-intersection -0.284 against -0.266 and mask-area-prior
#: 0.027 against 0.035, every other built-in within 0.001 (2026-12-02; unchanged with torch,
#: MKL, oneDNN and OpenBLAS held to AVX2 and numpy without AVX-512, so the difference is not one
#: of those switches; the cause is not found: the 512-frame figures and the candidate, the NMF
#: row sample, are in docs/architecture.md "Reproducibility"; each figure here printed by
#: `python scripts/gate_bars.py` with a fresh $INTERPBENCH_CACHE). 0.05 admits that spread and
#: still fails a changed zoo or metric.
REPRODUCE_TOLERANCE = 0.05


@NEEDS_BARS
def test_recorded_measurements_reproduce_on_the_shipped_zoo(gate_frames):
    recorded = gate.recorded_measurements()
    measured, zoo = gate.measure(CONFIG, sorted(recorded))
    stale = {name: (recorded[name], round(measured[name], 3)) for name in recorded
             if abs(measured[name] - recorded[name]) > REPRODUCE_TOLERANCE}
    assert not stale, (f"bars measured on another zoo or metric version (recorded, now) on {zoo}: {stale}; "
                       "re-measure with `python scripts/gate_bars.py --write`")


def test_bars_are_rounded_down_from_measured_minus_margin():
    assert gate.bar_for(0.075, 0.25) == pytest.approx(-0.20)
    assert gate.bar_for(0.30, 0.25) == pytest.approx(0.05)  # exact multiples stay put
    assert gate.bar_for(-0.9, 0.25) == -1.0
    table = gate.bars_table({"a": 0.5, "b": -0.068}, 0.25, "2 x distill mini")
    assert gate.replace_bars_table("[gate]\nx = 1\n\n[min_spearman]\n\"a\" = 0.1\n\n[no_bar]\n", table) == (
        "[gate]\nx = 1\n\n" + table + "\n[no_bar]\n")
    assert '"a" = 0.25  # measured 0.500' in table
    assert '"b" = -0.068  # measured; measured - 0.25 = -0.318 is below 0' in table  # not a bar
    again = gate.replace_bars_table("[gate]\nx = 1\n\n" + table + "\n[no_bar]\n", table)
    assert again.count("[not_a_bar]") == 1  # rewriting replaces both tables


@NEEDS_BARS
@pytest.mark.parametrize("metric", sorted(CONFIG["min_spearman"]))
def test_builtin_metric_keeps_its_bar(metric, gate_frames, capsys):
    bars = CONFIG["min_spearman"]
    code = main(["check", "--metric", metric, "--min-spearman", str(bars[metric]), "--frames", str(gate_frames),
                 "--bootstrap", str(CONFIG["gate"]["bootstrap"]), "--seed", str(CONFIG["gate"]["seed"]),
                 "--refits", str(CONFIG["gate"]["refits"]), "--cascade-depth", str(CONFIG["gate"]["cascade_depth"]),
                 "--no-progress"])
    assert code == 0, capsys.readouterr().out
