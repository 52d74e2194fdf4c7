"""What every attack receives and returns. Attacks never see the evaluation membership labels."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mia_audit.models.base import OutputKind, TargetModel
from mia_audit.training.config import ShadowConfig
from mia_audit.training.reference_config import ReferenceConfig


@dataclass(frozen=True)
class AttackContext:
    """The attacker's view of the audit.

    ``probs`` and ``labels`` cover every record (evaluation and population) and come from the one
    batched query of the target. ``eval_idx`` are the records to score; ``population_idx`` are the
    attacker's own records, known not to be training members.
    """

    probs: np.ndarray
    labels: np.ndarray
    eval_idx: np.ndarray
    population_idx: np.ndarray
    features: pd.DataFrame
    target: TargetModel
    output_kind: OutputKind
    n_classes: int
    seed: int
    threshold_fpr: float = 0.1
    train_size: int = 0
    model_path: Path | None = None
    shadow: ShadowConfig = field(default_factory=ShadowConfig)
    # LiRA and RMIA: the shared pool of reference models.
    reference: ReferenceConfig = field(default_factory=ReferenceConfig)
    # Label-only boundary attack: target queries per evaluation record.
    boundary_queries: int = 100
    # Data-transfer attack: the attacker's own dataset of another task (None: the built-in corpus).
    transfer_data: Path | None = None
    transfer_label_col: str | None = None
    # Work shared between attacks of one run (shadow data, trained shadows); never membership labels.
    cache: dict[object, object] = field(default_factory=dict)

    @property
    def eval_probs(self) -> np.ndarray:
        return self.probs[self.eval_idx]

    @property
    def eval_labels(self) -> np.ndarray:
        return self.labels[self.eval_idx]

    @property
    def population_probs(self) -> np.ndarray:
        return self.probs[self.population_idx]

    @property
    def population_labels(self) -> np.ndarray:
        return self.labels[self.population_idx]


@dataclass(frozen=True)
class AttackResult:
    """One attack's output: a membership score per evaluation record (higher = more likely member).

    ``threshold`` is the attack's own decision rule (score >= threshold means member), chosen
    without the evaluation records; ``threshold_rule`` says how.
    """

    id: str
    family: str
    title: str
    scores: np.ndarray
    threshold: float | None
    threshold_rule: str
    assumptions: tuple[str, ...]
    queries: int
    duration_s: float
    signal: str | None = None
    notes: tuple[str, ...] = field(default=())
