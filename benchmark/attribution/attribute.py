"""Integrated gradients from a head of the clear CNN to the hidden layer 2b, per position and channel.

The protocol is the one of "Understanding RL Vision" (Hilton et al., Distill 2020; lucid's
``rl_util.attribution.get_attr`` with ``integrate_steps=10``): the baseline is *zero activations*
of the layer (not the activations of a black frame), the path is the straight line
``alpha * a`` with ``alpha = 0.1, 0.2, ..., 1.0``, and the attribution is
``a * mean_alpha(d head / d a at alpha * a)``. In captum's terms that is integrated gradients
with ``method="riemann_right", n_steps=10`` (its alphas are ``linspace(1/n, 1, n)`` with equal
step sizes ``1/n``); :func:`captum_layer_attributions` runs exactly that through captum's
``LayerIntegratedGradients`` and the tests check the two agree.

Why not just call captum: ``LayerIntegratedGradients`` re-runs the *whole* network for every
alpha, though the layers below 2b do not depend on alpha. :func:`layer_attributions` computes them
once per frame and evaluates all ten alphas in one batched forward/backward of the layers above.

:func:`attribute_checkpoint` is the one call the rest of the harness uses: attribution, NMF
features (``interpbench.attribution.features``), projection to input resolution (``interpbench.attribution.geometry``), and
the on-disk cache (``interpbench.infra.cache``). Method and measured properties: docs/attribution.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from interpbench.agents.architectures import layer_info
from interpbench.agents.inputs import frame_observations
from interpbench.agents.models import Checkpoint, ClearCNN, load_checkpoint, preprocess
from interpbench.attribution.features import FeatureBasis, fit_feature_basis
from interpbench.attribution.fit_set import BasisFit, own_play_frames
from interpbench.attribution.geometry import project_to_input
from interpbench.data.attribution_set import AttributionSet
from interpbench.data.frameset import FrameSet
from interpbench.data.layers import LayerGeometry, clear_cnn_geometry
from interpbench.data.sidecar import read_pair, write_pair
from interpbench.infra.cache import entry_path
from interpbench.infra.errors import CorruptFileError, InterpbenchError
from interpbench.infra.progress import progress_bar

Head = Literal["value", "policy"]
HEADS: tuple[str, ...] = ("value", "policy")
#: The reference protocol's path: alpha = 0.1, 0.2, ..., 1.0.
DEFAULT_STEPS = 10
#: The default attribution method (``attribution.methods``); its key is the one cached entries have.
DEFAULT_METHOD = "integrated-gradients"


def riemann_right_alphas(n_steps: int) -> torch.Tensor:
    """``k / n`` for k = 1..n: the reference's ``linspace(0, 1, n + 1)[1:]``, captum's riemann_right."""
    if n_steps < 1:
        raise InterpbenchError(f"integrated gradients needs at least one step, got n_steps={n_steps}")
    return torch.arange(1, n_steps + 1, dtype=torch.float32) / n_steps


# -- the network split at a hidden layer -----------------------------------------------------


def head_output(
    logits: torch.Tensor, value: torch.Tensor, head: Head, actions: torch.Tensor | None
) -> torch.Tensor:
    """The scalar per frame that is attributed: V(x), or the logit of each frame's action."""
    if head == "value":
        return value
    if head == "policy":
        if actions is None:
            raise InterpbenchError("the policy head needs one action per frame")
        return logits.gather(1, actions.view(-1, 1)).squeeze(1)
    raise InterpbenchError(f"head must be one of {HEADS}, got {head!r}")


def target_actions(model: ClearCNN, obs: np.ndarray, action: int | None) -> torch.Tensor:
    """Which logit the policy head attributes: ``action`` for every frame, or (None) each
    frame's greedy action, the one the agent most wants to take there."""
    n = len(obs)
    if action is not None:
        if not 0 <= action < model.num_actions:
            raise InterpbenchError(f"action must be in [0, {model.num_actions}), got {action}")
        return torch.full((n,), action, dtype=torch.int64)
    with torch.no_grad():
        return torch.cat([model(preprocess(obs[s]))[0].argmax(1) for s in _batches(n, 256)])


