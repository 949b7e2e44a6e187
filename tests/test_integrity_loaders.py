"""Malformed inputs, one per row, through the real command line: each is refused with exit code 2,
exactly one line on stderr, and nothing written (issue "Integrity: nothing a plugin, a kill, a bad
file or another machine may silently change a result").

Every row starts from a copy of small valid files (a tiny clear CNN, a 4-frame FrameSet, a
two-checkpoint synthetic zoo, aggregate judgment files) and breaks one thing. Where a file's hash
would stop the loader before the broken part is read, the row re-records the hash
(:func:`rehash_pair`, :func:`rehash_checkpoint`) so that the parser itself meets the damage.
The helpers here are shared with ``test_integrity_fuzz.py`` and ``test_integrity_outputs.py``.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pytest
import synthetic_zoo as sz
import torch

from interpbench.agents.models import ClearCNN, load_checkpoint, save_checkpoint
from interpbench.cli.main import main
from interpbench.data.layers import CONV_LAYERS
from interpbench.data.sidecar import file_sha256, pair_paths
from interpbench.infra.cache import ENV_VAR
from interpbench.infra.errors import InterpbenchError
from interpbench.metrics.testing import make_attribution, make_frames
from interpbench.validation.labels import load_feature_judgments

# -- helpers shared by the integrity tests -------------------------------------------------------------


def tiny_frames(n: int = 4, seed: int = 0):
    """A small FrameSet: background with one agent and one coin square per frame."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((n, 64, 64), dtype=np.int64)
    for i in range(n):
        y, x = rng.integers(0, 48, size=2)
        labels[i, y : y + 8, x : x + 8] = 1
        labels[i, x : x + 6, y : y + 6] = 2
    return make_frames(labels, classes=("background", "agent", "coin"))


def tiny_attribution(n: int = 4, f: int = 3, seed: int = 0):
    rng = np.random.default_rng(seed)
    return make_attribution(rng.random((n, f, 64, 64), dtype=np.float32))


def files_under(root: Path) -> set[str]:
    """Every file and folder under ``root`` (hidden ones too), relative to it."""
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def rehash_pair(npz: Path) -> None:
    """Record the current ``.npz`` bytes in its sidecar, as if the damage had been written whole."""
    sidecar = pair_paths(npz)[1]
    meta = json.loads(sidecar.read_text())
    meta["npz_sha256"] = file_sha256(npz)
    sidecar.write_text(json.dumps(meta))


def rewrite_npz(npz: Path, change: Callable[[dict[str, np.ndarray]], None]) -> None:
    """Rewrite the arrays of a pair through ``change`` (a dict edited in place), rehashed."""
    with np.load(npz) as z:
        arrays = {k: z[k] for k in z.files}
    change(arrays)
    with open(npz, "wb") as f:
        np.savez(f, **arrays)
    rehash_pair(npz)


def rehash_checkpoint(weights: Path) -> None:
    meta_path = weights.with_suffix(".json")
    meta = json.loads(meta_path.read_text())
    meta["weights_sha256"] = file_sha256(weights)
    meta_path.write_text(json.dumps(meta))


def jd_params(model: ClearCNN) -> dict[str, np.ndarray]:
    """A ClearCNN's weights under the article's TF names and layouts (inverse of ``_jd_to_state``)."""
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    params = {}
    for name, *_ in CONV_LAYERS:
        params[f"ppo2_model/pi/{name}/conv2d/kernel:0"] = np.ascontiguousarray(state[f"{name}.conv.weight"].transpose(2, 3, 1, 0))
        params[f"ppo2_model/pi/{name}/conv2d/bias:0"] = state[f"{name}.conv.bias"]
    for ours, theirs in {"dense": "ppo2_model/pi/dense", "dense_1": "ppo2_model/pi/dense_1"}.items():
        params[f"{theirs}/kernel:0"] = np.ascontiguousarray(state[f"{ours}.weight"].T)
        params[f"{theirs}/bias:0"] = state[f"{ours}.bias"]
    for head in ("pi", "vf"):
        params[f"ppo2_model/{head}/w:0"] = np.ascontiguousarray(state[f"{head}.weight"].T)
        params[f"ppo2_model/{head}/b:0"] = state[f"{head}.bias"]
    return params


