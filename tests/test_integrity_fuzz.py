"""Property-based fuzzing of every loader: damaged files give a valid object or an InterpbenchError,
never another exception, and a loader never writes into the folder it reads.

Each property starts from valid files (``test_integrity_loaders``' helpers) and damages them the
ways files get damaged: truncated, bytes flipped (often in the headers, where the structure
is), replaced by random bytes, bytes spliced in, or one JSON field replaced by a random JSON value
(NaN and Infinity included, which Python's json writes). Where a recorded hash would stop the
loader at once, half the examples re-record it, so the parsers themselves meet the damage.
Bounded: 30 examples per loader, no deadline (the first example pays for imports).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import synthetic_zoo as sz
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_integrity_loaders import (
    files_under,
    jd_params,
    make_jd,
    rehash_checkpoint,
    rehash_pair,
    tiny_attribution,
    tiny_frames,
)

from interpbench.agents.models import ClearCNN, load_checkpoint, load_jd, save_checkpoint
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.data.zoo import read_zoo
from interpbench.infra.errors import InterpbenchError
from interpbench.validation.labels import load_aggregate, load_feature_judgments

#: No example database: a run leaves nothing behind in the checkout (the examples are cheap to redo).
#: The conftest's autouse registry fixture is function-scoped and harmless across examples.
FUZZ = settings(max_examples=30, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])

# -- strategies ----------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` truncated, with bytes flipped or spliced in (mostly near the start, where headers
    are), or replaced by random bytes."""
    kind = draw(st.sampled_from(["truncate", "flip", "splice", "random"]))
    n = len(data)
    position = st.one_of(st.integers(0, min(n, 4096) - 1), st.integers(0, n - 1))
    if kind == "truncate":
        return data[: draw(st.integers(0, n - 1))]
    if kind == "random":
        return draw(st.binary(max_size=4096))
    out = bytearray(data)
    if kind == "flip":
        for pos in draw(st.lists(position, min_size=1, max_size=8)):
            out[pos] ^= draw(st.integers(1, 255))
        return bytes(out)
    pos = draw(position)
    return bytes(out[:pos]) + draw(st.binary(min_size=1, max_size=64)) + bytes(out[pos:])


