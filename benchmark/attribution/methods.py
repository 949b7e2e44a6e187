"""The attribution-method registry: which attribution of a head to a hidden layer the harness computes.

Interpretability researchers compare attribution methods as much as metrics, so the method is a
choice (``--attribution NAME``), recorded in every cache key (``attribute.method_params``) and in
the report's provenance (``ScoringConfig.attribution``). Every method maps a network split at a
layer (``forward_to`` / ``forward_from``, any registered architecture) and a frame batch to
float32 (N, C, h, w) attributions at that layer, which the NMF features then reduce.

Built-ins, all but the default computed by captum on the part of the network above the layer
(the layers below run once per frame, not once per sample):

================  ===========================================================================
name              what (captum class); parameters
================  ===========================================================================
integrated-grad.  the study's protocol: zero-activation baseline, 10 right-Riemann steps; our
                  batched implementation (``attribute.layer_attributions``), checked against
                  ``LayerIntegratedGradients``. Complete: sums to f(a) - f(0).
grad-x-act        a * df/da (``InputXGradient``; Shrikumar et al. 2016)
saliency          |df/da|, the gradient's magnitude at the layer (``Saliency``, abs; Simonyan
                  et al. 2014): the input saliency of Simonyan et al., taken at the layer
gradient-shap     expected gradients from the zero-activation baseline (``GradientShap``,
                  n_samples 10, stdevs 0, seeded): a Monte Carlo integrated gradients; complete
                  in expectation. No noise by default, so captum's layer version on the same
                  path reproduces it exactly (noise would be drawn on different tensors).
grad-cam          per channel, the spatial mean of df/da times a (``LayerGradCam``,
                  ``attr_dim_summation=False``, no ReLU, so NMF sees signed channels; Selvaraju
                  et al. 2017). Needs spatial extent: refused at a layer with one position.
================  ===========================================================================

``reference_attributions`` computes each with captum's *layer* class on the whole network,
hooked at the layer's module, for the tests (tests/test_attribution_methods.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from interpbench.agents.architectures import LayerInfo, layer_info
from interpbench.agents.models import preprocess
from interpbench.attribution.attribute import (
    DEFAULT_METHOD,
    DEFAULT_STEPS,
    Head,
    captum_layer_attributions,
    head_output,
    layer_attributions,
)
from interpbench.infra.errors import InterpbenchError
from interpbench.infra.progress import progress_bar

ALIASES = {"ig": DEFAULT_METHOD}


@dataclass(frozen=True)
class AttributionMethod:
    """One method: ``params`` are recorded in the cache key; ``needs_spatial`` refuses layers
    without spatial extent; ``complete`` says its attributions sum to f(a) - f(zero activations)
    (exactly, or in expectation for a sampled method), which the AttributionSet then records."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    needs_spatial: bool = False
    complete: bool = False
    description: str = ""

    def check_layer(self, layer: LayerInfo) -> None:
        if self.needs_spatial and not layer.spatial:
            raise InterpbenchError(f"{self.name} does not apply to layer {layer.name!r}: it has no spatial extent "
                                   f"({layer.channels}x{layer.height}x{layer.width}); Grad-CAM averages gradients over "
                                   "positions, so pick a convolutional layer")

    def identity(self) -> dict[str, Any]:
        return {"name": self.name, **self.params}


METHODS: dict[str, AttributionMethod] = {m.name: m for m in (
    AttributionMethod(DEFAULT_METHOD, {"baseline": "zero-activations", "path": "riemann_right", "n_steps": DEFAULT_STEPS},
                      complete=True, description="integrated gradients, the study's protocol (batched; captum-checked)"),
    AttributionMethod("grad-x-act", description="layer gradient x activation (captum InputXGradient)"),
    AttributionMethod("saliency", {"abs": True}, description="gradient magnitude at the layer (captum Saliency)"),
    AttributionMethod("gradient-shap", {"baseline": "zero-activations", "n_samples": 10, "stdevs": 0.0, "seed": 0},
                      complete=True, description="expected gradients from zero activations (captum GradientShap)"),
    AttributionMethod("grad-cam", {"relu": False, "per_channel": True}, needs_spatial=True,
                      description="per-channel Grad-CAM (captum LayerGradCam)"),
)}


