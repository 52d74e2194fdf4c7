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

``mlp.train_batched_mlp`` trains for a fixed number of epochs and cannot stop a model part way,
hence this trainer. It runs ``mlp``'s engine (the plan of seeds and row streams, the initial
weights, the batched epoch of ``baddbmm`` steps with one fused Adam for all K, the thread groups)
and returns a ``BatchedMLP``; what it adds is the checks and the removal of stopped models from
the batch. Every model depends only on ``(seed, k)``, its mask and its own checks, not on the
models that stop beside it. One difference from ``train_batched_mlp``: each thread group sizes its
minibatch and its steps per epoch by the largest mask among its own models, so with masks of
different sizes a model's schedule can depend on how the K models are split over threads (the
usual equal-sized masks are not affected).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import TYPE_CHECKING

import numpy as np

from mia_audit import progress
from mia_audit.training import backend
from mia_audit.training.mlp import (
    MLPOutputs,
    MLPSpec,
    Params,
    _activation,
    _adam,
    _forward,
    _initial_parameters,
    _Plan,
    _RowStream,
    _stacked,
    _train_epoch,
    run_in_groups,
)

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
    # "confidence" (classifiers: the predicted class's log-odds) or "spread" (regressors: the squared
    # standardised prediction, which grows as a network fits ever finer detail of its training values).
    statistic: str = "confidence"
    # No check before this epoch: a regressor's spread overshoots while Adam finds the mean (see regression_pool).
    first_check: int = 1

    def due(self, epoch: int, max_epochs: int) -> bool:
        if epoch < min(self.first_check, max_epochs):
            return False
        return epoch <= self.every_from or epoch % self.every == 0 or epoch == max_epochs

    def __post_init__(self) -> None:
        if len(self.rows) != len(self.target_confidence) or len(self.rows) == 0:
            raise ValueError("ConfidenceMatch needs one target confidence per check row, and at least one row")
        if self.every < 1:
            raise ValueError(f"ConfidenceMatch.every must be positive, got {self.every}")
        if self.statistic not in ("confidence", "spread"):
            raise ValueError(f"ConfidenceMatch.statistic must be confidence or spread, got {self.statistic!r}")


@dataclass(frozen=True)
class MatchedMLPs:
    """The trained models, the epochs each trained, and whether each stopped on the loss match."""

    net: MLPOutputs
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
    models: Sequence[int] | None = None,
) -> MatchedMLPs:
    """Train model ``k`` on the rows where ``masks[k]``, for at most ``max_epochs`` epochs.

    With ``match``, at each check (``ConfidenceMatch.due``) each model still training computes its
    mean (capped) predicted-class confidence over the check rows outside its mask, and stops, keeping
    the weights it has then, once that reaches the target's mean over the same rows. Models that
    never get there keep the weights of epoch ``max_epochs``; without ``match`` all train that
    long. An epoch is one pass over the largest model's rows in minibatches of ``spec.batch_size``.

    ``models``: train only these of the K (each as it would be among all K). A pool of several models
    trains on the run's backend (``training.backend``) when one is set, which calls back with ``models``.
    """
    import torch

    remote = backend.current()
    if remote is not None and models is None and len(masks) > 1:
        return remote.matched_mlps(
            X, y, masks, n_classes, spec, max_epochs=max_epochs, match=match, seed=seed, device=device
        )
    if spec.dropout:
        raise ValueError("matched training does not support dropout")
    if max_epochs < 1:
        raise ValueError(f"max_epochs must be positive, got {max_epochs}")
    X = np.ascontiguousarray(X, dtype=np.float32)
    masks = np.asarray(masks, dtype=bool)
    if masks.ndim != 2 or masks.shape[1] != len(X) or not masks.any(axis=1).all():
        raise ValueError("masks must be (K, n) with at least one row per model")
    dev = torch.device(device)
    d = X.shape[1]
    widths = [d, *spec.hidden, n_classes]
    plan = _Plan.build(masks, spec, seed)
    X_t = torch.from_numpy(X).to(dev)
    # Real-valued targets (a regressor's, standardised) train by squared error; class indices by cross-entropy.
    real = np.issubdtype(np.asarray(y).dtype, np.floating)
    y_t = torch.from_numpy(np.array(y, dtype=np.float32 if real else np.int64)).to(dev)

    chosen = np.arange(plan.n_models) if models is None else np.asarray(models, dtype=np.int64)

    def run(group: np.ndarray) -> _GroupResult:
        # Each group sizes its minibatches and epochs by its own models' rows.
        picked = chosen[group]
        sized = plan.select(picked.tolist(), batch_size=spec.batch_size)
        return _train_group(X_t, y_t, sized, masks[picked], spec, widths, max_epochs, match)

    # One torch thread per group (no intra-op threads: they stall at every small kernel when other
    # processes share the cores), and a step small enough for one group is not worth splitting.
    results = run_in_groups(
        run, len(chosen), plan.batch, widths, dev, min_group_macs=_MIN_GROUP_MACS, intra_op=False, name="matched-mlp"
    )
    return MatchedMLPs(
        net=_stacked(spec, d, n_classes, [r.layers for r in results]),
        epochs=tuple(e for r in results for e in r.epochs),
        matched=tuple(m for r in results for m in r.matched),
    )


