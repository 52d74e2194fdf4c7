"""The attacker's view of a regression audit (``--task regression``), and the reference pools it shares.

``predictions`` and ``targets`` cover every record (evaluation and population): the target's
predicted value from the one batched query, and the record's true value. As in
:class:`~mia_audit.attacks.context.AttackContext`, the evaluation membership is not here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pandas as pd

from mia_audit.attacks.context import AttackOptions, SharedWork

if TYPE_CHECKING:
    from mia_audit.models.regressor import Regressor
    from mia_audit.training.encoding import FeatureEncoder
    from mia_audit.training.regression_pool import RegressionPool


@dataclass(frozen=True)
class RegressionContext:
    task: ClassVar[str] = "regression"
    predictions: np.ndarray
    targets: np.ndarray
    eval_idx: np.ndarray
    population_idx: np.ndarray
    features: pd.DataFrame
    target: Regressor
    seed: int = 0
    train_size: int = 0
    options: AttackOptions = field(default_factory=AttackOptions)
    shared: SharedWork = field(default_factory=SharedWork, repr=False, compare=False)

    def squared_error(self, rows: np.ndarray) -> np.ndarray:
        """The target's squared error on ``rows``."""
        return np.square(self.targets[rows] - self.predictions[rows])

    def encoder(self) -> FeatureEncoder:
        """The feature encoding, fitted on the attacker's population records."""
        from mia_audit.training.encoding import FeatureEncoder

        return self.shared.get("encoder", lambda: FeatureEncoder.fit(self.features.iloc[self.population_idx]))

    def reference_pool(self, *, offline: bool = False) -> RegressionPool:
        """K reference regressors: online, IN for half the candidates; ``offline``, trained on population only."""
        return self.shared.get(("regression_pool", offline), lambda: self._build_pool(offline))

    def _build_pool(self, offline: bool) -> RegressionPool:
        from mia_audit.training.families import choose_family
        from mia_audit.training.reference_pool import pool_split
        from mia_audit.training.regression_pool import build_regression_pool

        cfg = self.options.reference
        choice = choose_family(cfg.family, self.target, cfg.mlp())
        train_size = self.train_size or len(self.eval_idx) // 2
        split = pool_split(
            len(self.features), self.eval_idx, self.population_idx, train_size, cfg.n_models, self.seed, offline=offline
        )
        return build_regression_pool(
            self.features,
            self.targets,
            self.predictions,
            split,
            choice,
            cfg,
            self.encoder(),
            seed=self.seed + 1 if offline else self.seed,
            device=self.options.shadow.device,
        )