def make_jd(path: Path, args: object = None, seed: int = 0) -> Path:
    """A joblib checkpoint in the published layout, of a random clear CNN (no reference needed)."""
    torch.manual_seed(seed)
    blob = {"args": {"cnn": "clear", "env_name": "coinrun", "num_levels": 0} if args is None else args,
            "params": jd_params(ClearCNN()), "time": 0.0}
    joblib.dump(blob, path)
    return path


class CodePayload:
    """Unpickling this runs ``func(*args)``: what a hostile ``.jd`` would carry."""

    def __init__(self, func: Callable, *args: object) -> None:
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


# -- the inputs every row starts from ------------------------------------------------------------------


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("integrity-base")
    torch.manual_seed(0)
    save_checkpoint(ClearCNN(), root / "ckpt" / "tiny-L100-r1", {"method": "test"})
    tiny_frames().save(root / "frames.npz")
    sz.make_frames(16).save(root / "frames16.npz")
    sz.make_zoo(root / "zoo", levels=(100,), runs=(1, 2))
    sz.write_labels(root / "labels", levels=(100,), runs=(1, 2))
    (root / "out").mkdir()
    return root


@dataclass
class Work:
    root: Path

    @property
    def ckpt(self) -> Path:
        return self.root / "ckpt" / "tiny-L100-r1.safetensors"

    @property
    def frames(self) -> Path:
        return self.root / "frames.npz"

    @property
    def zoo(self) -> Path:
        return self.root / "zoo"

    def attribute(self, checkpoint: Path | None = None, frames: Path | None = None, *extra: str) -> list[str]:
        return ["attribute", str(checkpoint or self.ckpt), str(frames or self.frames), "--features", "2",
                "--no-progress", "--no-cache", *extra]

    def score(self) -> list[str]:
        return ["score", "--zoo", str(self.zoo), "--frames", str(self.root / "frames16.npz"),
                "--metrics", "raw-overlap", "--bootstrap", "0", "--jobs", "1", "--no-progress"]

    def validate(self) -> list[str]:
        return ["validate", "--zoo", str(self.zoo), "--frames", str(self.root / "frames16.npz"),
                "--labels", str(self.root / "labels"), "--metrics", "raw-overlap", "--bootstrap", "0",
                "--jobs", "1", "--no-progress"]

    def evaluate(self, json_out: str) -> list[str]:
        return ["evaluate", "random", "--episodes", "1", "--num-envs", "1", "--json", json_out, "--no-progress"]


