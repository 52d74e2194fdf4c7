"""The K models of ``train_batched_mlp`` trained one after another: the reference it is checked against.

Not part of the package (which trains batched only): the tests compare the two trainers' models, and
``bench/bench_batched_shadows.py`` their speed. Each model here is a plain ``torch.nn.Sequential`` built
from the same plan (seeds, rows, step geometry) as model ``k`` of the batched trainer.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from mia_audit.training.mlp import (
    BatchedMLP,
    MLPSpec,
    _init_params,
    _linear_layers,
    _make_sequential,
    _prepare,
)

if TYPE_CHECKING:
    import torch

DEFAULT_SPEC = MLPSpec()  # the default of train_batched_mlp


def train_looped_mlp(
    X: np.ndarray,
    y: np.ndarray,
    masks: np.ndarray,
    n_classes: int,
    spec: MLPSpec = DEFAULT_SPEC,
    *,
    seed: int = 0,
    device: str = "cpu",
) -> BatchedMLP:
    """Reference for ``train_batched_mlp``: the same K models trained one after another.

    Each model is a plain ``torch.nn.Sequential`` with the same initial weights, minibatches, dropout masks,
    steps and optimizer as model ``k`` of the batched trainer, run with torch's current thread settings.
    The trained weights are stacked into a :class:`BatchedMLP` for the common interface.
    """
    import torch
    import torch.nn.functional as F

    X_t, y_t, plan, dev = _prepare(X, y, masks, n_classes, spec, seed, device)
    K, d = plan.n_models, X_t.shape[1]

    trained: list[torch.nn.Sequential] = []
    for k in range(K):
        dropout = partial(_seeded_dropout, generator=plan.dropout_generator(k, dev))
        model = _make_sequential(spec, d, n_classes, dropout=dropout, device=dev)
        with torch.no_grad():
            init = _init_params(spec, d, n_classes, plan.init_generator(k))
            for layer, (w, b) in zip(_linear_layers(model), init, strict=True):
                layer.weight.copy_(w)
                layer.bias.copy_(b)
        # torch's own optimizer, so that the batched trainer's FusedAdam is checked against it too.
        optimizer = torch.optim.Adam(model.parameters(), lr=spec.lr, weight_decay=spec.weight_decay, fused=True)
        stream = plan.stream(k)
        model.train()
        with torch.enable_grad():
            for _ in range(spec.epochs):
                schedule = torch.from_numpy(stream.take(plan.steps * plan.batch).reshape(plan.steps, plan.batch))
                for idx in schedule.to(dev):
                    loss = F.cross_entropy(model(X_t.index_select(0, idx)), y_t.index_select(0, idx))
                    optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    optimizer.step()
        trained.append(model)

    layers = [_linear_layers(model) for model in trained]
    with torch.no_grad():
        weights = tuple(torch.stack([ls[i].weight.T for ls in layers]).contiguous() for i in range(len(layers[0])))
        biases = tuple(torch.stack([ls[i].bias for ls in layers]) for i in range(len(layers[0])))
    return BatchedMLP(spec=spec, n_features=d, n_classes=n_classes, weights=weights, biases=biases)


def _seeded_dropout(p: float, generator: torch.Generator) -> torch.nn.Module:
    """``nn.Dropout`` drawing its masks from an explicit generator instead of the global RNG."""
    import torch

    class SeededDropout(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if not self.training:
                return x
            keep = 1.0 - p
            return x * (torch.rand(x.shape, generator=generator, device=x.device) < keep) / keep

    return SeededDropout()
