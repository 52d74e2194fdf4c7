"""Shadow / reference model families, and the choice of family for a target.

Every family trains K models, each on its own subset (a row of ``masks``) of one shared frame,
and answers ``predict_proba(frame) -> (K, n, C)`` in the target's class order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from mia_audit.data.labels import label_key
from mia_audit.errors import ConfigError
from mia_audit.models.architecture import InferredArchitecture
from mia_audit.models.base import TargetModel
from mia_audit.training import backend
from mia_audit.training.backend import Estimators, LocalEstimators
from mia_audit.training.config import FAMILIES
from mia_audit.training.encoding import FeatureEncoder
from mia_audit.training.mlp import MLPOutputs, MLPSpec, train_batched_mlp


@dataclass(frozen=True)
class FamilyChoice:
    """A concrete family with its settings, and why it was chosen (for the report)."""

    family: str
    reason: str
    mlp: MLPSpec = field(default_factory=MLPSpec)
    n_estimators: int = 100
    max_depth: int | None = None
    # Random forests: read off the target's leaves and root splits where the graph shows them;
    # the defaults are scikit-learn's.
    min_samples_leaf: int = 1
    max_features: float | str = "sqrt"
    # Boosting: "hist" (HistGradientBoostingClassifier, the default) or "gradient" (scikit-learn's
    # GradientBoostingClassifier, where the graph shows one), and the learning rate.
    booster: str = "hist"
    learning_rate: float = 0.1
    estimator: Any = None
    # ``auto`` could not read the target's family and fell back to a default MLP.
    fallback: bool = False

    def describe(self) -> str:
        if self.family == "mlp":
            return f"MLP {self.mlp.hidden} {self.mlp.activation}, {self.mlp.epochs} epochs"
        if self.family in ("rf", "gbm"):
            depth = "unlimited" if self.max_depth is None else self.max_depth
            extra = "" if self.min_samples_leaf == 1 else f", leaves of at least {self.min_samples_leaf}"
            if self.max_features != "sqrt":
                extra += f", max_features {self.max_features}"
            if self.family == "gbm":
                extra += f", {_BOOSTERS[self.booster]}, learning rate {self.learning_rate:g}"
            return f"{self.family} with {self.n_estimators} trees, depth {depth}{extra}"
        if self.family == "clone":
            return f"clone of the target ({type(self.estimator).__name__})"
        return self.family


_BOOSTERS = {"hist": "HistGradientBoosting", "gradient": "GradientBoosting"}


class ShadowModels(Protocol):
    @property
    def n_models(self) -> int: ...

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray: ...


class Copyable(Protocol):
    """What ``auto`` reads off a target, classifier or regressor: its estimator or its graph's architecture."""

    @property
    def estimator(self) -> Any: ...

    @property
    def architecture(self) -> InferredArchitecture | None: ...


def choose_family(requested: str, target: TargetModel | Copyable, mlp: MLPSpec | None = None) -> FamilyChoice:
    """Resolve ``--shadow-family``; ``auto`` copies what can be read off the target."""
    mlp = mlp or MLPSpec()
    if requested not in FAMILIES:
        raise ConfigError(f"unknown model family '{requested}'; choose from {', '.join(FAMILIES)}.")
    estimator = getattr(target, "estimator", None)
    if requested == "clone":
        if estimator is None:
            raise ConfigError(
                "--shadow-family clone needs a scikit-learn target; for ONNX use auto, mlp, logreg, rf or gbm."
            )
        return FamilyChoice(
            "clone", "clone of the scikit-learn target (same estimator and settings)", estimator=estimator
        )
    if requested != "auto":
        return FamilyChoice(requested, f"{requested} as requested", mlp=mlp)
    if estimator is not None:
        return FamilyChoice(
            "clone",
            f"auto: the target is a scikit-learn {type(estimator).__name__}, so shadows are clones of it",
            estimator=estimator,
        )
    arch = target.architecture
    if arch is None:
        return FamilyChoice("mlp", "auto: architecture unknown, default MLP", mlp=mlp, fallback=True)
    return _from_graph(arch, mlp)