@st.composite
def json_edit(draw: st.DrawFn, obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` with one field (top level or one below) deleted, or replaced by a random JSON value."""
    obj = json.loads(json.dumps(obj))
    target = obj
    key = draw(st.sampled_from([*sorted(obj), "unexpected"]))
    if isinstance(obj.get(key), dict) and obj[key] and draw(st.booleans()):
        target, key = obj[key], draw(st.sampled_from(sorted(obj[key])))
    if draw(st.integers(0, 4)) == 0:
        target.pop(key, None)
    else:
        target[key] = draw(json_values)
    return obj


@contextmanager
def copy_of(source: Path) -> Iterator[Path]:
    """A fresh folder holding a copy of ``source``'s files, removed afterwards (hypothesis runs many
    examples in one test, so pytest's tmp_path would be shared between them)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "case"
        shutil.copytree(source, root)
        yield root


def loads_or_refuses(load: Callable[[], Any], expected: type | tuple[type, ...], folder: Path) -> None:
    """``load()`` returns an ``expected`` object or raises an InterpbenchError (anything else
    propagates and fails the example), and writes nothing into ``folder``."""
    before = files_under(folder)
    try:
        result = load()
    except InterpbenchError as exc:
        assert str(exc) and "\n" not in str(exc), f"message is not one line: {exc!r}"
    else:
        assert isinstance(result, expected)
    assert files_under(folder) == before, "a loader wrote into the folder it read"


def _rewrite_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj))  # NaN and Infinity are written as Python's json writes them


# -- valid starting files ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def valid(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-valid")
    tiny_frames().save(root / "frames" / "frames.npz")
    tiny_attribution().save(root / "attr" / "attr.npz")
    torch.manual_seed(0)
    save_checkpoint(ClearCNN(), root / "ckpt" / "tiny", {"method": "test", "num_actions": 15})
    (root / "jd").mkdir()
    make_jd(root / "jd" / "model.jd")
    sz.make_zoo(root / "zoo", levels=(100,), runs=(1, 2))
    sz.write_labels(root / "labels", levels=(100, 1000), runs=(1, 2))
    (root / "judgments").mkdir()
    (root / "judgments" / "j.csv").write_text(
        "checkpoint,feature,labeller,scale,judgment,object,confidence,seconds,made_by\n"
        "synthetic-L100-r1,0,a,binary,1,coin,0.9,12.5,human\n"
        "synthetic-L100-r1,1,a,0-10,7,saw,,,model:gpt\n"
        "synthetic-L100-r2,0,b,0-10,3,,1,0,human\n")
    return root


# -- data containers -----------------------------------------------------------------------------------


def _pair_property(folder: str, name: str, load: Callable[[Path], Any], expected: type):
    @FUZZ
    @given(data=st.data())
    def prop(valid: Path, data: st.DataObject) -> None:
        with copy_of(valid / folder) as root:
            npz, sidecar = root / f"{name}.npz", root / f"{name}.json"
            target = data.draw(st.sampled_from(["npz", "npz-rehashed", "sidecar-bytes", "sidecar-field"]))
            if target.startswith("npz"):
                npz.write_bytes(data.draw(damaged(npz.read_bytes())))
                if target == "npz-rehashed":
                    rehash_pair(npz)
            elif target == "sidecar-bytes":
                sidecar.write_bytes(data.draw(damaged(sidecar.read_bytes())))
            else:
                _rewrite_json(sidecar, data.draw(json_edit(json.loads(sidecar.read_text()))))
            loads_or_refuses(lambda: load(npz), expected, root)

    return prop


test_frameset_load_fuzz = _pair_property("frames", "frames", FrameSet.load, FrameSet)
test_attribution_set_load_fuzz = _pair_property("attr", "attr", AttributionSet.load, AttributionSet)


def _random_array(draw: st.DrawFn) -> np.ndarray:
    from hypothesis.extra import numpy as hnp

    dtype = draw(st.sampled_from([np.uint8, np.int64, np.float32, np.float64, np.bool_, np.int8]))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=5))
    return draw(hnp.arrays(dtype, shape))


@FUZZ
@given(data=st.data())
def test_frameset_and_attribution_arrays_fuzz(valid: Path, data: st.DataObject) -> None:
    """One array of a pair replaced by a random array (any dtype and shape), hashes re-recorded."""
    folder, name, load = data.draw(st.sampled_from([("frames", "frames", FrameSet.load),
                                                    ("attr", "attr", AttributionSet.load)]))
    with copy_of(valid / folder) as root:
        npz = root / f"{name}.npz"
        with np.load(npz) as z:
            arrays = {k: z[k] for k in z.files}
        key = data.draw(st.sampled_from([*sorted(arrays), "extra"]))
        arrays[key] = _random_array(data.draw)
        if data.draw(st.booleans()):
            arrays.pop(data.draw(st.sampled_from(sorted(arrays))))
        with open(npz, "wb") as f:
            np.savez(f, **arrays)
        rehash_pair(npz)
        loads_or_refuses(lambda: load(npz), (FrameSet, AttributionSet), root)


# -- checkpoints ---------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_load_checkpoint_fuzz(valid: Path, data: st.DataObject) -> None:
    with copy_of(valid / "ckpt") as root:
        weights, meta_path = root / "tiny.safetensors", root / "tiny.json"
        target = data.draw(st.sampled_from(["weights", "weights-rehashed", "json-bytes", "json-field"]))
        if target.startswith("weights"):
            weights.write_bytes(data.draw(damaged(weights.read_bytes())))
            if target == "weights-rehashed":
                rehash_checkpoint(weights)
        elif target == "json-bytes":
            meta_path.write_bytes(data.draw(damaged(meta_path.read_bytes())))
        else:
            _rewrite_json(meta_path, data.draw(json_edit(json.loads(meta_path.read_text()))))
        loads_or_refuses(lambda: load_checkpoint(weights), object, root)


jd_objects = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
    | st.builds(lambda n: np.arange(n, dtype=np.float32), st.integers(0, 5)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    | st.tuples(inner, inner),
    max_leaves=8,
)


@FUZZ
@given(data=st.data())
def test_load_jd_fuzz(valid: Path, data: st.DataObject) -> None:
    """Damaged joblib bytes, and joblib files holding other objects than a checkpoint."""
    with copy_of(valid / "jd") as root:
        path = root / "model.jd"
        kind = data.draw(st.sampled_from(["bytes", "bytes", "args", "params", "object"]))
        if kind == "bytes":
            path.write_bytes(data.draw(damaged(path.read_bytes())))
        elif kind == "args":
            torch.manual_seed(0)
            joblib.dump({"args": data.draw(jd_objects), "params": jd_params(ClearCNN())}, path)
        elif kind == "params":
            torch.manual_seed(0)
            params: dict[Any, Any] = jd_params(ClearCNN())
            key = data.draw(st.sampled_from(sorted(params)))
            params[key] = data.draw(jd_objects)
            joblib.dump({"args": {}, "params": params}, path)
        else:
            joblib.dump(data.draw(jd_objects), path)
        loads_or_refuses(lambda: load_jd(path), object, root)


# -- judgments -----------------------------------------------------------------------------------------


def _damage_csv(data: st.DataObject, path: Path) -> None:
    """Bytes damage, or one cell replaced by random text (numbers, NaN, inf, quotes, commas)."""
    if data.draw(st.booleans()):
        path.write_bytes(data.draw(damaged(path.read_bytes())))
        return
    lines = path.read_text().splitlines()
    row = data.draw(st.integers(0, len(lines) - 1))
    cells = lines[row].split(",")
    col = data.draw(st.integers(0, len(cells) - 1))
    cells[col] = data.draw(st.one_of(st.sampled_from(["nan", "NaN", "inf", "-inf", "1e999", "", '"', "-1",
                                                      "1_000", " 7 ", "0x10"]),
                                     st.text(max_size=8)))
    lines[row] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


@FUZZ
@given(data=st.data())
def test_load_aggregate_fuzz(valid: Path, data: st.DataObject) -> None:
    with copy_of(valid / "labels") as root:
        name = data.draw(st.sampled_from(["interpretable.csv", "completion.csv", "source.json"]))
        if name == "source.json" and data.draw(st.booleans()):
            source = json.loads((root / name).read_text())
            _rewrite_json(root / name, data.draw(st.one_of(json_edit(source), json_values)))
        elif name == "source.json":
            (root / name).write_bytes(data.draw(damaged((root / name).read_bytes())))
        else:
            _damage_csv(data, root / name)
        loads_or_refuses(lambda: load_aggregate(root), object, root)


@FUZZ
@given(data=st.data())
def test_load_feature_judgments_fuzz(valid: Path, data: st.DataObject) -> None:
    with copy_of(valid / "judgments") as root:
        _damage_csv(data, root / "j.csv")
        known = {"synthetic-L100-r1": 8, "synthetic-L100-r2": 8}
        loads_or_refuses(lambda: load_feature_judgments([root / "j.csv"], known), object, root)


# -- the zoo -------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_read_zoo_fuzz(valid: Path, data: st.DataObject) -> None:
    with copy_of(valid / "zoo") as root:
        stem = data.draw(st.sampled_from(["synthetic-L100-r1", "synthetic-L100-r2"]))
        meta_path, weights = root / f"{stem}.json", root / f"{stem}.safetensors"
        kind = data.draw(st.sampled_from(["field", "field", "json-bytes", "weights-bytes", "files"]))
        if kind == "field":
            _rewrite_json(meta_path, data.draw(json_edit(json.loads(meta_path.read_text()))))
        elif kind == "json-bytes":
            meta_path.write_bytes(data.draw(damaged(meta_path.read_bytes())))
        elif kind == "weights-bytes":
            weights.write_bytes(data.draw(damaged(weights.read_bytes())))
        else:
            op = data.draw(st.sampled_from(["drop-json", "drop-weights", "copy", "swap"]))
            if op == "drop-json":
                meta_path.unlink()
            elif op == "drop-weights":
                weights.unlink()
            elif op == "copy":
                for suffix in (".json", ".safetensors"):
                    shutil.copyfile(root / f"{stem}{suffix}", root / f"other-L100-r1{suffix}")
            else:
                other = root / ("synthetic-L100-r2" if stem.endswith("r1") else "synthetic-L100-r1")
                shutil.copyfile(other.with_suffix(".safetensors"), weights)
        loads_or_refuses(lambda: read_zoo(root), object, root)