@pytest.fixture()
def work(base: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Work:
    root = tmp_path / "w"
    shutil.copytree(base, root)
    monkeypatch.setenv(ENV_VAR, str(root / "cache"))
    return Work(root)


# -- the rows ------------------------------------------------------------------------------------------
# Each row: (id, breaks the inputs and returns the argv, a fragment the one-line message must hold).


def _frames_empty(w: Work) -> list[str]:
    w.frames.write_bytes(b"")
    rehash_pair(w.frames)
    return w.attribute()


def _frames_empty_stale_sidecar(w: Work) -> list[str]:
    w.frames.write_bytes(b"")
    return w.attribute()


def _npy_renamed_npz(w: Work) -> list[str]:
    with open(w.frames, "wb") as f:
        np.save(f, np.zeros((4, 64, 64, 3), np.uint8))
    rehash_pair(w.frames)
    return w.attribute()


def _sidecar_list(w: Work) -> list[str]:
    w.frames.with_suffix(".json").write_text("[1, 2, 3]")
    return w.attribute()


def _sidecar_nan(w: Work) -> list[str]:
    meta = json.loads(w.frames.with_suffix(".json").read_text())
    meta["provenance"] = {"seed": float("nan")}
    w.frames.with_suffix(".json").write_text(json.dumps(meta))
    return w.attribute()


def _sidecar_classes_string(w: Work) -> list[str]:
    meta = json.loads(w.frames.with_suffix(".json").read_text())
    meta["classes"] = "background"
    w.frames.with_suffix(".json").write_text(json.dumps(meta))
    return w.attribute()


def _frames_truncated(w: Work) -> list[str]:
    w.frames.write_bytes(w.frames.read_bytes()[:300])
    rehash_pair(w.frames)
    return w.attribute()


def _frames_obs_float(w: Work) -> list[str]:
    rewrite_npz(w.frames, lambda a: a.update(obs=a["obs"].astype(np.float32)))
    return w.attribute()


def _frames_masks_shape(w: Work) -> list[str]:
    rewrite_npz(w.frames, lambda a: a.update(masks=a["masks"][:, :2]))
    return w.attribute()


def _frames_missing_key(w: Work) -> list[str]:
    rewrite_npz(w.frames, lambda a: a.pop("level_seeds"))
    return w.attribute()


def _frames_state_lengths(w: Work) -> list[str]:
    rewrite_npz(w.frames, lambda a: a.update(state_lengths=np.array([-4, 12, 0, 0], np.int64)))
    return w.attribute()


def _frames_is_a_fifo(w: Work) -> list[str]:
    w.frames.unlink()
    os.mkfifo(w.frames)
    return w.attribute()


def _ckpt_meta(change: Callable[[dict], object]) -> Callable[[Work], list[str]]:
    def build(w: Work) -> list[str]:
        meta_path = w.ckpt.with_suffix(".json")
        meta = json.loads(meta_path.read_text())
        meta = change(meta) or meta
        meta_path.write_text(json.dumps(meta))
        return w.attribute()

    return build


def _ckpt_json_non_utf8(w: Work) -> list[str]:
    w.ckpt.with_suffix(".json").write_bytes(b'{"architecture": "clear-cnn", "name": "caf\xe9"}')
    return w.attribute()


def _ckpt_nan_weights(w: Work) -> list[str]:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(w.ckpt))
    tensors["dense.weight"][3, 5] = float("nan")
    save_file(tensors, str(w.ckpt))
    rehash_checkpoint(w.ckpt)
    return w.attribute()


def _ckpt_inf_weights_unrehashed(w: Work) -> list[str]:
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(w.ckpt))
    tensors["pi.bias"][0] = float("inf")
    save_file(tensors, str(w.ckpt))
    return w.attribute()


def _ckpt_other_weights(w: Work) -> list[str]:
    torch.manual_seed(99)
    other = save_checkpoint(ClearCNN(), w.root / "other", {"method": "test"})
    shutil.copyfile(other, w.ckpt)
    return w.attribute()


def _labels(name: str, text: bytes) -> Callable[[Work], list[str]]:
    def build(w: Work) -> list[str]:
        (w.root / "labels" / name).write_bytes(text)
        return w.validate()

    return build


def _zoo_meta(change: Callable[[dict], object], stem: str = "synthetic-L100-r1") -> Callable[[Work], list[str]]:
    def build(w: Work) -> list[str]:
        meta_path = w.zoo / f"{stem}.json"
        meta = json.loads(meta_path.read_text())
        change(meta)
        meta_path.write_text(json.dumps(meta))
        return w.score()

    return build


def _zoo_swapped_weights(w: Work) -> list[str]:
    shutil.copyfile(w.zoo / "synthetic-L100-r2.safetensors", w.zoo / "synthetic-L100-r1.safetensors")
    return w.score()


def _zoo_duplicate(w: Work) -> list[str]:
    for suffix in (".json", ".safetensors"):
        shutil.copyfile(w.zoo / f"synthetic-L100-r1{suffix}", w.zoo / f"copy-L100-r1{suffix}")
    return w.score()


def _zoo_only_json(w: Work) -> list[str]:
    (w.zoo / "synthetic-L100-r2.safetensors").unlink()
    return w.score()


