"""Proxies of the target for the training-side defences: models of its family trained on the member records.

A change to how the model is trained cannot be measured on the model itself, so each defence trains a
proxy: the MLP read from the target's graph (trained on the attacker's one MLP engine) or the cloned
scikit-learn estimator, on the audit's member records. ``training.baseline`` is the undefended proxy:
an MLP trains until it is as confident as the target on population records it never saw, like the
attacker's reference models, and every other MLP proxy trains that many epochs with one change:

- ``training.l2``: L2 weight decay ``L2_DECAY`` (a scikit-learn clone: ten times its own alpha, or a
  tenth of its C);
- ``training.dropout``: dropout 0.5 after each hidden layer (ML-Leaks);
- ``training.early_stopping``: the epoch count among ``EARLY_FRACTIONS`` of the baseline's with the
  lowest log-loss on population records (the owner's held-out data);
- ``training.stacking``: two models on disjoint thirds of the members and a logistic regression on
  their log-probabilities fitted on the last third (ML-Leaks);
- ``training.dp_sgd_eps8`` and ``training.dp_sgd_eps1``: DP-SGD (``defences.dp``).

A defence the family does not allow (dropout or DP-SGD for a forest) is left out, with a note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mia_audit.defences import dp
from mia_audit.defences.output import log_loss
from mia_audit.models.released import StandIn
from mia_audit.streams import Stream, rng

if TYPE_CHECKING:
    from mia_audit.attacks.context import AttackContext
    from mia_audit.training.families import FamilyChoice
    from mia_audit.training.mlp import MLPSpec

L2_DECAY = 1e-2
DROPOUT = 0.5
EARLY_FRACTIONS = (0.125, 0.25, 0.5, 1.0)
DP_EPSILONS = (8.0, 1.0)
DP_EPOCHS = 20
DP_SAMPLING = 0.05  # expected batch: 5% of the members, between 16 and 256 records
DP_LR = 2e-3

Predict = Callable[[pd.DataFrame], np.ndarray]  # records -> (n, C) probabilities
PredictX = Callable[[np.ndarray], np.ndarray]  # model-matrix rows -> (n, C) probabilities
OnFrame = Callable[[PredictX], Predict]


@dataclass(frozen=True)
class Proxy:
    """One trained proxy: its defence id, the setting in words, and its outputs on any records."""

    id: str
    setting: str
    predict: Predict
    notes: tuple[str, ...] = ()


@dataclass
class ProxyTarget(StandIn):
    """A proxy seen as the audit's target: the model's classes and description, the proxy's outputs."""

    proxy: Proxy
    _queries: int = 0

    @property
    def queries(self) -> int:
        return self._queries

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        self._queries += len(X)
        return self.proxy.predict(X)


@dataclass(frozen=True)
class ProxyData:
    """What the proxies train on: the member rows of the audit frame, and the attacker-side encoding."""

    ctx: AttackContext
    member_rows: np.ndarray
    seed: int

    @property
    def n_classes(self) -> int:
        return self.ctx.n_classes


def train_proxies(ctx: AttackContext, member_rows: np.ndarray, choice: FamilyChoice) -> tuple[list[Proxy], list[str]]:
    """The baseline proxy and one proxy per training-side defence the family allows; notes on the others."""
    data = ProxyData(ctx, np.asarray(member_rows), ctx.seed)
    if choice.family == "mlp":
        return _mlp_proxies(data, choice), []
    return _sklearn_proxies(data, choice)


# -- MLP proxies ------------------------------------------------------------------------------------


def _mlp_proxies(data: ProxyData, choice: FamilyChoice) -> list[Proxy]:
    from mia_audit.training.reference_pool import model_matrix

    ctx = data.ctx
    encoder = ctx.encoder()
    X = model_matrix(encoder, ctx.features)
    predict_baseline, spec = _baseline(data, choice, X)

    def on_frame(predict_x: PredictX) -> Predict:
        return lambda frame: predict_x(model_matrix(encoder, frame))

    setting = f"undefended proxy: the target's architecture, {spec.epochs} epochs (as confident as the target)"
    proxies = [Proxy("training.baseline", setting, on_frame(predict_baseline))]
    for proxy_id, setting, changed in (
        ("training.l2", f"L2 weight decay {L2_DECAY:g}", replace(spec, weight_decay=L2_DECAY)),
        ("training.dropout", f"dropout {DROPOUT:g} after each hidden layer", replace(spec, dropout=DROPOUT)),
    ):
        proxies.append(Proxy(proxy_id, setting, on_frame(_train_mlp(data, X, changed))))
    proxies.append(_early_stopping(data, X, spec, on_frame))
    proxies.append(_stacking_mlp(data, X, spec, on_frame))
    for target in DP_EPSILONS:
        proxies.append(_dp_proxy(data, X, spec, target, on_frame))
    return proxies


