"""The "clear" CNN of Hilton et al. (Distill 2020) in torch, and its checkpoint formats.

Layer names follow the article (1a, 2a, 2b, 3a, 4a) so that ``model.get_submodule("2b")`` is the
analysed layer; each named block ends in its ReLU, so a hook on it sees the ReLU output *before*
pooling (32x32x32 for a 64x64 input), as the article's attribution does.

Two checkpoint formats load into it:
* interpbench's own: ``<name>.safetensors`` (weights) + ``<name>.json`` (how it was made);
* the article's published joblib ``.jd`` files (TensorFlow variable names and layouts).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interpbench.data.layers import CONV_LAYERS, POOLED
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
    """uint8 (N, 64, 64, 3) observations -> float32 (N, 3, 64, 64) in [0, 1], as the agent sees them."""
    # Frame sets hold read-only arrays; torch cannot wrap those without a copy (and warns), and
    # the float conversion below copies anyway, so a read-only input is copied once here.
    read_only = isinstance(obs, np.ndarray) and not obs.flags.writeable
    t = torch.tensor(obs) if read_only else torch.as_tensor(obs)
    if t.dtype != torch.uint8 or t.ndim != 4 or t.shape[-1] != 3:
        raise InterpbenchError(f"observations must be uint8 (N, H, W, 3), got {t.dtype} {tuple(t.shape)}")
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


def save_checkpoint(model: ClearCNN, path: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``path``.safetensors and ``path``.json atomically; returns the safetensors path."""
    from safetensors.torch import save_file

    path = Path(path).with_suffix(".safetensors")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic.atomic_path(path) as tmp:
        save_file(tensors, str(tmp))
    atomic.write_json(path.with_suffix(".json"), {"architecture": ARCHITECTURE, **meta, "name": path.stem})
    return path


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load an interpbench checkpoint (.safetensors + .json) or a published ``.jd`` file."""
    path = Path(path)
    if path.suffix == ".jd":
        return load_jd(path)
    path = path.with_suffix(".safetensors")
    meta_path = path.with_suffix(".json")
    for p in (path, meta_path):
        if not p.exists():
            raise InterpbenchError(f"checkpoint file not found: {p}")
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        meta = json.loads(meta_path.read_text())
        tensors = load_file(str(path))
    except (OSError, ValueError, SafetensorError) as exc:
        raise CorruptFileError(f"cannot read checkpoint {path}: {exc}") from exc
    if meta.get("architecture") != ARCHITECTURE:
        raise InterpbenchError(f"{meta_path}: architecture {meta.get('architecture')!r}, expected {ARCHITECTURE!r}")
    model = ClearCNN(num_actions=int(meta.get("num_actions", 15)))
    _load_state(model, tensors, path)
    return Checkpoint(model.eval(), meta, path)


def _load_state(model: ClearCNN, tensors: dict[str, torch.Tensor], source: Path) -> None:
    """load_state_dict with an error that names the file and every mismatching tensor."""
    expected = model.state_dict()
    problems = [f"missing {k}" for k in expected.keys() - tensors.keys()]
    problems += [f"unexpected {k}" for k in tensors.keys() - expected.keys()]
    problems += [
        f"{k}: shape {tuple(tensors[k].shape)}, expected {tuple(v.shape)}"
        for k, v in expected.items()
        if k in tensors and tensors[k].shape != v.shape
    ]
    if problems:
        raise InterpbenchError(f"{source} does not fit the clear CNN: " + "; ".join(sorted(problems)))
    model.load_state_dict(tensors)


def _jd_to_state(params: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
    """Map the article's TF variables onto ClearCNN's state dict (HWIO -> OIHW, (in,out) -> (out,in))."""
    state: dict[str, torch.Tensor] = {}
    for name, *_ in CONV_LAYERS:
        kernel = params[f"ppo2_model/pi/{name}/conv2d/kernel:0"]
        state[f"{name}.conv.weight"] = torch.from_numpy(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)))
        state[f"{name}.conv.bias"] = torch.from_numpy(params[f"ppo2_model/pi/{name}/conv2d/bias:0"])
    dense = {"dense": "ppo2_model/pi/dense", "dense_1": "ppo2_model/pi/dense_1"}
    for ours, theirs in dense.items():
        state[f"{ours}.weight"] = torch.from_numpy(np.ascontiguousarray(params[f"{theirs}/kernel:0"].T))
        state[f"{ours}.bias"] = torch.from_numpy(params[f"{theirs}/bias:0"])
    for head in ("pi", "vf"):
        state[f"{head}.weight"] = torch.from_numpy(np.ascontiguousarray(params[f"ppo2_model/{head}/w:0"].T))
        state[f"{head}.bias"] = torch.from_numpy(params[f"ppo2_model/{head}/b:0"])
    return state


def load_jd(path: str | Path) -> Checkpoint:
    """Load a published "Understanding RL Vision" joblib checkpoint (dict with args and params)."""
    import joblib

    path = Path(path)
    if not path.exists():
        raise InterpbenchError(
            f"checkpoint file not found: {path} (the published agent is checkpoints/coinrun.jd in "
            "github.com/langosco/understanding-rl-vision)"
        )
    try:
        blob = joblib.load(path)
        params, args = blob["params"], blob.get("args", {})
    except Exception as exc:  # joblib/pickle can raise almost anything on a bad file
        raise CorruptFileError(f"cannot read joblib checkpoint {path}: {exc}") from exc
    if args.get("cnn") not in (None, "clear"):
        raise InterpbenchError(f"{path}: architecture {args.get('cnn')!r}; only the 'clear' CNN is supported")
    try:
        state = _jd_to_state(params)
    except KeyError as exc:
        raise InterpbenchError(f"{path} lacks parameter {exc}; is it a clear-CNN checkpoint?") from exc
    model = ClearCNN(num_actions=state["pi.bias"].shape[0])
    _load_state(model, state, path)
    meta = {
        "architecture": ARCHITECTURE,
        "method": "published",
        "source": str(path),
        "env_name": args.get("env_name"),
        "num_levels": args.get("num_levels"),
        "distribution_mode": args.get("distribution_mode") or "hard",
        "num_actions": model.num_actions,
        "training_args": {k: v for k, v in args.items() if isinstance(v, (int, float, str, bool, type(None)))},
    }
    return Checkpoint(model.eval(), meta, path)
