"""NMF features of hidden-layer attributions, as in "Understanding RL Vision" (Hilton et al. 2020).

The article's interface (lucid's ``LayerNMF`` with ``attr_layer_name`` set to the value head)
reduces the layer's channels to a few *features* by non-negative matrix factorization of the
attributions: every spatial position of every frame is a row, channels are columns, and the
signed attributions enter as two non-negative halves, ``max(a, 0)`` and ``max(-a, 0)``, stacked
along the frame axis. The fitted components (F, C) are the features: non-negative mixtures of
channels.

Signed per-frame feature maps, as the article's ``transform_attr`` forms them:
``(W(max(a, 0)) - W(max(-a, 0))) * components.sum(1)``, where ``W(x)`` are the non-negative
loadings of rows ``x`` with the components held fixed. Scaling by each component's channel sum
keeps the maps in the head's units: since ``a ~ W_pos H - W_neg H``, summing the feature maps
over features gives the channel-summed attribution at each position, up to the NMF residual.

Rows that are zero in every channel (most positions: 2b is a sparse ReLU layer) are left out of
the fit and get zero loadings; coordinate descent would drive them to exactly zero anyway, so
this changes nothing but the run time.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from interpbench.infra.errors import InterpbenchError, ShapeError

#: scikit-learn NMF settings; fixed init and random_state make the fit reproducible.
NMF_PARAMS: dict[str, Any] = {
    "solver": "cd",
    "init": "nndsvda",
    "beta_loss": "frobenius",
    "tol": 1e-4,
    "max_iter": 500,
    "random_state": 0,
}


def _rows(attributions: np.ndarray) -> np.ndarray:
    """(N, C, h, w) -> (N*h*w, C) float64: one row per spatial position, channels as columns."""
    if attributions.ndim != 4:
        raise ShapeError(f"attributions must be (N, C, h, w), got {attributions.shape}")
    return np.ascontiguousarray(attributions.transpose(0, 2, 3, 1).reshape(-1, attributions.shape[1]), np.float64)


def _signed_halves(rows: np.ndarray) -> np.ndarray:
    """The article's stacking: positive parts, then negative parts, along the row axis."""
    return np.concatenate([np.maximum(rows, 0), np.maximum(-rows, 0)])


@dataclass(frozen=True)
class FeatureBasis:
    """Fixed NMF components: everything needed to turn new attributions into feature maps.

    components: float32 (F, C), non-negative; row f is feature f as a mixture of channels.
    params:     the NMF settings used (solver, tolerance, ...), applied again in :meth:`loadings`.
    """

    components: np.ndarray
    params: dict[str, Any] = field(default_factory=lambda: dict(NMF_PARAMS))

    @property
    def n_features(self) -> int:
        return self.components.shape[0]

    def loadings(self, rows: np.ndarray) -> np.ndarray:
        """(R, F) non-negative least-squares loadings of non-negative rows (R, C) on the components."""
        from sklearn.decomposition import non_negative_factorization

        if rows.ndim != 2 or rows.shape[1] != self.components.shape[1]:
            raise ShapeError(f"rows must be (R, {self.components.shape[1]}), got {rows.shape}")
        out = np.zeros((len(rows), self.n_features), dtype=np.float64)
        live = rows.any(axis=1)
        if live.any():
            params = {k: v for k, v in self.params.items() if k not in ("init", "random_state")}
            with warnings.catch_warnings():
                # Loadings that stop at max_iter are still the best found; the fit is what matters.
                warnings.filterwarnings("ignore", message="Maximum number of iterations")
                w, _, _ = non_negative_factorization(
                    rows[live],
                    H=self.components.astype(np.float64),
                    n_components=self.n_features,
                    update_H=False,
                    **params,
                )
            out[live] = w
        return out

    def transform(self, attributions: np.ndarray) -> np.ndarray:
        """float32 (N, F, h, w) signed feature maps of signed attributions (N, C, h, w)."""
        n, _, h, w = attributions.shape
        rows = _rows(attributions)
        signed = self.loadings(np.maximum(rows, 0)) - self.loadings(np.maximum(-rows, 0))
        signed *= self.components.sum(axis=1, dtype=np.float64)
        return signed.reshape(n, h, w, self.n_features).transpose(0, 3, 1, 2).astype(np.float32)


def fit_feature_basis(attributions: np.ndarray, n_features: int = 8, *, max_rows: int | None = None,
                      seed: int = 0, **params: Any) -> FeatureBasis:
    """Fit ``n_features`` NMF components on signed attributions (N, C, h, w); ``params``
    override :data:`NMF_PARAMS`.

    ``max_rows`` fits on a uniform sample (without replacement, seeded by ``seed``) of at most
    that many non-zero rows: 512 frames give about a million rows, and coordinate descent's cost
    grows with them while 32 channels and 8 components are pinned down by far fewer
    (``scripts/nmf_subsample.py`` measures the agreement, docs/attribution.md)."""
    from sklearn.decomposition import NMF

    settings = {**NMF_PARAMS, **params}
    rows = _signed_halves(_rows(attributions))
    rows = rows[rows.any(axis=1)]
    if not 1 <= n_features <= attributions.shape[1]:
        raise InterpbenchError(f"n_features must be in [1, {attributions.shape[1]}], got {n_features}")
    if max_rows is not None and max_rows < n_features:
        raise InterpbenchError(f"max_rows must be at least n_features ({n_features}), got {max_rows}")
    if len(rows) < n_features:
        raise InterpbenchError(f"only {len(rows)} non-zero attribution rows; cannot fit {n_features} features")
    if max_rows is not None and len(rows) > max_rows:
        keep = np.random.default_rng(np.random.SeedSequence([seed, 5])).choice(len(rows), max_rows, replace=False)
        rows = rows[np.sort(keep)]
    nmf = NMF(n_components=n_features, **settings)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Maximum number of iterations")
        nmf.fit(rows)
    return FeatureBasis(nmf.components_.astype(np.float32), settings)
