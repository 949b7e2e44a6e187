"""Feature gallery: the strongest frames per feature, pictures and index written for labellers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from attribution_helpers import env_frameset

from interpbench.attribution.gallery import overlay, top_frames, write_gallery
from interpbench.cli.main import main
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.layers import LayerGeometry
from interpbench.infra.errors import ShapeError


def planted_attribution(n: int, features: int = 2) -> AttributionSet:
    """Feature f peaks in frame (f + 1) * 2 % n with value 10, elsewhere noise below 1."""
    rng = np.random.default_rng(0)
    hidden = rng.uniform(-1, 1, size=(n, features, 32, 32)).astype(np.float32)
    for f in range(features):
        hidden[(f + 1) * 2 % n, f, 5, 7] = -10.0 if f else 10.0
    maps = np.repeat(np.repeat(hidden, 2, axis=2), 2, axis=3) / 4
    return AttributionSet(
        maps=maps,
        hidden=hidden,
        layer="2b",
        head="value",
        method={"name": "planted"},
        components=np.eye(features, 32, dtype=np.float32),
        geometry=LayerGeometry(24, 2, 0.5),
        meta={"checkpoint": "planted"},
    )


def test_top_frames_rank_by_peak_magnitude() -> None:
    attr = planted_attribution(6)
    top = top_frames(attr, k=3)
    assert top.shape == (2, 3) and top[0, 0] == 2 and top[1, 0] == 4
    assert top_frames(attr, k=50).shape == (2, 6)


def test_overlay_colours_sign_and_leaves_zero_alone() -> None:
    obs = np.full((64, 64, 3), 128, np.uint8)
    amap = np.zeros((64, 64))
    amap[0, 0], amap[0, 1] = 1.0, -1.0
    image = overlay(obs, amap)
    assert np.allclose(image[5, 5], 128 / 255)
    assert image[0, 0, 0] > image[0, 0, 2] and image[0, 1, 2] > image[0, 1, 0]


def test_write_gallery(tmp_path: Path) -> None:
    frames = env_frameset(6)
    files = write_gallery(planted_attribution(6), frames, tmp_path / "g", k=3)
    assert {p.name for p in files} == {"feature_0.png", "feature_1.png", "overview.png", "gallery.json"}
    assert all(p.stat().st_size > 0 for p in files)
    index = json.loads((tmp_path / "g" / "gallery.json").read_text())
    assert index["features"][1]["frames"][0] == 4
    assert index["features"][1]["level_seeds"][0] == int(frames.level_seeds[4])
    with pytest.raises(ShapeError):
        write_gallery(planted_attribution(5), frames, tmp_path / "h")


def test_gallery_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    from interpbench.agents.models import ClearCNN, save_checkpoint

    monkeypatch.setenv("INTERPBENCH_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    checkpoint = save_checkpoint(ClearCNN(), tmp_path / "model", {"method": "test"})
    frames_path = env_frameset(6).save(tmp_path / "frames")
    argv = ["gallery", str(checkpoint), str(frames_path), "-o", str(tmp_path / "g"), "--features", "2", "--top", "2"]
    assert main([*argv, "--no-progress"]) == 0
    assert (tmp_path / "g" / "feature_1.png").exists() and (tmp_path / "g" / "overview.png").exists()