def _jd(args: object) -> Callable[[Work], list[str]]:
    def build(w: Work) -> list[str]:
        return w.attribute(make_jd(w.root / "bad.jd", args=args))

    return build


def _jd_nan_weights(w: Work) -> list[str]:
    torch.manual_seed(0)
    params = jd_params(ClearCNN())
    params["ppo2_model/vf/b:0"] = np.array([np.nan], np.float32)
    joblib.dump({"args": {"cnn": "clear"}, "params": params}, w.root / "nan.jd")
    return w.attribute(w.root / "nan.jd")


def _jd_kernel_without_4_dims(w: Work) -> list[str]:
    torch.manual_seed(0)
    params = jd_params(ClearCNN())
    params["ppo2_model/pi/1a/conv2d/kernel:0"] = np.zeros(3, np.float32)
    joblib.dump({"args": {}, "params": params}, w.root / "flat.jd")
    return w.attribute(w.root / "flat.jd")


def _output_folder(w: Work) -> list[str]:
    return w.evaluate(str(w.root / "out"))


def _output_under_a_file(w: Work) -> list[str]:
    (w.root / "notes.txt").write_text("a file, not a folder\n")
    return w.evaluate(str(w.root / "notes.txt" / "result.json"))


def _output_fifo(w: Work) -> list[str]:
    os.mkfifo(w.root / "pipe.json")
    return w.evaluate(str(w.root / "pipe.json"))


def _output_link_to_fifo(w: Work) -> list[str]:
    os.mkfifo(w.root / "pipe")
    (w.root / "link.json").symlink_to(w.root / "pipe")
    return w.evaluate(str(w.root / "link.json"))


def _attribute_o_folder(w: Work) -> list[str]:
    return w.attribute(None, None, "-o", str(w.root / "out"))


def _attribute_o_folder_slash(w: Work) -> list[str]:
    return w.attribute(None, None, "-o", str(w.root / "out") + os.sep)


def _attribute_o_fifo(w: Work) -> list[str]:
    os.mkfifo(w.root / "attr.npz")
    return w.attribute(None, None, "-o", str(w.root / "attr"))


def _attribute_o_json_is_folder(w: Work) -> list[str]:
    (w.root / "attr.json").mkdir()
    return w.attribute(None, None, "-o", str(w.root / "attr.npz"))


