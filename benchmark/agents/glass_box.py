"""Glass-box CoinRun agents: a clear CNN whose layer 2b is, by construction, a known mix of the
game's own object masks and entangled random features of the frame (docs/known-answer.md).

Why: a benchmark of interpretability metrics should show that it sees interpretability where it
is known to be. Layer 2b of the clear CNN has 32 channels at 32x32, eight groups of four. Each
group stands for one object class (:data:`GROUPS`) and is, per network, either

* an **object group**: the class's pixel-exact 64x64 mask, space-to-depth to 32x32x4 (each of the
  four channels one of the 2x2 sub-pixel phases, so the group holds the mask losslessly and
  nothing else), read from input planes that come from the game state at play time and from a
  FrameSet's own masks at attribution time (``agents.inputs``); or
* an **entangled group**: four channels of a fixed random convolution of the RGB frame (He-normal,
  6x6, stride 2, ReLU; seeded per network): they carry the frame, background texture included,
  with no channel tied to any class.

``k`` object groups of eight is the planted degree of interpretability. Layers 3a and up are the
clear CNN's and are the only trained ones (``baselines.known_zoo`` distils them from the published
agent); the bottom is buffers, so an optimizer over ``parameters()`` cannot touch it and a
checkpoint carries it (the layout included: :func:`planted_groups` reads it from the weights).

Wall surfaces: the game draws the top row of a wall block with its own tile; the masks have one
``wall`` class, so a wall pixel counts as surface when open space lies within
:data:`SURFACE_DEPTH` pixels (about one tile) above it, and as interior otherwise. Both are pure
functions of the wall mask, so play and attribution agree exactly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from interpbench.agents.architectures import Architecture, LayerInfo
from interpbench.agents.init import reinit_layers
from interpbench.agents.models import ClearCNN, ConvReLU, l2_pool
from interpbench.data.layers import CONV_LAYERS, LayerGeometry, compose
from interpbench.infra.errors import InterpbenchError

ARCHITECTURE = "glass-box"
#: The mask classes the network reads beside the RGB frame: input planes 3.. in this order.
INPUT_MASKS: tuple[str, ...] = ("agent", "coin", "enemy", "saw", "lava", "crate", "wall")
#: Layer 2b's channel groups in channel order, four channels each.
GROUPS: tuple[str, ...] = ("agent", "coin", "enemy", "saw", "lava", "crate", "wall_surface", "wall_interior")
GROUP_CHANNELS = 4
#: Pixels above a wall pixel within which open space makes it surface (a tile is 64/13 px).
SURFACE_DEPTH = 5
#: The entangled features' convolution (kernel, stride, padding): 64x64 -> 32x32, centred on
#: the same pixels as the object channels' 2x2 cells.
ENTANGLED_CONV = (6, 2, 2)
#: The trained layers, input first (the clear CNN's from 3a up).
TRAINED: tuple[str, ...] = ("3a", "4a", "dense", "dense_1", "pi", "vf")
UPPER_CONV: tuple[str, ...] = ("3a", "4a")


def group_masks(planes: torch.Tensor) -> torch.Tensor:
    """(N, 7, 64, 64) input mask planes (:data:`INPUT_MASKS`, values 0/1) -> (N, 8, 64, 64) in
    {0, 1}: one mask per group of :data:`GROUPS`, the wall split into surface and interior."""
    wall = planes[:, -1:]
    # open space within SURFACE_DEPTH pixels above; outside the frame counts as closed
    open_above = F.max_pool2d(F.pad(1 - wall, (0, 0, SURFACE_DEPTH, 0)), (SURFACE_DEPTH, 1), stride=1)[:, :, :-1]
    surface = wall * open_above
    return torch.cat([planes[:, :-1], surface, wall - surface], dim=1)


def object_channels(planes: torch.Tensor) -> torch.Tensor:
    """(N, 32, 32, 32): every group's mask space-to-depth (group g is channels 4g..4g+3)."""
    return F.pixel_unshuffle(group_masks(planes), 2)