def get_method(name: str) -> AttributionMethod:
    """The method ``name`` (or an alias: ``ig``); an unknown one is bad input listing the known."""
    method = METHODS.get(ALIASES.get(name, name))
    if method is None:
        raise InterpbenchError(f"unknown attribution method {name!r}; known: {sorted(METHODS)} (alias: ig)")
    return method


def split_methods(spec: str) -> list[str]:
    """``"ig,grad-x-act"`` -> canonical names, each checked."""
    return [get_method(part.strip()).name for part in spec.split(",") if part.strip()]


# -- the network above the layer, for captum ---------------------------------------------------------


class _Above(nn.Module):
    """The head as a function of ``layer``'s activations; ``at_layer`` is the identity on them,
    the module LayerGradCam hooks."""

    def __init__(self, model: nn.Module, layer: str, head: Head) -> None:
        super().__init__()
        self.model, self.layer, self.head = model, layer, head
        self.at_layer = nn.Identity()

    def forward(self, acts: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        return head_output(*self.model.forward_from(self.layer, self.at_layer(acts)), self.head, actions)  # type: ignore[operator]


class _SeededNumpy:
    """captum's GradientShap draws its path points from numpy's global generator: seed it for the
    call and give the caller's state back afterwards."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        self.state = np.random.get_state()
        np.random.seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        np.random.set_state(self.state)


def _captum_at_layer(method: AttributionMethod, above: _Above, acts: torch.Tensor,
                     actions: torch.Tensor | None) -> torch.Tensor:
    from captum.attr import GradientShap, InputXGradient, LayerGradCam, Saliency

    extra = None if actions is None else (actions,)
    acts = acts.detach().requires_grad_(True)
    if method.name == "grad-x-act":
        return InputXGradient(above).attribute(acts, additional_forward_args=extra)
    if method.name == "saliency":
        return Saliency(above).attribute(acts, abs=bool(method.params["abs"]), additional_forward_args=extra)
    if method.name == "gradient-shap":
        return GradientShap(above).attribute(acts, baselines=torch.zeros_like(acts[:1]),
                                             n_samples=int(method.params["n_samples"]),
                                             stdevs=float(method.params["stdevs"]), additional_forward_args=extra)
    if method.name == "grad-cam":
        return LayerGradCam(above, above.at_layer).attribute(
            acts, additional_forward_args=extra, relu_attributions=bool(method.params["relu"]),
            attr_dim_summation=not method.params["per_channel"])
    raise InterpbenchError(f"no captum implementation for {method.name!r}")


def _checked(method: AttributionMethod | str, model: nn.Module,
             layer: str | None) -> tuple[AttributionMethod, LayerInfo, nn.Module]:
    """The method, the layer's info (the method refused where it does not apply) and the model in
    eval mode: what every attribution call starts with."""
    method = get_method(method) if isinstance(method, str) else method
    info = layer_info(model, layer)
    method.check_layer(info)
    return method, info, model.eval()


def method_attributions(
    method: AttributionMethod | str,
    model: nn.Module,
    obs: np.ndarray,
    *,
    layer: str | None = None,
    head: Head = "value",
    actions: torch.Tensor | None = None,
    batch_size: int = 16,
    progress: bool = False,
) -> np.ndarray:
    """float32 (N, C, h, w): ``method``'s attributions of ``head`` to ``layer`` (None: the
    architecture's default) on uint8 (N, 64, 64, 3) ``obs``. Integrated gradients runs our
    batched implementation; the others captum on the network above the layer."""
    method, info, model = _checked(method, model, layer)
    if method.name == DEFAULT_METHOD:
        return layer_attributions(model, obs, layer=info.name, head=head, actions=actions,  # type: ignore[arg-type]
                                  n_steps=int(method.params["n_steps"]), batch_size=batch_size, progress=progress)
    above = _Above(model, info.name, head)
    out: list[torch.Tensor] = []
    with _SeededNumpy(int(method.params.get("seed", 0))), \
            progress_bar(total=len(obs), desc=f"attribution ({method.name})", unit="frame", enabled=progress) as bar:
        for start in range(0, len(obs), batch_size):
            s = slice(start, start + batch_size)
            with torch.no_grad():
                acts = model.forward_to(info.name, preprocess(obs[s]))  # type: ignore[operator]
            out.append(_captum_at_layer(method, above, acts, None if actions is None else actions[s]).detach())
            bar.update(len(acts))
    return torch.cat(out).numpy().astype(np.float32, copy=False)


# -- captum's layer classes on the whole network: the independent check ------------------------------


class _WholeHead(nn.Module):
    """The whole network's head output from preprocessed input, for captum's layer classes."""

    def __init__(self, model: nn.Module, head: Head) -> None:
        super().__init__()
        self.model, self.head = model, head

    def forward(self, x: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        return head_output(*self.model(x), self.head, actions)  # type: ignore[operator]


class _GateFirst(nn.Module):
    """The gated network with the gate as its only attributed input (the frames ride along as an
    extra argument), so GradientSHAP's one baseline is gate 0, never another frame."""

    def __init__(self, gated: nn.Module) -> None:
        super().__init__()
        self.gated_model = gated

    def forward(self, gate: torch.Tensor, x: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        return self.gated_model(x, gate, actions)


def reference_attributions(method: AttributionMethod | str, model: nn.Module, obs: np.ndarray, *,
                           layer: str | None = None, head: Head = "value",
                           actions: torch.Tensor | None = None) -> np.ndarray:
    """``method`` by captum's layer class hooked on ``layer``'s module in the whole network's
    ``forward`` (not our split), on all of ``obs`` in one call, reshaped to (N, C, h, w).

    Integrated gradients and GradientSHAP need the zero-activation baseline at the layer, which
    no input produces, so they go through ``attribute._GatedAtLayer`` (a gate on the layer's
    output, 1 for the frame, 0 for the baseline), as ``attribute.captum_layer_attributions``."""
    from captum.attr import LayerGradCam, LayerGradientShap, LayerGradientXActivation

    method, info, model = _checked(method, model, layer)
    if method.name == DEFAULT_METHOD:
        return captum_layer_attributions(model, obs, layer=info.name, head=head, actions=actions,  # type: ignore[arg-type]
                                         n_steps=int(method.params["n_steps"]))
    x, extra = preprocess(obs), None if actions is None else (actions,)
    whole, module = _WholeHead(model, head), model.get_submodule(info.name)
    if method.name == "gradient-shap":
        from interpbench.attribution.attribute import _GatedAtLayer

        gated = _GatedAtLayer(model, info.name, head)  # type: ignore[arg-type]
        gate_first = _GateFirst(gated)
        with _SeededNumpy(int(method.params["seed"])):
            attr = LayerGradientShap(gate_first, gated.gated).attribute(
                torch.ones(len(x)), baselines=torch.zeros(1), n_samples=int(method.params["n_samples"]),
                stdevs=float(method.params["stdevs"]), additional_forward_args=(x, actions))
    elif method.name == "grad-cam":
        attr = LayerGradCam(whole, module).attribute(x, additional_forward_args=extra, relu_attributions=False,
                                                     attr_dim_summation=False)
    else:  # grad-x-act, saliency: the layer gradient, times the activation or not
        attr = LayerGradientXActivation(whole, module, multiply_by_inputs=method.name == "grad-x-act").attribute(
            x, additional_forward_args=extra)
        attr = attr.abs() if method.name == "saliency" else attr
    return attr.detach().reshape(len(x), info.channels, info.height, info.width).numpy()

