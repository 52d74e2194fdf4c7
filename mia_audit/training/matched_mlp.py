"""K MLPs trained at once, each until it is as confident as the target: the reference models of LiRA and RMIA.

LiRA and RMIA compare the target's output on a record with the outputs of reference models that
were trained "the same way". For a black-box target the recipe is unknown, and how long a network
trains decides how much it memorises: stopped early, reference models are less sure of their
training records than the target is of its own, and the target's members look unlike anything
the IN models produce; trained too long, every model is more confident than the target. So each
reference model stops at the first check where it is, on average, as confident as the target on
records neither of them trained on (the attacker's population): confidence measured as the
log-odds of the predicted class, log p_max − log Σ_{others} p, which rises steadily while a
network overfits whether its predictions are right or wrong. Only the target's outputs on known
non-members are used: no labels, and never the membership of the audit records.

``batched_mlp.train_batched_mlp`` trains for a fixed number of epochs and cannot stop a model part
way, hence this trainer; it keeps the batched layout (weights ``(K, d_in, d_out)``, one
``baddbmm`` per layer and step, one fused Adam for all K) and returns a ``BatchedMLP``. Every
model depends only on ``(seed, k)``, its mask and its own checks, not on the other models or on
how the K models are split over threads.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from mia_audit.training.mlp import BatchedMLP, MLPSpec

if TYPE_CHECKING:
    import torch

# Per-record confidences are capped before averaging: a float32 softmax that rounds the other
# classes to 0 gives ~100 for the target, a float64 one much more for a reference model.
CONFIDENCE_CAP = 30.0
# A step below this many multiply-adds per thread is not worth a second Python thread.
_MIN_GROUP_MACS = 4_000_000
# Without a fixed epoch count, training stops at whichever comes first of these two budgets: the
# optimiser steps (which bound the run time of small networks, where per-step overhead dominates)
# and the forward multiply-adds of all models (which bound it for wide inputs). Both are sized to
# keep K = 16 references well under the time of eight scikit-learn MLPs trained one at a time.
MAX_STEPS = 4000
MAX_FORWARD_MACS = 75e9


@dataclass(frozen=True)
class ConfidenceMatch:
    """When to stop: the check rows, the target's confidence on each, and how often to look.

    Checks follow every epoch up to ``every_from``, then every ``every`` epochs: models that match
    within a few epochs (a regularised target) need the fine steps, long runs do not.
    """

    rows: np.ndarray
    target_confidence: np.ndarray
    every: int = 2
    every_from: int = 10

    def due(self, epoch: int, max_epochs: int) -> bool:
        return epoch <= self.every_from or epoch % self.every == 0 or epoch == max_epochs

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.target_confidence) or len(self.rows) == 0:
            raise ValueError("ConfidenceMatch needs one target confidence per check row, and at least one row")
        if self.every < 1:
            raise ValueError(f"ConfidenceMatch.every must be positive, got {self.every}")


@dataclass(frozen=True)
class MatchedMLPs:
    """The trained models, the epochs each trained, and whether each stopped on the loss match."""

    net: BatchedMLP
    epochs: tuple[int, ...]
    matched: tuple[bool, ...]


def predicted_class_confidence(probs: np.ndarray) -> np.ndarray:
    """log p_max − log Σ_{y≠argmax} p_y per record (stable, probabilities floored), capped at the cap."""
    from mia_audit import signals

    return np.minimum(signals.logit_confidence(probs, np.argmax(probs, axis=1)), CONFIDENCE_CAP)


def epoch_budget(n_models: int, n_rows: int, widths: list[int], batch_size: int) -> int:
    """How many epochs the step and multiply-add budgets allow for K models on ``n_rows`` rows each."""
    steps_per_epoch = -(-n_rows // min(batch_size, n_rows))
    macs_per_epoch = n_models * n_rows * sum(a * b for a, b in pairwise(widths))
    return max(1, min(MAX_STEPS // steps_per_epoch, int(MAX_FORWARD_MACS // macs_per_epoch)))


def train_matched_mlps(
    X: np.ndarray,
    y: np.ndarray,
    masks: np.ndarray,
    n_classes: int,
    spec: MLPSpec,
    *,
    max_epochs: int,
    match: ConfidenceMatch | None,
    seed: int,
    device: str = "cpu",
) -> MatchedMLPs:
    """Train model ``k`` on the rows where ``masks[k]``, for at most ``max_epochs`` epochs.

    With ``match``, at each check (``ConfidenceMatch.due``) each model still training computes its
    mean (capped) predicted-class confidence over the check rows outside its mask, and stops, keeping
    the weights it has then, once that reaches the target's mean over the same rows. Models that
    never get there keep the weights of epoch ``max_epochs``; without ``match`` all train that
    long. An epoch is one pass over the largest model's rows in minibatches of ``spec.batch_size``.
    """
    import torch

    if spec.dropout:
        raise ValueError("matched training does not support dropout")
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be positive, got {max_epochs}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 2 or masks.shape[1] != len(X) or not masks.any(axis=1).all():
        raise ValueError("masks must be (K, n) with at least one row per model")
    dev = torch.device(device)
    K, d = masks.shape[0], X.shape[1]
    widths = [d, *spec.hidden, n_classes]
    seeds = [_model_seeds(child) for child in np.random.SeedSequence(seed).spawn(K)]
    X_t = torch.from_numpy(X).to(dev)
    y_t = torch.from_numpy(np.array(y, dtype=np.int64)).to(dev)
    batch = min(spec.batch_size, int(masks.sum(axis=1).max()))
    groups = _groups(K, batch, widths, dev)

    def run(models: np.ndarray) -> _GroupResult:
        return _train_group(X_t, y_t, masks[models], [seeds[k] for k in models], spec, widths, max_epochs, match)

    # One torch thread per group: intra-op threads stall at every small kernel when other processes share
    # the cores (see batched_mlp), and a step small enough for one group is not worth splitting.
    with _torch_threads(1 if dev.type == "cpu" else torch.get_num_threads()):
        if len(groups) == 1:
            results = [run(groups[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="matched-mlp") as pool:
                results = list(pool.map(run, groups))
    weights = tuple(torch.cat([r.weights[i] for r in results]) for i in range(len(widths) - 1))
    biases = tuple(torch.cat([r.biases[i] for r in results]) for i in range(len(widths) - 1))
    net = BatchedMLP(spec=spec, n_features=d, n_classes=n_classes, weights=weights, biases=biases)
    return MatchedMLPs(
        net=net,
        epochs=tuple(e for r in results for e in r.epochs),
        matched=tuple(m for r in results for m in r.matched),
    )


@dataclass(frozen=True)
class _GroupResult:
    weights: list[torch.Tensor]
    biases: list[torch.Tensor]
    epochs: list[int]
    matched: list[bool]


def _train_group(
    X_t: torch.Tensor,
    y_t: torch.Tensor,
    masks: np.ndarray,
    seeds: list[tuple[int, int]],
    spec: MLPSpec,
    widths: list[int],
    max_epochs: int,
    match: ConfidenceMatch | None,
) -> _GroupResult:
    import torch
    import torch.nn.functional as F

    K, dev, n_classes = len(masks), X_t.device, widths[-1]
    act = {"relu": torch.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid, "gelu": F.gelu}[spec.activation]
    rows = [np.flatnonzero(m) for m in masks]
    batch = min(spec.batch_size, max(len(r) for r in rows))
    steps = -(-max(len(r) for r in rows) // batch)
    live = _Live(
        *_initial(seeds, widths, dev),
        spec=spec,
        streams=[_rows_forever(r, np.random.default_rng(s)) for r, (_, s) in zip(rows, seeds, strict=True)],
        check=_Check.build(match, masks, X_t) if match is not None else None,
    )
    kept: list[list[torch.Tensor] | None] = [None] * K
    stopped_at = [max_epochs] * K
    matched = [False] * K

    def forward(h: torch.Tensor) -> torch.Tensor:
        for w, b in zip(live.weights[:-1], live.biases[:-1], strict=True):
            h = act(torch.baddbmm(b, h, w))
        return torch.baddbmm(live.biases[-1], h, live.weights[-1])

    for epoch in range(1, max_epochs + 1):
        n_live = len(live.models)
        schedule = np.stack([np.fromiter(s, np.int64, steps * batch).reshape(steps, batch) for s in live.streams], 1)
        with torch.enable_grad():
            for idx in torch.from_numpy(schedule).to(dev):
                flat = idx.reshape(-1)
                out = forward(X_t.index_select(0, flat).view(n_live, batch, -1))
                loss = F.cross_entropy(out.view(-1, n_classes), y_t.index_select(0, flat), reduction="sum") / batch
                live.optimizer.zero_grad(set_to_none=True)
                loss.backward()
                live.optimizer.step()
        check = live.check
        if check is None or not check.match.due(epoch, max_epochs):
            continue
        with torch.no_grad():
            done = check.confidence(forward) >= check.target
        for j in np.flatnonzero(done).tolist():
            k = int(live.models[j])
            stopped_at[k], matched[k] = epoch, True
            kept[k] = live.model(j)
        if done.all():
            break
        if done.any():
            live.drop(~done)  # stopped models leave the batch: the others' steps do not depend on them
    for j, k in enumerate(live.models.tolist()):
        if kept[k] is None:
            kept[k] = live.model(j)
    layers = range(len(widths) - 1)
    weights = [torch.stack([m[2 * i] for m in kept if m is not None]) for i in layers]
    biases = [torch.stack([m[2 * i + 1] for m in kept if m is not None]) for i in layers]
    return _GroupResult(weights, biases, stopped_at, matched)


class _Live:
    """The models of a group still training: stacked parameters, one Adam for them, their row streams."""

    def __init__(
        self,
        weights: list[torch.Tensor],
        biases: list[torch.Tensor],
        *,
        spec: MLPSpec,
        streams: list[Iterator[int]],
        check: _Check | None,
    ) -> None:
        import torch

        self.weights, self.biases, self.streams, self.check = weights, biases, streams, check
        self.models = np.arange(len(streams))
        self._adam = {"lr": spec.lr, "weight_decay": spec.weight_decay, "fused": True}
        self.optimizer = torch.optim.Adam([*weights, *biases], **self._adam)  # type: ignore[arg-type]

    def model(self, j: int) -> list[torch.Tensor]:
        """Model ``j``'s trained weights and biases, alternating per layer, detached copies."""
        return [
            t
            for w, b in zip(self.weights, self.biases, strict=True)
            for t in (w[j].detach().clone(), b[j, 0].detach().clone())
        ]

    def drop(self, keep: np.ndarray) -> None:
        """Keep only the models where ``keep``, with their Adam moments, and continue as before."""
        import torch

        index = torch.from_numpy(np.flatnonzero(keep)).to(self.weights[0].device)
        old = [*self.weights, *self.biases]
        new = [p.detach().index_select(0, index).requires_grad_() for p in old]
        optimizer = torch.optim.Adam(new, **self._adam)  # type: ignore[arg-type]
        for p_old, p_new in zip(old, new, strict=True):
            state = self.optimizer.state[p_old]
            optimizer.state[p_new] = {
                key: value if value.dim() == 0 else value.index_select(0, index) for key, value in state.items()
            }
        n = len(self.weights)
        self.weights, self.biases, self.optimizer = new[:n], new[n:], optimizer
        self.streams = [s for s, k in zip(self.streams, keep, strict=True) if k]
        self.models = self.models[keep]
        if self.check is not None:
            self.check = self.check.subset(keep)


