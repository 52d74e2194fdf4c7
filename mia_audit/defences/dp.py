"""DP-SGD for a proxy MLP: per-record gradients clipped and noised, with a Rényi-DP accountant.

Accountant (Mironov, Talwar and Zhang 2019, "Rényi differential privacy of the sampled Gaussian
mechanism"): one step samples each record with probability ``q`` (Poisson) and adds Gaussian noise of
standard deviation ``sigma`` times the clipping norm. For an integer order α its RDP is
``log A_α / (α − 1)`` with ``A_α = Σ_k C(α, k) (1 − q)^(α−k) q^k exp((k² − k) / (2σ²))``; steps add up.
(ε, δ) follows from the best order with the conversion of Balle et al. (2020):
``ε = RDP(α) + log((α − 1)/α) − (log δ + log α)/(α − 1)``. Orders 2..256, as Opacus's integer orders;
the tests check both against Opacus 1.5's numbers.

Training (Abadi et al. 2016): Poisson batches of expected size ``batch``, each record's gradient
(``torch.func.vmap`` of ``grad``) clipped to norm ``clip``, summed, noised with ``N(0, (sigma·clip)²)``
per coordinate, divided by the expected batch size, then an Adam step (``training.adam``; post-processing:
no privacy cost).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import gammaln, logsumexp

from mia_audit.training.adam import FusedAdam

if TYPE_CHECKING:
    from mia_audit.training.mlp import MLPSpec

ORDERS = tuple(range(2, 257))


def rdp_sampled_gaussian(q: float, sigma: float, order: int) -> float:
    """RDP of one step of the Poisson-sampled Gaussian mechanism at integer ``order``."""
    if not 0.0 < q <= 1.0 or sigma <= 0 or order < 2:
        raise ValueError(f"need 0 < q <= 1, sigma > 0 and an integer order >= 2 (got {q}, {sigma}, {order})")
    if q == 1.0:
        return order / (2.0 * sigma**2)
    k = np.arange(order + 1)
    log_binom = gammaln(order + 1) - gammaln(k + 1) - gammaln(order - k + 1)
    terms = log_binom + (order - k) * math.log1p(-q) + k * math.log(q) + (k * k - k) / (2.0 * sigma**2)
    return float(logsumexp(terms)) / (order - 1)


def epsilon(q: float, sigma: float, steps: int, delta: float) -> float:
    """The (ε, δ) guarantee of ``steps`` steps, at the best integer order."""
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    best = math.inf
    for order in ORDERS:
        rdp = steps * rdp_sampled_gaussian(q, sigma, order)
        eps = rdp + math.log((order - 1) / order) - (math.log(delta) + math.log(order)) / (order - 1)
        best = min(best, eps)
    return max(best, 0.0)


def noise_for(target_epsilon: float, q: float, steps: int, delta: float) -> float:
    """The smallest noise multiplier (to 1%) whose ``steps`` steps stay within ``target_epsilon``."""
    low, high = 0.1, 1.0
    while epsilon(q, high, steps, delta) > target_epsilon:
        low, high = high, 2.0 * high
        if high > 1e4:
            raise ValueError(f"no noise multiplier reaches epsilon {target_epsilon} in {steps} steps")
    while high - low > 0.01 * high:
        mid = 0.5 * (low + high)
        low, high = (mid, high) if epsilon(q, mid, steps, delta) > target_epsilon else (low, mid)
    return high


@dataclass(frozen=True)
class DPSetting:
    """One DP-SGD run: the guarantee asked for, and what it took."""

    target_epsilon: float
    delta: float
    sigma: float
    q: float
    steps: int
    clip: float
    epsilon: float  # what the accountant gives for the run as made (≤ target_epsilon)

    def describe(self) -> str:
        return (
            f"DP-SGD at ε = {self.epsilon:.2f} (δ = {self.delta:.0e}): noise multiplier {self.sigma:.2f}, "
            f"clipping norm {self.clip:g}, sampling rate {self.q:.3f}, {self.steps} steps"
        )


def plan(target_epsilon: float, n_records: int, batch: int, epochs: int, clip: float = 1.0) -> DPSetting:
    """The noise for ``epochs`` passes over ``n_records`` in Poisson batches of expected size ``batch``,
    at δ = min(1e-5, 1/(10·n)) (below one in n, as a guarantee about one record must be)."""
    q = min(1.0, batch / n_records)
    steps = max(1, round(epochs / q))
    delta = min(1e-5, 0.1 / n_records)
    sigma = noise_for(target_epsilon, q, steps, delta)
    return DPSetting(target_epsilon, delta, sigma, q, steps, clip, epsilon(q, sigma, steps, delta))


def train_dp_mlp(
    X: np.ndarray,
    y: np.ndarray,
    n_classes: int,
    spec: MLPSpec,
    setting: DPSetting,
    lr: float,
    generator: np.random.Generator,
) -> Callable[[np.ndarray], np.ndarray]:
    """An MLP of ``spec``'s widths and activation trained with DP-SGD as ``setting`` says; its predictor."""
    import torch
    from torch.func import functional_call, grad, vmap

    torch_gen = torch.Generator().manual_seed(int(generator.integers(2**62)))
    model = _mlp(X.shape[1], tuple(spec.hidden), n_classes, spec.activation)
    with torch.no_grad():
        for layer in model:
            if isinstance(layer, torch.nn.Linear):  # torch's default bounds, drawn from the run's own stream
                bound = 1.0 / math.sqrt(layer.in_features)
                layer.weight.uniform_(-bound, bound, generator=torch_gen)
                layer.bias.uniform_(-bound, bound, generator=torch_gen)
    params = {k: v.detach() for k, v in model.named_parameters()}
    X_t, y_t = torch.as_tensor(X, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)

    def loss(p: dict[str, Any], x: Any, target: Any) -> Any:
        out = functional_call(model, p, (x[None],))
        return torch.nn.functional.cross_entropy(out, target[None])

    per_record = vmap(grad(loss), in_dims=(None, 0, 0))
    optimizer = FusedAdam(list(params.values()), lr=lr)  # updates ``params`` in place
    expected = setting.q * len(X)
    for _ in range(setting.steps):
        batch = np.flatnonzero(generator.random(len(X)) < setting.q)
        summed = {k: torch.zeros_like(v) for k, v in params.items()}
        if len(batch):
            grads = per_record(params, X_t[batch], y_t[batch])
            norms = torch.sqrt(sum(g.reshape(len(batch), -1).pow(2).sum(dim=1) for g in grads.values()))
            scale = torch.clamp(setting.clip / (norms + 1e-12), max=1.0)
            summed = {k: (g * scale.view(-1, *[1] * (g.dim() - 1))).sum(dim=0) for k, g in grads.items()}
        for k, v in params.items():
            v.grad = (summed[k] + setting.sigma * setting.clip * torch.randn(v.shape, generator=torch_gen)) / expected
        optimizer.step()
    final = {k: v.detach() for k, v in params.items()}

    def predict(x: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            out = functional_call(model, final, (torch.as_tensor(x, dtype=torch.float32),))
            return np.asarray(torch.softmax(out, dim=1), dtype=np.float64)

    return predict


def _mlp(d: int, hidden: tuple[int, ...], n_classes: int, activation: str) -> Any:
    import torch

    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU}
    layers: list[Any] = []
    for a, b in zip((d, *hidden), hidden, strict=False):
        layers += [torch.nn.Linear(a, b), acts.get(activation, torch.nn.ReLU)()]
    layers.append(torch.nn.Linear(hidden[-1] if hidden else d, n_classes))
    return torch.nn.Sequential(*layers)