class GlassLayer(nn.Module):
    """Layer 2b by construction (module docstring): input (N, 3 + 7, 64, 64), output (N, 32, 32, 32)."""

    layout: torch.Tensor  # (8,): 1 for an object group, 0 for an entangled one
    entangled_weight: torch.Tensor
    entangled_bias: torch.Tensor

    def __init__(self, object_groups: Sequence[str] = (), seed: int = 0) -> None:
        super().__init__()
        unknown = sorted(set(object_groups) - set(GROUPS))
        if unknown or len(set(object_groups)) != len(object_groups):
            raise InterpbenchError(f"object groups must be distinct names from {list(GROUPS)}, got {list(object_groups)}")
        kernel = ENTANGLED_CONV[0]
        gen = torch.Generator().manual_seed(seed)
        weight = torch.randn(len(GROUPS) * GROUP_CHANNELS, 3, kernel, kernel, generator=gen)
        self.register_buffer("layout", torch.tensor([float(g in object_groups) for g in GROUPS]))
        self.register_buffer("entangled_weight", weight * np.sqrt(2 / (3 * kernel * kernel)))
        self.register_buffer("entangled_bias", torch.zeros(len(GROUPS) * GROUP_CHANNELS))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != 3 + len(INPUT_MASKS):
            raise InterpbenchError(
                f"a glass-box network reads the frame and {len(INPUT_MASKS)} mask planes ({', '.join(INPUT_MASKS)}), "
                f"got {x.shape[1]} input channels; build its inputs with interpbench.agents.inputs")
        objects = object_channels(x[:, 3:])
        entangled = (self.layout == 0).repeat_interleave(GROUP_CHANNELS)
        if not entangled.any():
            return objects
        _, stride, padding = ENTANGLED_CONV  # only the entangled groups' features are computed
        features = F.relu(F.conv2d(x[:, :3], self.entangled_weight[entangled], self.entangled_bias[entangled],
                                   stride=stride, padding=padding))
        return objects.index_copy(1, entangled.nonzero().squeeze(1), features)


class GlassBoxCNN(ClearCNN):
    """The clear CNN with layers 1a-2b replaced by :class:`GlassLayer` (module ``2b``, so hooks on
    it see layer 2b as they do in the clear CNN); ``forward_from`` is the clear CNN's."""

    architecture = ARCHITECTURE

    def __init__(self, num_actions: int = 15, object_groups: Sequence[str] = (), seed: int = 0) -> None:
        nn.Module.__init__(self)  # not ClearCNN's: layers 1a-2a do not exist here
        self.add_module("2b", GlassLayer(object_groups, seed))
        for name, c_in, c_out, kernel in CONV_LAYERS:
            if name in UPPER_CONV:
                self.add_module(name, ConvReLU(c_in, c_out, kernel))
        self.dense = nn.Linear(4 * 4 * 32, 256)
        self.dense_1 = nn.Linear(256, 512)
        self.pi = nn.Linear(512, num_actions)
        self.vf = nn.Linear(512, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_from("2b", self.forward_to("2b", x))

    def forward_to(self, layer: str, x: torch.Tensor) -> torch.Tensor:
        names = ("2b", *UPPER_CONV)
        if layer not in names:
            raise InterpbenchError(f"unknown layer {layer!r}; the glass-box network's layers are {list(names)}")
        x = self.get_submodule("2b")(x)
        for name in names[1 : names.index(layer) + 1]:
            x = self.get_submodule(name)(l2_pool(x))
        return x


def planted_groups(model: nn.Module) -> tuple[str, ...]:
    """The object groups of a glass-box network, read from its weights (the truth, whatever its JSON says)."""
    layer = model.get_submodule("2b") if getattr(model, "architecture", None) == ARCHITECTURE else None
    if not isinstance(layer, GlassLayer):
        raise InterpbenchError(f"not a glass-box network: {type(model).__name__}")
    return tuple(g for g, planted in zip(GROUPS, layer.layout.tolist()) if planted)


def object_channel_mask(model: nn.Module) -> np.ndarray:
    """bool (32,): which channels of layer 2b are object channels."""
    planted = set(planted_groups(model))
    return np.repeat([g in planted for g in GROUPS], GROUP_CHANNELS)


def _geometry(layer: str) -> LayerGeometry:
    """Where a unit of ``layer`` looks: the entangled convolution (the object channels' 2x2 cells
    lie inside it, centred alike), then each upper block's pooling and convolution."""
    kernels = {name: kernel for name, _, _, kernel in CONV_LAYERS}
    above = UPPER_CONV[: ("2b", *UPPER_CONV).index(layer)]
    return compose([ENTANGLED_CONV, *(spec for name in above for spec in ((2, 2, 0), (kernels[name], 1, kernels[name] // 2)))])


def glass_box_architecture() -> Architecture:
    """The registry entry: layers 2b (default), 3a, 4a; only the layers above 2b are re-drawn
    by the randomization controls (the bottom is the construction, not learned)."""
    shapes = {"2b": (32, 32), "3a": (16, 16), "4a": (8, 8)}
    layers = {name: LayerInfo(name, 32, h, w, _geometry(name)) for name, (h, w) in shapes.items()}
    return Architecture(
        name=ARCHITECTURE, build=lambda n: GlassBoxCNN(num_actions=n), layers=layers, default_layer="2b",
        reinit=reinit_layers, init_modules=TRAINED,  # type: ignore[arg-type]
        cascade=(("heads", ("pi", "vf")), ("dense_1", ("dense_1",)), ("dense", ("dense",)), ("4a", ("4a",)),
                 ("3a", ("3a",))),
        forward_order=("2b", *TRAINED), input_masks=INPUT_MASKS,
        description="the clear CNN above a layer 2b built from object masks and random features (docs/known-answer.md)")