def _baseline(data: ProxyData, choice: FamilyChoice, X: np.ndarray) -> tuple[PredictX, MLPSpec]:
    """The undefended proxy, trained until as confident as the target on population records."""
    from mia_audit.training.reference_pool import MatchedBudget, confidence_match, train_matched_pool

    ctx = data.ctx
    masks = _mask(len(X), data.member_rows)[None, :]
    reference = ctx.options.reference
    check = np.sort(rng(data.seed, Stream.DEFENCE_PROXY, 0).permutation(ctx.population_idx)[:500])
    own = ctx.undefended_probs if ctx.undefended_probs is not None else ctx.probs
    match = confidence_match(own, check) if len(check) else None  # no population: the longest budget
    budget = MatchedBudget(reference.lr, max_epochs=reference.max_epochs)
    device = ctx.options.shadow.device
    trained = train_matched_pool(
        X, ctx.labels, masks, match, choice, budget, ctx.n_classes, seed=_seed(data, 1), device=device
    )
    spec = trained.choice.mlp
    epochs = int(trained.epochs[0]) if trained.epochs else spec.epochs
    net = trained.net
    assert net is not None

    def predict_x(x: np.ndarray) -> np.ndarray:
        return np.asarray(net.predict_proba(x)[0], dtype=np.float64)

    return predict_x, replace(spec, epochs=epochs)


def _train_mlp(data: ProxyData, X: np.ndarray, spec: MLPSpec, rows: np.ndarray | None = None) -> PredictX:
    from mia_audit.training.mlp import train_batched_mlp

    ctx = data.ctx
    masks = _mask(len(X), data.member_rows if rows is None else rows)[None, :]
    net = train_batched_mlp(X, ctx.labels, masks, ctx.n_classes, spec, seed=_seed(data, 2), device="cpu")
    return lambda x: np.asarray(net.predict_proba(x)[0], dtype=np.float64)


def _early_stopping(data: ProxyData, X: np.ndarray, spec: MLPSpec, on_frame: OnFrame) -> Proxy:
    ctx = data.ctx
    population = ctx.population_idx
    if not len(population):  # no held-out records to stop on: the baseline's length
        setting = "early stopping: no population records to stop on, the baseline's length"
        return Proxy("training.early_stopping", setting, on_frame(_train_mlp(data, X, spec)))
    best: tuple[float, int, PredictX] | None = None
    for fraction in EARLY_FRACTIONS:
        epochs = max(1, round(fraction * spec.epochs))
        predict_x = _train_mlp(data, X, replace(spec, epochs=epochs))
        loss = log_loss(predict_x(X[population]), ctx.labels[population])
        if best is None or loss < best[0]:
            best = (loss, epochs, predict_x)
    assert best is not None
    setting = f"early stopping: {best[1]} of {spec.epochs} epochs, the lowest log-loss on population records"
    return Proxy("training.early_stopping", setting, on_frame(best[2]))


def _stacking_mlp(data: ProxyData, X: np.ndarray, spec: MLPSpec, on_frame: OnFrame) -> Proxy:
    first, second, third = _thirds(data)
    models = [_train_mlp(data, X, spec, rows) for rows in (first, second)]
    combine = _combiner(data, [m(X[third]) for m in models], data.ctx.labels[third])

    def predict_x(x: np.ndarray) -> np.ndarray:
        return combine([m(x) for m in models])

    setting = "model stacking: two models on disjoint thirds, a logistic regression on the last third"
    return Proxy("training.stacking", setting, on_frame(predict_x))


def _dp_proxy(data: ProxyData, X: np.ndarray, spec: MLPSpec, target: float, on_frame: OnFrame) -> Proxy:
    rows = data.member_rows
    batch = int(np.clip(round(DP_SAMPLING * len(rows)), 16, 256))
    setting = dp.plan(target, len(rows), batch, DP_EPOCHS)
    generator = rng(data.seed, Stream.DEFENCE_PROXY, 3, int(target * 1000))
    predict_x = dp.train_dp_mlp(X[rows], data.ctx.labels[rows], data.n_classes, spec, setting, DP_LR, generator)
    return Proxy(f"training.dp_sgd_eps{target:g}", setting.describe(), on_frame(predict_x))


