"""Fault injection for multi-file artefacts and outputs: a run killed between the ``.npz`` and the
``.json`` of a pair, a damaged score-cache entry and a mixed ``-o`` pair are each detected, and
the caches rebuild exactly what a clean run makes; a failed write leaves nothing behind.

"Exactly": the rebuilt artefacts hold byte-identical arrays and an identical sidecar (apart from
the ``.npz`` hash, since a zip records the time it was written).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import synthetic_zoo as sz
import torch
from test_integrity_loaders import files_under, run_refused, tiny_attribution, tiny_frames

import interpbench.attribution.attribute as attribution
import interpbench.frames.build as frames_build
import interpbench.scoring.score as scoring
from interpbench.agents.models import ClearCNN, load_checkpoint, save_checkpoint
from interpbench.attribution.attribute import attribute_checkpoint
from interpbench.cli.main import main
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.frames.default import load_or_build_frames
from interpbench.infra import atomic
from interpbench.infra.cache import ENV_VAR
from interpbench.infra.errors import CorruptFileError, InterpbenchError
from interpbench.scoring.score import score_zoo
from interpbench.scoring.table import ScoringConfig


class Killed(BaseException):
    """Stands for SIGKILL: nothing in the harness catches it (not an Exception)."""


def kill_before_sidecar(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Make the next pair write die after its ``.npz`` is renamed into place, before the ``.json``."""
    killed: list[Path] = []

    def die(target, obj):
        killed.append(Path(target))
        raise Killed(target)

    monkeypatch.setattr(atomic, "write_json", die)
    return killed


def pair_contents(npz: Path) -> tuple[dict[str, tuple[str, tuple[int, ...], bytes]], dict]:
    """(every array's dtype, shape and bytes; the sidecar without its npz hash) of a pair."""
    with np.load(npz) as z:
        arrays = {k: (str(z[k].dtype), z[k].shape, z[k].tobytes()) for k in z.files}
    meta = json.loads(npz.with_suffix(".json").read_text())
    meta.pop("npz_sha256")
    return arrays, meta


# -- (a) a kill between the .npz and the .json of a pair -----------------------------------------------


