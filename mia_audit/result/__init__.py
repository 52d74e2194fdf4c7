"""Frozen dataclasses for everything an audit produces. Renderers read these and nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field

SCHEMA_VERSION = "1"
RISK_LEVELS = ("low", "medium", "high", "critical")
# The verdict when the evidence cannot tell the level: too few records, or an interval that reaches a higher level.
INCONCLUSIVE = "inconclusive"
FPR_LEVELS = ("0.01", "0.001", "0.0001")
# How much the report shows (--detail): the findings and compact appendices, or every table in full.
DETAILS = ("summary", "full")


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
    # What the attacker is assumed to have, from mia_audit.attacks.interface.KNOWLEDGE (the report's matrix).
    knowledge: tuple[str, ...] = ()


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
    # What the numbers depend on besides the inputs and the seed: versions, threads, device.
    environment: dict[str, object] = field(default_factory=dict)


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
    family: str = "unknown"
    task: str = "classification"  # or "regression": one predicted value per record, no classes


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
    # Held-out and population records left out because they copy a training member (features and label).
    member_copies: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Utility:
    train_accuracy: float
    test_accuracy: float
    generalization_gap: float
    train_loss: float
    test_loss: float
    n_train: int
    n_test: int
    # What train_accuracy and test_accuracy measure ("R²" for a regressor) and what the losses are.
    measure: str = "accuracy"
    loss: str = "cross-entropy"


@dataclass(frozen=True)
class PropertyValue:
    """One data or model property (Tonni et al.): its value, a one-line reading, and what it was measured on."""

    value: float | str | None
    interpretation: str
    basis: str = ""
    category: str = ""
    title: str = ""


@dataclass(frozen=True)
class SignalDistribution:
    """Histogram of one signal for members and non-members of the evaluation set."""

    signal: str
    attack_id: str
    bin_edges: tuple[float, ...]
    members: tuple[int, ...]
    nonmembers: tuple[int, ...]


@dataclass(frozen=True)
class RiskRule:
    """A level's bounds: an attack reaching either (and distinguishable from chance) raises the risk to it."""

    level: str
    min_tpr_at_1pct_fpr: float
    min_auc: float
    rationale: str


@dataclass(frozen=True)
class Risk:
    level: str
    strongest_attack: str | None
    reasons: tuple[str, ...]
    # The rules the level was set by, strictest first, for the report to show.
    rules: tuple[RiskRule, ...] = ()
    # The level the evidence shows at least (the level itself unless it is inconclusive).
    at_least: str = "low"
    # When inconclusive: what would settle it, in words (how many records).
    settle: str | None = None


@dataclass(frozen=True)
class GateRule:
    """One configured gate rule and how the audit fared: the limit, the worst value seen, and where."""

    name: str  # fail_on, max_auc, max_tpr_at_fpr.0.01, max_epsilon or baseline
    limit: float | str
    passed: bool
    observed: float | str | None
    attack: str | None
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class GateResult:
    configured: bool
    passed: bool
    reasons: tuple[str, ...]
    rules: tuple[GateRule, ...] = ()
    # The risk verdict was inconclusive (a configured gate then fails unless --allow-inconclusive).
    inconclusive: bool = False


@dataclass(frozen=True)
class MetricComparison:
    """One metric of the compared attack, now and in the baseline, with both 95% intervals.

    ``status`` is ``worse`` when the current interval lies wholly above the baseline's, ``better``
    when wholly below, ``within intervals`` when they overlap, ``not comparable`` when either is missing.
    """

    metric: str
    baseline: float | None
    baseline_ci: tuple[float, float] | None
    current: float | None
    current_ci: tuple[float, float] | None
    status: str


@dataclass(frozen=True)
class BaselineComparison:
    """The strongest attack of this audit against the same attack (or the strongest) of an earlier report."""

    path: str
    baseline_started_at: str
    baseline_version: str
    current_attack: str | None
    baseline_attack: str | None
    matched_by: str  # "same attack" | "strongest vs strongest" | "nothing to compare"
    metrics: tuple[MetricComparison, ...]
    worse: bool
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RecordScores:
    """Per evaluation record: its row in the input file, membership, class, and every attack's score."""

    source: tuple[str, ...]
    row_index: tuple[int, ...]
    member: tuple[int, ...]
    label: tuple[str, ...]
    scores: dict[str, tuple[float, ...]]


@dataclass(frozen=True)
class EpsilonHalf:
    """One direction of the split-half ε bound: attack and threshold chosen on one half, counted on the other."""

    chosen_on: str
    attack_id: str
    threshold: float
    tp: int
    fn: int
    fp: int
    tn: int
    epsilon: float


@dataclass(frozen=True)
class EpsilonEstimate:
    """The audit's ε lower bound: the smaller of the two split-half directions (see ``mia_audit.judge.epsilon``)."""

    epsilon: float
    level: float
    halves: tuple[EpsilonHalf, ...]
    candidates: tuple[str, ...]


