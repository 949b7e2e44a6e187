"""Every registered attribution method agrees with captum's own layer class on the same model and
frames (1e-5 relative to the largest attribution), has the property it should (integrated
gradients and GradientSHAP: completeness; every method: it changes when the weights above the layer
are re-drawn), and refuses what does not apply. Small: freshly initialised networks, 3 noise frames."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr
from torch.nn import functional as F

from interpbench.agents import impala
from interpbench.agents.architectures import get_architecture
from interpbench.agents.models import preprocess
from interpbench.attribution.attribute import head_output
from interpbench.attribution.methods import METHODS, get_method, method_attributions, reference_attributions
from interpbench.infra.errors import InterpbenchError

PATH_METHODS = ("integrated-gradients", "gradient-shap")
#: (architecture, layer) pairs checked against captum; IMPALA's network.0 only for the methods
#: that take the gradient at the frame itself (see test_impala_first_layer_paths_cross_max_pool_kinks).
LAYERS = [("clear-cnn", "2b"), ("clear-cnn", "4a"), ("impala-cnn", "network.1"), ("impala-cnn", "network.2"),
          ("impala-cnn", "network.6"), ("impala-cnn", "network.0")]
CASES = [(arch, layer, method) for arch, layer in LAYERS for method in METHODS
         if not (layer == "network.6" and method == "grad-cam")
         and not (layer == "network.0" and method in PATH_METHODS)]


def model(arch: str, seed: int = 1) -> torch.nn.Module:
    return get_architecture(arch).fresh(15, seed)


@pytest.fixture(scope="module")
def obs() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)


def relative_gap(ours: np.ndarray, theirs: np.ndarray) -> float:
    return float(np.abs(ours - theirs).max() / np.abs(theirs).max())


@pytest.mark.parametrize(("arch", "layer", "method"), CASES)
@pytest.mark.parametrize("head", ["value", "policy"])
def test_method_agrees_with_captum(obs: np.ndarray, arch: str, layer: str, method: str, head: str) -> None:
    net = model(arch)
    actions = torch.tensor([0, 4, 14]) if head == "policy" else None
    ours = method_attributions(method, net, obs, layer=layer, head=head, actions=actions)  # type: ignore[arg-type]
    theirs = reference_attributions(method, net, obs, layer=layer, head=head, actions=actions)  # type: ignore[arg-type]
    info = get_architecture(arch).layer(layer)
    assert ours.shape == (3, info.channels, info.height, info.width) == theirs.shape
    assert np.abs(theirs).max() > 0
    assert relative_gap(ours, theirs) < 1e-5


def test_impala_first_layer_paths_cross_max_pool_kinks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The documented exception: at IMPALA's network.0 the path methods evaluate gradients at
    scaled activations alpha * a, and the max-pool of network.1 above makes the gradient jump
    where two pooled values tie; our alpha * a and captum's a * gate round differently in float32,
    so a few points land on the other side of a kink. Whether a frame hits one is chance: on these
    4 noise frames the gap is 2.4e-2 relative (1.7% of entries beyond 1e-6), on the first 3 of them
    1.2e-7. With the max-pool swapped for an average pool the two agree."""
    obs = np.random.default_rng(0).integers(0, 256, (4, 64, 64, 3), dtype=np.uint8)
    net = model("impala-cnn")
    gap = relative_gap(method_attributions("ig", net, obs, layer="network.0"),
                       reference_attributions("ig", net, obs, layer="network.0"))
    assert gap > 1e-5
    monkeypatch.setattr(impala, "F", type("AvgPoolF", (), {
        "relu": staticmethod(F.relu),
        "max_pool2d": staticmethod(lambda x, kernel_size, stride, padding: F.avg_pool2d(x, kernel_size, stride, padding)),
    }))
    for method in PATH_METHODS:
        assert relative_gap(method_attributions(method, net, obs, layer="network.0"),
                            reference_attributions(method, net, obs, layer="network.0")) < 1e-5


