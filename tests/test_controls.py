"""The randomization controls: twins initialised as the students are, and the cascade."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interpbench.agents.init import LAYERS, init_orthogonal, layer_gain
from interpbench.agents.models import Checkpoint, ClearCNN
from interpbench.scoring.controls import CASCADE, CASCADE_STEPS, cascade, randomized_twin, twin_seeds


def weight(model: ClearCNN, name: str) -> torch.Tensor:
    module = model.get_submodule(name)
    return getattr(module, "conv", module).weight.detach()


def bias(model: ClearCNN, name: str) -> torch.Tensor:
    module = model.get_submodule(name)
    return getattr(module, "conv", module).bias.detach()


def assert_orthogonal_init(model: ClearCNN) -> None:
    """Every layer as CleanRL's scheme draws it: orthogonal rows (or columns) scaled by the
    layer's gain, zero bias."""
    for name in LAYERS:
        w = weight(model, name).flatten(1).double()
        gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram.numpy(), layer_gain(name) ** 2 * np.eye(len(gram)), atol=1e-5, err_msg=name)
        assert not bias(model, name).any(), name


def test_twins_are_initialised_as_the_students_and_distinct() -> None:
    seeds = twin_seeds(0, 5)
    assert len(set(seeds)) == 5
    twins = [randomized_twin(15, s).model for s in seeds]
    for twin in twins:
        assert_orthogonal_init(twin)
    for a in range(5):
        for b in range(a + 1, 5):
            assert not torch.equal(weight(twins[a], "2b"), weight(twins[b], "2b"))
    # the students' own initialiser gives the same scheme (the controls start where students start)
    torch.manual_seed(0)
    assert_orthogonal_init(init_orthogonal(ClearCNN()))
    assert layer_gain("pi") == 0.01 and layer_gain("vf") == 1.0 and layer_gain("3a") == pytest.approx(2**0.5)


def test_a_twin_depends_only_on_actions_and_seed() -> None:
    torch.manual_seed(123)  # the global generator plays no part
    a = randomized_twin(15, 7).model.state_dict()
    torch.manual_seed(456)
    b = randomized_twin(15, 7).model.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert twin_seeds(0, 5) == twin_seeds(0, 5) and twin_seeds(0, 5) != twin_seeds(1, 5)


def test_cascade_redraws_exactly_the_named_layers() -> None:
    torch.manual_seed(0)
    trained = Checkpoint(ClearCNN(), {"name": "ck"}, None)
    original = {k: v.clone() for k, v in trained.model.state_dict().items()}
    steps = cascade(trained, seed=3)
    assert [s for s, _ in steps] == list(CASCADE_STEPS) == ["heads", "dense_1", "dense", "4a", "3a"]
    redrawn: set[str] = set()
    for (step, model), (_, layers) in zip(steps, CASCADE):
        redrawn |= set(layers)
        state = model.model.state_dict()
        for name in LAYERS:
            keys = [k for k in state if k.split(".")[0] == name]
            changed = [not torch.equal(state[k], original[k]) for k in keys if k.endswith("weight")]
            if name in redrawn:
                assert all(changed), (step, name)
            else:
                assert all(torch.equal(state[k], original[k]) for k in keys), (step, name)  # bit-identical
        for name in ("1a", "2a", "2b"):
            assert name not in redrawn
        for name in redrawn:  # the scheme of the students, and the same draw at every later step
            w = weight(model.model, name).flatten(1).double()
            gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
            np.testing.assert_allclose(gram.numpy(), layer_gain(name) ** 2 * np.eye(len(gram)), atol=1e-5)
            assert torch.equal(weight(model.model, name), weight(steps[-1][1].model, name))
    assert all(torch.equal(v, original[k]) for k, v in trained.model.state_dict().items()), "the input was changed"
    again = cascade(trained, seed=3)
    assert all(torch.equal(weight(a.model, "dense"), weight(b.model, "dense")) for (_, a), (_, b) in zip(steps, again))
    assert len(cascade(trained, seed=3, depth=2)) == 2