@pytest.fixture()
def built(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``build_frameset`` (the reference agent on held-out levels) replaced by a tiny synthetic
    set, counting builds."""
    calls: list[int] = []

    def build(n, **kwargs):
        calls.append(n)
        return tiny_frames(n)

    monkeypatch.setattr(frames_build, "build_frameset", build)
    return calls


@pytest.mark.parametrize("earlier", [False, True], ids=["first-build", "over-an-older-pair"])
def test_frames_cache_killed_between_npz_and_json_is_rebuilt(tmp_path: Path, monkeypatch, built, earlier) -> None:
    clean = tmp_path / "clean" / "frames.npz"
    load_or_build_frames(clean, n=4, progress=False)
    path = tmp_path / "cache" / "frames.npz"
    if earlier:  # an older, damaged set of other frames: the rebuild is killed after replacing its
        tiny_frames(5, seed=1).save(path)  # arrays, leaving the old sidecar beside the new arrays
        path.write_bytes(path.read_bytes()[:100])
    with monkeypatch.context() as mp:
        killed = kill_before_sidecar(mp)
        with pytest.raises(Killed):
            load_or_build_frames(path, n=4, progress=False)
    assert killed == [path.with_suffix(".json")] and path.exists()
    with pytest.raises(CorruptFileError):  # the half-written pair is never read as a FrameSet
        FrameSet.load(path)
    built.clear()
    frames = load_or_build_frames(path, n=4, progress=False)
    assert built == [4], "the damaged cache entry was not rebuilt"
    assert pair_contents(path) == pair_contents(clean)
    assert frames.content_hash() == FrameSet.load(clean).content_hash()
    assert load_or_build_frames(path, n=4, progress=False) and built == [4], "a good entry was rebuilt"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")], "temp files left behind"


def test_a_real_sigkill_between_npz_and_json(tmp_path: Path, built) -> None:
    """The same with a real SIGKILL of a process at that point (nothing in it can clean up)."""
    path = tmp_path / "frames.npz"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from interpbench.infra import atomic
        from test_integrity_loaders import tiny_frames
        atomic.write_json = lambda target, obj: os.kill(os.getpid(), signal.SIGKILL)
        tiny_frames(4).save({str(path)!r})
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert result.returncode == -signal.SIGKILL, result.stderr.decode()
    assert path.exists() and not path.with_suffix(".json").exists()
    frames = load_or_build_frames(path, n=4, progress=False)
    assert built == [4]
    assert frames.content_hash() == tiny_frames(4).content_hash()
    assert FrameSet.load(path).content_hash() == frames.content_hash()


@pytest.fixture()
def tiny_checkpoint(tmp_path: Path) -> Path:
    torch.manual_seed(0)
    return save_checkpoint(ClearCNN(), tmp_path / "ckpt" / "tiny-L100-r1", {"method": "test"})


@pytest.mark.parametrize("earlier", [False, True], ids=["first-entry", "over-a-damaged-entry"])
def test_attribution_cache_killed_between_npz_and_json_is_rebuilt(tmp_path: Path, monkeypatch, tiny_checkpoint,
                                                                  earlier) -> None:
    frames = tiny_frames(4)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "clean-cache"))
    clean = attribute_checkpoint(tiny_checkpoint, frames, n_features=2)
    (clean_entry,) = (tmp_path / "clean-cache").rglob("*.npz")

    monkeypatch.setenv(ENV_VAR, str(tmp_path / "cache"))
    if earlier:  # a damaged entry of other maps: the next run recomputes it and is killed while
        attribute_checkpoint(tiny_checkpoint, frames, n_features=2)  # rewriting it, leaving the new
        (entry,) = (tmp_path / "cache").rglob("*.npz")  # arrays beside the old sidecar
        tiny_attribution(4, 2, seed=5).save(entry)
        entry.write_bytes(entry.read_bytes()[:100])
    with monkeypatch.context() as mp:
        killed = kill_before_sidecar(mp)
        with pytest.raises(Killed):
            attribute_checkpoint(tiny_checkpoint, frames, n_features=2)
    (entry,) = (tmp_path / "cache").rglob("*.npz")
    assert killed == [entry.with_suffix(".json")]
    assert entry.with_suffix(".json").exists() == earlier
    with pytest.raises(CorruptFileError):  # the half-written pair is never read as an AttributionSet
        AttributionSet.load(entry)
    calls: list[int] = []
    real = attribution.compute_attribution_set
    monkeypatch.setattr(attribution, "compute_attribution_set", lambda *a, **k: calls.append(1) or real(*a, **k))
    rebuilt = attribute_checkpoint(tiny_checkpoint, frames, n_features=2)
    assert calls == [1], "the damaged cache entry was not recomputed"
    assert pair_contents(entry) == pair_contents(clean_entry)
    assert rebuilt.content_hash() == clean.content_hash()
    attribute_checkpoint(tiny_checkpoint, frames, n_features=2)
    assert calls == [1], "a good entry was recomputed"


# -- (b) a damaged score-cache entry -------------------------------------------------------------------


CONFIG = ScoringConfig(n_bootstrap=8, area_bins=4)


def _scores(table) -> dict:
    return {(spec, name): {k: np.asarray(v).tobytes() for k, v in vars(entry).items()}
            for spec, per in table.scores.items() for name, entry in per.items()}


@pytest.mark.parametrize("damage", ["truncated", "empty"])
def test_damaged_score_cache_entry_is_rebuilt(tmp_path: Path, monkeypatch, damage: str) -> None:
    sz.load_metrics()
    zoo = sz.make_zoo(tmp_path / "zoo", levels=(100, 1000), runs=(1,))
    frames = sz.make_frames(16)
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "clean-cache"))
    clean = score_zoo(zoo, frames, list(sz.METRICS), config=CONFIG, attribute=sz.synthetic_attribute, progress=False)

    monkeypatch.setenv(ENV_VAR, str(tmp_path / "cache"))
    score_zoo(zoo, frames, list(sz.METRICS), config=CONFIG, attribute=sz.synthetic_attribute, progress=False)
    entries = sorted((tmp_path / "cache" / "scores").rglob("*.npz"))
    assert len(entries) == 2 * len(sz.METRICS)
    victim = entries[len(entries) // 2]
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2] if damage == "truncated" else b"")
    calls: list[str] = []
    real = scoring._score_checkpoint
    monkeypatch.setattr(scoring, "_score_checkpoint",
                        lambda checkpoint, *a, **k: calls.append(checkpoint.name) or real(checkpoint, *a, **k))
    again = score_zoo(zoo, frames, list(sz.METRICS), config=CONFIG, attribute=sz.synthetic_attribute, progress=False)
    assert len(calls) == 1, "exactly the checkpoint with the damaged entry is rescored"
    assert _scores(again) == _scores(clean)
    assert not again.errors
    from interpbench.scoring.table import MetricScores

    assert MetricScores.load(victim) is not None, "the damaged entry was not rewritten"


# -- (c) a user's -o pair left mismatched ----------------------------------------------------------------


def test_mixed_user_output_pair_is_refused(tmp_path: Path, monkeypatch, tiny_checkpoint, capsys) -> None:
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "cache"))
    frames_path = tiny_frames(4).save(tmp_path / "frames.npz")
    runs = {}
    for features in (2, 3):
        out = tmp_path / f"run{features}" / "attr"
        argv = ["attribute", str(tiny_checkpoint), str(frames_path), "--features", str(features), "-o", str(out),
                "--no-progress"]
        assert main(argv) == 0
        runs[features] = out.with_suffix(".npz")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "attr.npz").write_bytes(runs[2].read_bytes())
    (mixed / "attr.json").write_bytes(runs[3].with_suffix(".json").read_bytes())
    with pytest.raises(CorruptFileError, match="does not match its sidecar"):
        AttributionSet.load(mixed / "attr.npz")
    # A FrameSet pair mixed the same way, read by a command: exit 2, one line.
    other = tiny_frames(5, seed=3).save(tmp_path / "other-frames.npz")
    (tmp_path / "frames.json").write_bytes(other.with_suffix(".json").read_bytes())
    before = files_under(tmp_path)
    err = run_refused(["attribute", str(tiny_checkpoint), str(frames_path), "--no-progress", "--no-cache"], capsys)
    assert "does not match its sidecar" in err
    assert files_under(tmp_path) == before


def test_checkpoint_json_over_other_weights_is_refused(tmp_path: Path) -> None:
    """The checkpoint counterpart: the JSON records its weights' hash (``weights_sha256``)."""
    torch.manual_seed(1)
    a = save_checkpoint(ClearCNN(), tmp_path / "a", {"method": "test"})
    torch.manual_seed(2)
    b = save_checkpoint(ClearCNN(), tmp_path / "b", {"method": "test"})
    b.with_suffix(".json").write_bytes(a.with_suffix(".json").read_bytes())
    with pytest.raises(CorruptFileError, match=r"b.safetensors is not the weights .*b.json describes"):
        load_checkpoint(b)


# -- outputs that cannot be written --------------------------------------------------------------------


def test_unwritable_folder_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    if os.geteuid() == 0:  # root writes into read-only folders; make creating the temp file fail instead
        import tempfile

        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied", str(folder))

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    else:
        folder.chmod(0o555)
    try:
        with pytest.raises(InterpbenchError, match="cannot write .*out.json: Permission denied"):
            atomic.write_json(folder / "out.json", {"a": 1})
        with pytest.raises(InterpbenchError, match="Permission denied"):
            tiny_frames(2).save(folder / "frames.npz")
    finally:
        folder.chmod(0o755)
    assert list(folder.iterdir()) == []


def test_failed_write_is_an_output_error_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(atomic.OutputError, match="cannot write .*x.bin: No space left on device") as err:
        with atomic.atomic_path(tmp_path / "x.bin") as tmp:
            tmp.write_bytes(b"half")
            raise OSError(28, "No space left on device")
    assert isinstance(err.value, OSError) and isinstance(err.value, InterpbenchError)
    assert list(tmp_path.iterdir()) == []


def test_output_whose_parent_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    for target in (tmp_path / "file" / "out.json", tmp_path / "file" / "sub" / "out.json"):
        with pytest.raises(InterpbenchError, match="is a file, not a folder"):
            atomic.write_json(target, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_pair_refuses_a_folder_name(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    for name in (tmp_path / "out", f"{tmp_path}{os.sep}", "."):
        with pytest.raises(InterpbenchError, match="folder"):
            tiny_frames(2).save(name)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"] and not list((tmp_path / "out").iterdir())


def test_symlink_to_a_regular_file_is_still_replaced(tmp_path: Path) -> None:
    """Only links to non-regular files are refused: a link to a file is replaced, as before."""
    (tmp_path / "real.json").write_text("{}")
    (tmp_path / "link.json").symlink_to(tmp_path / "real.json")
    atomic.write_json(tmp_path / "link.json", {"a": 1})
    assert json.loads((tmp_path / "link.json").read_text()) == {"a": 1}
    assert not (tmp_path / "link.json").is_symlink()