def completeness(net: torch.nn.Module, obs: np.ndarray, layer: str, attributions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with torch.no_grad():
        acts = net.forward_to(layer, preprocess(obs))
        delta = head_output(*net.forward_from(layer, acts), "value", None) - \
            head_output(*net.forward_from(layer, torch.zeros_like(acts)), "value", None)
    return attributions.reshape(len(obs), -1).sum(1), delta.numpy()


@pytest.mark.parametrize(("arch", "layer"), [("clear-cnn", "2b"), ("impala-cnn", "network.1")])
def test_path_methods_are_complete(obs: np.ndarray, arch: str, layer: str) -> None:
    """Integrated gradients with many steps, and GradientSHAP with many samples (complete in
    expectation), sum to f(a) - f(0) at the layer."""
    net = model(arch)
    ig = dataclasses.replace(get_method("ig"), params={**get_method("ig").params, "n_steps": 256})
    shap = dataclasses.replace(get_method("gradient-shap"), params={**get_method("gradient-shap").params, "n_samples": 512})
    for method, tolerance in ((ig, 0.01), (shap, 0.05)):
        sums, delta = completeness(net, obs, layer, method_attributions(method, net, obs, layer=layer))
        assert np.abs(sums - delta).max() <= tolerance * np.abs(delta).max(), method.name


#: Measured, not tuned: saliency fails the randomization test at the clear CNN's 2b (rank correlation
#: 0.91 at every cascade step; 0.88 at 3a, 0.89 at 4a, 0.85 at IMPALA's network.2). |df/da| there is
#: shaped by what follows the layer directly, the L2 pool (its derivative a / (4 * pooled norm),
#: zero where the ReLU output is zero) or the ReLU after network.2, not by the weights above.
SALIENCY_FAILS = pytest.mark.xfail(strict=True, reason="saliency at 2b tracks the L2 pool, not the weights above")
SENSITIVITY = [pytest.param(arch, layer, method, marks=SALIENCY_FAILS if (layer, method) == ("2b", "saliency") else ())
               for arch, layer in (("clear-cnn", "2b"), ("impala-cnn", "network.1")) for method in METHODS]


@pytest.mark.parametrize(("arch", "layer", "method"), SENSITIVITY)
def test_randomization_sensitivity(obs: np.ndarray, arch: str, layer: str, method: str) -> None:
    """Adebayo et al. 2018: re-drawing the layers above the analysed one (the whole cascade) must
    change the attributions; here their rank correlation with the intact network's stays below 0.5."""
    from interpbench.agents.models import Checkpoint
    from interpbench.scoring.controls import cascade

    net = model(arch)
    architecture = get_architecture(arch)
    depth = len(architecture.cascade_for(layer))
    _, damaged = cascade(Checkpoint(net, {"name": "x"}), seed=5, depth=depth, layer=layer)[-1]
    intact = method_attributions(method, net, obs, layer=layer).ravel()
    redrawn = method_attributions(method, damaged.model, obs, layer=layer).ravel()
    rho = spearmanr(intact, redrawn).statistic
    assert abs(rho) < 0.5, f"{method}: rank correlation {rho:.3f} after re-drawing the layers above {layer}"


def test_unknown_layer_lists_the_valid_ones(obs: np.ndarray) -> None:
    with pytest.raises(InterpbenchError, match=r"unknown layer 'conv9'.*network\.0.*network\.6"):
        method_attributions("grad-x-act", model("impala-cnn"), obs, layer="conv9")


def test_grad_cam_refused_without_spatial_extent(obs: np.ndarray) -> None:
    with pytest.raises(InterpbenchError, match="grad-cam does not apply to layer 'network.6': it has no spatial extent"):
        method_attributions("grad-cam", model("impala-cnn"), obs, layer="network.6")


def test_unknown_method_lists_the_known() -> None:
    with pytest.raises(InterpbenchError, match="unknown attribution method 'lrp'.*grad-cam"):
        get_method("lrp")
