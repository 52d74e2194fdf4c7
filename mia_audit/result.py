"""Frozen dataclasses for everything an audit produces. Renderers read these and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = "1"
RISK_LEVELS = ("low", "medium", "high", "critical")
FPR_LEVELS = ("0.01", "0.001", "0.0001")


@dataclass(frozen=True)
class RocCurve:
    """ROC points (downsampled for plotting, endpoints kept)."""

    fpr: tuple[float, ...]
    tpr: tuple[float, ...]


@dataclass(frozen=True)
class AttackMetrics:
    """Metrics of one attack on the evaluation set. ``None`` means not resolvable or not defined."""

    n_members: int
    n_nonmembers: int
    auc: float
    auc_ci: tuple[float, float]
    tpr_at_fpr: dict[str, float | None]
    tpr_at_fpr_ci: dict[str, tuple[float, float] | None]
    advantage: float
    precision: float | None
    recall: float | None
    accuracy: float | None
    fpr_at_threshold: float | None
    epsilon_lower_bound: float | None
    per_class_auc: dict[str, float | None]
    per_class_n: dict[str, tuple[int, int]]
    roc: RocCurve


@dataclass(frozen=True)
class AttackReport:
    id: str
    family: str
    title: str
    assumptions: tuple[str, ...]
    threshold: float | None
    threshold_rule: str
    signal: str | None
    queries: int
    duration_s: float
    metrics: AttackMetrics
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class SkippedAttack:
    id: str
    reason: str


@dataclass(frozen=True)
class ToolInfo:
    name: str
    version: str


@dataclass(frozen=True)
class RunInfo:
    started_at: str
    duration_s: float
    seed: int
    command: str
    config: dict[str, object]


@dataclass(frozen=True)
class ModelSummary:
    path: str
    sha256: str
    format: str
    n_classes: int
    n_features: int
    output_kind: str
    queries: int
    classes: tuple[str, ...]


@dataclass(frozen=True)
class DataSummary:
    members: int
    holdout: int
    population: int
    population_source: str
    sha256: dict[str, str]
    files: dict[str, str]
    label_col: str
    feature_cols: tuple[str, ...]
    eval_members: int
    eval_nonmembers: int
    balanced: bool


@dataclass(frozen=True)
class Utility:
    train_accuracy: float
    test_accuracy: float
    generalization_gap: float
    train_loss: float
    test_loss: float
    n_train: int
    n_test: int


@dataclass(frozen=True)
class PropertyValue:
    value: float | str | None
    interpretation: str


@dataclass(frozen=True)
class SignalDistribution:
    """Histogram of one signal for members and non-members of the evaluation set."""

    signal: str
    attack_id: str
    bin_edges: tuple[float, ...]
    members: tuple[int, ...]
    nonmembers: tuple[int, ...]


@dataclass(frozen=True)
class Risk:
    level: str
    strongest_attack: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class GateResult:
    configured: bool
    passed: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class RecordScores:
    """Per evaluation record: its row in the input file, membership, class, and every attack's score."""

    source: tuple[str, ...]
    row_index: tuple[int, ...]
    member: tuple[int, ...]
    label: tuple[str, ...]
    scores: dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class AuditResult:
    tool: ToolInfo
    run: RunInfo
    model: ModelSummary
    data: DataSummary
    utility: Utility
    attacks: tuple[AttackReport, ...]
    skipped: tuple[SkippedAttack, ...]
    properties: dict[str, PropertyValue]
    risk: Risk
    gate: GateResult
    signal_distribution: SignalDistribution | None
    records: RecordScores | None = None
    notes: tuple[str, ...] = field(default=())
    schema_version: str = SCHEMA_VERSION

    def attack(self, attack_id: str) -> AttackReport:
        for report in self.attacks:
            if report.id == attack_id:
                return report
        raise KeyError(attack_id)

    @property
    def strongest(self) -> AttackReport | None:
        if self.risk.strongest_attack is None:
            return None
        return self.attack(self.risk.strongest_attack)
