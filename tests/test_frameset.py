"""FrameSet storage: round trips exactly, and every kind of bad file is a clear input error."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from interpbench.data.frameset import MASK_CLASSES, FrameSet
from interpbench.infra.errors import CorruptFileError, InterpbenchError, ShapeError


def synthetic(n: int = 5, classes: tuple[str, ...] = MASK_CLASSES) -> FrameSet:
    rng = np.random.default_rng(0)
    labels = rng.integers(0, len(classes), size=(n, 64, 64))
    return FrameSet(
        obs=rng.integers(0, 256, size=(n, 64, 64, 3), dtype=np.uint8),
        masks=np.moveaxis(np.eye(len(classes), dtype=bool)[labels], -1, 1),
        classes=classes,
        level_seeds=np.arange(n, dtype=np.int64) + 1_000_000_000,
        states=[bytes(rng.integers(0, 256, size=100 + i, dtype=np.uint8)) for i in range(n)],
        provenance={"seed": 0, "policy": {"spec": "test"}},
    )


def test_roundtrip_is_exact(tmp_path: Path) -> None:
    frames = synthetic()
    path = frames.save(tmp_path / "set")
    assert path.suffix == ".npz" and path.with_suffix(".json").exists()
    loaded = FrameSet.load(tmp_path / "set.npz")
    assert np.array_equal(loaded.obs, frames.obs)
    assert np.array_equal(loaded.masks, frames.masks)
    assert np.array_equal(loaded.level_seeds, frames.level_seeds)
    assert loaded.states == frames.states
    assert loaded.classes == frames.classes
    assert loaded.provenance == frames.provenance
    assert loaded.content_hash() == frames.content_hash()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temp files left behind"


def test_subset_keeps_alignment() -> None:
    frames = synthetic(6)
    sub = frames.subset(np.array([4, 1]))
    assert sub.states == [frames.states[4], frames.states[1]]
    assert np.array_equal(sub.obs, frames.obs[[4, 1]])
    assert sub.provenance["subset_of"] == frames.content_hash()


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InterpbenchError, match="not found"):
        FrameSet.load(tmp_path / "absent.npz")


def test_corrupt_npz(tmp_path: Path) -> None:
    path = synthetic().save(tmp_path / "set")
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(CorruptFileError):
        FrameSet.load(path)


def test_npz_without_frameset_arrays(tmp_path: Path) -> None:
    path = synthetic().save(tmp_path / "set")
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("other.npy", b"")
    with pytest.raises(CorruptFileError):
        FrameSet.load(path)


def test_hash_mismatch(tmp_path: Path) -> None:
    path = synthetic().save(tmp_path / "set")
    meta_path = path.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["content_hash"] = "0" * 64
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(CorruptFileError, match="hash"):
        FrameSet.load(path)


def test_swapped_sidecar_is_detected(tmp_path: Path) -> None:
    a = synthetic(5).save(tmp_path / "a")
    b = synthetic(4).save(tmp_path / "b")
    b.with_suffix(".json").replace(a.with_suffix(".json"))
    with pytest.raises(InterpbenchError):
        FrameSet.load(a)


@pytest.mark.parametrize(
    "change",
    [
        {"obs": np.zeros((5, 64, 64, 4), np.uint8)},
        {"obs": np.zeros((5, 64, 64, 3), np.float32)},
        {"masks": np.zeros((5, len(MASK_CLASSES), 32, 32), bool)},
        {"masks": np.zeros((5, len(MASK_CLASSES), 64, 64), np.uint8)},
        {"level_seeds": np.zeros(4, np.int64)},
        {"states": [b""] * 3},
    ],
)
def test_wrong_shapes(change: dict) -> None:
    good = synthetic(5)
    fields = dict(obs=good.obs, masks=good.masks, classes=good.classes, level_seeds=good.level_seeds, states=good.states)
    with pytest.raises(ShapeError):
        FrameSet(**{**fields, **change})


def test_unknown_class() -> None:
    with pytest.raises(InterpbenchError, match="unknown mask class"):
        synthetic(2, classes=("background", "ghost"))
    with pytest.raises(InterpbenchError, match="unknown mask class"):
        synthetic(2).class_index("ghost")