def _from_graph(arch: InferredArchitecture, mlp: MLPSpec) -> FamilyChoice:
    from dataclasses import replace

    if arch.family == "mlp" and arch.hidden:
        spec = replace(mlp, hidden=arch.hidden, activation=arch.activation or mlp.activation)
        return FamilyChoice("mlp", f"auto: {arch.reason}", mlp=spec)
    if arch.family in ("rf", "gbm"):
        # A depth the graph shows was not a limit (few trees reach it) is left unlimited, as the
        # target grew it; an unreadable one stays a limit.
        return FamilyChoice(
            arch.family,
            f"auto: {arch.reason}",
            n_estimators=arch.n_estimators or 100,
            max_depth=None if arch.depth_limited is False else arch.max_depth,
            min_samples_leaf=arch.min_samples_leaf or 1,
            max_features=arch.max_features if arch.max_features is not None else "sqrt",
            booster=arch.booster or "hist",
            learning_rate=arch.learning_rate or 0.1,
        )
    if arch.family == "logreg":
        return FamilyChoice("logreg", f"auto: {arch.reason}")
    reason = f"auto: {arch.reason or 'architecture not readable'}; default MLP"
    return FamilyChoice("mlp", reason, mlp=mlp, fallback=True)


def train_shadow_models(
    choice: FamilyChoice,
    frame: pd.DataFrame,
    labels: np.ndarray,
    masks: np.ndarray,
    classes: Sequence[object],
    encoder: FeatureEncoder,
    *,
    seed: int,
    device: str = "cpu",
) -> ShadowModels:
    """Train ``len(masks)`` models of one family, model k on the rows where ``masks[k]``."""
    n_classes = len(classes)
    if choice.family == "mlp":
        X = encoder.transform(frame)
        remote = backend.current()
        if remote is not None and len(masks) > 1:
            net = remote.batched_mlps(X, labels, masks, n_classes, choice.mlp, seed=seed, device=device)
        else:
            net = train_batched_mlp(X, labels, masks, n_classes, choice.mlp, seed=seed, device=device)
        return _EncodedModels(encoder, net)
    if choice.family == "clone":
        fitted = _fit_parallel([choice.estimator] * len(masks), frame, _class_values(classes)[labels], masks, seed)
        return _SklearnModels(fitted, classes, encoder=None)
    X = encoder.transform(frame)
    fitted = _fit_parallel([_estimator(choice, seed + k) for k in range(len(masks))], X, labels, masks, seed)
    return _SklearnModels(fitted, list(range(n_classes)), encoder=encoder)


def _estimator(choice: FamilyChoice, seed: int) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression

    if choice.family == "logreg":
        return LogisticRegression(C=100.0, max_iter=2000)
    if choice.family == "rf":
        return RandomForestClassifier(
            n_estimators=choice.n_estimators,
            max_depth=choice.max_depth,
            min_samples_leaf=choice.min_samples_leaf,
            max_features=choice.max_features,
            random_state=seed,
        )
    if choice.family == "gbm" and choice.booster == "gradient":
        return GradientBoostingClassifier(
            n_estimators=choice.n_estimators,
            max_depth=choice.max_depth,
            learning_rate=choice.learning_rate,
            random_state=seed,
        )
    if choice.family == "gbm":
        return HistGradientBoostingClassifier(
            max_iter=choice.n_estimators,
            max_depth=choice.max_depth,
            learning_rate=choice.learning_rate,
            early_stopping=False,
            random_state=seed,
        )
    raise ConfigError(f"unknown shadow family '{choice.family}'")


def train_regressors(
    choice: FamilyChoice,
    frame: pd.DataFrame,
    targets: np.ndarray,
    masks: np.ndarray,
    encoder: FeatureEncoder,
    *,
    seed: int,
) -> np.ndarray:
    """Fit ``len(masks)`` scikit-learn regressors (clone, logreg → ridge, rf, gbm), model k on the rows where
    ``masks[k]``, and return every model's prediction for every row of ``frame``: ``(K, n)``."""
    if choice.family == "clone":
        X: Any = frame
        fitted = _fit_parallel([choice.estimator] * len(masks), X, targets, masks, seed)
    else:
        X = encoder.transform(frame)
        estimators = [_regression_estimator(choice, seed + k) for k in range(len(masks))]
        fitted = _fit_parallel(estimators, X, targets, masks, seed)
    return np.stack([np.asarray(p, dtype=np.float64).reshape(len(frame)) for p in fitted.each("predict", X)])


