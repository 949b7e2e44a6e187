"""The "clear" CNN of Hilton et al. (Distill 2020) in torch, and its checkpoint formats.

Layer names follow the article (1a, 2a, 2b, 3a, 4a) so that ``model.get_submodule("2b")`` is the
analysed layer; each named block ends in its ReLU, so a hook on it sees the ReLU output *before*
pooling (32x32x32 for a 64x64 input), as the article's attribution does.

Two checkpoint formats load into it:
* interpbench's own: ``<name>.safetensors`` (weights) + ``<name>.json`` (how it was made);
* the article's published joblib ``.jd`` files (TensorFlow variable names and layouts).
"""

from __future__ import annotations

import collections
import functools
import hashlib
import json
import math
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interpbench.data.layers import CONV_LAYERS, POOLED
from interpbench.data.sidecar import check_weights_hash, describe, file_sha256
from interpbench.infra import atomic
from interpbench.infra.errors import CorruptFileError, InterpbenchError

ARCHITECTURE = "clear-cnn"


class ConvReLU(nn.Module):
    """A "same"-padded convolution and its ReLU; hooks on this module see the ReLU output."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x))


def l2_pool(x: torch.Tensor) -> torch.Tensor:
    """The article's L2 pooling: sqrt(mean of squares over 2x2 windows + 1e-8)."""
    return torch.sqrt(F.avg_pool2d(x * x, 2, stride=2) + 1e-8)