def _batches(n: int, size: int) -> Iterator[slice]:
    return (slice(i, min(i + size, n)) for i in range(0, n, size))


# -- integrated gradients ----------------------------------------------------------------------


def layer_attributions(
    model: ClearCNN,
    obs: np.ndarray,
    *,
    layer: str = "2b",
    head: Head = "value",
    actions: torch.Tensor | None = None,
    n_steps: int = DEFAULT_STEPS,
    batch_size: int = 16,
    progress: bool = False,
) -> np.ndarray:
    """float32 (N, C, h, w): integrated gradients of ``head`` w.r.t. ``layer``, zero baseline.

    ``obs`` is uint8 (N, 64, 64, 3). ``actions`` (policy head only) picks each frame's logit,
    see :func:`target_actions`. The model is used in eval mode and left unchanged.
    """
    alphas = riemann_right_alphas(n_steps)
    model = model.eval()
    out: list[torch.Tensor] = []
    with progress_bar(total=len(obs), desc="attribution", unit="frame", enabled=progress) as bar:
        for s in _batches(len(obs), batch_size):
            with torch.no_grad():
                acts = model.forward_to(layer, preprocess(obs[s]))
            # All alphas of all frames in one batch: (steps * B, C, h, w), alpha-major.
            path = (alphas.view(-1, 1, 1, 1, 1) * acts.unsqueeze(0)).flatten(0, 1).requires_grad_(True)
            batch_actions = None if actions is None else actions[s].repeat(n_steps)
            score = head_output(*model.forward_from(layer, path), head, batch_actions)  # type: ignore[call-arg]
            (grads,) = torch.autograd.grad(score.sum(), path)
            mean_grad = grads.view(n_steps, *acts.shape).mean(0)
            out.append(acts * mean_grad)
            bar.update(len(acts))
    return torch.cat(out).numpy()