@dataclass(frozen=True)
class ExposedRecord:
    """One of the records the strongest attack scores highest. ``features`` only with --include-records."""

    rank: int
    row_index: int
    source: str
    member: int
    label: str
    score: float
    features: dict[str, str] | None = None


@dataclass(frozen=True)
class Mitigation:
    """One countermeasure: whether this audit's findings call for it, why, and its reported effect."""

    id: str
    title: str
    priority: str  # "recommended" | "consider" | "not indicated"
    finding: str
    action: str
    expected_effect: str
    caveat: str


@dataclass(frozen=True)
class SubsetExposure:
    """The strongest attack within one class or sensitive group, against that subset's own records.

    ``*_ci`` are the two-sided ``level`` intervals; ``*_lower_adjusted`` the lower bounds of the
    Bonferroni-adjusted intervals that the flag uses. ``None`` where the subset cannot resolve the value.
    """

    name: str
    n_members: int
    n_nonmembers: int
    auc: float | None
    auc_ci: tuple[float, float] | None
    auc_lower_adjusted: float | None
    tpr_at_1pct_fpr: float | None
    tpr_ci: tuple[float, float] | None
    tpr_lower_adjusted: float | None
    flagged: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExposureBreakdown:
    """Per-class or per-group exposure: ``kind`` is "class" or "group", ``column`` the column it splits on."""

    kind: str
    column: str
    rows: tuple[SubsetExposure, ...]
    n_tests: int
    widest_gap: tuple[str, str, float] | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DisparateVulnerability:
    """The strongest attack's exposure overall and per class / per sensitive group (``by_group`` None without one)."""

    attack_id: str
    level: float
    n_members: int
    n_nonmembers: int
    auc: float
    auc_ci: tuple[float, float]
    tpr_at_1pct_fpr: float | None
    tpr_ci: tuple[float, float] | None
    by_class: ExposureBreakdown
    by_group: ExposureBreakdown | None
    group_note: str = ""
    min_flag_records: int = 30

    @property
    def flagged(self) -> tuple[SubsetExposure, ...]:
        rows = self.by_class.rows + (self.by_group.rows if self.by_group else ())
        return tuple(r for r in rows if r.flagged)

    def flag_summary(self) -> str | None:
        """One line naming the flagged classes and groups, or None when nothing is flagged."""
        parts = []
        for breakdown in (self.by_class, self.by_group):
            if breakdown is None:
                continue
            flagged = [r.name for r in breakdown.rows if r.flagged]
            if flagged:
                parts.append(f"{breakdown.column} = {', '.join(flagged)}")
        if not parts:
            return None
        return f"More exposed than overall to {self.attack_id}: " + "; ".join(parts)


@dataclass(frozen=True)
class DefenceAttack:
    """One attack's numbers behind a defence. ``rerun`` false: the undefended result holds as it is (the
    attack reads only predicted labels, which this defence leaves unchanged)."""

    id: str
    auc: float
    auc_ci: tuple[float, float]
    tpr_at_fpr: dict[str, float | None]
    n_members: int
    n_nonmembers: int
    rerun: bool = True
    duration_s: float = 0.0


@dataclass(frozen=True)
class DefenceUtility:
    """What a defence costs, on held-out records: accuracy, and log-loss and calibration error (ECE),
    each with its change from the undefended model (None where not measured)."""

    test_accuracy: float
    accuracy_change: float
    log_loss: float | None = None
    log_loss_change: float | None = None
    calibration_error: float | None = None
    calibration_error_change: float | None = None


@dataclass(frozen=True)
class DefenceResult:
    """One measured defence (report.json ``defences[]``): its setting, cost, and the attacks behind it."""

    id: str
    kind: str  # "output" | "training"
    setting: str
    utility: DefenceUtility
    attacks: tuple[DefenceAttack, ...]
    risk_level: str
    strongest_attack: str | None
    notes: tuple[str, ...] = ()
    duration_s: float = 0.0

    @property
    def best(self) -> DefenceAttack | None:
        """The attack with the highest TPR at 1% FPR (then AUC)."""
        if not self.attacks:
            return None
        return max(self.attacks, key=lambda a: (a.tpr_at_fpr.get("0.01") or 0.0, a.auc))


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
    vulnerability: DisparateVulnerability | None = None
    notes: tuple[str, ...] = field(default=())
    epsilon: EpsilonEstimate | None = None
    exposed: tuple[ExposedRecord, ...] = ()
    mitigations: tuple[Mitigation, ...] = ()
    baseline: BaselineComparison | None = None
    schema_version: str = SCHEMA_VERSION
    # What may make the numbers understate the leakage (e.g. the architecture could not be read).
    warnings: tuple[str, ...] = ()
    defences: tuple[DefenceResult, ...] = ()

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