ROWS: list[tuple[str, Callable[[Work], list[str]], str]] = [
    ("frameset-empty-npz", _frames_empty, "FrameSet"),
    ("frameset-empty-npz-old-sidecar", _frames_empty_stale_sidecar, "does not match its sidecar"),
    ("frameset-npy-renamed-npz", _npy_renamed_npz, "not an .npz archive"),
    ("frameset-sidecar-is-a-list", _sidecar_list, "JSON list"),
    ("frameset-sidecar-nan", _sidecar_nan, "non-finite number NaN"),
    ("frameset-sidecar-classes-not-a-list", _sidecar_classes_string, "classes must be a list"),
    ("frameset-truncated", _frames_truncated, "cannot read FrameSet"),
    ("frameset-obs-float32", _frames_obs_float, "array 'obs' is float32"),
    ("frameset-masks-wrong-shape", _frames_masks_shape, "packed masks"),
    ("frameset-missing-array", _frames_missing_key, "missing array 'level_seeds'"),
    ("frameset-negative-state-length", _frames_state_lengths, "state lengths"),
    ("frameset-is-a-fifo", _frames_is_a_fifo, "not a regular file"),
    ("checkpoint-num-actions-abc", _ckpt_meta(lambda m: m.update(num_actions="abc")), "num_actions must be a positive"),
    ("checkpoint-num-actions-zero", _ckpt_meta(lambda m: m.update(num_actions=0)), "num_actions must be a positive"),
    ("checkpoint-num-actions-mismatch", _ckpt_meta(lambda m: m.update(num_actions=9)), "pi.bias: shape (15,), expected (9,)"),
    ("checkpoint-json-is-a-list", _ckpt_meta(lambda m: [m]), "JSON object, got a list"),
    ("checkpoint-json-nan", _ckpt_meta(lambda m: m.update(quality=float("nan"))), "non-finite number NaN"),
    ("checkpoint-json-not-utf8", _ckpt_json_non_utf8, "utf-8"),
    ("checkpoint-nan-weights", _ckpt_nan_weights, "non-finite (NaN or inf) weights in ['dense.weight']"),
    ("checkpoint-inf-weights", _ckpt_inf_weights_unrehashed, "non-finite (NaN or inf) weights in ['pi.bias']"),
    ("checkpoint-weights-of-another", _ckpt_other_weights, "is not the weights"),
    ("labels-not-utf8", _labels("interpretable.csv", b"num_levels,run,researcher,interpretable_percent\n"
                                b"100,1,1,50\n100,1,2,caf\xe9\n"), "interpretable.csv, line 3: not UTF-8"),
    ("labels-nan", _labels("interpretable.csv", b"num_levels,run,researcher,interpretable_percent\n"
                           b"100,1,1,nan\n100,1,2,40\n"), "interpretable.csv, line 2: interpretable_percent='nan' is not a finite"),
    ("labels-inf", _labels("completion.csv", b"num_levels,run,train_completed_percent,test_completed_percent\n"
                           b"100,1,99,inf\n100,2,99,50\n"), "completion.csv, line 2: test_completed_percent='inf'"),
    ("labels-nul-byte", _labels("completion.csv", b"num_levels,run,train_completed_percent,test_completed_percent\n"
                                b"100,1,99,5\x000\n"), "completion.csv, line"),
    ("labels-source-nan", _labels("source.json", b'{"made_by": "human", "citation": NaN}'), "source.json"),
    ("labels-source-list", _labels("source.json", b'["human"]'), "must be a JSON object"),
    ("zoo-test-completion-scalar", _zoo_meta(lambda m: m.update(test_completion=0.5)), "test_completion must be an object with a completion_rate in [0, 1], got 0.5"),
    ("zoo-json-nan", _zoo_meta(lambda m: m.update(quality=float("nan"))), "non-finite number NaN"),
    ("zoo-num-levels-string", _zoo_meta(lambda m: m.update(num_levels="100")), "num_levels must be an integer"),
    ("zoo-weights-sha256-not-a-string", _zoo_meta(lambda m: m.update(weights_sha256=7)), "weights_sha256 must be"),
    ("zoo-weights-of-another-checkpoint", _zoo_swapped_weights, "is not the weights"),
    ("zoo-duplicate-method-levels-run", _zoo_duplicate, "are both synthetic L=100 run 1"),
    ("zoo-checkpoint-with-only-json", _zoo_only_json, "only one of .json and .safetensors"),
    ("jd-args-is-a-list", _jd(["--cnn", "clear"]), "'args' must be a dict"),
    ("jd-nan-weights", _jd_nan_weights, "non-finite (NaN or inf) weights in ['ppo2_model/vf/b:0']"),
    ("jd-kernel-without-4-dims", _jd_kernel_without_4_dims, "does not fit the clear CNN"),
    ("output-existing-folder", _output_folder, "it is a folder"),
    ("output-under-a-file", _output_under_a_file, "is a file, not a folder"),
    ("output-fifo", _output_fifo, "it is a FIFO"),
    ("output-symlink-to-fifo", _output_link_to_fifo, "it is a FIFO"),
    ("attribute-o-existing-folder", _attribute_o_folder, "names a folder"),
    ("attribute-o-folder-slash", _attribute_o_folder_slash, "names a folder"),
    ("attribute-o-fifo", _attribute_o_fifo, "it is a FIFO"),
    ("attribute-o-sidecar-is-a-folder", _attribute_o_json_is_folder, "attr.json: it is a folder"),
]


def run_refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """main(argv) must exit 2 with one line on stderr; returns that line."""
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n"), f"expected one line on stderr, got {err!r}"
    assert err.startswith(f"interpbench {argv[0]}: error: ")
    return err


