"""The clear CNN's layer table and receptive-field geometry, without torch.

Metrics and their tests need a layer's receptive field (``AttributionSet.geometry``) but must not
import torch, so the architecture's shape lives here as plain data; ``interpbench.agents.models``
builds the network from the same table, so the two cannot drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from interpbench.infra.errors import InterpbenchError

#: name, in channels, out channels, kernel size of each conv block of the clear CNN.
CONV_LAYERS: tuple[tuple[str, int, int, int], ...] = (
    ("1a", 3, 16, 7),
    ("2a", 16, 32, 5),
    ("2b", 32, 32, 5),
    ("3a", 32, 32, 5),
    ("4a", 32, 32, 5),
)
#: Blocks followed by L2 pooling (2a is not: 2a and 2b share one resolution).
POOLED = frozenset({"1a", "2b", "3a", "4a"})
ANALYSED_LAYER = "2b"

#: (kernel, stride, padding) of one layer along one axis.
LayerSpec = tuple[int, int, int]


@dataclass(frozen=True)
class LayerGeometry:
    """Where a hidden unit at (i, j) looks in the input: the analytic receptive field.

    Unit (i, j) is centred on input pixel ``(offset + i * stride, offset + j * stride)`` and its
    receptive field is ``size`` x ``size`` pixels (composed layer by layer as in Network
    Dissection: size = (s2 - 1) * step1 + s1, offset = o2 * step1 + o1, step = step1 * step2).
    """

    size: int
    stride: int
    offset: float

    def as_dict(self) -> dict[str, float]:
        return {"size": self.size, "stride": self.stride, "offset": self.offset}


def compose(layers: Sequence[LayerSpec]) -> LayerGeometry:
    """Receptive field of the last layer of a chain, in input pixels (first layer first)."""
    size, stride, offset = 1, 1, 0.0
    for kernel, step, pad in layers:
        size += (kernel - 1) * stride
        offset += ((kernel - 1) / 2 - pad) * stride
        stride *= step
    return LayerGeometry(size=size, stride=stride, offset=offset)


def clear_cnn_specs(layer: str) -> list[LayerSpec]:
    """The clear CNN's layers up to ``layer``'s ReLU output (its own pooling excluded)."""
    specs: list[LayerSpec] = []
    for name, _, _, kernel in CONV_LAYERS:
        specs.append((kernel, 1, kernel // 2))
        if name == layer:
            return specs
        if name in POOLED:
            specs.append((2, 2, 0))
    raise InterpbenchError(f"unknown layer {layer!r}; the clear CNN has {[n for n, *_ in CONV_LAYERS]}")


def clear_cnn_geometry(layer: str = ANALYSED_LAYER) -> LayerGeometry:
    return compose(clear_cnn_specs(layer))