@dataclass(frozen=True)
class _GroupResult:
    layers: list[tuple[torch.Tensor, torch.Tensor]]  # per layer: weights (k, in, out), biases (k, out)
    epochs: list[int]
    matched: list[bool]


def _train_group(
    X_t: torch.Tensor,
    y_t: torch.Tensor,
    plan: _Plan,
    masks: np.ndarray,
    spec: MLPSpec,
    widths: list[int],
    max_epochs: int,
    match: ConfidenceMatch | None,
) -> _GroupResult:
    import torch

    K, dev, n_classes = plan.n_models, X_t.device, widths[-1]
    act = _activation(spec.activation)
    weights, biases = _initial_parameters(plan, spec, widths[0], n_classes, dev)
    if y_t.is_floating_point():
        # A regressor starts from predicting the mean: its predictions' spread then grows from zero as it
        # fits, which is what the "spread" match reads (a random output layer starts it anywhere).
        with torch.no_grad():
            weights[-1].zero_()
            biases[-1].zero_()
    live = _Live(
        weights,
        biases,
        spec=spec,
        streams=[plan.stream(k) for k in range(K)],
        check=_Check.build(match, masks, X_t) if match is not None else None,
    )
    kept: list[list[torch.Tensor] | None] = [None] * K
    stopped_at = [max_epochs] * K
    matched = [False] * K

    for epoch in range(1, max_epochs + 1):
        with torch.enable_grad():
            _train_epoch(X_t, y_t, plan, live.streams, live.params, act, live.optimizer)
        progress.advance(f"training {K} models (at most {max_epochs} epochs)", epoch, max_epochs)
        check = live.check
        if check is None or not check.match.due(epoch, max_epochs):
            continue
        with torch.no_grad():
            done = check.confidence(partial(_forward, params=live.params, act=act)) >= check.target
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
    layers = [
        (
            torch.stack([m[2 * i] for m in kept if m is not None]),
            torch.stack([m[2 * i + 1] for m in kept if m is not None]),
        )
        for i in range(len(widths) - 1)
    ]
    return _GroupResult(layers, stopped_at, matched)


class _Live:
    """The models of a group still training: stacked parameters, one Adam for them, their row streams."""

    def __init__(
        self,
        weights: list[torch.Tensor],
        biases: list[torch.Tensor],
        *,
        spec: MLPSpec,
        streams: list[_RowStream],
        check: _Check | None,
    ) -> None:
        self.weights, self.biases, self.streams, self.check = weights, biases, streams, check
        self.models = np.arange(len(streams))
        self._spec = spec
        self.optimizer = _adam([*weights, *biases], spec)

    @property
    def params(self) -> Params:
        return self.weights, self.biases

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
        self.optimizer = self.optimizer.select(index)
        new = self.optimizer.params
        n = len(self.weights)
        self.weights, self.biases = new[:n], new[n:]
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
        """Each model's mean capped statistic (predicted-class confidence, or squared standardised prediction)
        over its held-out check rows, ``(K,)``."""

        K = self.held_out.shape[0]
        logits = forward(self.X.unsqueeze(0).expand(K, -1, -1))
        if self.match.statistic == "spread":
            spread = logits[..., 0].square().clamp(max=CONFIDENCE_CAP)
            return (spread * self.held_out).sum(dim=1).double().cpu().numpy()
        top = logits.max(dim=-1, keepdim=True)
        others = logits.scatter(-1, top.indices, float("-inf")).logsumexp(dim=-1)
        per_row = (top.values.squeeze(-1) - others).clamp(max=CONFIDENCE_CAP)
        return (per_row * self.held_out).sum(dim=1).double().cpu().numpy()