@pytest.mark.parametrize("build, fragment", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_malformed_input_is_refused_in_one_line(work: Work, capsys, build, fragment) -> None:
    argv = build(work)
    before = files_under(work.root)
    err = run_refused(argv, capsys)
    assert fragment.lower() in err.lower(), err
    assert files_under(work.root) == before, "a refused command wrote files"


@pytest.mark.parametrize("payload", ["os.system", "builtins.exec", "nested-in-params"])
def test_jd_with_a_code_payload_is_refused_and_does_not_run(work: Work, capsys, payload: str) -> None:
    marker = work.root / "payload-ran"
    path = work.root / "hostile.jd"
    if payload == "os.system":
        path.write_bytes(pickle.dumps({"args": {}, "params": CodePayload(os.system, f"touch {marker}")}))
        name = f"{os.system.__module__}.system"
    elif payload == "builtins.exec":
        path.write_bytes(pickle.dumps(CodePayload(exec, f"open({str(marker)!r}, 'w').write('ran')")))
        name = "builtins.exec"
    else:  # a valid-looking joblib checkpoint with the payload among its arrays
        torch.manual_seed(0)
        params = {**jd_params(ClearCNN()), "extra": CodePayload(Path.touch, marker)}
        joblib.dump({"args": {"cnn": "clear"}, "params": params}, path)
        name = "pathlib.Path"
    before = files_under(work.root)
    err = run_refused(work.attribute(path), capsys)
    assert f"refusing to load {name}" in err and "not a type a checkpoint holds" in err, err
    assert not marker.exists(), "the pickle's payload ran"
    assert files_under(work.root) == before


def test_output_over_dev_full_leaves_the_device(work: Work, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    """As root, the old writer renamed a regular file over /dev/full. A guard on ``os.replace``
    makes this test safe to run even against such a regression: it fails instead of replacing."""
    dev_full = Path("/dev/full")
    if not (dev_full.exists() and stat.S_ISCHR(os.stat(dev_full).st_mode)):
        pytest.skip("no /dev/full character device here (the FIFO rows cover the same check)")
    real_replace = os.replace

    def guarded(src, dst, *args, **kwargs):
        if os.path.realpath(dst) == str(dev_full):
            raise AssertionError("tried to replace /dev/full")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", guarded)
    err = run_refused(work.evaluate(str(dev_full)), capsys)
    assert "character device" in err
    assert stat.S_ISCHR(os.stat(dev_full).st_mode)
    assert not [p for p in Path("/dev").iterdir() if p.name.startswith(".full.")], "temp file left in /dev"


def test_fifo_output_stays_a_fifo(work: Work, capsys) -> None:
    fifo = work.root / "result.json"
    os.mkfifo(fifo)
    run_refused(work.evaluate(str(fifo)), capsys)
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    npz_fifo = work.root / "attr.npz"
    os.mkfifo(npz_fifo)
    run_refused(work.attribute(None, None, "-o", str(npz_fifo)), capsys)
    assert stat.S_ISFIFO(os.lstat(npz_fifo).st_mode)


def test_attribute_o_dot_is_refused(work: Work, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(work.root / "out")
    for output in (".", "..", "./"):
        before = files_under(work.root)
        err = run_refused(work.attribute(None, None, "-o", output), capsys)
        assert "names a folder" in err
        assert files_under(work.root) == before


# -- loaders that no command reads directly -----------------------------------------------------------


def _attr_nan(path: Path) -> None:
    rewrite_npz(path, lambda a: a["maps"].__setitem__((0, 0, 0, 0), np.nan))


def _attr_wrong_dtype(path: Path) -> None:
    rewrite_npz(path, lambda a: a.update(maps=a["maps"].astype(np.float64)))


def _attr_sidecar(change: Callable[[dict], None]) -> Callable[[Path], None]:
    def apply(path: Path) -> None:
        sidecar = path.with_suffix(".json")
        meta = json.loads(sidecar.read_text())
        change(meta)
        sidecar.write_text(json.dumps(meta))

    return apply


ATTRIBUTION_ROWS: list[tuple[str, Callable[[Path], None], str]] = [
    ("nan-in-maps", _attr_nan, "NaN or inf"),
    ("maps-float64", _attr_wrong_dtype, "array 'maps' is float64"),
    ("hidden-missing", lambda p: rewrite_npz(p, lambda a: a.pop("hidden")), "missing array 'hidden'"),
    ("components-wrong-rows", lambda p: rewrite_npz(p, lambda a: a.update(components=a["components"][:1])),
     "components must be"),
    ("empty-npz", lambda p: (p.write_bytes(b""), rehash_pair(p)), "cannot read AttributionSet"),
    ("sidecar-is-a-list", lambda p: p.with_suffix(".json").write_text("[]"), "JSON list"),
    ("geometry-missing", _attr_sidecar(lambda m: m.pop("geometry")), "geometry must be a dict"),
    ("geometry-string-size", _attr_sidecar(lambda m: m["geometry"].update(size="8")), "geometry needs"),
    ("head-unknown", _attr_sidecar(lambda m: m.update(head="critic")), "head must be"),
    ("method-not-a-dict", _attr_sidecar(lambda m: m.update(method=["ig"])), "method must be a dict"),
    ("truncated", lambda p: p.write_bytes(p.read_bytes()[:500]), "does not match its sidecar"),
]


@pytest.mark.parametrize("damage, fragment", [r[1:] for r in ATTRIBUTION_ROWS], ids=[r[0] for r in ATTRIBUTION_ROWS])
def test_malformed_attribution_set_is_refused(tmp_path: Path, damage, fragment: str) -> None:
    from interpbench.data.attribution_set import AttributionSet
    from interpbench.infra.errors import CorruptFileError

    path = tiny_attribution().save(tmp_path / "attr")
    damage(path)
    before = files_under(tmp_path)
    with pytest.raises(CorruptFileError) as err:  # Corrupt, so a cache entry like this is rebuilt
        AttributionSet.load(path)
    assert fragment in str(err.value) and "\n" not in str(err.value)
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("row, fragment", [
    ("distill-L100-r1,0,a,0-10,5,,nan,,human", "confidence='nan' is not a finite number"),
    ("distill-L100-r1,0,a,0-10,5,,,inf,human", "seconds='inf' is not a finite number"),
])
def test_non_finite_feature_judgment_is_refused(tmp_path: Path, row: str, fragment: str) -> None:
    path = tmp_path / "judgments.csv"
    path.write_text("checkpoint,feature,labeller,scale,judgment,object,confidence,seconds,made_by\n" + row + "\n")
    with pytest.raises(InterpbenchError, match="line 2: " + fragment.replace("(", r"\(")):
        load_feature_judgments([path], {"distill-L100-r1": 8})


def test_non_utf8_feature_judgment_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "judgments.csv"
    path.write_bytes(b"checkpoint,feature,labeller,scale,judgment,object,confidence,seconds,made_by\n"
                     b"distill-L100-r1,0,a,binary,1,coin,,,human\ndistill-L100-r1,1,a,binary,1,c\xf6in,,,human\n")
    with pytest.raises(InterpbenchError, match=r"judgments.csv, line 3: not UTF-8"):
        load_feature_judgments([path], {"distill-L100-r1": 8})


def test_valid_inputs_still_load(work: Work, reference_jd: Path) -> None:
    """The same starting files, unbroken, load: the rows above fail for the damage alone."""
    from interpbench.data.frameset import FrameSet
    from interpbench.data.zoo import read_zoo_metadata

    assert len(FrameSet.load(work.frames)) == 4
    assert load_checkpoint(work.ckpt).meta["weights_sha256"] == file_sha256(work.ckpt)
    assert len(read_zoo_metadata(work.zoo)) == 2
    assert load_checkpoint(make_jd(work.root / "ok.jd")).model.num_actions == 15
    assert load_checkpoint(reference_jd).model.num_actions == 15
