"""K small MLPs of one architecture trained at once as one batched torch network.

Shadow-model attacks (Shokri et al.) and reference-model attacks (LiRA, RMIA) need K models of the same
architecture, each trained on its own subset of one shared dataset. Here the K models are one network
with stacked weights: layer ``l`` holds ``W`` of shape ``(K, d_in, d_out)`` and ``b`` of shape
``(K, 1, d_out)``, and a training step is ``torch.baddbmm`` per layer over a ``(K, B, d)`` minibatch, so
the K models cost one Python step, one autograd graph and one optimizer call instead of K.

Training semantics (shared by ``train_batched_mlp``, the early-stopping trainer of ``matched_mlp``, which
runs the same step, and the one-model-at-a-time reference of the tests, ``tests/training/looped_mlp.py``, so
model ``k`` of one is model ``k`` of the other up to floating-point rounding):

* **Seeds.** ``numpy.random.SeedSequence(seed).spawn(K)`` gives model ``k`` its own child seed, from which
  its initial weights, its shuffling stream and its dropout masks are drawn; model ``k`` therefore depends
  only on ``(seed, k)``, its mask and the number of steps, not on the other models. No global RNG is read
  or changed, and results on CPU are bitwise repeatable run to run (same machine, same thread count).
* **Initialisation** as ``torch.nn.Linear``'s default: Kaiming-uniform weights and biases, both
  ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.
* **Epochs and minibatches.** Each model reads its own rows (``masks[k]``) as an endless stream of fresh
  random permutations and takes the next ``B = min(batch_size, n_max)`` rows per step, where ``n_max`` is
  the largest subset. An epoch is ``ceil(n_max / B)`` steps, i.e. one pass over the largest model's rows
  (every minibatch is full: the last one of an epoch runs into the next permutation). Models with fewer
  rows wrap around their permutation so that all K step together: they make proportionally more passes
  over their own rows within the same number of steps (and a model with fewer than ``B`` rows sees some
  rows twice in one minibatch). With equal-sized subsets — the usual in/out halves — every model makes
  exactly ``epochs`` passes (up to the one partial minibatch per epoch).
* **Loss and optimizer.** Per step, the mean cross-entropy of each model on its own minibatch, summed over
  models, so each model's gradient is exactly its own (for regressors, trained by ``matched_mlp`` on
  real-valued targets, the mean squared error of one output). ``torch.optim.Adam`` (elementwise, hence K
  independent optimizers in one call) with ``weight_decay`` as Adam's classic *coupled* L2 penalty
  (``grad += weight_decay * param``, on weights and biases, as ``Adam(model.parameters(), ...)`` does).
* **Dropout** after each hidden activation, in training only, with each model's masks drawn from its own
  generator (the looped reference draws the very same masks).

The engine pieces (``_Plan``, ``_initial_parameters``, ``_forward``, ``_train_epoch``, ``_adam``,
``run_in_groups``) are shared with ``matched_mlp``.

Memory: ``n·d`` for the shared features, ``K·params`` for weights and optimizer state, ``K·B·width`` for one
step's activations, and ``K·n_max`` indices for one epoch's schedule; no ``(K, n, d)`` tensor is ever built.
Inference is chunked over records: one chunk holds ``batch_size × K × max(width)`` floats.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np

from mia_audit import progress
from mia_audit.training.adam import FusedAdam

if TYPE_CHECKING:
    import torch

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")
_MAX_CHUNK_ACTIVATIONS = 1 << 24


@dataclass(frozen=True)
class MLPSpec:
    """Architecture and training recipe shared by the K models.

    ``hidden`` lists the hidden layer widths (``()`` gives a multinomial logistic regression);
    ``weight_decay`` is Adam's coupled L2 penalty (see the module docstring); ``dropout`` is the drop
    probability after each hidden activation.
    """

    hidden: tuple[int, ...] = (128,)
    activation: str = "relu"
    epochs: int = 100
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if isinstance(self.hidden, (int, np.integer)):
            raise ValueError(f"MLPSpec.hidden is a tuple of widths: write hidden=({self.hidden},)")
        hidden = tuple(self.hidden)
        if not all(
            isinstance(width, (int, np.integer)) and not isinstance(width, bool) and width > 0 for width in hidden
        ):
            raise ValueError(f"MLPSpec.hidden must be positive integer widths, got {self.hidden!r}")
        object.__setattr__(self, "hidden", tuple(int(width) for width in hidden))
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"unknown activation {self.activation!r}; choose one of {', '.join(ACTIVATIONS)}")
        if int(self.epochs) != self.epochs or self.epochs < 1:
            raise ValueError(f"MLPSpec.epochs must be a positive integer, got {self.epochs!r}")
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"MLPSpec.batch_size must be a positive integer, got {self.batch_size!r}")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"MLPSpec.lr must be positive, got {self.lr!r}")
        if not (math.isfinite(self.weight_decay) and self.weight_decay >= 0):
            raise ValueError(f"MLPSpec.weight_decay must be >= 0, got {self.weight_decay!r}")
        if not (0.0 <= self.dropout < 1.0):
            raise ValueError(f"MLPSpec.dropout must lie in [0, 1), got {self.dropout!r}")


class MLPOutputs(Protocol):
    """K trained MLPs as their users see them: a ``BatchedMLP`` here, or models held on a cluster."""

    @property
    def n_models(self) -> int: ...

    def logits(self, X: np.ndarray) -> np.ndarray: ...

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True, eq=False)
class BatchedMLP:
    """K trained MLPs held as stacked weights; inference runs all K at once.

    ``weights[l]`` has shape ``(K, d_in, d_out)`` and ``biases[l]`` shape ``(K, d_out)``, float32, on the
    device the models were trained on.
    """

    spec: MLPSpec
    n_features: int
    n_classes: int
    weights: tuple[torch.Tensor, ...] = field(repr=False)
    biases: tuple[torch.Tensor, ...] = field(repr=False)

    @property
    def n_models(self) -> int:
        return int(self.weights[0].shape[0])

    @property
    def device(self) -> str:
        return str(self.weights[0].device)

    def logits(self, X: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Raw outputs of every model for every record: ``(K, n, C)`` float64 (eval mode, no dropout).

        Records are processed ``batch_size`` at a time (fewer when K × width would exceed ~16M activations).
        """
        import torch

        X = _as_features(X, self.n_features)
        if batch_size < 1:
            raise ValueError(f"batch_size must be positive, got {batch_size}")
        K, C = self.n_models, self.n_classes
        out = np.empty((K, X.shape[0], C), dtype=np.float64)
        device = self.weights[0].device
        act = _activation(self.spec.activation)
        # The first layer sees the same records for every model: one (chunk, d) @ (d, K*h) product.
        first_w = self.weights[0].permute(1, 0, 2).reshape(self.n_features, -1)
        first_b = self.biases[0].reshape(-1)
        # At most ~16M activations (64 MiB) per chunk, however many models and however wide.
        widest = max(w.shape[2] for w in self.weights)
        rows = max(1, min(batch_size, _MAX_CHUNK_ACTIVATIONS // (K * widest)))
        with torch.no_grad():
            for start in range(0, X.shape[0], rows):
                chunk = torch.from_numpy(X[start : start + rows]).to(device)
                h = torch.addmm(first_b, chunk, first_w).view(len(chunk), K, -1).transpose(0, 1)
                for w, b in zip(self.weights[1:], self.biases[1:], strict=True):
                    h = torch.baddbmm(b.unsqueeze(1), act(h), w)
                out[:, start : start + len(chunk)] = h.double().cpu().numpy()
        return out

    def predict_proba(self, X: np.ndarray, batch_size: int = 8192) -> np.ndarray:
        """Softmax of :meth:`logits`, computed stably in float64: ``(K, n, C)``, rows sum to 1."""
        z = self.logits(X, batch_size=batch_size)
        z -= z.max(axis=-1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=-1, keepdims=True)
        return z

    def sequential(self, k: int) -> torch.nn.Sequential:
        """Model ``k`` as a plain ``torch.nn.Sequential`` on CPU in eval mode (e.g. to export or inspect it)."""
        import torch

        if not 0 <= k < self.n_models:
            raise IndexError(f"model index {k} out of range for {self.n_models} models")
        model = _make_sequential(self.spec, self.n_features, self.n_classes, dropout=torch.nn.Dropout)
        with torch.no_grad():
            for layer, w, b in zip(_linear_layers(model), self.weights, self.biases, strict=True):
                layer.weight.copy_(w[k].T)
                layer.bias.copy_(b[k])
        return model.eval()


def train_batched_mlp(
    X: np.ndarray,
    y: np.ndarray,
    masks: np.ndarray,
    n_classes: int,
    spec: MLPSpec = MLPSpec(),  # frozen, hence a safe default
    *,
    seed: int = 0,
    device: str = "cpu",
    models: Sequence[int] | None = None,
) -> BatchedMLP:
    """Train K MLPs at once, model ``k`` on the rows where ``masks[k]`` is True (see the module docstring).

    ``X``: ``(n, d)`` encoded, standardised features; ``y``: ``(n,)`` class indices in ``[0, n_classes)``;
    ``masks``: ``(K, n)`` bool. Raises ``ValueError`` on inconsistent inputs, an empty mask, or an
    unavailable device.

    On CPU, when a step is large enough, the K models are split into one batched group per torch thread,
    each group stepping in its own Python thread with single-threaded kernels (torch releases the GIL in
    its kernels); otherwise one group runs on one thread. On an idle machine this is as fast as torch's
    intra-op threads; when other processes share the cores it avoids the fork-join stalls of every small
    kernel, which made training 5–50× slower in our measurements. The thread count is restored afterwards,
    and a model does not depend on the grouping.

    ``models``: train only these of the K, each as it would be among all K (how a cluster's task trains
    its share of a pool, see ``training.backend``).
    """
    X_t, y_t, plan, dev = _prepare(X, y, masks, n_classes, spec, seed, device)
    chosen = np.arange(plan.n_models) if models is None else np.asarray(models, dtype=np.int64)

    def train(group: np.ndarray) -> list[tuple[torch.Tensor, torch.Tensor]]:
        return _train_group(X_t, y_t, plan.select(chosen[group].tolist()), spec, n_classes, dev)

    results = run_in_groups(train, len(chosen), plan.batch, [X_t.shape[1], *spec.hidden, n_classes], dev)
    return _stacked(spec, X_t.shape[1], n_classes, results)


def _prepare(
    X: np.ndarray, y: np.ndarray, masks: np.ndarray, n_classes: int, spec: MLPSpec, seed: int, device: str
) -> tuple[torch.Tensor, torch.Tensor, _Plan, torch.device]:
    """What both trainers start from: the checked features and labels on the device, the plan, the device."""
    import torch

    X, y, masks = _check_inputs(X, y, masks, n_classes)
    dev = _resolve_device(device)
    plan = _Plan.build(masks, spec, seed)
    return torch.from_numpy(X).to(dev), torch.from_numpy(y).to(dev), plan, dev


def _train_group(
    X_t: torch.Tensor,
    y_t: torch.Tensor,
    plan: _Plan,
    spec: MLPSpec,
    n_classes: int,
    dev: torch.device,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Train the models of ``plan`` as one batched network; per layer (weights (k, in, out), biases (k, out))."""
    import torch

    act = _activation(spec.activation)
    weights, biases = _initial_parameters(plan, spec, X_t.shape[1], n_classes, dev)
    optimizer = _adam([p for pair in zip(weights, biases, strict=True) for p in pair], spec)
    streams = [plan.stream(k) for k in range(plan.n_models)]
    dropout = _dropout(plan, spec.dropout, dev) if spec.dropout > 0 else None
    with torch.enable_grad():
        for epoch in range(1, spec.epochs + 1):
            _train_epoch(X_t, y_t, plan, streams, (weights, biases), act, optimizer, dropout)
            progress.advance(f"training {plan.n_models} models", epoch, spec.epochs)
    return [(w.detach(), b.detach().squeeze(1)) for w, b in zip(weights, biases, strict=True)]


def _stacked(
    spec: MLPSpec, d: int, n_classes: int, groups: list[list[tuple[torch.Tensor, torch.Tensor]]]
) -> BatchedMLP:
    """One ``BatchedMLP`` from the groups' per-layer (weights, biases), models in group order."""
    import torch

    layers = list(zip(*groups, strict=True))  # per layer: one (weights, biases) per group
    return BatchedMLP(
        spec=spec,
        n_features=d,
        n_classes=n_classes,
        weights=tuple(torch.cat([w for w, _ in layer]) for layer in layers),
        biases=tuple(torch.cat([b for _, b in layer]) for layer in layers),
    )


# ------------------------------------------------------------------------------ the batched training step
# Shared with ``matched_mlp``: K models' parameters as lists of weights (K, in, out) and biases (K, 1, out)
# that require grad, one fused Adam over them, and one row stream per model.

Params = tuple[list["torch.Tensor"], list["torch.Tensor"]]


def _initial_parameters(plan: _Plan, spec: MLPSpec, d: int, n_classes: int, dev: torch.device) -> Params:
    """The initial weights ``(K, in, out)`` and biases ``(K, 1, out)`` of the plan's models, requiring grad."""
    import torch

    initial = [_init_params(spec, d, n_classes, plan.init_generator(k)) for k in range(plan.n_models)]
    weights: list[torch.Tensor] = []
    biases: list[torch.Tensor] = []
    for layer_params in zip(*initial, strict=True):
        weights.append(torch.stack([w.T for w, _ in layer_params]).contiguous().to(dev).requires_grad_())
        biases.append(torch.stack([b for _, b in layer_params]).unsqueeze(1).to(dev).requires_grad_())
    return weights, biases


def _forward(
    h: torch.Tensor,
    params: Params,
    act: Callable[[torch.Tensor], torch.Tensor],
    dropout: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> torch.Tensor:
    """Logits ``(K, B, C)`` of the K models for their inputs ``h`` ``(K, B, d)``; dropout after each activation."""
    import torch

    weights, biases = params
    for w, b in zip(weights[:-1], biases[:-1], strict=True):
        h = act(torch.baddbmm(b, h, w))
        if dropout is not None:
            h = dropout(h)
    return torch.baddbmm(biases[-1], h, weights[-1])


def _train_epoch(
    X_t: torch.Tensor,
    y_t: torch.Tensor,
    plan: _Plan,
    streams: Sequence[_RowStream],
    params: Params,
    act: Callable[[torch.Tensor], torch.Tensor],
    optimizer: FusedAdam,
    dropout: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> None:
    """One epoch (``plan.steps`` steps of ``plan.batch`` rows) of the models whose row streams are given.

    The loss is each model's mean cross-entropy on its own minibatch (squared error for real-valued
    ``y_t``), summed over the models, so that each model's gradient is exactly its own.
    """
    import torch
    import torch.nn.functional as F

    K, B, d = len(streams), plan.batch, X_t.shape[1]
    schedule = np.stack([s.take(plan.steps * B).reshape(plan.steps, B) for s in streams], axis=1)
    for idx in torch.from_numpy(schedule).to(X_t.device):  # (K, B) row indices per step
        flat = idx.reshape(-1)
        out = _forward(X_t.index_select(0, flat).view(K, B, d), params, act, dropout)
        target = y_t.index_select(0, flat)
        if target.is_floating_point():
            loss = F.mse_loss(out.view(K * B), target, reduction="sum") / B
        else:
            loss = F.cross_entropy(out.view(K * B, -1), target, reduction="sum") / B
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def _dropout(plan: _Plan, p: float, dev: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """Dropout on ``(K, B, width)`` activations, each model's masks drawn from its own generator."""
    import torch

    generators = [plan.dropout_generator(k, dev) for k in range(plan.n_models)]
    keep = 1.0 - p

    def drop(h: torch.Tensor) -> torch.Tensor:
        noise = torch.stack([torch.rand(h.shape[1:], generator=g, device=dev) for g in generators])
        return h * (noise < keep) / keep

    return drop


# --------------------------------------------------------------------------------------------- helpers


class _RowStream:
    """Endless stream of one model's row indices: consecutive fresh random permutations of its rows."""

    def __init__(self, rows: np.ndarray, rng: np.random.Generator) -> None:
        self._rows = rows
        self._rng = rng
        self._pending = np.empty(0, dtype=np.int64)

    def take(self, count: int) -> np.ndarray:
        parts = [self._pending]
        have = len(self._pending)
        while have < count:
            perm = self._rows[self._rng.permutation(len(self._rows))]
            parts.append(perm)
            have += len(perm)
        joined = np.concatenate(parts)
        self._pending = joined[count:]
        return joined[:count]


@dataclass(frozen=True)
class _Plan:
    """Per-model seeds and rows, and the step geometry, for every trainer of this package (and the looped
    reference of the tests)."""

    children: list[np.random.SeedSequence]
    rows: list[np.ndarray]
    batch: int
    steps: int

    @classmethod
    def build(cls, masks: np.ndarray, spec: MLPSpec, seed: int) -> _Plan:
        rows = [np.flatnonzero(mask).astype(np.int64) for mask in masks]
        return cls._sized(np.random.SeedSequence(seed).spawn(len(rows)), rows, spec.batch_size)

    @classmethod
    def _sized(cls, children: list[np.random.SeedSequence], rows: list[np.ndarray], batch_size: int) -> _Plan:
        n_max = max(len(r) for r in rows)
        batch = min(batch_size, n_max)
        return cls(children, rows, batch, -(-n_max // batch))

    def select(self, models: Sequence[int], batch_size: int | None = None) -> _Plan:
        """The plan of ``models`` only (same seeds and rows), with the same step geometry.

        With ``batch_size``, the batch and the steps per epoch are sized anew from the selected
        models' rows (as ``matched_mlp`` sizes each thread group by its own models).
        """
        children, rows = [self.children[k] for k in models], [self.rows[k] for k in models]
        if batch_size is not None:
            return self._sized(children, rows, batch_size)
        return _Plan(children, rows, self.batch, self.steps)

    @property
    def n_models(self) -> int:
        return len(self.rows)

    def _seed(self, k: int, purpose: int) -> int:
        # Three independent 63-bit seeds per model: initial weights, row shuffling, dropout masks.
        return int(self.children[k].generate_state(3, np.uint64)[purpose] >> np.uint64(1))

    def init_generator(self, k: int) -> torch.Generator:
        import torch

        return torch.Generator().manual_seed(self._seed(k, 0))

    def stream(self, k: int) -> _RowStream:
        """A fresh row stream for model ``k`` (the same sequence each time it is asked for)."""
        return _RowStream(self.rows[k], np.random.default_rng(self._seed(k, 1)))

    def dropout_generator(self, k: int, device: torch.device) -> torch.Generator:
        import torch

        return torch.Generator(device=device).manual_seed(self._seed(k, 2))


def _init_params(
    spec: MLPSpec, d: int, n_classes: int, gen: torch.Generator
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Initial (weight (out, in), bias (out,)) per layer, as ``nn.Linear`` draws them, from ``gen``."""
    import torch

    params = []
    widths = [d, *spec.hidden, n_classes]
    for fan_in, fan_out in pairwise(widths):
        bound = 1.0 / math.sqrt(fan_in)
        w = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=gen)
        b = torch.empty(fan_out).uniform_(-bound, bound, generator=gen)
        params.append((w, b))
    return params


def _make_sequential(
    spec: MLPSpec,
    d: int,
    n_classes: int,
    dropout: Callable[[float], torch.nn.Module],
    device: torch.device | None = None,
) -> torch.nn.Sequential:
    """The architecture as ``nn.Sequential``, weights left uninitialised (no global RNG is drawn from)."""
    import torch
    from torch.nn.utils import skip_init

    device = device if device is not None else torch.device("cpu")
    modules: list[torch.nn.Module] = []
    widths = [d, *spec.hidden]
    for fan_in, fan_out in pairwise(widths):
        modules.append(skip_init(torch.nn.Linear, fan_in, fan_out, device=device))
        modules.append(_activation_module(spec.activation))
        if spec.dropout > 0:
            modules.append(dropout(spec.dropout))
    modules.append(skip_init(torch.nn.Linear, widths[-1], n_classes, device=device))
    return torch.nn.Sequential(*modules)


def _linear_layers(model: torch.nn.Sequential) -> list[torch.nn.Linear]:
    import torch

    return [m for m in model if isinstance(m, torch.nn.Linear)]


def _activation(name: str) -> Any:
    import torch
    import torch.nn.functional as F

    return {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "gelu": F.gelu}[name]


def _activation_module(name: str) -> torch.nn.Module:
    import torch

    modules: dict[str, type[torch.nn.Module]] = {
        "relu": torch.nn.ReLU,
        "tanh": torch.nn.Tanh,
        "sigmoid": torch.nn.Sigmoid,
        "gelu": torch.nn.GELU,
    }
    return modules[name]()


def _adam(params: Sequence[torch.Tensor], spec: MLPSpec) -> FusedAdam:
    # The fused kernel is one call for all parameters and is available for float32 on CPU and CUDA.
    return FusedAdam(params, lr=spec.lr, weight_decay=spec.weight_decay)


# Below this many multiply-adds per step and group, Python-thread groups lose to one thread (GIL hand-offs);
# measured on 2 cores: a step of 24M multiply-adds runs faster on one thread, one of 47M in two groups.
_MIN_GROUP_MACS = 16_000_000
# A single model (K = 1) uses torch's intra-op threads only above this many multiply-adds per step.
_MIN_INTRA_OP_MACS = 20_000_000

T = TypeVar("T")


def run_in_groups(
    train: Callable[[np.ndarray], T],
    n_models: int,
    batch: int,
    widths: list[int],
    dev: torch.device,
    *,
    min_group_macs: int | None = None,
    intra_op: bool = True,
    name: str = "batched-mlp",
) -> list[T]:
    """``train`` each group of model indices (in order) as ``_cpu_parallelism`` splits them on CPU.

    Groups step in Python threads, each on single-threaded torch kernels; the torch thread count is
    restored afterwards. Off the CPU all models form one group on the current thread settings.
    """
    if dev.type != "cpu":
        return [train(np.arange(n_models))]
    n_groups, intra_threads = _cpu_parallelism(
        n_models, batch, widths, min_group_macs=min_group_macs, intra_op=intra_op
    )
    groups = np.array_split(np.arange(n_models), n_groups)
    with _torch_threads(intra_threads):
        if n_groups == 1:
            return [train(groups[0])]
        with ThreadPoolExecutor(max_workers=n_groups, thread_name_prefix=name) as pool:
            return list(pool.map(train, groups))


def _cpu_parallelism(
    n_models: int, batch: int, widths: list[int], *, min_group_macs: int | None = None, intra_op: bool = True
) -> tuple[int, int]:
    """How to spread a CPU run: (number of model groups, torch intra-op threads per group).

    ``min_group_macs`` (default ``_MIN_GROUP_MACS``): the multiply-adds per step that one group must
    have to be worth a Python thread; ``intra_op=False``: never use torch's intra-op threads.
    """
    import torch

    threads = torch.get_num_threads()
    min_group = _MIN_GROUP_MACS if min_group_macs is None else min_group_macs
    macs_per_model = batch * sum(a * b for a, b in pairwise(widths)) * 3  # forward + weight and input grads
    if threads > 1 and n_models > 1:
        groups = min(threads, n_models, max(1, n_models * macs_per_model // min_group))
        return int(groups), 1
    return 1, threads if intra_op and macs_per_model * n_models >= _MIN_INTRA_OP_MACS else 1


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    if n != before:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def _resolve_device(device: str) -> torch.device:
    import torch

    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'") from exc
    if dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise ValueError(f"unsupported device {device!r}; use 'cpu', 'cuda' or 'cuda:N'")
    if not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available here; use device='cpu'")
    index = dev.index if dev.index is not None else torch.cuda.current_device()
    if index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} requested but only {torch.cuda.device_count()} CUDA device(s) exist")
    return torch.device("cuda", index)


def _as_features(X: np.ndarray, n_features: int | None = None) -> np.ndarray:
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-d array (records, features), got shape {X.shape}")
    if not (np.issubdtype(X.dtype, np.number) or X.dtype == bool):
        raise ValueError(f"X must be numeric (already encoded), got dtype {X.dtype}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"X has {X.shape[1]} features, the models were trained on {n_features}")
    if not np.isfinite(X).all():
        raise ValueError("X contains NaN or infinite values; impute or drop them first")
    return X


def _check_inputs(
    X: np.ndarray, y: np.ndarray, masks: np.ndarray, n_classes: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    X = _as_features(X)
    n = X.shape[0]
    if int(n_classes) != n_classes or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must have shape ({n},) to match X, got {y.shape}")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class indices, got dtype {y.dtype}")
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got values from {y.min()} to {y.max()}")
    return X, np.ascontiguousarray(y, dtype=np.int64), _check_masks(masks, n)


def _check_masks(masks: np.ndarray, n: int) -> np.ndarray:
    masks = np.asarray(masks)
    if masks.ndim != 2 or masks.shape[1] != n or masks.shape[0] < 1:
        raise ValueError(f"masks must have shape (K, {n}) with K >= 1 to match X, got {masks.shape}")
    if masks.dtype != bool:
        if not (np.issubdtype(masks.dtype, np.integer) and np.isin(masks, (0, 1)).all()):
            raise ValueError(f"masks must be boolean (or 0/1), got dtype {masks.dtype}")
        masks = masks.astype(bool)
    empty = np.flatnonzero(~masks.any(axis=1))
    if len(empty):
        raise ValueError(f"model(s) {empty.tolist()} have an empty mask: every model needs training rows")
    return masks