class ClearCNN(nn.Module):
    """Input: float32 (N, 3, 64, 64) in [0, 1]. Output: (policy logits (N, 15), value (N,))."""

    #: The registered architecture (``agents.architectures``) a checkpoint of this model names.
    architecture = ARCHITECTURE

    def __init__(self, num_actions: int = 15) -> None:
        super().__init__()
        for name, c_in, c_out, kernel in CONV_LAYERS:
            self.add_module(name, ConvReLU(c_in, c_out, kernel))
        self.dense = nn.Linear(4 * 4 * 32, 256)
        self.dense_1 = nn.Linear(256, 512)
        self.pi = nn.Linear(512, num_actions)
        self.vf = nn.Linear(512, 1)

    @property
    def num_actions(self) -> int:
        return self.pi.out_features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_from(CONV_LAYERS[0][0], x, include_layer=True)

    def forward_to(self, layer: str, x: torch.Tensor) -> torch.Tensor:
        """Activations of ``layer`` (its ReLU output, before pooling) for preprocessed input ``x``.

        Attribution to a hidden layer needs the network split there: the part below runs once,
        the part above once per integration step.
        """
        for name in _conv_names_through(layer):
            x = self.get_submodule(name)(x)
            if name != layer and name in POOLED:
                x = l2_pool(x)
        return x

    def forward_from(
        self, layer: str, x: torch.Tensor, *, include_layer: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(policy logits, value) from the activations of ``layer`` (or from its input, with
        ``include_layer``): the top of the network, shared by ``forward`` so the two cannot drift.
        """
        names = [n for n, *_ in CONV_LAYERS]
        start = names.index(_conv_names_through(layer)[-1])
        for name in names[start:]:
            if include_layer or name != layer:
                x = self.get_submodule(name)(x)
            if name in POOLED:
                x = l2_pool(x)
        # The TF original flattens channels-last (h, w, c); the dense weights depend on it.
        x = x.permute(0, 2, 3, 1).flatten(1)
        x = F.relu(self.dense_1(F.relu(self.dense(x))))
        return self.pi(x), self.vf(x).squeeze(-1)


def _conv_names_through(layer: str) -> list[str]:
    """Conv block names from the input up to and including ``layer``; bad names are bad input."""
    names = [n for n, *_ in CONV_LAYERS]
    if layer not in names:
        raise InterpbenchError(f"unknown layer {layer!r}; the clear CNN has {names}")
    return names[: names.index(layer) + 1]


def preprocess(obs: np.ndarray | torch.Tensor) -> torch.Tensor:
    """uint8 (N, 64, 64, 3) observations -> float32 (N, 3, 64, 64) in [0, 1], as the agent sees them.

    Observations of a network that reads mask planes beside the frame (``agents.inputs``) have
    3 + M channels, the planes 0 or 255, and come out as (N, 3 + M, 64, 64) alike."""
    # Frame sets hold read-only arrays; torch cannot wrap those without a copy (and warns), and
    # the float conversion below copies anyway, so a read-only input is copied once here.
    read_only = isinstance(obs, np.ndarray) and not obs.flags.writeable
    t = torch.tensor(obs) if read_only else torch.as_tensor(obs)
    if t.dtype != torch.uint8 or t.ndim != 4 or t.shape[-1] < 3:
        raise InterpbenchError(f"observations must be uint8 (N, H, W, 3 + mask planes), got {t.dtype} {tuple(t.shape)}")
    return t.permute(0, 3, 1, 2).float().div_(255.0)


# -- checkpoints ------------------------------------------------------------------------------


@dataclass
class Checkpoint:
    """A model and the JSON that says how it was made (method, levels, run, returns, ...)."""

    model: ClearCNN
    meta: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    @property
    def name(self) -> str:
        return self.meta.get("name") or (self.path.stem if self.path else "unnamed")

    def weights_hash(self) -> str:
        """sha256 over the weights: the cache key for attributions of this model."""
        h = hashlib.sha256()
        for key, value in sorted(self.model.state_dict().items()):
            h.update(key.encode())
            h.update(value.detach().cpu().numpy().tobytes())
        return h.hexdigest()


def save_checkpoint(model: nn.Module, path: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``path``.safetensors and ``path``.json atomically; returns the safetensors path.

    The JSON records ``weights_sha256``, the sha256 of the safetensors file, so that weights
    moved under another checkpoint's JSON (or damaged) are refused on load."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    atomic.check_target(path.with_suffix(".json"))
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic.atomic_path(path) as tmp:
        save_file(tensors, str(tmp))
        digest = file_sha256(tmp)
    atomic.write_json(path.with_suffix(".json"),
                      {"architecture": getattr(model, "architecture", ARCHITECTURE), **meta, "name": path.stem, "weights_sha256": digest})
    return path


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"non-finite number {name}")


def _read_meta(meta_path: Path) -> dict[str, Any]:
    """A checkpoint's JSON: an object, UTF-8, no NaN, with a known architecture and action count."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"), parse_constant=_refuse_constant)
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError, JSONDecodeError, NaN
        raise CorruptFileError(f"cannot read checkpoint description {meta_path}: {describe(exc)}") from exc
    if not isinstance(meta, dict):
        raise CorruptFileError(f"{meta_path}: a checkpoint description is a JSON object, got a {type(meta).__name__}")
    if meta.get("architecture") != ARCHITECTURE:
        from interpbench.agents.architectures import get_architecture

        get_architecture(meta.get("architecture"), where=str(meta_path))  # an unknown one is refused, naming the known
    actions = meta.get("num_actions", 15)
    if isinstance(actions, bool) or not isinstance(actions, int) or actions < 1:
        raise CorruptFileError(f"{meta_path}: num_actions must be a positive integer, got {actions!r}")
    if not isinstance(meta.get("name", ""), str):
        raise CorruptFileError(f"{meta_path}: name must be a string, got {meta.get('name')!r}")
    return meta


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load an interpbench checkpoint (.safetensors + .json, any registered architecture), a
    published ``.jd`` file, or a CleanRL IMPALA ``state_dict`` (``.cleanrl_model``, ``.pt``)."""
    path = Path(path)
    if path.suffix == ".jd":
        return load_jd(path)
    if path.suffix in (".cleanrl_model", ".pt", ".pth"):
        from interpbench.agents.architectures import load_cleanrl

        return load_cleanrl(path)
    path = path.with_suffix(".safetensors")
    meta_path = path.with_suffix(".json")
    for p in (path, meta_path):
        if not p.exists():
            raise InterpbenchError(f"checkpoint file not found: {p}")
        if not p.is_file():
            raise InterpbenchError(f"checkpoint path is not a regular file: {p}")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    meta = _read_meta(meta_path)
    try:
        tensors = load_file(str(path))
    except (OSError, ValueError, SafetensorError) as exc:
        raise CorruptFileError(f"cannot read checkpoint {path}: {describe(exc)}") from exc
    if meta["architecture"] == ARCHITECTURE:
        model = _build(tensors, meta.get("num_actions", 15), path)
    else:
        from interpbench.agents.architectures import build_with

        model = build_with(meta["architecture"], tensors, meta.get("num_actions", 15), path)
    # After the structural checks, so a damaged file is described by what is wrong with it; a
    # well-formed file that is not the one the JSON recorded (another checkpoint's) stops here.
    check_weights_hash(meta, meta_path, path)
    return Checkpoint(model.eval(), meta, path)


@functools.lru_cache(maxsize=1)
def _shapes_for_15_actions() -> dict[str, tuple[int, ...]]:
    with torch.device("meta"):
        return {k: tuple(v.shape) for k, v in ClearCNN(15).state_dict().items()}


def _expected_shapes(num_actions: int) -> dict[str, tuple[int, ...]]:
    """The state dict's tensor shapes for ``num_actions`` actions, without allocating a model."""
    shapes = dict(_shapes_for_15_actions())
    shapes["pi.weight"], shapes["pi.bias"] = (num_actions, shapes["pi.weight"][1]), (num_actions,)
    return shapes


def _build(tensors: dict[str, torch.Tensor], num_actions: int, source: Path) -> ClearCNN:
    """A ClearCNN holding ``tensors``, after :func:`check_tensors`.

    Everything is checked before the model is built (a huge action count in a JSON must not
    allocate a huge head)."""
    check_tensors(tensors, _expected_shapes(num_actions), source, "the clear CNN")
    model = ClearCNN(num_actions=num_actions)
    model.load_state_dict(tensors)
    return model


def check_tensors(tensors: dict[str, torch.Tensor], expected: dict[str, tuple[int, ...]], source: Path,
                  what: str) -> None:
    """Refuse weights that do not fit ``what`` (its ``expected`` state-dict shapes), naming every
    problem with the file: a missing or unexpected tensor, a wrong shape, a non-float tensor, NaN
    or inf weights (which would make every attribution and score NaN without an error)."""
    problems = [f"missing {k}" for k in expected.keys() - tensors.keys()]
    problems += [f"unexpected {k if k.isprintable() else repr(k)}" for k in tensors.keys() - expected.keys()]
    problems += [
        f"{k}: shape {tuple(tensors[k].shape)}, expected {shape}"
        for k, shape in expected.items()
        if k in tensors and tuple(tensors[k].shape) != shape
    ]
    if problems:
        raise InterpbenchError(f"{source} does not fit {what}: " + "; ".join(sorted(problems)))
    not_float = sorted(k for k, t in tensors.items() if not t.is_floating_point())
    if not_float:
        raise CorruptFileError(f"{source}: weights must be floating point, not {not_float}")
    bad = sorted(k for k, t in tensors.items() if not bool(torch.isfinite(t).all()))
    if bad:
        raise CorruptFileError(f"{source}: non-finite (NaN or inf) weights in {bad}")


def _jd_to_state(params: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Map the article's TF variables onto ClearCNN's state dict (HWIO -> OIHW, (in,out) -> (out,in))."""
    state: dict[str, torch.Tensor] = {}

    def tensor(array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(array))

    for name, *_ in CONV_LAYERS:
        kernel = params[f"ppo2_model/pi/{name}/conv2d/kernel:0"]
        state[f"{name}.conv.weight"] = tensor(kernel.transpose(3, 2, 0, 1))
        state[f"{name}.conv.bias"] = tensor(params[f"ppo2_model/pi/{name}/conv2d/bias:0"])
    dense = {"dense": "ppo2_model/pi/dense", "dense_1": "ppo2_model/pi/dense_1"}
    for ours, theirs in dense.items():
        state[f"{ours}.weight"] = tensor(params[f"{theirs}/kernel:0"].T)
        state[f"{ours}.bias"] = tensor(params[f"{theirs}/bias:0"])
    for head in ("pi", "vf"):
        state[f"{head}.weight"] = tensor(params[f"ppo2_model/{head}/w:0"].T)
        state[f"{head}.bias"] = tensor(params[f"ppo2_model/{head}/b:0"])
    return state


# -- published .jd checkpoints: joblib pickles, read without running code ---------------------------

#: Every global a published checkpoint's pickle may name. A pickle is a program: any other
#: global (``os.system``, ``builtins.eval``, a class whose ``__reduce__`` does something) would
#: run while loading, so the unpickler refuses it by name before it is imported. The published
#: CoinRun agent names exactly these: joblib's array placeholder (the array bytes follow the
#: pickle stream and are read by joblib's NumpyUnpickler), ``numpy.ndarray``, ``numpy.dtype``,
#: numpy's scalar helper (numpy float32 scalars in ``extra``), and ``collections.defaultdict``
#: with ``float`` as its default factory (``extra`` holds training statistics). Admitted besides:
#: numpy's empty-array ``_reconstruct`` (numpy's own array pickling), the numpy 2 spelling of the
#: numpy helpers, and ``int`` as a default factory.
_JD_GLOBALS = frozenset({
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("collections", "defaultdict"),
    ("builtins", "float"),
    ("builtins", "int"),
})
#: Attributes joblib's array placeholder carries (``NumpyArrayWrapper.__init__``).
_WRAPPER_FIELDS = frozenset({"subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"})


def _empty_reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
    """numpy's ``_reconstruct`` as its pickles call it: an empty ndarray that BUILD then fills.
    Any other use (a subclass, a non-empty shape: a huge allocation) is refused."""
    from numpy.core.multiarray import _reconstruct  # type: ignore[attr-defined]

    if subtype is not np.ndarray or not isinstance(shape, tuple) or 0 not in shape:
        raise CorruptFileError("refusing numpy _reconstruct other than of an empty ndarray")
    return _reconstruct(subtype, shape, dtype)


def _defaultdict(*args: Any) -> collections.defaultdict:
    """``collections.defaultdict`` as a pickle calls it, with no factory or a number type as
    factory (a factory runs later, on a missing key, so arbitrary ones are refused)."""
    if len(args) > 1 or (args and args[0] not in (None, float, int)):
        raise CorruptFileError("refusing a defaultdict whose default factory is not float or int")
    return collections.defaultdict(*args)


def _restricted_unpickler(path: Path, handle: Any, size: int | None) -> Any:
    """joblib's NumpyUnpickler (which reads the array bytes joblib stores after the pickle
    stream) restricted to what a checkpoint needs:

    * ``find_class`` admits only :data:`_JD_GLOBALS`, refusing anything else by name;
    * only ``numpy.dtype``, numpy's scalar helper, an empty-array ``_reconstruct`` and a
      number-valued ``defaultdict`` may be called (REDUCE; ``float`` and ``int`` only as factories), only joblib's array placeholder may be instantiated (NEWOBJ; the
      protocol 0/1 instantiation opcodes and NEWOBJ_EX are refused);
    * each array placeholder is checked before its bytes are read: a plain numeric ndarray of
      a size the file has bytes for.
    """
    from joblib.numpy_pickle import NumpyArrayWrapper, NumpyUnpickler
    from numpy.core.multiarray import scalar  # type: ignore[attr-defined]

    callables = {id(np.dtype), id(scalar), id(_empty_reconstruct), id(_defaultdict)}

    def refuse(what: str) -> CorruptFileError:
        return CorruptFileError(f"refusing to load {what} from {path}: not a type a checkpoint holds")

    class RestrictedUnpickler(NumpyUnpickler):
        dispatch = NumpyUnpickler.dispatch.copy()

        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in _JD_GLOBALS:
                raise refuse(f"{module}.{name}")
            if name == "_reconstruct":
                return _empty_reconstruct
            if name == "scalar":
                return scalar
            if name == "defaultdict":
                return _defaultdict
            return super().find_class(module, name)

        def load_reduce(self) -> None:
            if len(self.stack) < 2 or id(self.stack[-2]) not in callables:
                raise refuse(f"a call of {type(self.stack[-2]).__name__ if len(self.stack) >= 2 else 'nothing'}")
            NumpyUnpickler.load_reduce(self)

        def load_newobj(self) -> None:
            if len(self.stack) < 2 or self.stack[-2] is not NumpyArrayWrapper:
                raise refuse("an instance of anything but joblib's NumpyArrayWrapper")
            NumpyUnpickler.load_newobj(self)

        def load_refused(self) -> None:
            raise refuse("an object built by INST, OBJ or NEWOBJ_EX")

        def load_build(self) -> None:
            if len(self.stack) >= 2 and isinstance(self.stack[-2], NumpyArrayWrapper):
                self._check_wrapper(self.stack[-1])
            NumpyUnpickler.load_build(self)

        dispatch[pickle.REDUCE[0]] = load_reduce
        dispatch[pickle.NEWOBJ[0]] = load_newobj
        dispatch[pickle.INST[0]] = load_refused
        dispatch[pickle.OBJ[0]] = load_refused
        dispatch[pickle.NEWOBJ_EX[0]] = load_refused
        dispatch[pickle.BUILD[0]] = load_build

        def _check_wrapper(self, state: Any) -> None:
            if not isinstance(state, dict) or not set(state) <= _WRAPPER_FIELDS:
                raise CorruptFileError(f"{path}: malformed joblib array record")
            dtype, shape = state.get("dtype"), state.get("shape")
            if (state.get("subclass") is not np.ndarray or state.get("order") not in ("C", "F")
                    or not isinstance(dtype, np.dtype) or dtype.kind not in "biuf"
                    or not isinstance(shape, tuple)
                    or not all(isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 0 for d in shape)):
                raise CorruptFileError(f"{path}: joblib array record is not a plain numeric array")
            nbytes = math.prod(int(d) for d in shape) * dtype.itemsize
            if size is not None and nbytes > size:
                raise CorruptFileError(f"{path}: an array of {nbytes} bytes cannot fit in a {size}-byte file")
            state["allow_mmap"] = False

    return RestrictedUnpickler(str(path), handle, ensure_native_byte_order=True, mmap_mode=None)


def _read_jd(path: Path) -> Any:
    """The object in a joblib file, unpickled by :func:`_restricted_unpickler`: nothing in the
    file can run code, whatever it contains (see :data:`_JD_GLOBALS`)."""
    from joblib.numpy_pickle_utils import _validate_fileobject_and_memmap

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        with _validate_fileobject_and_memmap(f, str(path), None) as (handle, _):
            if isinstance(handle, str):  # joblib < 0.10 format, read by an unrestricted unpickler
                raise CorruptFileError(f"{path}: a joblib file older than joblib 0.10, which cannot be read safely")
            compressed = handle is not f
            return _restricted_unpickler(path, handle, None if compressed else size).load()


def _finite_params(blob: Any, path: Path) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(params, args) of a loaded ``.jd`` object, with every type checked."""
    if not isinstance(blob, dict) or "params" not in blob:
        raise CorruptFileError(f"{path}: a checkpoint is a dict with 'params' and 'args', got {type(blob).__name__}")
    params, args = blob["params"], blob.get("args", {})
    if not isinstance(args, dict):
        raise CorruptFileError(f"{path}: 'args' must be a dict of training arguments, got a {type(args).__name__}")
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in params.items()
    ):
        raise CorruptFileError(f"{path}: 'params' must be a dict of variable name -> numpy array")
    not_float = sorted(k for k, v in params.items() if v.dtype.kind != "f")
    if not_float:
        raise CorruptFileError(f"{path}: weights must be floating point, not {not_float}")
    bad = sorted(k for k, v in params.items() if not np.isfinite(v).all())
    if bad:
        raise CorruptFileError(f"{path}: non-finite (NaN or inf) weights in {bad}")
    return params, args