# -- scikit-learn proxies ---------------------------------------------------------------------------


def _sklearn_proxies(data: ProxyData, choice: FamilyChoice) -> tuple[list[Proxy], list[str]]:
    ctx = data.ctx
    notes = [f"dropout and DP-SGD train neural networks; not measured for this {choice.describe()} target"]
    proxies = [Proxy("training.baseline", f"undefended proxy: {choice.describe()}", _fit_family(data, choice))]
    l2 = _with_l2(choice)
    if l2 is not None:
        proxies.append(Proxy("training.l2", l2[1], _fit_family(data, l2[0])))
    else:
        notes.append("L2: this family has no weight penalty to raise")
    early = _with_early_stopping(choice)
    if early is not None:
        proxies.append(Proxy("training.early_stopping", "early stopping on a held-out tenth", _fit_family(data, early)))
    else:
        notes.append("early stopping: this family does not train in rounds")
    first, second, third = _thirds(data)
    models = [_fit_family(data, choice, rows) for rows in (first, second)]
    frame = ctx.features.iloc[third]
    combine = _combiner(data, [m(frame) for m in models], ctx.labels[third])
    setting = "model stacking: two models on disjoint thirds, a logistic regression on the last third"
    proxies.append(Proxy("training.stacking", setting, lambda f: combine([m(f) for m in models])))
    return proxies, notes


def _fit_family(data: ProxyData, choice: FamilyChoice, rows: np.ndarray | None = None) -> Predict:
    from mia_audit.training.families import train_shadow_models

    ctx = data.ctx
    masks = _mask(len(ctx.features), data.member_rows if rows is None else rows)[None, :]
    models = train_shadow_models(
        choice, ctx.features, ctx.labels, masks, ctx.target.classes, ctx.encoder(), seed=_seed(data, 4)
    )
    return lambda frame: np.asarray(models.predict_proba(frame)[0], dtype=np.float64)


def _with_l2(choice: FamilyChoice) -> tuple[FamilyChoice, str] | None:
    estimator = choice.estimator
    if choice.family != "clone" or estimator is None:
        return None
    params = estimator.get_params()
    for key, factor, words in (("alpha", 10.0, "ten times"), ("C", 0.1, "a tenth of")):
        value = params.get(key)
        if isinstance(value, (int, float)) and value > 0:
            from sklearn.base import clone

            changed = clone(estimator).set_params(**{key: value * factor})
            return replace(choice, estimator=changed), f"L2: {key} = {value * factor:g} ({words} the model's)"
    return None


def _with_early_stopping(choice: FamilyChoice) -> FamilyChoice | None:
    estimator = choice.estimator
    if choice.family != "clone" or estimator is None or "early_stopping" not in estimator.get_params():
        return None
    from sklearn.base import clone

    return replace(choice, estimator=clone(estimator).set_params(early_stopping=True))


# -- helpers ----------------------------------------------------------------------------------------


def _mask(n: int, rows: np.ndarray) -> np.ndarray:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return mask


def _seed(data: ProxyData, purpose: int) -> int:
    return int(rng(data.seed, Stream.DEFENCE_PROXY, purpose).integers(2**31 - 1))


def _thirds(data: ProxyData) -> list[np.ndarray]:
    order = rng(data.seed, Stream.DEFENCE_PROXY, 5).permutation(data.member_rows)
    return [np.sort(part) for part in np.array_split(order, 3)]


def _combiner(
    data: ProxyData, outputs: Sequence[np.ndarray], labels: np.ndarray
) -> Callable[[Sequence[np.ndarray]], np.ndarray]:
    """A logistic regression on the first layer's log-probabilities; its classes mapped back to all of them."""
    from sklearn.linear_model import LogisticRegression

    def features(probs: Sequence[np.ndarray]) -> np.ndarray:
        return np.hstack([np.log(np.clip(p, 1e-12, 1.0)) for p in probs])

    model = LogisticRegression(max_iter=1000).fit(features(outputs), labels)
    n_classes = data.n_classes

    def combine(probs: Sequence[np.ndarray]) -> np.ndarray:
        out = np.full((len(probs[0]), n_classes), 1e-12)
        out[:, model.classes_] = model.predict_proba(features(probs))
        return out / out.sum(axis=1, keepdims=True)

    return combine