def completeness_gap(
    model: ClearCNN,
    obs: np.ndarray,
    attributions: np.ndarray,
    *,
    layer: str = "2b",
    head: Head = "value",
    actions: torch.Tensor | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(sum of each frame's attributions, head(x) - head(x with ``layer`` zeroed)), both (N,).

    Integrated gradients is complete along its path, so the two agree up to the Riemann error
    of the finite number of steps; a large gap means the attributions are wrong.
    """
    with torch.no_grad():
        acts = model.forward_to(layer, preprocess(obs))
        full = head_output(*model.forward_from(layer, acts), head, actions)  # type: ignore[call-arg]
        zeroed = head_output(*model.forward_from(layer, torch.zeros_like(acts)), head, actions)  # type: ignore[call-arg]
    return attributions.reshape(len(obs), -1).sum(1, dtype=np.float64), (full - zeroed).double().numpy()


# -- the captum reference ----------------------------------------------------------------------


class _GatedAtLayer(nn.Module):
    """The model with a per-frame gate multiplying ``layer``'s output, for captum.

    ``LayerIntegratedGradients`` takes its layer baseline from a forward pass of a baseline
    *input*; no frame gives zero 2b activations, but gate 0 does. ``gated`` is the identity on
    the gated activations, so it is the layer captum attributes to.
    """

    def __init__(self, model: ClearCNN, layer: str, head: Head) -> None:
        super().__init__()
        self.model, self.layer, self.head = model, layer, head
        self.gated = nn.Identity()

    def forward(self, x: torch.Tensor, gate: torch.Tensor, actions: torch.Tensor | None = None) -> torch.Tensor:
        acts = self.gated(self.model.forward_to(self.layer, x) * gate.view(-1, 1, 1, 1))
        return head_output(*self.model.forward_from(self.layer, acts), self.head, actions)  # type: ignore[call-arg]


def captum_layer_attributions(
    model: ClearCNN,
    obs: np.ndarray,
    *,
    layer: str = "2b",
    head: Head = "value",
    actions: torch.Tensor | None = None,
    n_steps: int = DEFAULT_STEPS,
) -> np.ndarray:
    """The same attributions as :func:`layer_attributions`, by captum's LayerIntegratedGradients
    (riemann_right, zero layer baseline): the independent check and the speed yardstick."""
    from captum.attr import LayerIntegratedGradients

    gated = _GatedAtLayer(model.eval(), layer, head)
    x = preprocess(obs)
    ones, zeros = torch.ones(len(x)), torch.zeros(len(x))
    lig = LayerIntegratedGradients(gated, gated.gated)
    attr = lig.attribute(
        (x, ones),
        baselines=(x, zeros),
        additional_forward_args=None if actions is None else (actions,),
        n_steps=n_steps,
        method="riemann_right",
    )
    return attr.detach().numpy()


# -- the one-call pipeline: checkpoint + FrameSet -> AttributionSet (cached) --------------------

#: Bump when the numbers an unchanged method produces change, so old cache entries are not reused.
ALGORITHM_VERSION = 2


def method_params(
    head: Head, n_features: int, *, action: int | None = None, n_steps: int = DEFAULT_STEPS, layer: str = "2b",
    fit: dict[str, Any] | None = None, method: str = DEFAULT_METHOD,
) -> dict[str, Any]:
    """Everything that determines the numbers, recorded in the AttributionSet and the cache key;
    ``fit`` is the basis' fit settings (``BasisFit.key``); ``method`` and its parameters come from
    ``attribution.methods`` (integrated gradients keeps the key its entries always had)."""
    from interpbench.attribution.features import NMF_PARAMS
    from interpbench.attribution.methods import get_method

    attribution = ({"name": DEFAULT_METHOD, "baseline": "zero-activations", "path": "riemann_right", "n_steps": n_steps}
                   if method == DEFAULT_METHOD else get_method(method).identity())
    return {
        **attribution,
        "layer": layer,
        "target": "value" if head == "value" else ("greedy-logit" if action is None else f"logit-{action}"),
        "features": {"name": "nmf-signed", "n_features": n_features, **NMF_PARAMS, "fit": fit},
        "projection": "linear-between-receptive-field-centres",
        "version": ALGORITHM_VERSION,
    }


def _raw_attributions(model: ClearCNN, obs: np.ndarray, head: Head, action: int | None, n_steps: int, layer: str,
                      progress: bool = False, method: str = DEFAULT_METHOD) -> tuple[np.ndarray, torch.Tensor | None]:
    """(``method``'s attributions (N, C, h, w), the attributed actions or None for the value head)."""
    actions = target_actions(model, obs, action) if head == "policy" else None
    if method == DEFAULT_METHOD:
        raw = layer_attributions(model, obs, layer=layer, head=head, actions=actions, n_steps=n_steps, progress=progress)
    else:
        from interpbench.attribution.methods import method_attributions

        raw = method_attributions(method, model, obs, layer=layer, head=head, actions=actions, progress=progress)
    return raw, actions


def compute_attribution_set(
    model: ClearCNN,
    obs: np.ndarray,
    *,
    head: Head = "value",
    n_features: int = 8,
    action: int | None = None,
    n_steps: int = DEFAULT_STEPS,
    layer: str | None = None,
    basis: FeatureBasis | None = None,
    raw: tuple[np.ndarray, torch.Tensor | None] | None = None,
    fit: dict[str, Any] | None = None,
    progress: bool = False,
    method: str = DEFAULT_METHOD,
) -> AttributionSet:
    """Attribute ``obs`` and reduce to NMF features, fitting them here (on ``obs``, every
    non-zero row) unless ``basis`` is given (fixed components, e.g. fitted on the model's own
    play). ``raw`` reuses attributions of ``obs`` already computed (``_raw_attributions``), so
    several bases cost one attribution pass; ``fit`` records how ``basis`` was fitted. ``layer``
    None is the architecture's default (``agents.architectures``); ``method`` an
    ``attribution.methods`` name. The completeness gap is recorded for methods that are complete."""
    from interpbench.attribution.methods import get_method

    info = layer_info(model, layer)
    layer = info.name
    raw_maps, actions = raw if raw is not None else _raw_attributions(model, obs, head, action, n_steps, layer, progress,
                                                                      method)
    with progress_bar(total=1, desc="NMF features", enabled=progress) as bar:
        basis = basis if basis is not None else fit_feature_basis(raw_maps, n_features, max_rows=None)
        hidden = basis.transform(raw_maps)
        bar.update()
    geometry = info.geometry
    sums, deltas = completeness_gap(model, obs, raw_maps, layer=layer, head=head, actions=actions)
    gap = np.abs(sums - deltas)
    meta: dict[str, Any] = {"attribution_totals": sums.tolist()}
    if get_method(method).complete:
        meta["completeness"] = {"max_abs_gap": float(gap.max()), "mean_abs_gap": float(gap.mean())}
    if actions is not None:
        meta["actions"] = actions.tolist()
    return AttributionSet(
        maps=project_to_input(hidden, geometry),
        hidden=hidden,
        layer=layer,
        head=head,
        method=method_params(head, basis.n_features, action=action, n_steps=n_steps, layer=layer, fit=fit,
                             method=get_method(method).name),
        components=basis.components,
        geometry=geometry,
        meta=meta,
    )


def fit_basis(model: ClearCNN, fit: BasisFit, scoring: tuple[np.ndarray, torch.Tensor | None], fit_obs: np.ndarray | None,
              fit_raw: dict[str, np.ndarray], *, head: Head, n_features: int, action: int | None, n_steps: int,
              layer: str = "2b", method: str = DEFAULT_METHOD) -> FeatureBasis:
    """The basis ``fit`` prescribes: on the scoring frames' attributions (``scoring``) or on those
    of ``fit_obs`` (the own play; computed once into ``fit_raw`` and reused by every refit), on
    the refit's resample of frames, with the row cap."""
    if fit.source == "scoring-frames":
        raw = scoring[0]
    else:
        if "own-play" not in fit_raw:
            fit_raw["own-play"] = _raw_attributions(model, fit_obs, head, action, n_steps, layer,  # type: ignore[arg-type]
                                                    method=method)[0]
        raw = fit_raw["own-play"]
    index = fit.resample(len(raw))
    return fit_feature_basis(raw if index is None else raw[index], n_features, max_rows=fit.max_rows,
                             seed=fit.row_seed())


def attribute_bases(
    checkpoint: Checkpoint | str | Path,
    frames: FrameSet,
    fits: Sequence[BasisFit],
    *,
    head: Head = "value",
    n_features: int = 8,
    player: Checkpoint | None = None,
    cache: bool = True,
    action: int | None = None,
    n_steps: int = DEFAULT_STEPS,
    progress: bool = False,
    layer: str | None = None,
    method: str = DEFAULT_METHOD,
) -> list[AttributionSet]:
    """One AttributionSet of ``frames`` per basis in ``fits``, each from the cache when present.

    The integrated gradients of ``frames`` are computed once for all bases (and those of the
    own-play frames once for all own-play bases). ``player`` is the model whose own play an
    own-play fit uses (default: the checkpoint itself; the cascading randomization fits a
    damaged network's bases on the intact checkpoint's play). ``layer`` (None: the architecture's
    default) and ``method`` (``attribution.methods``) are part of every cache key."""
    from interpbench.attribution.methods import get_method

    ck = checkpoint if isinstance(checkpoint, Checkpoint) else load_checkpoint(checkpoint)
    info, chosen = layer_info(ck, layer), get_method(method)
    chosen.check_layer(info)
    layer, method = info.name, chosen.name
    player = player or ck
    weights, frames_hash = ck.weights_hash(), frames.content_hash()
    keys = [fit.key(player) for fit in fits]
    paths = [entry_path("attributions", {"checkpoint": weights, "frames": frames_hash,
                                         "method": method_params(head, n_features, action=action, n_steps=n_steps,
                                                                 fit=key, layer=layer, method=method)}) for key in keys]
    out = [read_cache_entry(path) if cache else None for path in paths]
    missing = [i for i, attr in enumerate(out) if attr is None]
    if missing:
        obs = frame_observations(ck.model, frames)  # the frames, plus any mask planes the network reads
        scoring = _raw_attributions(ck.model, obs, head, action, n_steps, layer, progress, method)
        fit_raw: dict[str, np.ndarray] = {}
        for i in missing:
            fit = fits[i]
            fit_obs = own_play_frames(player, fit, cache).obs if fit.source == "own-play" else None
            basis = fit_basis(ck.model, fit, scoring, fit_obs, fit_raw, head=head, n_features=n_features,
                              action=action, n_steps=n_steps, layer=layer, method=method)
            attr = compute_attribution_set(ck.model, obs, head=head, n_features=n_features, action=action,
                                           n_steps=n_steps, basis=basis, raw=scoring, fit=keys[i], layer=layer,
                                           method=method)
            attr.meta.update({"checkpoint_sha256": weights, "frames_sha256": frames_hash})
            if cache:
                _save_compact(attr, paths[i])
            out[i] = attr
    for attr in out:  # identical weights may come under another name: the caller's name is the one to show
        attr.meta["checkpoint"] = ck.name  # type: ignore[union-attr]
    return out  # type: ignore[return-value]


def attribute_checkpoint(
    checkpoint: Checkpoint | str | Path,
    frames: FrameSet,
    head: Head = "value",
    n_features: int = 8,
    cache: bool = True,
    *,
    action: int | None = None,
    n_steps: int = DEFAULT_STEPS,
    fit: BasisFit = BasisFit(),
    progress: bool = False,
    layer: str | None = None,
    method: str = DEFAULT_METHOD,
) -> AttributionSet:
    """The AttributionSet of a checkpoint (a Checkpoint, a ``.safetensors``, ``.jd`` or CleanRL
    path) on ``frames`` with one basis (default: fitted on ``frames``), from the cache when an
    entry for the same weights, frames, layer and method exists."""
    return attribute_bases(checkpoint, frames, [fit], head=head, n_features=n_features, cache=cache, action=action,
                           n_steps=n_steps, progress=progress, layer=layer, method=method)[0]


# -- the cache entry: the feature maps at layer resolution, uncompressed ------------------------
# Maps at input resolution are four times the size and cost seconds to compress per set; a
# scored checkpoint has a dozen sets (refits, cascade steps), so only ``hidden`` is stored and
# the maps are projected again on load (deterministic, about half a second for 512 frames).

CACHE_FORMAT = "interpbench-feature-maps-v1"


def _save_compact(attr: AttributionSet, path: Path) -> None:
    write_pair(path, {"hidden": attr.hidden.astype(np.float32), "components": attr.components.astype(np.float32)},
               {"format": CACHE_FORMAT, "layer": attr.layer, "head": attr.head, "method": attr.method,
                "geometry": attr.geometry.as_dict(), "meta": attr.meta, "content_hash": attr.content_hash()},
               compressed=False)


def read_cache_entry(path: Path) -> AttributionSet | None:
    """The cached entry, or None when absent or unreadable (e.g. a run killed between writing
    the .npz and the .json, or another run's sidecar): the caller then recomputes and overwrites it."""
    if not path.exists():
        return None
    try:
        arrays, meta = read_pair(path, kind="feature-map cache entry", fmt=CACHE_FORMAT, hint="it is rebuilt")
        hidden, components = arrays["hidden"], arrays["components"]
        # Entries written before other architectures existed are the clear CNN's and lack "geometry".
        geometry = LayerGeometry(**meta["geometry"]) if "geometry" in meta else clear_cnn_geometry(meta["layer"])
        attr = AttributionSet(maps=project_to_input(hidden, geometry), hidden=hidden, layer=meta["layer"],
                              head=meta["head"], method=meta["method"], components=components, geometry=geometry,
                              meta=meta["meta"])
    except (CorruptFileError, InterpbenchError, KeyError, TypeError, ValueError):
        return None
    return attr if attr.content_hash() == meta["content_hash"] else None