@dataclass(frozen=True)
class _Check:
    """The check rows on the device, which of them each model never saw, and the target's mean there."""

    X: torch.Tensor
    held_out: torch.Tensor  # (K, n_check): 1/(rows outside the model's mask) there, 0 elsewhere
    target: np.ndarray  # (K,) the target's mean capped confidence over each model's held-out check rows
    match: ConfidenceMatch

    @classmethod
    def build(cls, match: ConfidenceMatch, masks: np.ndarray, X_t: torch.Tensor) -> _Check:
        import torch

        outside = ~masks[:, match.rows]
        if not outside.any(axis=1).all():
            raise ValueError("every model needs check rows outside its training rows")
        weights = outside / outside.sum(axis=1, keepdims=True)
        target = weights @ np.minimum(np.asarray(match.target_confidence, dtype=np.float64), CONFIDENCE_CAP)
        rows = torch.from_numpy(np.asarray(match.rows, dtype=np.int64)).to(X_t.device)
        held_out = torch.from_numpy(weights.astype(np.float32)).to(X_t.device)
        return cls(X_t.index_select(0, rows), held_out, target, match)

    def subset(self, keep: np.ndarray) -> _Check:
        import torch

        index = torch.from_numpy(np.flatnonzero(keep)).to(self.held_out.device)
        return _Check(self.X, self.held_out.index_select(0, index), self.target[keep], self.match)

    def confidence(self, forward: Callable[[torch.Tensor], torch.Tensor]) -> np.ndarray:
        """Each model's mean capped predicted-class confidence over its held-out check rows, ``(K,)``."""

        K = self.held_out.shape[0]
        logits = forward(self.X.unsqueeze(0).expand(K, -1, -1))
        top = logits.max(dim=-1, keepdim=True)
        others = logits.scatter(-1, top.indices, float("-inf")).logsumexp(dim=-1)
        per_row = (top.values.squeeze(-1) - others).clamp(max=CONFIDENCE_CAP)
        return (per_row * self.held_out).sum(dim=1).double().cpu().numpy()


