"""A realistic ``AuditResult`` built by hand, for the renderer tests.

The numbers follow an equal-variance binormal model of the attack scores (TPR = Φ(Φ⁻¹(FPR) + d),
AUC = Φ(d/√2)), so ROC points, AUCs, TPRs at fixed FPR and the precision/recall at the threshold
agree with each other the way real metrics would.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from pathlib import Path
from statistics import NormalDist

import pytest

from mia_audit.judge.exposure import most_exposed
from mia_audit.judge.mitigations import recommend
from mia_audit.judge.risk import RISK_RULES
from mia_audit.result import (
    AttackMetrics,
    AttackReport,
    AuditResult,
    DataSummary,
    DefenceAttack,
    DefenceResult,
    DefenceUtility,
    EpsilonEstimate,
    EpsilonHalf,
    GateResult,
    ModelSummary,
    PropertyValue,
    RecordScores,
    Risk,
    RocCurve,
    RunInfo,
    SignalDistribution,
    SkippedAttack,
    ToolInfo,
    Utility,
)

N_EVAL = 3000
CLASSES = ("approve", "review", "decline", "fraud")
_PHI = NormalDist()

# attack id, title, signal, separation d of the binormal model
_ATTACKS = (
    ("threshold.loss", "Loss threshold (Yeom et al.)", "loss", 1.09),
    ("threshold.confidence", "True-class confidence threshold", "confidence", 1.00),
    ("threshold.entropy", "Prediction-entropy threshold", "entropy", 0.55),
    ("threshold.modified_entropy", "Modified-entropy threshold (Song & Mittal)", "modified_entropy", 1.05),
)


def _tpr(fpr: float, d: float) -> float:
    if fpr <= 0:
        return 0.0
    if fpr >= 1:
        return 1.0
    return _PHI.cdf(_PHI.inv_cdf(fpr) + d)


def _half_width(p: float, n: int) -> float:
    return 1.96 * math.sqrt(max(p * (1 - p), 1e-4) / n)


def _metrics(d: float, unresolvable_001: bool) -> AttackMetrics:
    auc = _PHI.cdf(d / math.sqrt(2))
    fprs = [0.0] + [10 ** (-3.45 + 3.45 * i / 40) for i in range(41)]
    roc = RocCurve(
        fpr=tuple(round(f, 6) for f in fprs),
        tpr=tuple(round(_tpr(f, d), 6) for f in fprs),
    )
    tpr_1 = _tpr(0.01, d)
    tpr_01 = None if unresolvable_001 else _tpr(0.001, d)
    fpr_thr = 0.103
    recall = _tpr(fpr_thr, d)
    precision = recall / (recall + fpr_thr)
    hw = 0.012
    offsets = (0.04, -0.03, 0.10)
    per_class: dict[str, float | None] = {c: round(auc + o, 3) for c, o in zip(CLASSES[:3], offsets, strict=True)}
    per_class["fraud"] = None
    return AttackMetrics(
        n_members=N_EVAL,
        n_nonmembers=N_EVAL,
        auc=round(auc, 4),
        auc_ci=(round(auc - hw, 4), round(auc + hw, 4)),
        tpr_at_fpr={"0.01": tpr_1, "0.001": tpr_01, "0.0001": None},
        tpr_at_fpr_ci={
            "0.01": (tpr_1 - _half_width(tpr_1, N_EVAL), tpr_1 + _half_width(tpr_1, N_EVAL)),
            "0.001": None if tpr_01 is None else (max(0.0, tpr_01 - _half_width(tpr_01, N_EVAL)), tpr_01 + 0.006),
            "0.0001": None,
        },
        advantage=round(2 * _PHI.cdf(d / 2) - 1, 4),
        precision=round(precision, 4),
        recall=round(recall, 4),
        accuracy=round((recall + 1 - fpr_thr) / 2, 4),
        fpr_at_threshold=fpr_thr,
        epsilon_lower_bound=round(math.log((recall - 0.02) / (fpr_thr + 0.012)), 3) if d > 0.8 else None,
        per_class_auc=per_class,
        per_class_n={
            "approve": (1320, 1295),
            "review": (1010, 1030),
            "decline": (658, 675),
            "fraud": (12, 0),
        },
        roc=roc,
    )


def _attacks() -> tuple[AttackReport, ...]:
    reports = []
    for attack_id, title, signal, d in _ATTACKS:
        reports.append(
            AttackReport(
                id=attack_id,
                family="threshold",
                title=title,
                assumptions=(
                    "black-box access to output probabilities",
                    "knows the true labels of the records it tests",
                    "has records from the same distribution (the population)",
                ),
                threshold=-0.3417 if signal == "loss" else 0.8123,
                threshold_rule="score ≥ 90th percentile of the population's scores (10% of known non-members flagged)",
                signal=signal,
                queries=0,
                duration_s=0.0123 + d / 100,
                metrics=_metrics(d, unresolvable_001=signal == "entropy"),
                notes=("score = −loss; ties broken by record order",) if signal == "loss" else (),
                knowledge=("output probabilities", "true labels", "population records")
                if signal in ("loss", "modified_entropy")
                else ("output probabilities", "population records"),
            )
        )
    return tuple(reports)


def _distribution() -> SignalDistribution:
    edges = tuple(round(0.1 * i, 2) for i in range(31))

    def counts(mean: float) -> tuple[int, ...]:
        cdf = [1 - math.exp(-e / mean) for e in edges]
        cdf[-1] = 1.0
        return tuple(round(N_EVAL * (cdf[i + 1] - cdf[i])) for i in range(len(edges) - 1))

    return SignalDistribution(
        signal="loss",
        attack_id="threshold.loss",
        bin_edges=edges,
        members=counts(0.22),
        nonmembers=counts(0.75),
    )


def _records(attacks: tuple[AttackReport, ...]) -> RecordScores:
    rng = random.Random(7)
    n = 60
    member = tuple(int(i % 2 == 0) for i in range(n))
    scores = {a.id: tuple(round(-rng.expovariate(1 / (0.2 if m else 0.7)), 5) for m in member) for a in attacks}
    return RecordScores(
        source=tuple("members" if m else "holdout" for m in member),
        row_index=tuple(rng.randrange(5000) for _ in range(n)),
        member=member,
        label=tuple(rng.choice(CLASSES[:3]) for _ in range(n)),
        scores=scores,
    )


def _epsilon() -> EpsilonEstimate:
    halves = (
        EpsilonHalf("A", "threshold.loss", -0.0412, tp=412, fn=1088, fp=3, tn=1497, epsilon=3.71),
        EpsilonHalf("B", "threshold.modified_entropy", 0.9231, tp=388, fn=1112, fp=2, tn=1498, epsilon=3.66),
    )
    return EpsilonEstimate(epsilon=3.66, level=0.95, halves=halves, candidates=tuple(a[0] for a in _ATTACKS))


def make_defences() -> tuple[DefenceResult, ...]:
    """Two measured output defences: top-1 release lowers the level to medium, label-only release to low."""
    levels = {"0.01": None, "0.001": None, "0.0001": None}
    top1 = DefenceResult(
        id="output.top1",
        kind="output",
        setting="release only the top-1 probability",
        utility=DefenceUtility(0.844, 0.0, 2.371, 1.9, 0.118, 0.021),
        attacks=(
            DefenceAttack("threshold.loss", 0.664, (0.653, 0.675), {**levels, "0.01": 0.031}, N_EVAL, N_EVAL),
            DefenceAttack("label_only.gap", 0.559, (0.551, 0.567), {**levels, "0.01": 0.0}, N_EVAL, N_EVAL, False),
        ),
        risk_level="medium",
        strongest_attack="threshold.loss",
        notes=("a note every release carries", "top-1 note"),
        duration_s=1.25,
    )
    label_only = DefenceResult(
        id="output.label_only",
        kind="output",
        setting="release the predicted label only",
        utility=DefenceUtility(0.844, 0.0, 4.371, 3.9, 0.156, 0.059),
        attacks=(
            DefenceAttack("label_only.gap", 0.559, (0.551, 0.567), {**levels, "0.01": 0.0}, N_EVAL, N_EVAL, False),
        ),
        risk_level="low",
        strongest_attack=None,
        notes=("a note every release carries",),
    )
    return (top1, label_only)


def make_audit_result(**overrides: object) -> AuditResult:
    """The fixture result; keyword arguments replace top-level fields."""
    attacks = _attacks()
    fields: dict[str, object] = dict(
        tool=ToolInfo(name="mia-audit", version="0.1.0"),
        run=RunInfo(
            started_at="2025-03-14T09:26:53+00:00",
            duration_s=48.23,
            seed=7,
            command="mia-audit scan models/credit_grade_mlp.onnx --members data/train.parquet "
            "--holdout data/holdout.parquet --label-col grade --seed 7 --max-auc 0.70 "
            "--max-tpr-at-1fpr 0.05 --out report/",
            config={
                "attacks": ["threshold"],
                "balanced": True,
                "population_share": 0.4,
                "threshold_fpr": 0.1,
                "max_auc": 0.7,
                "max_tpr_at_1fpr": 0.05,
            },
        ),
        model=ModelSummary(
            path="models/credit_grade_mlp.onnx",
            sha256="9f2c4e7a1b3d5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8",
            format="onnx",
            n_classes=4,
            n_features=24,
            output_kind="probabilities",
            queries=10000,
            classes=CLASSES,
        ),
        data=DataSummary(
            members=5000,
            holdout=5000,
            population=2000,
            population_source="holdout share (40%, seed 7), excluded from evaluation",
            sha256={
                "members": "3b7e1f0c2d4a6b8e9f1a2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f",
                "holdout": "c0ffee1234567890abcdef1234567890abcdef1234567890abcdef1234567890",
            },
            files={"members": "data/train.parquet", "holdout": "data/holdout.parquet"},
            label_col="grade",
            feature_cols=tuple(
                ["age", "income", "loan_amount", "term_months", "credit_lines", "utilisation"]
                + [f"bureau_{i:02d}" for i in range(18)]
            ),
            eval_members=N_EVAL,
            eval_nonmembers=N_EVAL,
            balanced=True,
        ),
        utility=Utility(
            train_accuracy=0.962,
            test_accuracy=0.844,
            generalization_gap=0.118,
            train_loss=0.112,
            test_loss=0.471,
            n_train=5000,
            n_test=5000,
        ),
        attacks=attacks,
        skipped=(
            SkippedAttack(
                id="lira.online",
                reason="needs at least 2× as many population records as members (got 2,000 for 5,000 members)",
            ),
            SkippedAttack(
                id="label_only.boundary",
                reason="not requested: label-only attacks run with --attacks label_only",
            ),
        ),
        properties={
            "class_balance": PropertyValue(
                0.412, "Minority classes are small; their records are usually more exposed."
            ),
            "dataset_entropy": PropertyValue(1.386, "Moderate label entropy (max 2.0 for 4 classes)."),
            "n_features": PropertyValue(24, "Few features; each record is less unique."),
            "generalization_gap": PropertyValue(
                0.118, "Large gap between train and test accuracy: the model memorises."
            ),
            "mia_indistinguishability": PropertyValue(0.31, "δ_mi well above 0: member and non-member outputs differ."),
            "individual_fairness": PropertyValue(None, "Not computed: needs a distance metric."),
        },
        risk=Risk(
            level="high",
            strongest_attack="threshold.loss",
            reasons=(
                "threshold.loss finds 10.8% of members at 1% FPR (≥ 5%)",
                "threshold.loss AUC 0.780 [0.768, 0.792] (≥ 0.75)",
            ),
            rules=RISK_RULES,
        ),
        gate=GateResult(
            configured=True,
            passed=False,
            reasons=(
                "threshold.loss AUC 0.780 > --max-auc 0.70",
                "threshold.loss TPR at 1% FPR 10.8% > --max-tpr-at-1fpr 5.0%",
            ),
        ),
        signal_distribution=_distribution(),
        records=_records(attacks),
        notes=("Evaluation members were subsampled to balance the 3,000 non-members.",),
        defences=make_defences(),
    )
    fields["epsilon"] = _epsilon()
    fields["mitigations"] = recommend(
        "high",
        fields["utility"],
        "probabilities",
        "mlp",
        fields["epsilon"],
        attacks,  # type: ignore[arg-type]
    )
    fields.update(overrides)
    records, risk = fields["records"], fields["risk"]
    if "exposed" not in overrides and records is not None and risk.strongest_attack:  # type: ignore[attr-defined]
        fields["exposed"] = most_exposed(records, risk.strongest_attack)  # type: ignore[arg-type, attr-defined]
    return AuditResult(**fields)  # type: ignore[arg-type]


@pytest.fixture
def audit_result() -> AuditResult:
    """The realistic result: 4 threshold attacks, risk high, gate failed, records kept."""
    return make_audit_result()


@pytest.fixture
def make_result() -> Callable[..., AuditResult]:
    """The builder, to make variants: ``make_result(records=None, ...)``."""
    return make_audit_result


@pytest.fixture(scope="session")
def report_html() -> str:
    """The fixture result rendered to HTML once per session (figures take ~1 s)."""
    from mia_audit.report.html import render_html

    return render_html(make_audit_result())


@pytest.fixture(scope="session")
def full_html() -> str:
    """The fixture result rendered as the full report (``--detail full``)."""
    from mia_audit.report.html import render_html, with_detail

    return render_html(with_detail(make_audit_result(), "full"))


@pytest.fixture(scope="session")
def report_pdf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture result written as a PDF once per session (WeasyPrint takes a few seconds)."""
    from mia_audit.report.pdf import write_pdf

    return write_pdf(make_audit_result(), tmp_path_factory.mktemp("pdf") / "out" / "report.pdf")
