"""The model registry: which networks the harness can attribute, their analysable layers and geometry.

The harness was written for one network (the study's clear CNN at layer 2b); everything that
depends on the network goes through an :class:`Architecture` instead:

* how to build it for an action count (a ``torch.nn.Module`` whose ``forward`` returns
  ``(logits, value)`` and which has ``forward_to(layer, x)`` / ``forward_from(layer, acts)``,
  the split attribution needs, and an ``architecture`` attribute naming its entry here);
* its analysable layers: activation shape and receptive-field geometry (``data.layers``), so the
  metrics that need geometry keep working at any layer of any network;
* how the randomization controls re-draw it (``scoring.controls``): its initialisation, and the
  module groups the cascade re-draws, top first.

Built-ins: ``clear-cnn`` (``agents.models``), ``impala-cnn`` (``agents.impala``, CleanRL's
layout) and ``glass-box`` (``agents.glass_box``: planted interpretability, reads mask planes).
Others come from the entry-point group ``interpbench.models`` (a factory returning an
Architecture; ``docs/models.md``) or a ``module:factory`` spec (``--model``).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path

import torch
from torch import nn

from interpbench.agents import impala
from interpbench.agents.init import LAYERS, reinit_layers
from interpbench.agents.models import ARCHITECTURE as CLEAR_CNN
from interpbench.agents.models import Checkpoint, ClearCNN, check_tensors
from interpbench.data.layers import ANALYSED_LAYER, CONV_LAYERS, POOLED, LayerGeometry, clear_cnn_geometry
from interpbench.infra.errors import InterpbenchError

ENTRY_POINT_GROUP = "interpbench.models"


@dataclass(frozen=True)
class LayerInfo:
    """One analysable layer: its activations' (channels, height, width) for a 64x64 frame and
    where each unit looks in the frame."""

    name: str
    channels: int
    height: int
    width: int
    geometry: LayerGeometry

    @property
    def spatial(self) -> bool:
        """Whether the layer has spatial extent (more than one position): Grad-CAM needs it."""
        return self.height * self.width > 1


@dataclass(frozen=True)
class Architecture:
    """A network the harness can attribute (see the module docstring for each part's use).

    ``reinit(model, modules, seed)`` re-draws the named modules in place as the network is
    initialised, deterministically per (seed, module); ``init_modules`` are the modules a fresh
    twin re-draws; ``cascade`` lists (step, modules) top first; ``forward_order`` names the
    analysable layers and the cascade's modules in forward order, so a layer's cascade is the
    steps whose modules all lie above it."""

    name: str
    build: Callable[[int], nn.Module]
    layers: Mapping[str, LayerInfo]
    default_layer: str
    reinit: Callable[[nn.Module, Iterable[str], int], nn.Module]
    init_modules: tuple[str, ...]
    cascade: tuple[tuple[str, tuple[str, ...]], ...]
    forward_order: tuple[str, ...]
    description: str = ""
    source: str = "built-in"
    #: Mask classes (``data.frameset.MASK_CLASSES`` names) the network reads beside the RGB frame,
    #: as input planes in this order; ``agents.inputs`` builds them from the game state at play
    #: and from a FrameSet's masks at attribution (a glass-box network: ``agents.glass_box``).
    input_masks: tuple[str, ...] = ()

    def layer(self, name: str | None) -> LayerInfo:
        """The layer ``name`` (None: the default); an unknown name is bad input listing the valid ones."""
        name = self.default_layer if name is None else name
        if name not in self.layers:
            raise InterpbenchError(f"unknown layer {name!r} for {self.name}; its layers are {list(self.layers)}")
        return self.layers[name]

    def cascade_for(self, layer: str | None) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """The cascade steps above ``layer``, top first: every module of a step lies after it."""
        position = self.forward_order.index(self.layer(layer).name)
        return tuple((step, mods) for step, mods in self.cascade
                     if min(self.forward_order.index(m) for m in mods) > position)

    def fresh(self, num_actions: int, seed: int) -> nn.Module:
        """A freshly initialised network, seeded: the randomized twin."""
        return self.reinit(self.build(num_actions), self.init_modules, seed).eval()


# -- the built-ins ---------------------------------------------------------------------------------


def clear_cnn_architecture() -> Architecture:
    """The clear CNN (``agents.models``): its five conv blocks are the analysable layers, 2b the default."""
    resolution, layers = 64, {}
    for name, _, c_out, _ in CONV_LAYERS:
        layers[name] = LayerInfo(name, c_out, resolution, resolution, clear_cnn_geometry(name))
        resolution //= 2 if name in POOLED else 1
    conv_names = tuple(name for name, *_ in CONV_LAYERS)
    return Architecture(
        name=CLEAR_CNN, build=lambda n: ClearCNN(num_actions=n), layers=layers, default_layer=ANALYSED_LAYER,
        reinit=reinit_layers, init_modules=LAYERS,  # type: ignore[arg-type]
        cascade=(("heads", ("pi", "vf")), ("dense_1", ("dense_1",)), ("dense", ("dense",)),
                 *((name, (name,)) for name in reversed(conv_names[1:]))),
        forward_order=LAYERS, description="the clear CNN of Hilton et al. 2020 (the study's network)")


def _impala_cnn() -> Architecture:
    layers = {name: LayerInfo(name, c, h, w, impala.geometry(name)) for name, (c, h, w) in impala.LAYER_SHAPES.items()}
    return Architecture(
        name=impala.ARCHITECTURE, build=lambda n: impala.ImpalaCNN(num_actions=n), layers=layers,
        default_layer=impala.DEFAULT_LAYER, reinit=impala.reinit,  # type: ignore[arg-type]
        init_modules=("network.0", "network.1", "network.2", "network.5", "actor", "critic"),
        cascade=impala.CASCADE, forward_order=impala.FORWARD_ORDER,
        description="the IMPALA CNN in CleanRL's ppo_procgen.py layout (loads its state_dicts)")


_REGISTRY: dict[str, Architecture] = {}
_load_failures: list[str] = []


def register_architecture(architecture: Architecture) -> Architecture:
    """Register ``architecture`` under its name (a name already taken by another is bad input)."""
    if not isinstance(architecture, Architecture):
        raise InterpbenchError(f"a model factory must return an interpbench Architecture, got {type(architecture).__name__}")
    known = _REGISTRY.get(architecture.name)
    if known is not None and known is not architecture:
        raise InterpbenchError(f"architecture {architecture.name!r} is already registered ({known.source})")
    _REGISTRY[architecture.name] = architecture
    return architecture


@functools.cache
def _load_entry_points() -> None:
    """Register the built-ins and every ``interpbench.models`` entry point, once; a broken entry
    point is remembered by name (:func:`load_failures`) and hides no other."""
    from interpbench.agents.glass_box import glass_box_architecture

    for built_in in (clear_cnn_architecture(), _impala_cnn(), glass_box_architecture()):
        register_architecture(built_in)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            arch = ep.load()()
            register_architecture(_with_source(arch, f"entry point {ep.dist.name if ep.dist else '?'}:{ep.value}"))
        except Exception as exc:  # a third-party factory can raise anything; report it, keep the others
            _load_failures.append(f"model entry point {ep.name} failed to load: {type(exc).__name__}: {exc}")


def _with_source(arch: object, source: str) -> Architecture:
    if not isinstance(arch, Architecture):
        raise InterpbenchError(f"a model factory must return an interpbench Architecture, got {type(arch).__name__}")
    return arch if arch.source != "built-in" else Architecture(**{**arch.__dict__, "source": source})


def load_failures() -> list[str]:
    _load_entry_points()
    return list(_load_failures)


def load_model_spec(spec: str) -> Architecture:
    """Import ``module:factory``, call the factory and register the Architecture it returns."""
    _load_entry_points()
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise InterpbenchError(f"--model takes module:factory (e.g. mypkg.nets:my_cnn), got {spec!r}")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise InterpbenchError(f"cannot load model factory {spec!r}: {type(exc).__name__}: {exc}") from exc
    return register_architecture(_with_source(factory(), f"--model {spec}"))


def available() -> dict[str, Architecture]:
    _load_entry_points()
    return dict(_REGISTRY)


def get_architecture(name: object, *, where: str = "") -> Architecture:
    """The registered architecture ``name``; an unknown one is bad input naming the known ones."""
    _load_entry_points()
    if not isinstance(name, str) or name not in _REGISTRY:
        prefix = f"{where}: " if where else ""
        raise InterpbenchError(f"{prefix}unknown architecture {name!r}; registered: {sorted(_REGISTRY)} "
                               "(`interpbench models list`; others register through the interpbench.models entry point)")
    return _REGISTRY[name]


def architecture_of(model: nn.Module | Checkpoint) -> Architecture:
    """The architecture a model (or checkpoint's model) names in its ``architecture`` attribute."""
    model = model.model if isinstance(model, Checkpoint) else model
    return get_architecture(getattr(model, "architecture", None), where=type(model).__name__)


def layer_info(model: nn.Module | Checkpoint, layer: str | None) -> LayerInfo:
    """``layer`` of the model's architecture (None: its default)."""
    return architecture_of(model).layer(layer)


# -- loading weights into any architecture -----------------------------------------------------------


def build_with(name: str, tensors: dict[str, torch.Tensor], num_actions: int, source: Path) -> nn.Module:
    """Architecture ``name`` holding ``tensors``, after ``models.check_tensors`` (every missing,
    unexpected or misshapen key named) against the shapes of a network built on the meta device."""
    arch = get_architecture(name)
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in arch.build(num_actions).state_dict().items()}
    check_tensors(tensors, expected, source, f"the {name} architecture")
    model = arch.build(num_actions)
    model.load_state_dict(tensors)
    return model


def load_cleanrl(path: Path, meta: Mapping[str, object] | None = None) -> Checkpoint:
    """A CleanRL ``ppo_procgen.py`` Agent's ``state_dict`` file as an IMPALA-CNN Checkpoint.

    The keys map one to one (``agents.impala``; docs/models.md). ``meta`` adds what the file
    cannot say (level count, distribution mode: an own-play NMF fit needs them)."""
    if not path.is_file():
        raise InterpbenchError(f"checkpoint file not found or not a regular file: {path}")
    state = impala.read_cleanrl_state(path)
    model = build_with(impala.ARCHITECTURE, state, impala.num_actions_of(state, path), path)
    return Checkpoint(model.eval(), {"architecture": impala.ARCHITECTURE, "method": "cleanrl", "source": str(path),
                                     "num_actions": model.num_actions, **(meta or {})}, path)  # type: ignore[attr-defined]