def _model_seeds(child: np.random.SeedSequence) -> tuple[int, int]:
    """Two independent 63-bit seeds per model: initial weights and row shuffling."""
    state = child.generate_state(2, np.uint64) >> np.uint64(1)
    return int(state[0]), int(state[1])


def _initial(seeds: list[tuple[int, int]], widths: list[int], dev: torch.device) -> tuple[list, list]:
    """Weights ``(K, in, out)`` and biases ``(K, 1, out)`` drawn as ``nn.Linear`` does, per model."""
    import torch

    per_model = []
    for init_seed, _ in seeds:
        gen = torch.Generator().manual_seed(init_seed)
        layers = []
        for fan_in, fan_out in pairwise(widths):
            bound = 1.0 / math.sqrt(fan_in)
            w = torch.empty(fan_out, fan_in).uniform_(-bound, bound, generator=gen)
            b = torch.empty(fan_out).uniform_(-bound, bound, generator=gen)
            layers.append((w.T.contiguous(), b))
        per_model.append(layers)
    weights = [torch.stack([m[i][0] for m in per_model]).to(dev).requires_grad_() for i in range(len(widths) - 1)]
    biases = [
        torch.stack([m[i][1] for m in per_model]).unsqueeze(1).to(dev).requires_grad_() for i in range(len(widths) - 1)
    ]
    return weights, biases


def _rows_forever(rows: np.ndarray, rng: np.random.Generator) -> Iterator[int]:
    """One model's rows as an endless stream of fresh random permutations."""
    while True:
        yield from rows[rng.permutation(len(rows))].tolist()


def _groups(K: int, batch: int, widths: list[int], dev: torch.device) -> list[np.ndarray]:
    """Split the models over CPU threads when a step is big enough to pay for the hand-offs."""
    import torch

    if dev.type != "cpu":
        return [np.arange(K)]
    macs = batch * sum(a * b for a, b in pairwise(widths)) * 3
    n = min(torch.get_num_threads(), K, max(1, K * macs // _MIN_GROUP_MACS))
    return [g for g in np.array_split(np.arange(K), n) if len(g)]


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