def _plain(value: Any) -> bool:
    """A JSON-able scalar (non-finite floats are not: the JSON readers refuse them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, (int, str, bool, type(None)))


def load_jd(path: str | Path) -> Checkpoint:
    """Load a published "Understanding RL Vision" joblib checkpoint (dict with args and params).

    A ``.jd`` file is a pickle, and ``joblib.load`` runs whatever code a pickle names, so a file
    from the internet could do anything to the machine that opens it. It is read here with an
    unpickler that admits only the types a checkpoint holds (dicts, lists, strings, numbers,
    numpy arrays; :data:`_JD_GLOBALS`) and refuses anything else by name, before importing it.
    """
    path = Path(path)
    if not path.exists():
        raise InterpbenchError(
            f"checkpoint file not found: {path} (the published agent is checkpoints/coinrun.jd in "
            "github.com/langosco/understanding-rl-vision)"
        )
    if not path.is_file():
        raise InterpbenchError(f"checkpoint path is not a regular file: {path}")
    try:
        blob = _read_jd(path)
    except InterpbenchError:
        raise
    except Exception as exc:  # a damaged pickle can raise almost anything (nothing in it can run)
        raise CorruptFileError(f"cannot read joblib checkpoint {path}: {type(exc).__name__}: {describe(exc)}") from exc
    params, args = _finite_params(blob, path)
    if args.get("cnn") not in (None, "clear"):
        raise InterpbenchError(f"{path}: architecture {args.get('cnn')!r}; only the 'clear' CNN is supported")
    try:
        state = _jd_to_state(params)
    except KeyError as exc:
        raise InterpbenchError(f"{path} lacks parameter {exc}; is it a clear-CNN checkpoint?") from exc
    except ValueError as exc:  # a kernel without 4 dimensions cannot be transposed
        raise InterpbenchError(f"{path} does not fit the clear CNN: {describe(exc)}") from exc
    if state["pi.bias"].ndim != 1 or len(state["pi.bias"]) < 1:
        raise InterpbenchError(f"{path} does not fit the clear CNN: policy bias of shape {tuple(state['pi.bias'].shape)}")
    model = _build(state, int(state["pi.bias"].shape[0]), path)
    meta = {
        "architecture": ARCHITECTURE,
        "method": "published",
        "source": str(path),
        "env_name": args.get("env_name"),
        "num_levels": args.get("num_levels"),
        "distribution_mode": args.get("distribution_mode") or "hard",
        "num_actions": model.num_actions,
        "training_args": {k: v for k, v in args.items() if isinstance(k, str) and _plain(v)},
    }
    return Checkpoint(model.eval(), meta, path)