def _regression_estimator(choice: FamilyChoice, seed: int) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor, HistGradientBoostingRegressor, RandomForestRegressor
    from sklearn.linear_model import Ridge

    if choice.family == "logreg":
        return Ridge(alpha=1e-3)
    if choice.family == "rf":
        return RandomForestRegressor(
            n_estimators=choice.n_estimators,
            max_depth=choice.max_depth,
            min_samples_leaf=choice.min_samples_leaf,
            max_features=1.0 if choice.max_features == "sqrt" else choice.max_features,
            random_state=seed,
        )
    if choice.family == "gbm" and choice.booster == "gradient":
        return GradientBoostingRegressor(
            n_estimators=choice.n_estimators,
            max_depth=choice.max_depth,
            learning_rate=choice.learning_rate,
            random_state=seed,
        )
    if choice.family == "gbm":
        return HistGradientBoostingRegressor(
            max_iter=choice.n_estimators,
            max_depth=choice.max_depth,
            learning_rate=choice.learning_rate,
            early_stopping=False,
            random_state=seed,
        )
    raise ConfigError(f"no regressor of family '{choice.family}'; choose auto, mlp, logreg, rf, gbm or clone")


def fit_one(estimator: Any, X: Any, y: np.ndarray, seed: int, n_jobs: int = 1) -> Any:
    """A fitted clone of ``estimator``, seeded with ``seed`` where it takes one."""
    import warnings

    from sklearn.base import clone

    model = clone(estimator)
    params = model.get_params()
    # Each shadow gets its own seed where the estimator takes one, so shadows differ like retrainings do.
    seeded: dict[str, Any] = {k: seed for k in params if k == "random_state" or k.endswith("__random_state")}
    # A lone fit (shadow.combined's one forest) uses every core; a forest's trees do not depend on it.
    seeded.update({k: n_jobs for k in params if n_jobs > 1 and (k == "n_jobs" or k.endswith("__n_jobs"))})
    if seeded:
        model.set_params(**seeded)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(X, y)


def rows_of(X: Any, mask: np.ndarray) -> Any:
    """The rows of a matrix or a frame where ``mask``."""
    return X.loc[mask] if isinstance(X, pd.DataFrame) else X[mask]


def _fit_parallel(estimators: list[Any], X: Any, y: np.ndarray, masks: np.ndarray, seed: int) -> Estimators:
    """Model ``k`` is ``clone(estimators[k])`` fitted on the rows where ``masks[k]`` with seed ``seed + k``: on
    the run's backend when it has one, else two at a time here."""
    from joblib import Parallel, delayed

    from mia_audit.environment import available_cores

    remote = backend.current()
    if remote is not None and len(masks) > 1:
        return remote.fit_estimators(estimators, X, y, masks, seed)
    lone = available_cores() if len(masks) == 1 else 1
    fitted = Parallel(n_jobs=min(2, len(masks)), prefer="threads")(
        delayed(fit_one)(est, rows_of(X, m), y[m], seed + k, lone)
        for k, (est, m) in enumerate(zip(estimators, masks, strict=True))
    )
    return LocalEstimators(fitted)


@dataclass(frozen=True)
class _EncodedModels:
    encoder: FeatureEncoder
    net: MLPOutputs

    @property
    def n_models(self) -> int:
        return int(self.net.n_models)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.net.predict_proba(self.encoder.transform(frame)), dtype=np.float64)


@dataclass(frozen=True)
class _SklearnModels:
    models: Estimators
    classes: Sequence[object]
    encoder: FeatureEncoder | None

    @property
    def n_models(self) -> int:
        return len(self.models.classes)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        X = frame if self.encoder is None else self.encoder.transform(frame)
        out = np.zeros((self.n_models, len(frame), len(self.classes)))
        position = {label_key(c): i for i, c in enumerate(self.classes)}
        for k, (classes, probs) in enumerate(
            zip(self.models.classes, self.models.each("predict_proba", X), strict=True)
        ):
            # A shadow whose subset lacked a class has fewer columns: place them by class.
            out[k][:, [position[label_key(c)] for c in classes]] = probs
        return out


def _class_values(classes: Sequence[object]) -> np.ndarray:
    """The target's classes as an array scikit-learn accepts as labels (ints stay ints, text stays text)."""
    values = np.asarray(list(classes))
    return values.astype(str) if values.dtype == object else values
