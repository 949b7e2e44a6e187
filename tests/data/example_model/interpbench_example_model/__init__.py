"""A small two-conv network registered with interpbench through an entry point (docs/models.md).

Everything interpbench needs from a network: ``forward`` -> (logits, value), the split
``forward_to`` / ``forward_from`` at each analysable layer, an ``architecture`` attribute naming
its registry entry, and an :class:`Architecture` with the layers' shapes and receptive fields.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from interpbench.agents.architectures import Architecture, LayerInfo
from interpbench.data.layers import compose

NAME = "tiny-cnn"
LAYERS = ("c1", "c2")


class TinyCNN(nn.Module):
    architecture = NAME

    def __init__(self, num_actions: int = 15) -> None:
        super().__init__()
        self.c1 = nn.Sequential(nn.Conv2d(3, 8, 5, stride=2, padding=2), nn.ReLU())  # 8 x 32 x 32
        self.c2 = nn.Sequential(nn.Conv2d(8, 8, 3, stride=2, padding=1), nn.ReLU())  # 8 x 16 x 16
        self.fc = nn.Linear(8 * 16 * 16, 64)
        self.pi, self.vf = nn.Linear(64, num_actions), nn.Linear(64, 1)

    @property
    def num_actions(self) -> int:
        return self.pi.out_features

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.forward_from("c2", self.c2(self.c1(x)))

    def forward_to(self, layer: str, x: torch.Tensor) -> torch.Tensor:
        x = self.c1(x)
        return x if layer == "c1" else self.c2(x)

    def forward_from(self, layer: str, acts: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if layer == "c1":
            acts = self.c2(acts)
        hidden = torch.relu(self.fc(acts.flatten(1)))
        return self.pi(hidden), self.vf(hidden).squeeze(-1)


def _reinit(model: nn.Module, names: Iterable[str], seed: int) -> nn.Module:
    for k, name in enumerate(names):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed * 100 + k)
            for module in model.get_submodule(name).modules():
                if isinstance(module, (nn.Conv2d, nn.Linear)):
                    module.reset_parameters()
    return model


def tiny_cnn() -> Architecture:
    specs = {"c1": [(5, 2, 2)], "c2": [(5, 2, 2), (3, 2, 1)]}
    return Architecture(
        name=NAME, build=lambda n: TinyCNN(n),
        layers={"c1": LayerInfo("c1", 8, 32, 32, compose(specs["c1"])),
                "c2": LayerInfo("c2", 8, 16, 16, compose(specs["c2"]))},
        default_layer="c2", reinit=_reinit, init_modules=("c1", "c2", "fc", "pi", "vf"),
        cascade=(("heads", ("pi", "vf")), ("fc", ("fc",)), ("c2", ("c2",))),
        forward_order=("c1", "c2", "fc", "pi", "vf"), description="a two-conv example network")
